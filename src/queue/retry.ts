import { withTransaction, type PoolClient } from '../db/pool.js';
import { FUNCTIONS, JOB_STATUS } from '../db/procrastinate.js';
import { jobsActionState, jobsCallRetry, jobsLockInStatus, jobsRetryFailedGuarded } from '../db/queries/jobs-write.js';
import { JobqError } from '../errors.js';
import { assertActor, type Actor } from './actor.js';
import { AUDIT_ACTION, AUDIT_OUTCOME, auditFailures, recordAudit } from './audit.js';
import type { QueueContext, QueueSettings } from './context.js';

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
  const audit = { actor, action: AUDIT_ACTION.retry, filters: { jobId } };
  return auditFailures(ctx, audit, async () => {
    assertActor(actor);
    validJobId(jobId);
    const job = await readJobState(ctx, jobId);
    if (!job) throw jobNotFound(jobId);
    if (job.status === JOB_STATUS.failed) return retryFailed(ctx, job, actor);
    if (job.status === JOB_STATUS.doing) return retryStalled(ctx, job, actor);
    throw notRetryable(job);
  });
}

async function retryFailed(ctx: QueueContext, job: JobState, actor: Actor): Promise<RetryResult> {
  const method: RetryMethod = ctx.schema.has('retry_failed') ? 'retry_job_v2' : 'guarded_update';
  return inRetryTransaction(ctx, job, actor, method, null, async (client) => {
    if (method === 'retry_job_v2') {
      if (!(await lock(client, job.id, [JOB_STATUS.failed]))) return false;
      await client.query(jobsCallRetry(FUNCTIONS.retryFailedV2, job.id, 'five'));
      return true;
    }
    const updated = await client.query(jobsRetryFailedGuarded([job.id]));
    return updated.rowCount === 1;
  });
}

async function retryStalled(ctx: QueueContext, job: JobState, actor: Actor): Promise<RetryResult> {
  const stalled = stallReason(job, ctx.settings, ctx.schema.has('workers'));
  if (!stalled) throw stillRunning(job, ctx.schema.has('workers'));
  const method: RetryMethod = ctx.schema.has('retry_failed') ? 'retry_job_v2' : ctx.schema.has('v1_functions') ? 'retry_job_v1' : 'retry_job';
  const fn = method === 'retry_job_v2' ? FUNCTIONS.retryFailedV2 : method === 'retry_job_v1' ? FUNCTIONS.retryDoing.v1 : FUNCTIONS.retryDoing.legacy;
  return inRetryTransaction(ctx, job, actor, method, stalled, async (client) => {
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
  actor: Actor,
  method: RetryMethod,
  stalled: string | null,
  change: (client: PoolClient) => Promise<boolean>,
): Promise<RetryResult> {
  const previousStatus = job.status as 'failed' | 'doing';
  let result: RetryResult | null;
  try {
    result = await withTransaction(ctx.pool, async (client) => {
      if (!(await change(client))) return null;
      const after = (await client.query<{ status: string }>(jobsLockInStatus(job.id, [JOB_STATUS.todo, JOB_STATUS.failed]))).rows[0];
      const status = after?.status === JOB_STATUS.failed ? 'failed' : 'todo';
      const message =
        status === 'todo'
          ? `Job ${job.id} (${job.task} on ${job.queue}) moved from ${previousStatus} to todo${stalled ? ` (stalled: ${stalled})` : ''}.`
          : `Job ${job.id} (${job.task} on ${job.queue}) had an abort request, so Procrastinate marked it failed instead of retrying it.`;
      const auditId = await recordAudit(client, { actor, action: AUDIT_ACTION.retry, filters: { jobId: job.id } }, AUDIT_OUTCOME.ok, 1, message);
      return { jobId: job.id, queue: job.queue, task: job.task, previousStatus, status, attempts: job.attempts + (status === 'todo' ? 1 : 0), method, stalled, auditId };
    });
  } catch (error) {
    if ((error as { code?: string }).code === '23505') throw queueingLockTaken(job, error);
    throw error;
  }
  if (result) return result;
  throw await movedOn(ctx, job, 'retry');
}

async function lock(client: PoolClient, id: number, statuses: readonly string[]): Promise<boolean> {
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
    hint: job.status === 'aborting' ? 'Wait for its worker to stop it; then retry it if it ends `failed`.' : 'Only `failed` jobs, and running jobs whose worker is gone, can be retried.',
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
  return new JobqError('conflict', `Job ${job.id} cannot go back to todo: another job with its queueing lock \`${job.queueingLock ?? ''}\` is already waiting (todo). Nothing was changed.`, {
    hint: 'Procrastinate allows one waiting job per queueing lock; retry this one after the waiting job has run.',
    runbookSection: RETRY_RUNBOOK,
    cause,
  });
}

export function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 120) return `${s} s`;
  if (s < 7_200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3_600)} h`;
  return `${Math.round(s / 86_400)} days`;
}

// Single-job state, shared by retry, cancel and run-now: one read before deciding, one read
// again when a guarded change finds the job moved on, to say what happened to it.

export interface JobState {
  id: number;
  status: string;
  queue: string;
  task: string;
  attempts: number;
  queueingLock: string | null;
  scheduledAt: Date | null;
  scheduledInFuture: boolean;
  abortRequested: boolean;
  workerId: number | null;
  workerExists: boolean | null;
  heartbeatAgeSeconds: number | null;
  startedSecondsAgo: number | null;
}

export function validJobId(id: number): void {
  if (!Number.isSafeInteger(id) || id < 1) throw new JobqError('usage', `\`${String(id)}\` is not a job id: job ids are positive whole numbers.`);
}

