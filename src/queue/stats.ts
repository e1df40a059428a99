import { pausedQueuesAll } from '../db/queries/paused-queues.js';
import { catalogTableEstimates } from '../db/queries/catalog.js';
import { eventsRecentOutcomes } from '../db/queries/events.js';
import { type GroupColumn, jobsCountByStatus, jobsFinalCountsSampled, jobsOldestDueTodo, jobsQueueNames } from '../db/queries/jobs.js';
import { workersSummary } from '../db/queries/workers.js';
import { FINAL_STATUSES, type JobStatus, REPORTED_STATUSES, type ReportedStatus } from '../db/procrastinate.js';
import { asJobqError } from '../errors.js';
import type { QueueContext } from './context.js';
import { eventIdBounds, firstEventIdSince } from './event-range.js';

export type StatusCounts = Record<ReportedStatus, number>;

export interface GroupStats {
  name: string;
  counts: StatusCounts;
  /** Statuses whose count is a sampled estimate rather than exact. */
  estimated: ReportedStatus[];
  oldestTodoAgeSeconds: number | null;
  /** Procrastinate 3.10+: workers take nothing from this queue while it is paused (under any key). */
  paused: { since: string; keys: string[] } | null;
  recent: { lastHour: { succeeded: number; failed: number }; last24h: { succeeded: number; failed: number } };
}

export interface StatsResult {
  groupBy: 'queue' | 'task';
  queues: GroupStats[];
  totals: { counts: StatusCounts; estimated: ReportedStatus[] };
  /** How final-status counts were obtained: exact scan, or a block sample of `samplePercent`. */
  countMethod: { kind: 'exact' } | { kind: 'sampled'; samplePercent: number; estimatedRows: number };
  /** True when the last-24h outcomes were scaled up from the newest RECENT_EVENTS_CAP events. */
  recentEstimated: boolean;
  workers: { live: number; total: number } | null;
  generatedAt: string;
}

const MAX_GROUPS = 500;
const PAUSES_SHOWN = 1_000;
/** Statuses counted exactly through Procrastinate's partial index on (id, lock) WHERE status IN ('todo','doing'). */
const LIVE_STATUSES = ['todo', 'doing'] as const;
/** Lowest due ids examined per group: ids grow with time, so the oldest waiting job is among them. */
const OLDEST_CANDIDATES = 5;
const SAMPLE_TARGET_ROWS = 20_000;
export const RECENT_EVENTS_CAP = 200_000;
/** Events after which a todo job starts waiting (`retried` exists from 3.4 on). */
const WAITING_EVENTS = ['deferred', 'deferred_for_retry'] as const;
const WAITING_EVENTS_34 = [...WAITING_EVENTS, 'retried'] as const;

const emptyCounts = (): StatusCounts => ({ todo: 0, doing: 0, succeeded: 0, failed: 0, cancelled: 0, aborted: 0 });

/**
 * Queue health without a full scan: live statuses exact through Procrastinate's partial index;
 * final statuses exact while the table is small, else estimated from a block sample (failed
 * stays exact when jobq's recommended failed-jobs index exists); recent outcomes from an event
 * id range; oldest waiting job from the lowest ids of each queue's due backlog.
 */
export async function getStats(ctx: QueueContext, options: { groupBy?: 'queue' | 'task' } = {}): Promise<StatsResult> {
  const groupBy = options.groupBy ?? 'queue';
  const column: GroupColumn = groupBy === 'queue' ? 'queue_name' : 'task_name';
  try {
    return await collectStats(ctx, groupBy, column);
  } catch (error) {
    throw asJobqError(error);
  }
}

