import { eventsByJob } from '../db/queries/events.js';
import { jobsById, jobsSharingLocks, type JobsSharingLocksRow } from '../db/queries/jobs.js';
import { workersById } from '../db/queries/workers.js';
import { JobqError, asJobqError } from '../errors.js';
import { pausedQueues } from './pause.js';
import type { QueueContext } from './context.js';

export type JobAction = 'retry' | 'cancel' | 'abort' | 'run-now';

export interface JobDetail {
  job: {
    id: number;
    queue: string;
    task: string;
    status: string;
    attempts: number;
    priority: number;
    args: unknown;
    lock: string | null;
    queueingLock: string | null;
    scheduledAt: string | null;
    abortRequested: boolean | null;
    workerId: number | null;
    /** 3.10+: how the job holds its lock while waiting (null before 3.10, where it behaves as ordered). */
    lockMode: 'ordered' | 'mutex' | null;
    /** 3.10+: when it was deferred (null for jobs from before the upgrade, and before 3.10). */
    deferredAt: string | null;
  };
  events: { type: string; at: string }[];
  eventsTruncated: boolean;
  worker: { id: number; lastHeartbeat: string; heartbeatAgeSeconds: number; alive: boolean } | null;
  /** Other live jobs holding the same lock or queueing lock (they can delay this one). */
  sharingLocks: { id: number; status: string; via: 'lock' | 'queueing_lock' }[];
  /** For a todo job: what keeps it from running now (a pause, its schedule, a job holding its lock); empty when it is just next in line. */
  waiting: string[];
  stalled: boolean;
  actions: JobAction[];
}

const EVENT_LIMIT = 500;

/** Everything about one job: its columns, timeline, worker, locks and what can be done with it. */
export async function getJob(ctx: QueueContext, id: number): Promise<JobDetail> {
  try {
    const row = (await ctx.db.query(jobsById(id))).rows[0];
    if (!row) {
      throw new JobqError('not_found', `There is no job ${id}: it never existed or was purged.`, { runbookSection: 'triaging-failed-jobs' });
    }
    const j = row.job;
    const job: JobDetail['job'] = {
      id: Number(j.id),
      queue: String(j.queue_name),
      task: String(j.task_name),
      status: String(j.status),
      attempts: Number(j.attempts),
      priority: Number(j.priority ?? 0),
      args: j.args,
      lock: (j.lock as string | null) ?? null,
      queueingLock: (j.queueing_lock as string | null) ?? null,
      scheduledAt: (j.scheduled_at as string | null) ?? null,
      abortRequested: 'abort_requested' in j ? Boolean(j.abort_requested) : null,
      workerId: j.worker_id == null ? null : Number(j.worker_id),
      lockMode: j.lock_mode === 'mutex' || j.lock_mode === 'ordered' ? j.lock_mode : null,
      deferredAt: typeof j.deferred_at === 'string' ? j.deferred_at : null,
    };
    const events = (await ctx.db.query(eventsByJob(id, EVENT_LIMIT + 1))).rows;
    let worker: JobDetail['worker'] = null;
    if (job.workerId !== null && ctx.schema.has('workers')) {
      const w = (await ctx.db.query(workersById(job.workerId))).rows[0];
      if (w) {
        worker = {
          id: w.id,
          lastHeartbeat: w.last_heartbeat.toISOString(),
          heartbeatAgeSeconds: Math.round(w.heartbeat_age_seconds),
          alive: w.heartbeat_age_seconds <= ctx.settings.stalledHeartbeatSeconds,
        };
      }
    }
    const sharing = job.lock || job.queueingLock ? (await ctx.db.query(jobsSharingLocks(id, job.lock, job.queueingLock, ctx.schema.has('lock_mode')))).rows : [];
    const sharingLocks = sharing.map((r) => ({ id: r.id, status: r.status, via: r.via }));
    const waiting = job.status === 'todo' ? await waitingReasons(ctx, job, sharing) : [];
    const lastStarted = [...events].reverse().find((e) => e.type === 'started');
    const running = job.status === 'doing' || job.status === 'aborting';
    const stalled =
      running &&
      ((ctx.schema.has('workers') && (job.workerId === null || !worker || !worker.alive)) ||
        (lastStarted !== undefined && Date.now() - lastStarted.at.getTime() > ctx.settings.stalledRunningSeconds * 1000));
    return {
      job,
      events: events.slice(0, EVENT_LIMIT).map((e) => ({ type: e.type, at: e.at.toISOString() })),
      eventsTruncated: events.length > EVENT_LIMIT,
      worker,
      sharingLocks,
      waiting,
      stalled,
      actions: actionsFor(job, stalled, ctx.schema.has('abort_requested')),
    };
  } catch (error) {
    throw asJobqError(error);
  }
}

/**
 * Why a todo job is not running yet, as Procrastinate's fetch decides it: its queue is paused
 * (3.10+), it is scheduled for later, or its lock is held: by a running job, or by an earlier
 * waiting job that holds it while it waits (ordered, before 3.10 always; a 3.10 mutex job only
 * once it is due).
 */
async function waitingReasons(ctx: QueueContext, job: JobDetail['job'], sharing: JobsSharingLocksRow[]): Promise<string[]> {
  const reasons: string[] = [];
  const pauses = (await pausedQueues(ctx)).filter((p) => p.queue_name === job.queue);
  if (pauses.length) reasons.push(`its queue is paused (key ${pauses.map((p) => `"${p.pause_key}"`).join(', ')}): workers take nothing from it until it is resumed`);
  if (job.scheduledAt && Date.parse(job.scheduledAt) > Date.now()) reasons.push(`it is scheduled for ${job.scheduledAt}`);
  for (const other of sharing) {
    if (other.via !== 'lock') continue;
    if (other.status === 'doing') reasons.push(`job #${other.id} is running and holds its lock "${job.lock}"`);
    else if (other.id < job.id && (other.lock_mode === 'ordered' || other.due)) {
      reasons.push(
        `job #${other.id} waits ahead of it on lock "${job.lock}"${other.lock_mode === 'ordered' && !other.due ? ' (ordered: it holds the lock even before its scheduled time)' : ''}`,
      );
    }
  }
  return reasons;
}

function actionsFor(job: JobDetail['job'], stalled: boolean, hasAbortFlag: boolean): JobAction[] {
  switch (job.status) {
    case 'failed':
      return ['retry'];
    case 'todo':
      return job.scheduledAt && new Date(job.scheduledAt).getTime() > Date.now() ? ['run-now', 'cancel'] : ['cancel'];
    case 'doing': {
      const actions: JobAction[] = [];
      if (stalled) actions.push('retry');
      if (!hasAbortFlag || !job.abortRequested) actions.push('abort');
      return actions;
    }
    default:
      return [];
  }
}
