import type { Queryable } from '../db/database.js';
import { FUNCTIONS, JOB_STATUS } from '../db/procrastinate.js';
import { jobsCallRetry, jobsLockInStatus, jobsRetryFailedGuarded } from '../db/queries/jobs-write.js';
import { JobqError } from '../errors.js';
import type { Actor } from './actor.js';
import { AUDIT_ACTION, AUDIT_OUTCOME, recordAudit, type AuditInput } from './audit.js';
import type { QueueContext } from './context.js';
import { changeJob } from './job-change.js';
import { formatSeconds, type JobState, movedOn, stallReason } from './job-state.js';

/** How the retry was done, which depends on the Procrastinate version. */
export type RetryMethod = 'retry_job_v2' | 'retry_job_v1' | 'retry_job' | 'guarded_update';

export interface RetryResult {
  jobId: number;
  queue: string;
  task: string;
  previousStatus: 'failed' | 'doing';
  /** `todo` normally; `failed` when a stalled job had an abort request (Procrastinate's rule). */
  status: 'todo' | 'failed';
  attempts: number;
  method: RetryMethod;
  /** For a stalled job: why it counted as stalled. */
  stalled: string | null;
  auditId: number;
}

/**
 * Puts a failed job, or a stalled running job, back to `todo`, due now. Uses Procrastinate's own
 * retry function where the version has one for that status, else a status-guarded update.
 */
export async function retryJob(ctx: QueueContext, jobId: number, actor: Actor): Promise<RetryResult> {
  return changeJob(ctx, AUDIT_ACTION.retry, jobId, actor, async (job, audit) => {
    if (job.status === JOB_STATUS.failed) return retryFailed(ctx, job, audit);
    if (job.status === JOB_STATUS.doing) return retryStalled(ctx, job, audit);
    throw notRetryable(job);
  });
}

async function retryFailed(ctx: QueueContext, job: JobState, audit: AuditInput): Promise<RetryResult> {
  const method: RetryMethod = ctx.schema.has('retry_failed') ? 'retry_job_v2' : 'guarded_update';
  return inRetryTransaction(ctx, job, audit, method, null, async (client) => {
    if (method === 'retry_job_v2') {
      if (!(await lock(client, job.id, [JOB_STATUS.failed]))) return false;
      await client.query(jobsCallRetry(FUNCTIONS.retryFailedV2, job.id, 'five'));
      return true;
    }
    const updated = await client.query(jobsRetryFailedGuarded([job.id]));
    return updated.rowCount === 1;
  });
}

async function retryStalled(ctx: QueueContext, job: JobState, audit: AuditInput): Promise<RetryResult> {
  const stalled = stallReason(job, ctx.settings, ctx.schema.has('workers'));
  if (!stalled) throw stillRunning(job, ctx.schema.has('workers'));
  const method: RetryMethod = ctx.schema.has('retry_failed') ? 'retry_job_v2' : ctx.schema.has('v1_functions') ? 'retry_job_v1' : 'retry_job';
  const fn = method === 'retry_job_v2' ? FUNCTIONS.retryFailedV2 : method === 'retry_job_v1' ? FUNCTIONS.retryDoing.v1 : FUNCTIONS.retryDoing.legacy;
  return inRetryTransaction(ctx, job, audit, method, stalled, async (client) => {
    if (!(await lock(client, job.id, [JOB_STATUS.doing]))) return false;
    await client.query(jobsCallRetry(fn, job.id, method === 'retry_job' ? 'two' : 'five'));
    return true;
  });
}

/**
 * The change and its audit entry commit together. When the guard finds the job no longer in
 * the status read a moment ago, the job is read again to say what happened to it.
 */
async function inRetryTransaction(
  ctx: QueueContext,
  job: JobState,
  audit: AuditInput,
  method: RetryMethod,
  stalled: string | null,
  change: (client: Queryable) => Promise<boolean>,
): Promise<RetryResult> {
  const previousStatus = job.status as 'failed' | 'doing';
  let result: RetryResult | null;
  try {
    result = await ctx.db.transaction(async (client) => {
      if (!(await change(client))) return null;
      const after = (await client.query(jobsLockInStatus(job.id, [JOB_STATUS.todo, JOB_STATUS.failed]))).rows[0];
      const status = after?.status === JOB_STATUS.failed ? 'failed' : 'todo';
      const message =
        status === 'todo'
          ? `Job ${job.id} (${job.task} on ${job.queue}) moved from ${previousStatus} to todo${stalled ? ` (stalled: ${stalled})` : ''}.`
          : `Job ${job.id} (${job.task} on ${job.queue}) had an abort request, so Procrastinate marked it failed instead of retrying it.`;
      const auditId = await recordAudit(client, audit, AUDIT_OUTCOME.ok, 1, message);
      return { jobId: job.id, queue: job.queue, task: job.task, previousStatus, status, attempts: job.attempts + (status === 'todo' ? 1 : 0), method, stalled, auditId };
    });
  } catch (error) {
    if ((error as { code?: string }).code === '23505') throw queueingLockTaken(job, error);
    throw error;
  }
  if (result) return result;
  throw await movedOn(ctx, job, 'retry');
}

async function lock(client: Queryable, id: number, statuses: readonly string[]): Promise<boolean> {
  return ((await client.query(jobsLockInStatus(id, statuses))).rowCount ?? 0) === 1;
}

const RETRY_RUNBOOK = 'retrying-jobs-safely';

function notRetryable(job: JobState): JobqError {
  const why: Record<string, string> = {
    todo: job.scheduledInFuture ? 'it is already waiting to run (scheduled for later)' : 'it is already waiting to run',
    succeeded: 'it succeeded',
    cancelled: 'it was cancelled before it ran',
    aborted: 'it was aborted on request',
    aborting: 'it is running and was asked to abort',
  };
  return new JobqError('wrong_status', `Job ${job.id} is \`${job.status}\`, not \`failed\`: nothing to retry (${why[job.status] ?? 'its status does not allow a retry'}).`, {
    hint:
      job.status === 'aborting'
        ? 'Wait for its worker to stop it; then retry it if it ends `failed`.'
        : 'Only `failed` jobs, and running jobs whose worker is gone, can be retried.',
    runbookSection: RETRY_RUNBOOK,
  });
}

function stillRunning(job: JobState, withWorkers: boolean): JobqError {
  const since = job.startedSecondsAgo === null ? 'its start time is unknown' : `it started ${formatSeconds(job.startedSecondsAgo)} ago`;
  const worker = withWorkers && job.heartbeatAgeSeconds !== null ? `, and worker ${job.workerId} sent a heartbeat ${formatSeconds(job.heartbeatAgeSeconds)} ago` : '';
  return new JobqError('wrong_status', `Job ${job.id} is \`doing\`: it is running, not stalled (${since}${worker}). Retrying it now would run it twice.`, {
    hint: 'Cancel it to ask its worker to abort, or wait: a job counts as stalled when its worker is gone or silent, or when it has run longer than JOBQ_STALLED_RUNNING_SECONDS.',
    runbookSection: 'stalled-jobs-and-dead-workers',
  });
}

function queueingLockTaken(job: JobState, cause: unknown): JobqError {
  return new JobqError(
    'conflict',
    `Job ${job.id} cannot go back to todo: another job with its queueing lock \`${job.queueingLock ?? ''}\` is already waiting (todo). Nothing was changed.`,
    {
      hint: 'Procrastinate allows one waiting job per queueing lock; retry this one after the waiting job has run.',
      runbookSection: RETRY_RUNBOOK,
      cause,
    },
  );
}
