import { createHash } from 'node:crypto';
import type { Queryable } from '../db/database.js';
import { FUNCTIONS } from '../db/procrastinate.js';
import {
  type FailedBatchStateRow,
  type FailedFilter,
  jobsCallRetryMany,
  jobsFailedGroupsInWindow,
  jobsFailedInWindow,
  jobsFailedStateByIds,
  jobsPickFailedByIds,
  jobsRetryFailedGuarded,
  jobsWriteSnapshot,
} from '../db/queries/jobs-write.js';
import { JobqError, asJobqError } from '../errors.js';
import { assertActor, type Actor } from './actor.js';
import { AUDIT_ACTION, AUDIT_OUTCOME, type AuditInput, addAuditJobs, auditFailures, finishAudit, recordAudit } from './audit.js';
import { ID_WINDOW, auditedPacing, lockHoldStats, pacingFor, paceAfter, runBatches, scanWindows } from './batches.js';
import type { QueueContext } from './context.js';
import type { PacingReport, Pressure } from './pacer.js';
import { type RetryAllSkipped, addSkipped, describeSkips, noSkips } from './retry-all-skips.js';

export type { RetryAllSkipped, SkippedJobs } from './retry-all-skips.js';

export interface RetryAllFilter {
  queue?: string | undefined;
  task?: string | undefined;
  /** Jobs whose latest failure is at or after this time. */
  failedSince?: Date | undefined;
  /** Jobs whose latest failure is before this time. */
  failedBefore?: Date | undefined;
}

export interface RetryAllGroup {
  queue: string;
  task: string;
  count: number;
}

/** What retry-all would touch, and the snapshot it will keep to. Pass it back to retryAll to run it. */
export interface RetryAllPreview {
  filter: RetryAllFilter;
  total: number;
  /** Per queue and task, largest first. */
  groups: RetryAllGroup[];
  /** Highest job id when previewed: later jobs are never touched. */
  upToId: number;
  /**
   * Highest event id when previewed: a job with any later event (it failed again, ran, or was
   * retried by someone else) is not the failure this preview showed, and is left alone.
   */
  upToEventId: number;
  /** The database clock when previewed (ISO 8601, microseconds): how old the preview is. */
  snapshotAt: string;
  /** False when counting stopped at the time budget: then `total` is a lower bound, counted over ids up to `countedToId`. */
  exact: boolean;
  countedToId: number;
  /** Fingerprint of filter and snapshot: retryAll refuses a preview that does not match it. */
  token: string;
}

export interface RetryAllProgress {
  retried: number;
  batches: number;
  /** Every id below this was dealt with. */
  nextId: number;
  upToId: number;
  /** The previewed total, when known. */
  total: number | null;
}

export interface RetryAllOptions {
  onProgress?: ((progress: RetryAllProgress) => void) | undefined;
  /** Stops between batches; the result says how far it got. */
  signal?: AbortSignal | undefined;
}

export interface RetryAllResult {
  retried: number;
  /** What was previewed, when the run confirmed a preview. */
  previewed: { total: number; exact: boolean } | null;
  /** Matching failed jobs left failed, by reason, named. */
  skipped: RetryAllSkipped;
  /** Same as skipped.queueingLock.count (kept for callers reading the older field). */
  skippedQueueingLock: number;
  batches: number;
  stopped: boolean;
  /** Every id below this was dealt with; upToId + 1 when the run finished. */
  nextId: number;
  upToId: number;
  auditId: number;
  lockHold: { maxMs: number; p95Ms: number };
  /** How the batches were paced: their sizes, the longest, and the pauses with their reasons. */
  pacing: PacingReport;
}

/** A preview older than this is refused: what it showed may no longer be what would happen. */
export const PREVIEW_MAX_AGE_MS = 15 * 60 * 1000;
const PREVIEW_BUDGET_MS = 15_000;

/** Counts the failed jobs a retry-all would touch, grouped, walking the primary key in windows. */
export async function previewRetryAll(ctx: QueueContext, filter: RetryAllFilter = {}, options: { budgetMs?: number } = {}): Promise<RetryAllPreview> {
  const normalized = normalizeFilter(filter);
  try {
    const snapshot = await takeSnapshot(ctx);
    const groups = new Map<string, RetryAllGroup>();
    const scan = await scanWindows({ fromId: snapshot.minId, toId: snapshot.maxId }, windowSize(ctx), options.budgetMs ?? PREVIEW_BUDGET_MS, async (lo, hi) => {
      const rows = await ctx.db.query(jobsFailedGroupsInWindow(toSql(normalized), lo, hi));
      for (const row of rows.rows) {
        const key = JSON.stringify([row.queue_name, row.task_name]);
        const group = groups.get(key) ?? { queue: row.queue_name, task: row.task_name, count: 0 };
        group.count += row.count;
        groups.set(key, group);
      }
    });
    const sorted = [...groups.values()].sort((a, b) => b.count - a.count || a.queue.localeCompare(b.queue) || a.task.localeCompare(b.task));
    const base = { filter: normalized, upToId: snapshot.maxId, upToEventId: snapshot.maxEventId, snapshotAt: snapshot.nowIso };
    return {
      ...base,
      total: sorted.reduce((sum, g) => sum + g.count, 0),
      groups: sorted,
      exact: scan.exact,
      countedToId: scan.scannedToId,
      token: fingerprint(base),
    };
  } catch (error) {
    throw asJobqError(error);
  }
}

