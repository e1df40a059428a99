import { FUNCTIONS, JOB_STATUS } from '../db/procrastinate.js';
import { jobsCallCancel } from '../db/queries/jobs-write.js';
import { JobqError } from '../errors.js';
import type { Actor } from './actor.js';
import { AUDIT_ACTION, AUDIT_OUTCOME, recordAudit, type AuditInput } from './audit.js';
import type { QueueContext } from './context.js';
import { changeJob } from './job-change.js';
import { type JobState, movedOn, stallReason } from './job-state.js';

export interface CancelResult {
  jobId: number;
  queue: string;
  task: string;
  previousStatus: 'todo' | 'doing';
  /**
   * `cancelled`: the job will not run. `abort_requested`: it is running; its worker was asked
   * to stop it (3.x: `abort_requested` set, still `doing`; 2.x: status `aborting`).
   */
  outcome: 'cancelled' | 'abort_requested';
  /**
   * For an abort request (3.1+): why no worker will act on it (its worker is gone or silent), or
   * null when a live worker holds the job. The job then stays `doing`, stalled, until retried.
   */
  workerGone?: string | null;
  auditId: number;
}

/** Cancels a waiting job, or asks the worker of a running job to abort it, through Procrastinate's cancel function. */
export async function cancelJob(ctx: QueueContext, jobId: number, actor: Actor): Promise<CancelResult> {
  return changeJob(ctx, AUDIT_ACTION.cancel, jobId, actor, async (job, audit) => {
    if (job.status === JOB_STATUS.todo) return cancel(ctx, job, audit, false);
    if (job.status === JOB_STATUS.doing && !job.abortRequested) return cancel(ctx, job, audit, true);
    throw notCancellable(job);
  });
}

async function cancel(ctx: QueueContext, job: JobState, audit: AuditInput, abort: boolean): Promise<CancelResult> {
  const fn = ctx.schema.has('v1_functions') ? FUNCTIONS.cancel.v1 : FUNCTIONS.cancel.legacy;
  const outcome = abort ? 'abort_requested' : 'cancelled';
  // Only the worker's state counts here (not how long the job has run): is anyone there to stop it?
  const workerGone = abort && ctx.schema.has('workers') ? stallReason({ ...job, startedSecondsAgo: null }, ctx.settings, true) : null;
  const result = await ctx.db.transaction(async (client) => {
    // Procrastinate's cancel returns NULL when the job is no longer in the status it acts on.
    const row = (await client.query(jobsCallCancel(fn, job.id, abort))).rows[0];
    if (row?.id == null) return null;
    const message = !abort
      ? `Job ${job.id} (${job.task} on ${job.queue}) was cancelled before it ran.`
      : workerGone
        ? `Job ${job.id} (${job.task} on ${job.queue}) was marked for abort, but no worker will act on it: ${workerGone}.`
        : `Job ${job.id} (${job.task} on ${job.queue}) is running; its worker was asked to abort it.`;
    const auditId = await recordAudit(client, audit, AUDIT_OUTCOME.ok, 1, message);
    return { jobId: job.id, queue: job.queue, task: job.task, previousStatus: job.status as 'todo' | 'doing', outcome, workerGone, auditId } satisfies CancelResult;
  });
  if (result) return result;
  throw await movedOn(ctx, job, 'cancel');
}

function notCancellable(job: JobState): JobqError {
  if (job.status === JOB_STATUS.aborting || job.abortRequested) {
    return new JobqError('wrong_status', `Job ${job.id} is already being aborted: an abort was requested and its worker has not stopped it yet. Nothing to cancel.`, {
      hint: 'A worker checks for abort requests while the task runs; a task that never checks runs to its end. If its worker is gone, the job is stalled: see `jobq stalled`.',
      runbookSection: 'cancelling-and-aborting-jobs',
    });
  }
  return new JobqError('wrong_status', `Job ${job.id} is \`${job.status}\`: it has finished, nothing to cancel.`, {
    hint: job.status === JOB_STATUS.failed ? 'To run it again, retry it instead.' : 'Only `todo` jobs can be cancelled, and `doing` jobs asked to abort.',
    runbookSection: 'cancelling-and-aborting-jobs',
  });
}
