import { pausedQueuesAll } from '../db/queries/paused-queues.js';
import { catalogTableEstimates } from '../db/queries/catalog.js';
import { eventsRecentOutcomes } from '../db/queries/events.js';
import { finalCountsByGroup } from '../db/queries/jobq-final-counts.js';
import { type GroupColumn, jobsCountByStatus, jobsCountByStatusAfter, jobsFinalCountsSampled, jobsIdBounds, jobsOldestDueTodo, jobsQueueNames } from '../db/queries/jobs.js';
import { workersSummary } from '../db/queries/workers.js';
import { type JobStatus, REPORTED_STATUSES, type ReportedStatus } from '../db/procrastinate.js';
import { RARE_STATUSES } from '../db/schema.js';
import { asJobqError } from '../errors.js';
import type { QueueContext } from './context.js';
import { eventIdBounds, firstEventIdSince } from './event-range.js';
import { COUNT_STALE_INTERVALS, COUNT_WINDOW_IDS, countedStatuses, readCountState } from './final-counts.js';

export type StatusCounts = Record<ReportedStatus, number>;

/** For each estimated status, the ± of a rough 95% bound on its count. */
export type CountMargins = Partial<Record<ReportedStatus, number>>;

export interface GroupStats {
  name: string;
  counts: StatusCounts;
  /** Statuses whose count is a sampled estimate rather than exact (their bound in `margins`). */
  estimated: ReportedStatus[];
  /** Statuses counted exactly in the background: exact as of `countMethod.asOf`, plus every job created since. */
  counted: ReportedStatus[];
  margins: CountMargins;
  oldestTodoAgeSeconds: number | null;
  /** Procrastinate 3.10+: workers take nothing from this queue while it is paused (under any key). */
  paused: { since: string; keys: string[] } | null;
  recent: { lastHour: { succeeded: number; failed: number }; last24h: { succeeded: number; failed: number } };
}

export interface StatsResult {
  groupBy: 'queue' | 'task';
  queues: GroupStats[];
  totals: { counts: StatusCounts; estimated: ReportedStatus[]; counted: ReportedStatus[]; margins: CountMargins };
  countMethod: CountMethod;
  /** True when the last-24h outcomes were scaled up from the newest RECENT_EVENTS_CAP events. */
  recentEstimated: boolean;
  workers: { live: number; total: number } | null;
  generatedAt: string;
}

/**
 * How final-status counts were obtained: exact scan (small table); the leader's background count
 * as of `asOf` plus the jobs created since; or, with no usable background count, a block sample
 * of `samplePercent`, saying why.
 */
export type CountMethod =
  | { kind: 'exact' }
  | { kind: 'counted'; asOf: string; countedToId: number; refreshSeconds: number; estimatedRows: number }
  | {
      kind: 'sampled';
      samplePercent: number;
      estimatedRows: number;
      /** Why not the background count: none yet, too old (its leader gone), or too far behind the newest jobs. */
      fallback: 'no_count' | 'count_too_old' | 'count_behind';
      countAgeSeconds: number | null;
    };

