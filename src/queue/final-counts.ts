import { setTimeout as sleep } from 'node:timers/promises';
import type { Queryable } from '../db/database.js';
import { FINAL_STATUSES } from '../db/procrastinate.js';
import { catalogTableEstimates } from '../db/queries/catalog.js';
import {
  type FinalCountRow,
  type FinalCountsStateRow,
  finalCountsClear,
  finalCountsInsert,
  finalCountsLockLease,
  finalCountsState,
  finalCountsStateSet,
} from '../db/queries/jobq-final-counts.js';
import type { Fence } from '../db/queries/jobq-leases.js';
import { jobsFinalCountsWindow, jobsIdBounds } from '../db/queries/jobs.js';
import type { SchemaInfo } from '../db/schema.js';
import { asJobqError } from '../errors.js';
import { heavyRead, type QueueContext } from './context.js';

/**
 * Exact counts of final-status jobs for tables too large to count on every `stats`: the leader
 * walks the jobs table by primary-key windows in the background, pacing itself, and swaps the
 * result in at once. `stats` then adds the jobs created since (a short primary-key range).
 */

/** Ids per window statement: about 1,800 heap pages on a Procrastinate table, tens of milliseconds. */
export const COUNT_WINDOW_IDS = 100_000;
/** (queue, task, status) combinations kept in memory; a pass that finds more gives up (stats keeps sampling). */
export const COUNT_MAX_GROUPS = 10_000;
/** A count older than this many refresh intervals is not shown: the leader has been gone too long. */
export const COUNT_STALE_INTERVALS = 3;

/** What the background count covers on this schema: the final statuses, and 2.x's `aborting` (outside every index). */
export function countedStatuses(schema: SchemaInfo): readonly string[] {
  return schema.has('abort_requested') ? FINAL_STATUSES : [...FINAL_STATUSES, 'aborting'];
}

export interface CountState {
  countedToId: number;
  /** When the pass began: every count in it is at least this recent. */
  startedAt: string;
  computedAt: string;
  /** By the database's clock, so replicas' clocks do not matter. */
  ageSeconds: number;
  groups: number;
}

/** PostgreSQL codes meaning jobq's tables are not there for this role: no count to use, not an error. */
const NOT_THERE = new Set(['42P01', '3F000', '42501']);

/**
 * The current count's extent and age, or null when there is none: not made yet, or jobq's schema
 * is not migrated or not readable by this role (reads work without it, so stats still answers).
 */
export async function readCountState(db: Queryable, jobsSchema: string): Promise<CountState | null> {
  let row: FinalCountsStateRow | undefined;
  try {
    row = (await db.query(finalCountsState(jobsSchema))).rows[0];
  } catch (error) {
    if (NOT_THERE.has((error as { code?: string }).code ?? '')) return null;
    throw asJobqError(error);
  }
  if (!row) return null;
  return {
    countedToId: row.counted_to_id,
    startedAt: row.started_at.toISOString(),
    computedAt: row.computed_at.toISOString(),
    ageSeconds: Math.max(0, row.age_seconds),
    groups: row.groups,
  };
}

export interface CountPassOptions {
  /** The lease this pass works under; checked before every window, and the swap is fenced by it. */
  fence: () => Fence | null;
  windowIds?: number;
  maxGroups?: number;
  /** Pause after each window, as a multiple of the time it took (default 1: at most about half of one connection). */
  pacing?: number;
  signal?: AbortSignal;
}

export type CountPassResult =
  | { kind: 'counted'; countedToId: number; groups: number; windows: number; sqlMs: number; elapsedMs: number }
  /** The table is at most settings.exactCountMaxRows (planner estimate): stats counts it exactly itself. */
  | { kind: 'skipped'; estimatedRows: number }
  | { kind: 'abandoned'; reason: 'not_leader' | 'stopped' | 'too_many_groups' };

/**
 * One background pass: every final-status job up to the highest id at the start, counted per
 * (queue, task, status) window by window, then swapped in for the last count in one transaction
 * that holds the lease. Reads go where heavy reads go (a current hot standby, else the primary).
 */
export async function countFinalStatuses(ctx: QueueContext, options: CountPassOptions): Promise<CountPassResult> {
  const { db, schema, settings } = ctx;
  const fence = options.fence();
  if (!fence) return { kind: 'abandoned', reason: 'not_leader' };
  const stillLeading = () => options.fence()?.token === fence.token;
  const windowIds = options.windowIds ?? COUNT_WINDOW_IDS;
  const maxGroups = options.maxGroups ?? COUNT_MAX_GROUPS;
  const pacing = options.pacing ?? 1;
  const statuses = countedStatuses(schema);
  try {
    const estimates = await db.query(catalogTableEstimates());
    const estimatedRows = estimates.rows.find((r) => r.table_name === 'procrastinate_jobs')?.estimated_rows ?? 0;
    if (estimatedRows <= settings.exactCountMaxRows) return { kind: 'skipped', estimatedRows };

    const { heavy } = await heavyRead(ctx);
    const started = performance.now();
    const bounds = (await heavy.db.query(jobsIdBounds())).rows[0]!;
    const countedToId = bounds.max_id ?? 0;
    const counts = new Map<string, FinalCountRow>();
    let sqlMs = 0;
    let windows = 0;
    for (let from = bounds.min_id ?? 1; from <= countedToId; from += windowIds) {
      if (options.signal?.aborted) return { kind: 'abandoned', reason: 'stopped' };
      if (!stillLeading()) return { kind: 'abandoned', reason: 'not_leader' };
      const t0 = performance.now();
      const rows = (await heavy.db.query(jobsFinalCountsWindow(from, Math.min(from + windowIds, countedToId + 1), statuses))).rows;
      const took = performance.now() - t0;
      sqlMs += took;
      windows++;
      for (const row of rows) {
        const key = JSON.stringify([row.queue_name, row.task_name, row.status]);
        const seen = counts.get(key);
        if (seen) seen.count += row.count;
        else counts.set(key, { queue: row.queue_name, task: row.task_name, status: row.status, count: row.count });
      }
      if (counts.size > maxGroups) {
        ctx.log?.warn({ groups: counts.size, maxGroups }, 'too many queue/task/status combinations to count in the background; stats keeps sampling');
        return { kind: 'abandoned', reason: 'too_many_groups' };
      }
      // As long as the statement took: the pass holds a connection at most about half the time.
      if (pacing > 0 && from + windowIds <= countedToId) await pause(took * pacing, options.signal);
    }
    if (options.signal?.aborted) return { kind: 'abandoned', reason: 'stopped' };

    const swapped = await db.transaction(async (tx) => {
      if (!(await tx.query(finalCountsLockLease(fence))).rows[0]) return false;
      await tx.query(finalCountsClear(schema.schema));
      if (counts.size > 0) await tx.query(finalCountsInsert(schema.schema, [...counts.values()]));
      await tx.query(finalCountsStateSet(schema.schema, countedToId, (performance.now() - started) / 1000, counts.size));
      return true;
    });
    if (!swapped) return { kind: 'abandoned', reason: 'not_leader' };
    return { kind: 'counted', countedToId, groups: counts.size, windows, sqlMs: Math.round(sqlMs), elapsedMs: Math.round(performance.now() - started) };
  } catch (error) {
    if (options.signal?.aborted && (error as Error).name === 'AbortError') return { kind: 'abandoned', reason: 'stopped' };
    throw asJobqError(error);
  }
}

async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms < 1) return;
  await sleep(Math.ceil(ms), undefined, signal ? { signal } : undefined);
}
