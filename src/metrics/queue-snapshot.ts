import { workersHeartbeats } from '../db/queries/workers-metrics.js';
import { REPORTED_STATUSES, type ReportedStatus } from '../db/procrastinate.js';
import { heavyRead, type QueueContext } from '../queue/context.js';
import { pausedQueues } from '../queue/pause.js';
import { listStalled } from '../queue/stalled.js';
import { getStats } from '../queue/stats.js';

/** One queue as the gauges show it. */
export interface QueueState {
  name: string;
  counts: Record<ReportedStatus, number>;
  /** Statuses whose count is a sampled estimate. */
  estimated: ReportedStatus[];
  /** How long the oldest due job has waited (0 with none due). */
  oldestTodoAgeSeconds: number;
  stalled: number;
  /** Seconds since the queue was paused (the oldest pause of any key); null while not paused. */
  pausedSeconds: number | null;
}

/** What the queue gauges show after one collection. */
export interface QueueSnapshot {
  queues: QueueState[];
  /** Procrastinate 3.10+: queues can be paused (the paused gauges exist). */
  pausable: boolean;
  /** Procrastinate 3.1+: workers register and heartbeat (the worker gauges exist). */
  workers: { live: number; stale: number; oldestHeartbeatAgeSeconds: number } | null;
}

/** `stalled` examines this many jobs at most: past it the stalled gauges read this total. */
export const STALLED_COUNTED = 200;

const emptyState = (name: string): QueueState => ({
  name,
  counts: Object.fromEntries(REPORTED_STATUSES.map((s) => [s, 0])) as Record<ReportedStatus, number>,
  estimated: [],
  oldestTodoAgeSeconds: 0,
  stalled: 0,
  pausedSeconds: null,
});

/**
 * The queue as `stats`, `stalled` and `paused` read it, with the same bounded statements: counts
 * and the oldest waiting job from getStats (on the read replica when one is configured and
 * current, as the command does), stalled jobs and pauses from the primary, plus one read of the
 * workers table (a row per worker).
 */
export async function readQueueSnapshot(ctx: QueueContext): Promise<QueueSnapshot> {
  const { heavy } = await heavyRead(ctx);
  const stats = await getStats(heavy, { groupBy: 'queue' });
  const byName = new Map<string, QueueState>();
  const state = (name: string) => {
    const known = byName.get(name);
    if (known) return known;
    const s = emptyState(name);
    byName.set(name, s);
    return s;
  };
  for (const g of stats.queues) {
    const s = state(g.name);
    s.counts = { ...g.counts };
    s.estimated = [...g.estimated];
    s.oldestTodoAgeSeconds = g.oldestTodoAgeSeconds ?? 0;
  }
  const stalled = await listStalled(ctx, { limit: STALLED_COUNTED });
  for (const job of stalled.jobs) state(job.queue).stalled++;

  const pausable = ctx.schema.has('pause_queues');
  const now = Date.now();
  for (const row of await pausedQueues(ctx)) {
    const s = state(row.queue_name);
    const seconds = Math.max(0, (now - row.paused_at.getTime()) / 1000);
    s.pausedSeconds = Math.max(s.pausedSeconds ?? 0, seconds);
  }

  let workers: QueueSnapshot['workers'] = null;
  if (ctx.schema.has('workers')) {
    const w = (await ctx.db.query(workersHeartbeats(ctx.settings.stalledHeartbeatSeconds))).rows[0]!;
    workers = { live: w.live, stale: w.total - w.live, oldestHeartbeatAgeSeconds: Math.max(0, w.oldest_heartbeat_age_seconds ?? 0) };
  }
  const queues = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  return { queues, pausable, workers };
}
