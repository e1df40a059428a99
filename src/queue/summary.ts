import { eventsOutcomeBuckets } from '../db/queries/events-alerts.js';
import { asJobqError } from '../errors.js';
import type { QueueContext } from './context.js';
import { firstEventIdSince } from './event-range.js';
import { listStalled } from './stalled.js';
import { getStats } from './stats.js';

export interface Outcomes {
  failed: number;
  succeeded: number;
  /** failed / (failed + succeeded), null when nothing finished. */
  failureRate: number | null;
}

export interface SummaryQueue {
  name: string;
  todo: number;
  oldestWaitSeconds: number | null;
  current: Outcomes;
  previous: Outcomes;
}

export interface SummaryTask {
  task: string;
  queue: string;
  failed: number;
  previousFailed: number;
}

/** A health summary over a period, compared with the period just before it. */
export interface HealthSummary {
  from: string;
  to: string;
  previousFrom: string;
  queues: SummaryQueue[];
  totals: { current: Outcomes; previous: Outcomes; todo: number };
  topFailingTasks: SummaryTask[];
  /** Failures per bucket across the period, oldest first. */
  failuresPerBucket: number[];
  bucketSeconds: number;
  stalled: { count: number; truncated: boolean };
  workers: { live: number; total: number } | null;
  /** True when the period held more than SUMMARY_EVENTS_CAP events and figures were scaled up. */
  estimated: boolean;
}

/** Events examined per period, newest first; a busier period is scaled up and marked estimated. */
export const SUMMARY_EVENTS_CAP = 500_000;
const MAX_BUCKETS = 24;
const TOP_TASKS = 5;

const outcomes = (failed: number, succeeded: number): Outcomes => ({ failed, succeeded, failureRate: failed + succeeded > 0 ? failed / (failed + succeeded) : null });

interface Tally {
  perQueue: Map<string, { failed: number; succeeded: number }>;
  perTask: Map<string, { task: string; queue: string; failed: number }>;
  buckets: number[];
  estimated: boolean;
}

/**
 * Outcomes between two times, per queue, task and bucket. The period is reached by event id
 * (binary search on the primary key), so the cost follows the period's events, not the table.
 */
async function tally(ctx: QueueContext, from: Date, to: Date, bucketSeconds: number): Promise<Tally> {
  const loId = await firstEventIdSince(ctx.db, from);
  const hiId = (await firstEventIdSince(ctx.db, to)) - 1;
  const examinedFrom = Math.max(loId, hiId - SUMMARY_EVENTS_CAP + 1);
  const scale = hiId - loId + 1 > SUMMARY_EVENTS_CAP ? (hiId - loId + 1) / SUMMARY_EVENTS_CAP : 1;
  const result: Tally = { perQueue: new Map(), perTask: new Map(), buckets: [], estimated: scale > 1 };
  if (hiId < loId) return result;
  const rows = await ctx.db.query(eventsOutcomeBuckets(examinedFrom, hiId, from, to, bucketSeconds));
  for (const row of rows.rows) {
    const count = Math.round(row.count * scale);
    const q = result.perQueue.get(row.queue_name) ?? { failed: 0, succeeded: 0 };
    q[row.type] += count;
    result.perQueue.set(row.queue_name, q);
    if (row.type === 'failed') {
      const key = JSON.stringify([row.queue_name, row.task_name]);
      const t = result.perTask.get(key) ?? { task: row.task_name, queue: row.queue_name, failed: 0 };
      t.failed += count;
      result.perTask.set(key, t);
      result.buckets[row.bucket] = (result.buckets[row.bucket] ?? 0) + count;
    }
  }
  return result;
}

/** Backlog, outcomes over [from, to) versus the period before, stalled jobs, workers, top failing tasks. */
export async function getHealthSummary(ctx: QueueContext, period: { from: Date; to: Date }): Promise<HealthSummary> {
  try {
    const { from, to } = period;
    const length = Math.max(1_000, to.getTime() - from.getTime());
    const previousFrom = new Date(from.getTime() - length);
    const bucketSeconds = Math.max(3_600, Math.ceil(length / 1000 / MAX_BUCKETS / 3_600) * 3_600);
    const bucketCount = Math.max(1, Math.ceil(length / 1000 / bucketSeconds));
    const [stats, current, previous, stalled] = [
      await getStats(ctx, { groupBy: 'queue' }),
      await tally(ctx, from, to, bucketSeconds),
      await tally(ctx, previousFrom, from, length / 1000),
      await listStalled(ctx, { limit: 200 }),
    ];
    const names = new Set([...stats.queues.map((q) => q.name), ...current.perQueue.keys(), ...previous.perQueue.keys()]);
    const queues = [...names].sort().map((name): SummaryQueue => {
      const s = stats.queues.find((q) => q.name === name);
      const c = current.perQueue.get(name) ?? { failed: 0, succeeded: 0 };
      const p = previous.perQueue.get(name) ?? { failed: 0, succeeded: 0 };
      return {
        name,
        todo: s?.counts.todo ?? 0,
        oldestWaitSeconds: s?.oldestTodoAgeSeconds ?? null,
        current: outcomes(c.failed, c.succeeded),
        previous: outcomes(p.failed, p.succeeded),
      };
    });
    const sum = (list: SummaryQueue[], pick: (q: SummaryQueue) => number) => list.reduce((n, q) => n + pick(q), 0);
    const topFailingTasks = [...current.perTask.values()]
      .sort((a, b) => b.failed - a.failed || a.task.localeCompare(b.task))
      .slice(0, TOP_TASKS)
      .map((t) => ({ ...t, previousFailed: previous.perTask.get(JSON.stringify([t.queue, t.task]))?.failed ?? 0 }));
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      previousFrom: previousFrom.toISOString(),
      queues,
      totals: {
        current: outcomes(
          sum(queues, (q) => q.current.failed),
          sum(queues, (q) => q.current.succeeded),
        ),
        previous: outcomes(
          sum(queues, (q) => q.previous.failed),
          sum(queues, (q) => q.previous.succeeded),
        ),
        todo: sum(queues, (q) => q.todo),
      },
      topFailingTasks,
      failuresPerBucket: Array.from({ length: bucketCount }, (_, i) => current.buckets[i] ?? 0),
      bucketSeconds,
      stalled: { count: stalled.jobs.length, truncated: stalled.truncated },
      workers: stats.workers,
      estimated: current.estimated || previous.estimated,
    };
  } catch (error) {
    throw asJobqError(error);
  }
}
