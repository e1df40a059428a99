import { FINAL_STATUSES, JOB_STATUS, type FinalStatus } from '../db/procrastinate.js';
import { jobsCreatedAtFrom, jobsPurgeBatch, jobsPurgeableInWindow, jobsWriteSnapshot } from '../db/queries/jobs-write.js';
import { JobqError, asJobqError } from '../errors.js';
import { assertActor, type Actor } from './actor.js';
import { AUDIT_ACTION, AUDIT_OUTCOME, type AuditInput, addAuditJobs, auditFailures, finishAudit, recordAudit } from './audit.js';
import { ID_WINDOW, auditedPacing, lockHoldStats, pacingFor, runBatches, scanWindows } from './batches.js';
import type { QueueContext } from './context.js';
import type { PacingReport } from './pacer.js';

export interface PurgeOptions {
  /** Jobs whose latest event is older than this many days (whole days, at least 1). */
  olderThanDays?: number;
  /** The same age in seconds (at least a minute), for `--older-than 36h`; wins over olderThanDays. */
  olderThanSeconds?: number;
  queue?: string | undefined;
  /** Failed jobs are kept unless asked for: they are what people triage. */
  includeFailed?: boolean | undefined;
}

export type StatusCounts = Record<FinalStatus, number>;

export interface PurgePreview {
  cutoff: string;
  /** The statuses that would be deleted (never todo, doing or aborting). */
  statuses: FinalStatus[];
  counts: StatusCounts;
  total: number;
  /** Ids that can hold a job old enough: jobs created after the cutoff have higher ids. */
  candidateIds: { fromId: number; toId: number };
  /** False when counting stopped at the time budget: counts are then lower bounds, over ids up to `countedToId`. */
  exact: boolean;
  countedToId: number;
}

export interface PurgeProgress {
  deleted: number;
  batches: number;
  nextId: number;
  toId: number;
}

export interface PurgeRunOptions {
  onProgress?: ((progress: PurgeProgress) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export interface PurgeResult {
  cutoff: string;
  deleted: StatusCounts;
  total: number;
  batches: number;
  stopped: boolean;
  /** Every candidate id below this was dealt with; toId + 1 when the run finished. */
  nextId: number;
  toId: number;
  auditId: number;
  /** How long each batch transaction held its row locks. */
  lockHold: { maxMs: number; p95Ms: number };
  /** How the batches were paced: their sizes, the longest, and the pauses with their reasons. */
  pacing: PacingReport;
}

const PREVIEW_BUDGET_MS = 15_000;
const MAX_DAYS = 36_500;

/** Counts, per status, the jobs a purge would delete. Reads only the ids that can be old enough. */
export async function previewPurge(ctx: QueueContext, options: PurgeOptions, run: { budgetMs?: number } = {}): Promise<PurgePreview> {
  const statuses = purgeStatuses(options);
  try {
    const plan = await planPurge(ctx, options);
    const counts = emptyCounts();
    const scan = await scanWindows({ fromId: plan.fromId, toId: plan.toId }, ID_WINDOW, run.budgetMs ?? PREVIEW_BUDGET_MS, async (lo, hi) => {
      const rows = await ctx.db.query(jobsPurgeableInWindow(statuses, options.queue ?? null, plan.cutoff, lo, hi));
      for (const row of rows.rows) counts[row.status] += row.count;
    });
    return {
      cutoff: plan.cutoff.toISOString(),
      statuses,
      counts,
      total: sum(counts),
      candidateIds: { fromId: plan.fromId, toId: plan.toId },
      exact: scan.exact,
      countedToId: scan.scannedToId,
    };
  } catch (error) {
    throw asJobqError(error);
  }
}

/**
 * Deletes jobs in final states whose latest event is older than the cutoff, in paced batches:
 * each batch locks at most the pacer's limit of rows (SKIP LOCKED: rows a worker holds are left),
 * deletes them with the status checked again, and commits. Its cost follows the rows it deletes:
 * only ids below the first job created after the cutoff are read.
 */
export async function purge(ctx: QueueContext, options: PurgeOptions, actor: Actor, run: PurgeRunOptions = {}): Promise<PurgeResult> {
  const auditInput: AuditInput = {
    actor,
    action: AUDIT_ACTION.purge,
    filters: { olderThanDays: options.olderThanDays, olderThanSeconds: options.olderThanSeconds, queue: options.queue ?? null, includeFailed: options.includeFailed ?? false },
  };
  const { statuses, plan } = await auditFailures(ctx, auditInput, async () => {
    assertActor(actor);
    return { statuses: purgeStatuses(options), plan: await planPurge(ctx, options) };
  });
  auditInput.filters = { ...auditInput.filters, statuses, cutoff: plan.cutoff.toISOString(), upToId: plan.toId };
  const auditId = await recordAudit(ctx.db, auditInput, AUDIT_OUTCOME.running, 0, null);
  const deleted = emptyCounts();
  const pacing = pacingFor(ctx, ID_WINDOW);
  try {
    const batches = await runBatches(
      ctx.db,
      { fromId: plan.fromId, toId: plan.toId },
      {
        pacing,
        signal: run.signal,
        onBatch: (p) => run.onProgress?.({ deleted: p.done, batches: p.batches, nextId: p.nextId, toId: plan.toId }),
      },
      async (client, lo, hi, limit) => {
        const row = (await client.query(jobsPurgeBatch(statuses, options.queue ?? null, plan.cutoff, lo, hi, limit))).rows[0]!;
        let changed = 0;
        for (const [status, count] of Object.entries(row.deleted) as [FinalStatus, number][]) {
          deleted[status] += count;
          changed += count;
        }
        await addAuditJobs(client, auditId, changed);
        return { picked: row.picked, lastId: row.last_id, changed };
      },
    );
    const summary = describeCounts(deleted);
    const message = batches.stopped
      ? `Stopped on request after deleting ${batches.done} jobs (${summary}); ids below ${batches.nextId} were done, up to ${plan.toId} remained.`
      : `Deleted ${batches.done} jobs older than ${describeAge(options)} (${summary}).`;
    await finishAudit(ctx.db, auditId, batches.stopped ? AUDIT_OUTCOME.stopped : AUDIT_OUTCOME.ok, message, { pacing: auditedPacing(pacing.pacer.summary()) });
    return {
      cutoff: plan.cutoff.toISOString(),
      deleted,
      total: batches.done,
      batches: batches.batches,
      stopped: batches.stopped,
      nextId: batches.nextId,
      toId: plan.toId,
      auditId,
      lockHold: lockHoldStats(batches.lockHoldMs),
      pacing: pacing.pacer.report(),
    };
  } catch (error) {
    const err = asJobqError(error);
    const message = `${err.message} (deleted before the failure: ${describeCounts(deleted)})`;
    await finishAudit(ctx.db, auditId, AUDIT_OUTCOME.failed, message, { pacing: auditedPacing(pacing.pacer.summary()) }).catch((auditFailure: unknown) => {
      ctx.log?.error({ err: auditFailure, auditId }, 'could not record the failure of purge');
    });
    throw err;
  }
}

/** The age in seconds, checked: whole days from olderThanDays, or any whole number of seconds from a minute up. */
function ageSeconds(options: PurgeOptions): number {
  const seconds = options.olderThanSeconds;
  if (seconds !== undefined) {
    if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 60 || seconds > MAX_DAYS * 86_400) {
      throw new JobqError('usage', `The age must be between 1 minute and ${MAX_DAYS} days; got \`${String(seconds)}\` seconds.`, { runbookSection: 'purging-and-retention' });
    }
    return seconds;
  }
  const days = options.olderThanDays;
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
    throw new JobqError('usage', `The age must be a whole number of days between 1 and ${MAX_DAYS}; got \`${String(days)}\`.`, { runbookSection: 'purging-and-retention' });
  }
  return days * 86_400;
}

