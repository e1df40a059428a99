import { jobsActionState } from '../db/queries/jobs-write.js';
import { JobqError } from '../errors.js';
import type { QueueContext, QueueSettings } from './context.js';

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
  const row = (await ctx.db.query(jobsActionState(id, { abortRequested: ctx.schema.has('abort_requested'), workers: ctx.schema.has('workers') }))).rows[0];
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
