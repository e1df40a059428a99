import { jobsStalled } from '../db/queries/jobs.js';
import { asJobqError } from '../errors.js';
import type { QueueContext } from './context.js';

export type StalledReason = 'worker_missing' | 'heartbeat_stale' | 'running_too_long';

export interface StalledJob {
  id: number;
  queue: string;
  task: string;
  status: string;
  attempts: number;
  startedAt: string | null;
  runningSeconds: number | null;
  workerId: number | null;
  lastHeartbeat: string | null;
  reasons: StalledReason[];
}

export interface StalledResult {
  jobs: StalledJob[];
  thresholds: { heartbeatSeconds: number | null; runningSeconds: number };
  limit: number;
  truncated: boolean;
}

export interface StalledQuery {
  heartbeatSeconds?: number | undefined;
  runningSeconds?: number | undefined;
  limit?: number | undefined;
}

/**
 * `doing` jobs whose worker is gone or silent (3.1+), or that started longer ago than the
 * running threshold (every version). 2.x's `aborting` jobs sit outside Procrastinate's indexes
 * and are not examined here.
 */
export async function listStalled(ctx: QueueContext, query: StalledQuery = {}): Promise<StalledResult> {
  const withWorkers = ctx.schema.has('workers');
  const heartbeatSeconds = query.heartbeatSeconds ?? ctx.settings.stalledHeartbeatSeconds;
  const runningSeconds = query.runningSeconds ?? ctx.settings.stalledRunningSeconds;
  const limit = Math.min(query.limit ?? 50, 200);
  try {
    const rows = (await ctx.db.query(jobsStalled({ heartbeatSeconds, runningSeconds, limit: limit + 1 }, ['doing'], withWorkers))).rows;
    const now = Date.now();
    const jobs = rows.slice(0, limit).map((row): StalledJob => {
      const reasons: StalledReason[] = [];
      if (withWorkers) {
        if (row.worker_id === null || !row.worker_exists) reasons.push('worker_missing');
        else if (row.last_heartbeat && now - row.last_heartbeat.getTime() > heartbeatSeconds * 1000) reasons.push('heartbeat_stale');
      }
      const runningSecondsNow = row.started_at ? Math.round((now - row.started_at.getTime()) / 1000) : null;
      if (runningSecondsNow !== null && runningSecondsNow > runningSeconds) reasons.push('running_too_long');
      return {
        id: row.id,
        queue: row.queue_name,
        task: row.task_name,
        status: row.status,
        attempts: row.attempts,
        startedAt: row.started_at?.toISOString() ?? null,
        runningSeconds: runningSecondsNow,
        workerId: row.worker_id,
        lastHeartbeat: row.last_heartbeat?.toISOString() ?? null,
        reasons,
      };
    });
    return { jobs, thresholds: { heartbeatSeconds: withWorkers ? heartbeatSeconds : null, runningSeconds }, limit, truncated: rows.length > limit };
  } catch (error) {
    throw asJobqError(error);
  }
}