async function collectStats(ctx: QueueContext, groupBy: 'queue' | 'task', column: GroupColumn): Promise<StatsResult> {
  const { db, schema, settings } = ctx;
  const groups = new Map<string, GroupStats>();
  const group = (name: string): GroupStats => {
    let g = groups.get(name);
    if (!g) {
      g = {
        name,
        counts: emptyCounts(),
        estimated: [],
        oldestTodoAgeSeconds: null,
        paused: null,
        recent: { lastHour: { succeeded: 0, failed: 0 }, last24h: { succeeded: 0, failed: 0 } },
      };
      groups.set(name, g);
    }
    return g;
  };

  if (groupBy === 'queue') {
    const names = await db.query(jobsQueueNames(MAX_GROUPS));
    for (const row of names.rows) group(row.name);
  }

  // 2.x's `aborting` is a running state outside every index: it is counted with the final
  // statuses (same scan or sample) and folded into `doing`.
  const otherStatuses: readonly string[] = schema.has('abort_requested') ? FINAL_STATUSES : [...FINAL_STATUSES, 'aborting'];
  const add = (g: GroupStats, status: JobStatus, count: number) => {
    g.counts[status === 'aborting' ? 'doing' : status] += count;
  };

  const live = await db.query(jobsCountByStatus(column, LIVE_STATUSES));
  for (const row of live.rows) add(group(row.key), row.status, row.count);

  const estimates = await db.query(catalogTableEstimates());
  const jobRows = estimates.rows.find((r) => r.table_name === 'procrastinate_jobs')?.estimated_rows ?? 0;
  let countMethod: StatsResult['countMethod'] = { kind: 'exact' };
  let estimated: ReportedStatus[] = [];
  if (jobRows <= settings.exactCountMaxRows) {
    const exact = await db.query(jobsCountByStatus(column, otherStatuses));
    for (const row of exact.rows) add(group(row.key), row.status, row.count);
  } else {
    const samplePercent = Math.min(100, Math.max(0.01, (100 * SAMPLE_TARGET_ROWS) / jobRows));
    countMethod = { kind: 'sampled', samplePercent, estimatedRows: jobRows };
    const exactFailed = schema.has('failed_index');
    estimated = FINAL_STATUSES.filter((s) => !(exactFailed && s === 'failed'));
    const sample = await db.query(jobsFinalCountsSampled(column, samplePercent));
    const scale = sample.rows[0] ? jobRows / sample.rows[0].sample_total : 0;
    for (const row of sample.rows) {
      if ((estimated as string[]).includes(row.status) || row.status === 'aborting') add(group(row.key), row.status, Math.round(row.count * scale));
    }
    if (exactFailed) {
      const failed = await db.query(jobsCountByStatus(column, ['failed']));
      for (const row of failed.rows) group(row.key).counts.failed += row.count;
    }
    for (const g of groups.values()) g.estimated = [...estimated];
  }

  // Outcomes come from the events of the last 24 hours, reached by primary-key range. A very busy
  // queue can write millions a day: past RECENT_EVENTS_CAP events only the newest are examined
  // and the 24h figures are scaled up and marked as estimates.
  const bounds = await eventIdBounds(db);
  const fromEventId = await firstEventIdSince(db, new Date(Date.now() - 24 * 3600 * 1000), bounds);
  const maxEventId = bounds.max_id;
  const windowEvents = Math.max(0, maxEventId - fromEventId + 1);
  const examinedFrom = Math.max(fromEventId, maxEventId - RECENT_EVENTS_CAP + 1);
  const scale24h = windowEvents > RECENT_EVENTS_CAP ? windowEvents / RECENT_EVENTS_CAP : 1;
  const recent = await db.query(eventsRecentOutcomes(column, examinedFrom));
  for (const row of recent.rows) {
    const g = group(row.key);
    g.recent = {
      lastHour: { succeeded: row.succeeded_1h, failed: row.failed_1h },
      last24h: { succeeded: Math.round(row.succeeded_24h * scale24h), failed: Math.round(row.failed_24h * scale24h) },
    };
  }
  const recentEstimated = scale24h > 1;

  const withBacklog = [...groups.values()].filter((g) => g.counts.todo > 0).map((g) => g.name);
  if (withBacklog.length > 0) {
    const oldest = await db.query(
      jobsOldestDueTodo(column, withBacklog, OLDEST_CANDIDATES, schema.has('retried_event') ? WAITING_EVENTS_34 : WAITING_EVENTS, schema.has('deferred_at')),
    );
    const now = Date.now();
    for (const row of oldest.rows) {
      if (row.waiting_since) group(row.key).oldestTodoAgeSeconds = Math.max(0, Math.round((now - row.waiting_since.getTime()) / 1000));
    }
  }

  if (groupBy === 'queue' && schema.has('pause_queues')) {
    for (const row of (await db.query(pausedQueuesAll(PAUSES_SHOWN))).rows) {
      const g = group(row.queue_name);
      const since = g.paused && g.paused.since < row.paused_at.toISOString() ? g.paused.since : row.paused_at.toISOString();
      g.paused = { since, keys: [...(g.paused?.keys ?? []), row.pause_key] };
    }
  }

  let workers: StatsResult['workers'] = null;
  if (schema.has('workers')) {
    const w = (await db.query(workersSummary(settings.stalledHeartbeatSeconds))).rows[0]!;
    workers = { live: w.live, total: w.total };
  }

  const queues = [...groups.values()].sort((a, b) => a.name.localeCompare(b.name));
  const totals = { counts: emptyCounts(), estimated };
  for (const g of queues) for (const s of REPORTED_STATUSES) totals.counts[s] += g.counts[s];
  return { groupBy, queues, totals, countMethod, recentEstimated, workers, generatedAt: new Date().toISOString() };
}