/**
 * Retries every failed job matching the preview (or filter) in paced batches, each its own
 * short transaction: read up to the pacer's limit of failed jobs in its id window, lock them with
 * SKIP LOCKED, retry those with no
 * event after the snapshot, count them into the audit entry. A job is retried only while the
 * failure it has is the one the snapshot saw, so runs overlapping on one preview (or a rerun)
 * retry each job at most once for it. Jobs left failed are named in the result with the reason.
 */
export async function retryAll(ctx: QueueContext, target: RetryAllPreview | RetryAllFilter, actor: Actor, options: RetryAllOptions = {}): Promise<RetryAllResult> {
  const preview = 'token' in target ? (target as RetryAllPreview) : null;
  const auditInput: AuditInput = { actor, action: AUDIT_ACTION.retryAll, filters: auditFilters(preview ? preview.filter : (target as RetryAllFilter), preview) };
  const plan = await auditFailures(ctx, auditInput, async () => {
    assertActor(actor);
    return resolvePlan(ctx, target, preview);
  });
  auditInput.filters = { ...auditInput.filters, upToId: plan.upToId, upToEventId: plan.upToEventId };
  const auditId = await recordAudit(ctx.db, auditInput, AUDIT_OUTCOME.running, 0, null);
  const skipped = noSkips();
  const held: number[] = [];
  const settle = (client: Queryable, state: FailedBatchStateRow[], onHeld: (id: number) => void) => settleBatch(ctx, client, auditId, state, skipped, onHeld);
  const pacing = pacingFor(ctx, windowSize(ctx));
  try {
    const run = await runBatches(
      ctx.db,
      { fromId: plan.fromId, toId: plan.upToId },
      {
        pacing,
        signal: options.signal,
        onBatch: (p) => options.onProgress?.({ retried: p.done, batches: p.batches, nextId: p.nextId, upToId: plan.upToId, total: preview?.total ?? null }),
      },
      async (client, lo, hi, limit) => {
        // The jobs this batch answers for: the window's first `limit` failed ones (the cursor goes on after the last).
        const ids = (await client.query(jobsFailedInWindow(plan.filter, lo, hi, limit))).rows.map((r) => r.id);
        if (ids.length === 0) return { picked: 0, read: 0, lastId: null, changed: 0 };
        const picked = (await client.query(jobsPickFailedByIds(plan.filter, ids, false))).rows.map((r) => r.id);
        const state = (await client.query(jobsFailedStateByIds(plan.filter, ids, picked, plan.upToEventId))).rows;
        const changed = await settle(client, state, (id) => (held.length < HELD_KEPT ? held.push(id) : addSkipped(skipped.locked, id)));
        return { picked: picked.length, read: ids.length, lastId: ids[ids.length - 1]!, changed };
      },
    );
    // Rows held by another run's batch or a short worker transaction are free again by now, or
    // soon: one more try, waiting briefly for them, so only jobs still held are left to the operator.
    for (let i = 0; i < held.length; ) {
      const chunk = held.slice(i, i + pacing.pacer.limit);
      i += chunk.length;
      if (options.signal?.aborted) {
        for (const id of chunk) addSkipped(skipped.locked, id);
        continue;
      }
      let holding: Pick<Pressure, 'lockWaiters' | 'probeMs'> | null = null;
      const step = await tryHeldAgain(ctx, plan, chunk, async (client, state) => {
        const changed = await settle(client, state, (id) => addSkipped(skipped.locked, id));
        holding = await pacing.gauge.whileHolding(client, pacing.pacer.probeThresholdMs);
        return changed;
      });
      if (step.picked === 0) continue;
      run.lockHoldMs.push(step.lockHoldMs);
      run.batches += 1;
      run.done += step.changed;
      options.onProgress?.({ retried: run.done, batches: run.batches, nextId: run.nextId, upToId: plan.upToId, total: preview?.total ?? null });
      await paceAfter(pacing, { rows: step.picked, bound: 'ids', heldMs: step.lockHoldMs, holding }, { more: i < held.length, signal: options.signal });
    }
    const previewed = preview ? { total: preview.total, exact: preview.exact } : null;
    const headline = run.stopped
      ? `Stopped on request after retrying ${run.done} failed jobs; ids below ${run.nextId} were done, up to ${plan.upToId} remained.`
      : `Retried ${run.done} failed jobs${previewed ? ` of ${previewed.exact ? '' : 'at least '}${previewed.total} previewed` : ''} (ids up to ${plan.upToId}).`;
    await finishAudit(ctx.db, auditId, run.stopped ? AUDIT_OUTCOME.stopped : AUDIT_OUTCOME.ok, [headline, ...describeSkips(skipped)].join(' '), {
      pacing: auditedPacing(pacing.pacer.summary()),
    });
    return {
      retried: run.done,
      previewed,
      skipped,
      skippedQueueingLock: skipped.queueingLock.count,
      batches: run.batches,
      stopped: run.stopped,
      nextId: run.nextId,
      upToId: plan.upToId,
      auditId,
      lockHold: lockHoldStats(run.lockHoldMs),
      pacing: pacing.pacer.report(),
    };
  } catch (error) {
    const err = (error as { code?: string }).code === '23505' ? queueingLockRace(error) : asJobqError(error);
    await finishAudit(ctx.db, auditId, AUDIT_OUTCOME.failed, err.message, { pacing: auditedPacing(pacing.pacer.summary()) }).catch((auditFailure: unknown) => {
      ctx.log?.error({ err: auditFailure, auditId }, 'could not record the failure of retry-all');
    });
    throw err;
  }
}