function describeAge(options: PurgeOptions): string {
  if (options.olderThanSeconds === undefined) return `${options.olderThanDays} days`;
  const s = options.olderThanSeconds;
  return s % 86_400 === 0 ? `${s / 86_400} days` : s % 3_600 === 0 ? `${s / 3_600} hours` : `${Math.round(s / 60)} minutes`;
}

function purgeStatuses(options: PurgeOptions): FinalStatus[] {
  ageSeconds(options);
  if (options.queue !== undefined && (typeof options.queue !== 'string' || options.queue.trim() === '')) {
    throw new JobqError('usage', 'The queue filter must be a non-empty queue name.', { runbookSection: 'purging-and-retention' });
  }
  return FINAL_STATUSES.filter((s) => s !== JOB_STATUS.failed || options.includeFailed === true);
}

interface PurgePlan {
  cutoff: Date;
  fromId: number;
  toId: number;
}

/** The cutoff by the database clock, and the id range that can hold jobs older than it. */
async function planPurge(ctx: QueueContext, options: PurgeOptions): Promise<PurgePlan> {
  const snapshot = (await ctx.db.query(jobsWriteSnapshot())).rows[0]!;
  const cutoff = new Date(snapshot.now.getTime() - ageSeconds(options) * 1000);
  if (snapshot.min_id === null || snapshot.max_id === null) return { cutoff, fromId: 1, toId: 0 };
  const firstNew = await firstJobCreatedSince(ctx, snapshot.min_id, snapshot.max_id, cutoff);
  return { cutoff, fromId: snapshot.min_id, toId: firstNew - 1 };
}

/**
 * The lowest job id created at or after `since`, by binary search over the primary key (ids
 * grow with time); a job's creation time is its first event. About log2(ids) index probes.
 * A job without events counts as old: it is then read, and kept (it has no latest event).
 */
async function firstJobCreatedSince(ctx: QueueContext, minId: number, maxId: number, since: Date): Promise<number> {
  let lo = minId;
  let hi = maxId + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const row = (await ctx.db.query(jobsCreatedAtFrom(mid))).rows[0];
    if (!row) {
      hi = mid;
    } else if (row.created_at !== null && row.created_at >= since) {
      hi = mid;
    } else {
      lo = row.id + 1;
    }
  }
  return lo;
}

const emptyCounts = (): StatusCounts => ({ succeeded: 0, failed: 0, cancelled: 0, aborted: 0 });
const sum = (counts: StatusCounts) => Object.values(counts).reduce((a, b) => a + b, 0);

function describeCounts(counts: StatusCounts): string {
  const parts = FINAL_STATUSES.filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${s}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}
