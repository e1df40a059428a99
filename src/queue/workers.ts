import { workersWithJobs } from '../db/queries/workers.js';
import { JobqError, asJobqError } from '../errors.js';
import type { QueueContext } from './context.js';

export interface WorkerInfo {
  id: number;
  lastHeartbeat: string;
  heartbeatAgeSeconds: number;
  alive: boolean;
  jobs: number;
}

export interface WorkersResult {
  workers: WorkerInfo[];
  live: number;
  stale: number;
  staleAfterSeconds: number;
  truncated: boolean;
}

const WORKERS_LIMIT = 200;

/** Each registered worker (3.1+), its heartbeat, and how many jobs it holds. */
export async function listWorkers(ctx: QueueContext): Promise<WorkersResult> {
  if (!ctx.schema.has('workers')) {
    throw new JobqError('unsupported', `This Procrastinate schema (${ctx.schema.generation}) has no workers table: workers register themselves from Procrastinate 3.1 on.`, {
      hint: 'Use `stalled` to find jobs running longer than a threshold instead.',
      runbookSection: 'stalled-jobs-and-dead-workers',
    });
  }
  try {
    const staleAfterSeconds = ctx.settings.stalledHeartbeatSeconds;
    const rows = (await ctx.db.query(workersWithJobs(staleAfterSeconds, WORKERS_LIMIT + 1))).rows;
    const workers = rows.slice(0, WORKERS_LIMIT).map((r) => ({
      id: r.id,
      lastHeartbeat: r.last_heartbeat.toISOString(),
      heartbeatAgeSeconds: Math.max(0, Math.round(r.heartbeat_age_seconds)),
      alive: r.alive,
      jobs: r.jobs,
    }));
    const live = workers.filter((w) => w.alive).length;
    return { workers, live, stale: workers.length - live, staleAfterSeconds, truncated: rows.length > WORKERS_LIMIT };
  } catch (error) {
    throw asJobqError(error);
  }
}