const MAX_GROUPS = 500;
/** Jobs past the background count that stats counts itself: one window's worth, like the count's own statements. */
const COUNT_MAX_BEHIND_IDS = COUNT_WINDOW_IDS;
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
 * final statuses exact while the table is small, else from the leader's background count plus
 * the jobs since (failed, cancelled and aborted exact through jobq's recommended index when it
 * exists), else estimated from a block sample with a bound; recent outcomes from an event id
 * range; oldest waiting job from the lowest ids of each queue's due backlog.
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
        counted: [],
        margins: {},
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
  // statuses (same scan, background count or sample) and folded into `doing`.
  const otherStatuses = countedStatuses(schema);
  const add = (g: GroupStats, status: JobStatus, count: number) => {
    g.counts[status === 'aborting' ? 'doing' : status] += count;
  };

  const live = await db.query(jobsCountByStatus(column, LIVE_STATUSES));
  for (const row of live.rows) add(group(row.key), row.status, row.count);

  const estimates = await db.query(catalogTableEstimates());
  const jobRows = estimates.rows.find((r) => r.table_name === 'procrastinate_jobs')?.estimated_rows ?? 0;
  let countMethod: CountMethod = { kind: 'exact' };
  const totals = { counts: emptyCounts(), estimated: [] as ReportedStatus[], counted: [] as ReportedStatus[], margins: {} as CountMargins };
  // How each group's final-status counts were made; applied once every group is known (a task
  // seen only in recent events still gets its flags and bounds).
  let describe: (g: GroupStats) => void = () => undefined;
  if (jobRows <= settings.exactCountMaxRows) {
    const exact = await db.query(jobsCountByStatus(column, otherStatuses));
    for (const row of exact.rows) add(group(row.key), row.status, row.count);
  } else {
    // Exact at any size through jobq's recommended partial index (or the older failed-only one).
    const indexed: readonly string[] = schema.has('rare_index') ? RARE_STATUSES : schema.has('failed_index') ? ['failed'] : [];
    if (indexed.length > 0) {
      for (const row of (await db.query(jobsCountByStatus(column, indexed))).rows) add(group(row.key), row.status, row.count);
    }
    const rest = otherStatuses.filter((s) => !indexed.includes(s));
    const shown = rest.filter((s): s is ReportedStatus => (REPORTED_STATUSES as readonly string[]).includes(s));
    const count = await readCountState(db, schema.schema);
    const maxId = count ? ((await db.query(jobsIdBounds())).rows[0]!.max_id ?? 0) : 0;
    const fallback = !count
      ? 'no_count'
      : count.ageSeconds > COUNT_STALE_INTERVALS * settings.countsRefreshSeconds
        ? 'count_too_old'
        : maxId - count.countedToId > COUNT_MAX_BEHIND_IDS
          ? 'count_behind'
          : null;
    if (count && fallback === null) {
      countMethod = { kind: 'counted', asOf: count.startedAt, countedToId: count.countedToId, refreshSeconds: settings.countsRefreshSeconds, estimatedRows: jobRows };
      for (const row of (await db.query(finalCountsByGroup(schema.schema, column, rest))).rows) add(group(row.key), row.status as JobStatus, row.count);
      for (const row of (await db.query(jobsCountByStatusAfter(column, rest, count.countedToId))).rows) add(group(row.key), row.status, row.count);
      totals.counted = shown;
      describe = (g) => {
        g.counted = [...shown];
      };
    } else {
      const samplePercent = Math.min(100, Math.max(0.01, (100 * SAMPLE_TARGET_ROWS) / jobRows));
      countMethod = { kind: 'sampled', samplePercent, estimatedRows: jobRows, fallback: fallback ?? 'no_count', countAgeSeconds: count ? Math.round(count.ageSeconds) : null };
      const sample = await db.query(jobsFinalCountsSampled(column, samplePercent));
      const scale = sample.rows[0] ? jobRows / sample.rows[0].sample_total : jobRows;
      const sampled = new Map<string, Partial<Record<ReportedStatus, number>>>();
      const totalSampled: Partial<Record<ReportedStatus, number>> = {};
      for (const row of sample.rows) {
        if (!rest.includes(row.status)) continue;
        add(group(row.key), row.status, Math.round(row.count * scale));
        if (row.status === 'aborting') continue;
        const perGroup = sampled.get(row.key) ?? {};
        perGroup[row.status] = row.count;
        sampled.set(row.key, perGroup);
        totalSampled[row.status] = (totalSampled[row.status] ?? 0) + row.count;
      }
      // k sampled rows stand for k·scale jobs; as a Poisson count, ±2·sqrt(k+1) rows is roughly a
      // 95% bound. Block sampling clusters rows (jobs of a burst share pages), so it is only a guide.
      const margin = (k: number) => Math.round(2 * Math.sqrt(k + 1) * scale);
      describe = (g) => {
        g.estimated = [...shown];
        for (const s of shown) g.margins[s] = margin(sampled.get(g.name)?.[s] ?? 0);
      };
      totals.estimated = shown;
      for (const s of shown) totals.margins[s] = margin(totalSampled[s] ?? 0);
    }
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
  for (const g of queues) {
    describe(g);
    for (const s of REPORTED_STATUSES) totals.counts[s] += g.counts[s];
  }
  return { groupBy, queues, totals, countMethod, recentEstimated, workers, generatedAt: new Date().toISOString() };
}
