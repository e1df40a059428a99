import type { Limits } from '../db/database.js';
import { jobsIndexDropConcurrently } from '../db/queries/jobs-indexes.js';
import { readSchema, type SchemaInfo } from '../db/schema.js';
import { asJobqError } from '../errors.js';
import type { Actor } from './actor.js';
import { AUDIT_ACTION, AUDIT_OUTCOME, finishAudit, recordAudit } from './audit.js';
import type { QueueContext } from './context.js';
import { RECOMMENDED_INDEXES } from './doctor.js';

/**
 * `jobq doctor --apply`: builds the recommended indexes that are missing, one at a time with
 * CREATE INDEX CONCURRENTLY (Procrastinate's workers keep inserting and updating jobs meanwhile),
 * after the front's confirmation; each build is audited. A build that fails leaves an INVALID
 * index that PostgreSQL still maintains on every write: it is dropped, here or on the next run.
 */

/**
 * Session limits of a build. Waiting for a lock never blocks workers (a concurrent build's lock
 * does not conflict with their inserts and updates), so it may wait a minute: for the table lock
 * against other DDL or VACUUM, and for transactions older than the build to end. The build
 * itself reads the table twice; an hour covers tens of millions of jobs.
 */
export const INDEX_BUILD_LIMITS: Limits = { lockTimeoutMs: 60_000, statementTimeoutMs: 3_600_000 };

export interface IndexBuild {
  name: string;
  purpose: string;
  statement: string;
}

export interface IndexPlan {
  /** Procrastinate's schema, where the indexes go. */
  schema: string;
  build: IndexBuild[];
  /** INVALID indexes under a recommended name, left by an earlier build that failed: dropped first. */
  leftovers: string[];
}

export type IndexStep =
  | { kind: 'leftover-dropped'; name: string }
  | { kind: 'created'; name: string; ms: number }
  | { kind: 'failed'; name: string; error: string; leftoverDropped: boolean };

export interface IndexApplyResult {
  ok: boolean;
  steps: IndexStep[];
}

/** What --apply would do on this schema; nothing when every recommended index is there and valid. */
export function planIndexes(schema: SchemaInfo): IndexPlan {
  const missing = RECOMMENDED_INDEXES.filter((r) => !schema.indexes.some(r.covers));
  const names = new Set(RECOMMENDED_INDEXES.map((r) => r.name));
  return {
    schema: schema.schema,
    build: missing.map((r) => ({ name: r.name, purpose: r.purpose, statement: r.create().text })),
    leftovers: schema.indexes.filter((i) => i.table === 'procrastinate_jobs' && !i.valid && names.has(i.name)).map((i) => i.name),
  };
}

export const planIsEmpty = (plan: IndexPlan) => plan.build.length === 0 && plan.leftovers.length === 0;

/** Runs a confirmed plan. Stops at the first build that fails (after dropping what it left). */
export async function applyIndexes(ctx: QueueContext, plan: IndexPlan, actor: Actor, onStep: (step: IndexStep) => void = () => undefined): Promise<IndexApplyResult> {
  const steps: IndexStep[] = [];
  const report = (step: IndexStep) => {
    steps.push(step);
    onStep(step);
  };
  for (const name of plan.leftovers) {
    await dropIndex(ctx, plan.schema, name, actor, 'left INVALID by an earlier build that failed');
    report({ kind: 'leftover-dropped', name });
  }
  for (const build of plan.build) {
    const filters = { index: build.name, table: 'procrastinate_jobs', schema: plan.schema, statement: build.statement };
    const auditId = await recordAudit(ctx.db, { actor, action: AUDIT_ACTION.createIndex, filters }, AUDIT_OUTCOME.running, 0, null);
    const started = performance.now();
    try {
      await ctx.db.alone((session) => session.query(build.statement), INDEX_BUILD_LIMITS);
    } catch (error) {
      const message = asJobqError(error).message;
      const leftoverDropped = await dropIfInvalid(ctx, plan.schema, build.name, actor);
      await finishAudit(ctx.db, auditId, AUDIT_OUTCOME.failed, `${message}${leftoverDropped ? ' (its INVALID index was dropped)' : ''}`);
      report({ kind: 'failed', name: build.name, error: message, leftoverDropped });
      return { ok: false, steps };
    }
    const ms = Math.round(performance.now() - started);
    await finishAudit(ctx.db, auditId, AUDIT_OUTCOME.ok, `created in ${(ms / 1000).toFixed(1)} s`);
    report({ kind: 'created', name: build.name, ms });
  }
  return { ok: true, steps };
}

/** After a failed build: the catalog says whether it left an INVALID index under that name. */
async function dropIfInvalid(ctx: QueueContext, schema: string, name: string, actor: Actor): Promise<boolean> {
  const now = await readSchema(ctx.db, schema, ctx.schema.foundBy);
  if (!now.indexes.some((i) => i.name === name && !i.valid)) return false;
  await dropIndex(ctx, schema, name, actor, 'left INVALID by the build that just failed');
  return true;
}

async function dropIndex(ctx: QueueContext, schema: string, name: string, actor: Actor, why: string): Promise<void> {
  const statement = jobsIndexDropConcurrently(schema, name);
  const input = { actor, action: AUDIT_ACTION.dropIndex, filters: { index: name, table: 'procrastinate_jobs', schema, statement: statement.text } };
  try {
    await ctx.db.alone((session) => session.query(statement), INDEX_BUILD_LIMITS);
  } catch (error) {
    const e = asJobqError(error);
    await recordAudit(ctx.db, input, AUDIT_OUTCOME.failed, 0, `${why}; could not drop it: ${e.message}`);
    throw e;
  }
  await recordAudit(ctx.db, input, AUDIT_OUTCOME.ok, 0, why);
}
