import { setTimeout as sleep } from 'node:timers/promises';
import type { Db, Queryable } from '../db/database.js';
import type { QueueContext } from './context.js';
import { type BatchBound, NO_PRESSURE, PAUSE_REASON, Pacer, type PacingSummary, type Pressure } from './pacer.js';
import { type PressureGauge, pressureGauge } from './pressure.js';

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
  /** Rows locked by the batch. */
  picked: number;
  /** Rows its selection returned, locked or not (when it reads before it locks); `picked` when absent. Full at the limit. */
  read?: number;
  /** Highest id selected, null when none: a full batch's cursor goes on after it. */
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

/** The controller and the measurements a paced run uses (see pacer.ts, pressure.ts). */
export interface Pacing {
  pacer: Pacer;
  gauge: PressureGauge;
}

/** Pacing within the run's caps: JOBQ_BATCH_SIZE rows per batch, JOBQ_BATCH_PAUSE_MS per pause. `span`: the first id window, null for none. */
export function pacingFor(ctx: QueueContext, span: number | null): Pacing {
  const pacer = new Pacer({ ...ctx.settings.pacing, maxRows: ctx.settings.batchSize, maxPauseMs: ctx.settings.batchPauseMs, span });
  return { pacer, gauge: pressureGauge(ctx) };
}

/** The pacing as the audit entry keeps it: the figures, rounded, and only the signals that paused the run. */
export function auditedPacing(p: PacingSummary): Record<string, unknown> {
  const pausedFor = Object.fromEntries(Object.entries(p.pauses).flatMap(([reason, x]) => (x.count > 0 ? [[reason, { count: x.count, ms: Math.round(x.ms) }]] : [])));
  return {
    batches: p.batches,
    firstRows: p.firstRows,
    largestRows: p.largestRows,
    finalRows: p.finalRows,
    maxBatchMs: Math.round(p.maxBatchMs),
    slowBatches: p.slowBatches,
    pausedMs: Math.round(p.pausedMs),
    pausedFor,
  };
}

export interface BatchOptions {
  pacing: Pacing;
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
 * Runs `step` over the range, each call in its own short transaction, with the row limit and
 * id window the pacer gives. The cursor only moves forward, so a run never comes back to a job.
 * Pauses only when the pacer says workers feel the run, and stops between batches when the
 * signal fires.
 */
export async function runBatches(
  pool: Db,
  range: IdRange,
  options: BatchOptions,
  step: (client: Queryable, lo: number, hi: number, limit: number) => Promise<BatchStep>,
): Promise<BatchRun> {
  const { pacer, gauge } = options.pacing;
  const run: BatchRun = { done: 0, batches: 0, stopped: false, nextId: range.fromId, lockHoldMs: [] };
  if (run.nextId <= range.toId) pacer.rebaseline(await gauge.idleProbe());
  while (run.nextId <= range.toId) {
    if (options.signal?.aborted) {
      run.stopped = true;
      break;
    }
    const lo = run.nextId;
    const limit = pacer.limit;
    const span = pacer.span;
    const hi = span === null ? range.toId + 1 : Math.min(lo + span, range.toId + 1);
    // Locks are taken from the batch's first statement to its commit: taking a connection and BEGIN are not holding them.
    let started = 0;
    const { result, holding } = await pool.transaction(async (client) => {
      started = performance.now();
      const result = await step(client, lo, hi, limit);
      return { result, holding: result.picked > 0 ? await gauge.whileHolding(client, pacer.probeThresholdMs) : null };
    });
    const heldMs = performance.now() - started;
    const full = (result.read ?? result.picked) >= limit;
    run.nextId = full && result.lastId !== null ? result.lastId + 1 : hi;
    if (result.picked > 0) {
      run.lockHoldMs.push(heldMs);
      run.batches += 1;
      run.done += result.changed;
      options.onBatch?.({ done: run.done, batches: run.batches, nextId: run.nextId, toId: range.toId });
    }
    await paceAfter(options.pacing, { rows: result.picked, bound: full ? 'rows' : 'span', heldMs, holding }, { more: run.nextId <= range.toId, signal: options.signal });
  }
  return run;
}

/**
 * Tells the pacer what a batch did, with the replica's lag, and sleeps the pause it decides
 * (unless nothing is left to do, or a stop was asked for). After a pause for slow fetches, the
 * probe is read again with nothing of this run open: if it is as slow idle, the load is not this run's.
 */
export async function paceAfter(
  pacing: Pacing,
  batch: { rows: number; bound: BatchBound; heldMs: number; holding: Pick<Pressure, 'lockWaiters' | 'probeMs'> | null },
  run: { more: boolean; signal?: AbortSignal | undefined },
): Promise<void> {
  const pressure: Pressure = { ...NO_PRESSURE, ...batch.holding, replicaLagSeconds: await pacing.gauge.replicaLag() };
  const decision = pacing.pacer.observe({ rows: batch.rows, bound: batch.bound, heldMs: batch.heldMs, pressure });
  if (decision.reason === null || !run.more || run.signal?.aborted) return;
  const started = performance.now();
  if (decision.pauseMs > 0) await sleep(decision.pauseMs, undefined, { signal: run.signal }).catch(() => undefined);
  pacing.pacer.paused(decision.reason, performance.now() - started);
  if (decision.reason === PAUSE_REASON.fetchLatency && !run.signal?.aborted) pacing.pacer.rebaseline(await pacing.gauge.idleProbe());
}

/** Max and 95th percentile of lock-holding times, for reports and the benchmark. */
export function lockHoldStats(samples: number[]): { maxMs: number; p95Ms: number } {
  if (samples.length === 0) return { maxMs: 0, p95Ms: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  return { maxMs: sorted[sorted.length - 1]!, p95Ms: sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]! };
}
