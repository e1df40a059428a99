import { setTimeout as sleep } from 'node:timers/promises';
import type { Db, Queryable } from '../db/database.js';

/**
 * The two loops every bulk operation shares. Both walk the jobs primary key upwards in id
 * windows, because the statuses they look for have no index: a window bounds what one
 * statement reads, whatever the table size. Where an index serves the selection, one window
 * spans the whole range.
 */

/** Ids per statement when walking the primary key without an index on the status. */
export const ID_WINDOW = 50_000;

export interface IdRange {
  /** Inclusive bounds. */
  fromId: number;
  toId: number;
}

export interface ScanResult {
  /** False when the time budget ran out before the whole range was read. */
  exact: boolean;
  /** The ids actually read: fromId..scannedToId. */
  scannedToId: number;
}

/**
 * Runs one read per id window over the range, until done or until `budgetMs` is spent (then
 * the result is partial: `exact` false).
 */
export async function scanWindows(range: IdRange, windowSize: number | null, budgetMs: number, read: (lo: number, hi: number) => Promise<void>): Promise<ScanResult> {
  const started = Date.now();
  let cursor = range.fromId;
  while (cursor <= range.toId) {
    if (Date.now() - started > budgetMs) return { exact: false, scannedToId: cursor - 1 };
    const hi = windowSize === null ? range.toId + 1 : Math.min(cursor + windowSize, range.toId + 1);
    await read(cursor, hi);
    cursor = hi;
  }
  return { exact: true, scannedToId: range.toId };
}

/** What one batch transaction did. */
export interface BatchStep {
  /** Rows locked by the batch (the cursor moves past them). */
  picked: number;
  /** Highest id picked, null when none. */
  lastId: number | null;
  /** Jobs changed (retried, deleted). */
  changed: number;
}

export interface BatchProgress {
  /** Jobs changed so far. */
  done: number;
  batches: number;
  /** Every id below this has been dealt with. */
  nextId: number;
  toId: number;
}

export interface BatchOptions {
  limit: number;
  pauseMs: number;
  windowSize: number | null;
  signal?: AbortSignal | undefined;
  onBatch?: ((progress: BatchProgress) => void) | undefined;
}

export interface BatchRun {
  done: number;
  batches: number;
  /** True when the signal stopped the run before the end of the range. */
  stopped: boolean;
  /** Every id below this was dealt with; equals toId + 1 when the run finished. */
  nextId: number;
  /** Duration of each transaction that locked rows: how long it held its locks. */
  lockHoldMs: number[];
}

/**
 * Runs `step` over the range, each call in its own short transaction, at most `limit` rows
 * each. The cursor only moves forward, so a run never comes back to a job. Pauses between
 * batches that changed something (so workers get their turn) and stops between batches when
 * the signal fires.
 */
export async function runBatches(
  pool: Db,
  range: IdRange,
  options: BatchOptions,
  step: (client: Queryable, lo: number, hi: number, limit: number) => Promise<BatchStep>,
): Promise<BatchRun> {
  const run: BatchRun = { done: 0, batches: 0, stopped: false, nextId: range.fromId, lockHoldMs: [] };
  while (run.nextId <= range.toId) {
    if (options.signal?.aborted) {
      run.stopped = true;
      break;
    }
    const lo = run.nextId;
    const hi = options.windowSize === null ? range.toId + 1 : Math.min(lo + options.windowSize, range.toId + 1);
    const started = performance.now();
    const result = await pool.transaction((client) => step(client, lo, hi, options.limit));
    if (result.picked > 0) run.lockHoldMs.push(performance.now() - started);
    run.nextId = result.picked >= options.limit && result.lastId !== null ? result.lastId + 1 : hi;
    if (result.picked === 0) continue;
    run.batches += 1;
    run.done += result.changed;
    options.onBatch?.({ done: run.done, batches: run.batches, nextId: run.nextId, toId: range.toId });
    if (run.nextId <= range.toId && options.pauseMs > 0) {
      await sleep(options.pauseMs, undefined, { signal: options.signal }).catch(() => undefined);
    }
  }
  return run;
}

/** Max and 95th percentile of lock-holding times, for reports and the benchmark. */
export function lockHoldStats(samples: number[]): { maxMs: number; p95Ms: number } {
  if (samples.length === 0) return { maxMs: 0, p95Ms: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  return { maxMs: sorted[sorted.length - 1]!, p95Ms: sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]! };
}