/** lock_not_available (lock_timeout), deadlock_detected. */
const LOCK_NOT_TAKEN = new Set(['55P03', '40P01']);

/** Ids kept for a second try; beyond this many, a held job is only named (memory stays bounded). */
const HELD_KEPT = 100_000;

/**
 * Sorts one batch's rows and retries the ones that are still the previewed failure and free to
 * go back to todo. Rows another session held go to `onHeld`. Returns how many were retried.
 */
async function settleBatch(
  ctx: QueueContext,
  client: Queryable,
  auditId: number,
  state: FailedBatchStateRow[],
  skipped: RetryAllSkipped,
  onHeld: (id: number) => void,
): Promise<number> {
  // Procrastinate allows one waiting job per queueing lock: within a batch too.
  const locks = new Set<string>();
  const ids: number[] = [];
  for (const row of state) {
    if (row.changed) addSkipped(skipped.changed, row.id);
    else if (!row.picked) onHeld(row.id);
    else if (row.queueing_lock !== null && (row.queueing_lock_taken || locks.has(row.queueing_lock))) addSkipped(skipped.queueingLock, row.id);
    else {
      if (row.queueing_lock !== null) locks.add(row.queueing_lock);
      ids.push(row.id);
    }
  }
  let retried = 0;
  if (ids.length > 0) {
    // The rows are locked and failed: 3.4+'s function cannot refuse them.
    const result = await client.query(ctx.schema.has('retry_failed') ? jobsCallRetryMany(FUNCTIONS.retryFailedV2, ids) : jobsRetryFailedGuarded(ids));
    retried = result.rowCount ?? 0;
  }
  await addAuditJobs(client, auditId, retried);
  return retried;
}

/**
 * The second try at jobs another session held during the walk: one transaction that waits for
 * them (at most lock_timeout); if they are still held then, one that takes what is free.
 */
async function tryHeldAgain(
  ctx: QueueContext,
  plan: Plan,
  ids: number[],
  settle: (client: Queryable, state: FailedBatchStateRow[]) => Promise<number>,
): Promise<{ picked: number; changed: number; lockHoldMs: number }> {
  const attempt = (wait: boolean) =>
    ctx.db.transaction(async (client) => {
      const picked = (await client.query(jobsPickFailedByIds(plan.filter, ids, wait))).rows.map((r) => r.id);
      const lockedAt = performance.now(); // waiting for the locks is not holding them
      const state = (await client.query(jobsFailedStateByIds(plan.filter, ids, picked, plan.upToEventId))).rows;
      const changed = await settle(client, state);
      return { picked: picked.length, changed, lockedAt };
    });
  const step = await attempt(true).catch((error: unknown) => (LOCK_NOT_TAKEN.has((error as { code?: string }).code ?? '') ? attempt(false) : Promise.reject(error)));
  return { picked: step.picked, changed: step.changed, lockHoldMs: performance.now() - step.lockedAt };
}

interface Plan {
  filter: FailedFilter;
  fromId: number;
  upToId: number;
  upToEventId: number;
}