export async function readJobState(ctx: QueueContext, id: number): Promise<JobState | null> {
  const row = (
    await ctx.pool.query<{
      id: number;
      status: string;
      queue_name: string;
      task_name: string;
      attempts: number;
      queueing_lock: string | null;
      scheduled_at: Date | null;
      scheduled_in_future: boolean;
      abort_requested: boolean;
      worker_id: number | null;
      worker_exists: boolean | null;
      heartbeat_age_seconds: number | null;
      started_seconds_ago: number | null;
    }>(jobsActionState(id, { abortRequested: ctx.schema.has('abort_requested'), workers: ctx.schema.has('workers') }))
  ).rows[0];
  if (!row) return null;
  return {
    id: row.id,
    status: row.status,
    queue: row.queue_name,
    task: row.task_name,
    attempts: row.attempts,
    queueingLock: row.queueing_lock,
    scheduledAt: row.scheduled_at,
    scheduledInFuture: row.scheduled_in_future,
    abortRequested: row.abort_requested,
    workerId: row.worker_id,
    workerExists: row.worker_exists,
    heartbeatAgeSeconds: row.heartbeat_age_seconds,
    startedSecondsAgo: row.started_seconds_ago,
  };
}

export function jobNotFound(id: number): JobqError {
  return new JobqError('not_found', `There is no job ${id}: it never existed or has been deleted (purged, or deleted by its worker).`, {
    hint: 'Check the id; `jobq failed` lists failed jobs with their ids.',
    runbookSection: 'triaging-failed-jobs',
  });
}

/**
 * Why a running job counts as stalled, or null when it looks alive: its worker is gone or
 * silent (3.1+), or it started longer ago than the configured limit.
 */
export function stallReason(job: JobState, settings: QueueSettings, withWorkers: boolean): string | null {
  if (withWorkers) {
    if (job.workerId === null) return 'no worker holds it';
    if (!job.workerExists) return `its worker ${job.workerId} is gone`;
    if (job.heartbeatAgeSeconds !== null && job.heartbeatAgeSeconds > settings.stalledHeartbeatSeconds) {
      return `its worker ${job.workerId} last sent a heartbeat ${formatSeconds(job.heartbeatAgeSeconds)} ago`;
    }
  }
  if (job.startedSecondsAgo !== null && job.startedSecondsAgo > settings.stalledRunningSeconds) return `it started ${formatSeconds(job.startedSecondsAgo)} ago`;
  return null;
}

/**
 * The error for a guarded change that found nothing to change: the job is read again and the
 * answer says what became of it since it was read a moment ago.
 */
export async function movedOn(ctx: QueueContext, before: JobState, action: 'retry' | 'cancel' | 'run-now'): Promise<JobqError> {
  const now = await readJobState(ctx, before.id);
  if (!now) {
    return new JobqError('not_found', `Job ${before.id} was deleted a moment ago (it was \`${before.status}\`): nothing to ${action}.`, { runbookSection: 'triaging-failed-jobs' });
  }
  const who =
    action === 'retry' && before.status === 'failed' && now.status === 'todo'
      ? 'someone else retried it a moment ago'
      : now.status === 'doing' && before.status === 'todo'
        ? 'a worker started it a moment ago'
        : 'it changed a moment ago';
  const change = now.status === before.status ? `is still \`${now.status}\`, but ${who}` : `went from \`${before.status}\` to \`${now.status}\`: ${who}`;
  return new JobqError('conflict', `Job ${before.id} ${change}. Nothing was changed.`, {
    hint: `Look at the job again before deciding: \`jobq job ${before.id}\`.`,
    runbookSection: 'retrying-jobs-safely',
  });
}
