import { JOB_STATUS } from '../db/procrastinate.js';
import { jobsRunNow } from '../db/queries/jobs-write.js';
import { JobqError } from '../errors.js';
import type { Actor } from './actor.js';
import { AUDIT_ACTION, AUDIT_OUTCOME, recordAudit } from './audit.js';
import type { QueueContext } from './context.js';
import { changeJob } from './job-change.js';
import { movedOn } from './job-state.js';

export interface RunNowResult {
  jobId: number;
  queue: string;
  task: string;
  /** When it was scheduled to run before. */
  previouslyScheduledAt: string;
  scheduledAt: string;
  auditId: number;
}

/** Makes a scheduled job due now: the next free worker of its queue takes it. */
export async function runJobNow(ctx: QueueContext, jobId: number, actor: Actor): Promise<RunNowResult> {
  return changeJob(ctx, AUDIT_ACTION.runNow, jobId, actor, async (job, audit) => {
    if (job.status !== JOB_STATUS.todo) {
      throw new JobqError('wrong_status', `Job ${jobId} is \`${job.status}\`, not \`todo\`: only a waiting job can be made to run now.`, {
        hint: job.status === JOB_STATUS.failed ? 'To run a failed job again, retry it.' : undefined,
        runbookSection: 'running-a-scheduled-job-now',
      });
    }
    if (!job.scheduledInFuture || !job.scheduledAt) {
      throw new JobqError(
        'wrong_status',
        `Job ${jobId} is already due${job.scheduledAt ? ` (it was scheduled for ${job.scheduledAt.toISOString()})` : ''}: it runs as soon as a worker of queue ${job.queue} is free. Nothing to change.`,
        {
          hint: 'If it has waited long, its queue has no free worker or a lock blocks it: check `jobq stats` and `jobq workers`.',
          runbookSection: 'backlog-growth',
        },
      );
    }
    const previouslyScheduledAt = job.scheduledAt.toISOString();
    const result = await ctx.db.transaction(async (client) => {
      const row = (await client.query(jobsRunNow(jobId))).rows[0];
      if (!row) return null;
      const message = `Job ${jobId} (${job.task} on ${job.queue}), scheduled for ${previouslyScheduledAt}, was made due now.`;
      const auditId = await recordAudit(client, audit, AUDIT_OUTCOME.ok, 1, message);
      return { jobId, queue: job.queue, task: job.task, previouslyScheduledAt, scheduledAt: row.scheduled_at.toISOString(), auditId };
    });
    if (result) return result;
    throw await movedOn(ctx, job, 'run-now');
  });
}