async function resolvePlan(ctx: QueueContext, target: RetryAllPreview | RetryAllFilter, preview: RetryAllPreview | null): Promise<Plan> {
  const snapshot = await takeSnapshot(ctx);
  if (!preview) {
    return { filter: toSql(normalizeFilter(target as RetryAllFilter)), fromId: snapshot.minId, upToId: snapshot.maxId, upToEventId: snapshot.maxEventId };
  }
  const filter = normalizeFilter(preview.filter);
  const intact =
    typeof preview.snapshotAt === 'string' &&
    ISO_INSTANT.test(preview.snapshotAt) &&
    isId(preview.upToId) &&
    isId(preview.upToEventId) &&
    fingerprint({ filter, upToId: preview.upToId, upToEventId: preview.upToEventId, snapshotAt: preview.snapshotAt }) === preview.token;
  if (!intact) {
    throw new JobqError('usage', 'This retry-all preview does not match its fingerprint (it was altered or is incomplete): nothing was retried.', {
      hint: 'Preview again, then confirm that preview.',
      runbookSection: 'retrying-jobs-safely',
    });
  }
  const age = snapshot.now.getTime() - new Date(preview.snapshotAt).getTime();
  if (!(age <= PREVIEW_MAX_AGE_MS)) {
    throw new JobqError(
      'expired',
      `This retry-all preview is ${Math.round(age / 60_000)} minutes old (limit ${PREVIEW_MAX_AGE_MS / 60_000}): what it showed may have changed. Nothing was retried.`,
      {
        hint: 'Preview again and confirm the fresh preview.',
        runbookSection: 'retrying-jobs-safely',
      },
    );
  }
  return { filter: toSql(filter), fromId: snapshot.minId, upToId: preview.upToId, upToEventId: preview.upToEventId };
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
/** Ids come back from a JSON round trip: a snapshot id must still be a whole, non-negative number. */
const isId = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

async function takeSnapshot(ctx: QueueContext): Promise<{ minId: number; maxId: number; maxEventId: number; now: Date; nowIso: string }> {
  const row = (await ctx.db.query(jobsWriteSnapshot())).rows[0]!;
  return { minId: row.min_id ?? 1, maxId: row.max_id ?? 0, maxEventId: row.max_event_id ?? 0, now: row.now, nowIso: row.now_iso };
}

/** With jobq's failed-jobs index the selection is an index read: one window for the whole range. */
const windowSize = (ctx: QueueContext) => (ctx.schema.has('failed_index') ? null : ID_WINDOW);

/** Validates a filter and returns it in canonical form (dates may arrive as ISO strings from a button payload). */
function normalizeFilter(filter: RetryAllFilter): RetryAllFilter {
  const out: RetryAllFilter = {};
  for (const key of ['queue', 'task'] as const) {
    const value = filter[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || value.trim() === '') throw new JobqError('usage', `The ${key} filter must be a non-empty name.`);
    out[key] = value;
  }
  for (const key of ['failedSince', 'failedBefore'] as const) {
    const value = filter[key] as Date | string | undefined | null;
    if (value === undefined || value === null) continue;
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) throw new JobqError('usage', `The ${key === 'failedSince' ? 'since' : 'before'} filter is not a valid time.`);
    out[key] = date;
  }
  if (out.failedSince && out.failedBefore && out.failedSince >= out.failedBefore) {
    throw new JobqError('usage', `"since" (${out.failedSince.toISOString()}) must be earlier than "before" (${out.failedBefore.toISOString()}).`);
  }
  return out;
}

const toSql = (f: RetryAllFilter): FailedFilter => ({ queue: f.queue ?? null, task: f.task ?? null, failedSince: f.failedSince ?? null, failedBefore: f.failedBefore ?? null });

/** The fingerprint a preview carries: a front can check a preview it round-tripped (a Slack button) is intact. */
export function fingerprint(base: { filter: RetryAllFilter; upToId: number; upToEventId: number; snapshotAt: string }): string {
  const canonical = JSON.stringify([
    base.filter.queue ?? null,
    base.filter.task ?? null,
    base.filter.failedSince?.toISOString() ?? null,
    base.filter.failedBefore?.toISOString() ?? null,
    base.upToId,
    base.upToEventId,
    base.snapshotAt,
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

function auditFilters(filter: RetryAllFilter, preview: RetryAllPreview | null): Record<string, unknown> {
  const f = filter as Record<string, unknown>;
  return {
    queue: f.queue ?? null,
    task: f.task ?? null,
    failedSince: f.failedSince ?? null,
    failedBefore: f.failedBefore ?? null,
    ...(preview ? { previewTotal: preview.total, previewExact: preview.exact, previewToken: preview.token } : {}),
  };
}

function queueingLockRace(cause: unknown): JobqError {
  return new JobqError(
    'conflict',
    'A job was deferred with the queueing lock of a failed job while retry-all ran, so that batch was not applied. Jobs retried before it stay retried.',
    {
      hint: 'Run the same retry-all again: it only touches jobs that are still failed.',
      runbookSection: 'retrying-jobs-safely',
      cause,
    },
  );
}
