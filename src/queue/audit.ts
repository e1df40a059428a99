import type { Queryable } from '../db/database.js';
import { auditAddJobs, auditFinish, auditInsert, auditPage } from '../db/queries/jobq.js';
import { JobqError, type JobqErrorCode, asJobqError } from '../errors.js';
import type { Actor } from './actor.js';
import type { QueueContext } from './context.js';

export const AUDIT_ACTION = {
  retry: 'retry',
  retryAll: 'retry_all',
  cancel: 'cancel',
  runNow: 'run_now',
  purge: 'purge',
  mute: 'mute',
  unmute: 'unmute',
  pause: 'pause',
  resume: 'resume',
  /** A click on a confirmation jobq cannot place (unknown, or from another database). */
  confirmation: 'confirmation',
  /** `jobq doctor --apply`: a recommended index built on Procrastinate's table. */
  createIndex: 'create_index',
  /** `jobq doctor --apply`: an INVALID index left by a failed build, dropped. */
  dropIndex: 'drop_index',
} as const;
export type AuditAction = (typeof AUDIT_ACTION)[keyof typeof AUDIT_ACTION];

/** `running` only while a batched operation is in progress (or if its process died mid-way). */
export const AUDIT_OUTCOME = {
  running: 'running',
  ok: 'ok',
  refused: 'refused',
  failed: 'failed',
  stopped: 'stopped',
} as const;
export type AuditOutcome = (typeof AUDIT_OUTCOME)[keyof typeof AUDIT_OUTCOME];

export interface AuditInput {
  actor: Actor;
  action: AuditAction;
  /** What the change was asked to touch: a job id, or the filters of a bulk operation. */
  filters: Record<string, unknown>;
}

export interface AuditEntry {
  id: number;
  at: string;
  finishedAt: string | null;
  actor: Actor;
  action: string;
  filters: Record<string, unknown>;
  jobCount: number;
  outcome: AuditOutcome;
  message: string | null;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Pass back as `cursor` for older entries; null when there are none. */
  nextCursor: number | null;
}

/** A refusal changed nothing and says why; anything else is a failure of jobq or the database. */
const REFUSALS: ReadonlySet<JobqErrorCode> = new Set(['usage', 'not_found', 'wrong_status', 'conflict', 'expired', 'forbidden', 'disabled', 'unsupported', 'busy']);

export function outcomeOf(error: JobqError): AuditOutcome {
  return REFUSALS.has(error.code) ? AUDIT_OUTCOME.refused : AUDIT_OUTCOME.failed;
}

/** Writes one entry; inside the change's own transaction when `db` is that transaction's client. */
export async function recordAudit(db: Queryable, input: AuditInput, outcome: AuditOutcome, jobCount: number, message: string | null): Promise<number> {
  try {
    const row = await db.query(
      auditInsert({
        actorKind: input.actor.kind,
        actorId: input.actor.id,
        actorName: input.actor.name ?? null,
        action: input.action,
        filters: input.filters,
        jobCount,
        outcome,
        message,
      }),
    );
    return row.rows[0]!.id;
  } catch (error) {
    throw auditError(error);
  }
}

/** Counts a batch's jobs into a running entry, inside that batch's transaction. */
export async function addAuditJobs(client: Queryable, auditId: number, count: number): Promise<void> {
  if (count > 0) await client.query(auditAddJobs(auditId, count));
}

/** Ends a running entry; `details` (a bulk change's pacing) are added to its filters. */
export async function finishAudit(db: Queryable, auditId: number, outcome: AuditOutcome, message: string | null, details: Record<string, unknown> | null = null): Promise<void> {
  await db.query(auditFinish(auditId, outcome, message, details));
}

/**
 * Runs an operation and audits its refusal or failure (its success is audited by the operation
 * itself, in the same transaction as the change). The error is rethrown as a JobqError.
 */
export async function auditFailures<T>(ctx: QueueContext, input: AuditInput, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const err = asJobqError(error);
    await recordAudit(ctx.db, input, outcomeOf(err), 0, err.message).catch((auditFailure: unknown) => {
      ctx.log?.error({ err: auditFailure, action: input.action }, 'could not write the audit entry of a refused or failed change');
    });
    throw err;
  }
}

export const AUDIT_MAX_LIMIT = 100;

/** Recent entries, newest first, keyset-paginated on the id. */
export async function listAudit(ctx: QueueContext, query: { limit?: number | undefined; cursor?: number | undefined } = {}): Promise<AuditPage> {
  const limit = query.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > AUDIT_MAX_LIMIT) throw new JobqError('usage', `--limit must be between 1 and ${AUDIT_MAX_LIMIT}.`);
  if (query.cursor !== undefined && (!Number.isInteger(query.cursor) || query.cursor < 1)) throw new JobqError('usage', 'The audit cursor must be a positive whole number.');
  try {
    const rows = await ctx.db.query(auditPage(query.cursor ?? null, limit + 1));
    const entries = rows.rows.slice(0, limit).map((r) => ({
      id: r.id,
      at: r.at.toISOString(),
      finishedAt: r.finished_at ? r.finished_at.toISOString() : null,
      actor: r.actor_name === null ? { kind: r.actor_kind, id: r.actor_id } : { kind: r.actor_kind, id: r.actor_id, name: r.actor_name },
      action: r.action,
      filters: r.filters,
      jobCount: r.job_count,
      outcome: r.outcome,
      message: r.message,
    }));
    return { entries, nextCursor: rows.rows.length > limit ? entries[entries.length - 1]!.id : null };
  } catch (error) {
    throw auditError(error);
  }
}

function auditError(error: unknown): JobqError {
  if ((error as { code?: string }).code === '42P01') {
    return new JobqError('internal', "jobq's audit log (table jobq.audit_log) does not exist yet, so no change can be recorded; nothing was changed.", {
      hint: 'jobq creates its own schema when it starts (migrate); start it once with a role that may create the `jobq` schema.',
      runbookSection: 'audit-trail',
      cause: error,
    });
  }
  return asJobqError(error);
}
