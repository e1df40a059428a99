import { eventsByJob } from '../db/queries/events.js';
import { jobsById, jobsSharingLocks } from '../db/queries/jobs.js';
import { workersById } from '../db/queries/workers.js';
import { JobqError, asJobqError } from '../errors.js';
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
  };
  events: { type: string; at: string }[];
  eventsTruncated: boolean;
  worker: { id: number; lastHeartbeat: string; heartbeatAgeSeconds: number; alive: boolean } | null;
  /** Other live jobs holding the same lock or queueing lock (they can delay this one). */
  sharingLocks: { id: number; status: string; via: 'lock' | 'queueing_lock' }[];
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
    const sharingLocks = job.lock || job.queueingLock ? (await ctx.db.query(jobsSharingLocks(id, job.lock, job.queueingLock))).rows : [];
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
      stalled,
      actions: actionsFor(job, stalled, ctx.schema.has('abort_requested')),
    };
  } catch (error) {
    throw asJobqError(error);
  }
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
