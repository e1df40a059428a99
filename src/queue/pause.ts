import { jobsQueueNames } from '../db/queries/jobs.js';
import { pausesForget, pausesNotes, pausesRecord } from '../db/queries/jobq-pauses.js';
import { pausedQueuesAll, pausedQueuesDelete, pausedQueuesInsert, type PausedQueueRow } from '../db/queries/paused-queues.js';
import { JobqError } from '../errors.js';
import { assertActor, type Actor } from './actor.js';
import { AUDIT_ACTION, AUDIT_OUTCOME, auditFailures, recordAudit } from './audit.js';
import type { QueueContext } from './context.js';

/**
 * Pausing queues (Procrastinate 3.10+): workers fetching through procrastinate_fetch_job_v3 take
 * nothing from a paused queue, and jobs already running finish. jobq pauses under its own key, so
 * resuming through jobq never lifts a pause an operator or a deploy script set under theirs.
 */
export const JOBQ_PAUSE_KEY = 'jobq';
/** More pause rows than this is no longer a list a person reads. */
const PAUSES_LIMIT = 1_000;
/** `pause --all` covers the queues the jobs table knows, found by a loose index scan. */
const QUEUES_LIMIT = 500;

export interface PausedQueue {
  queue: string;
  key: string;
  pausedAt: string;
  /** Who and why, for pauses jobq set (null for another key's). */
  pausedBy: string | null;
  reason: string | null;
}

export interface PauseResult {
  paused: string[];
  /** Already paused by jobq: left as they were. */
  alreadyPaused: string[];
  reason: string | null;
}

export interface ResumeResult {
  key: string;
  resumed: PausedQueue[];
  /** Queues that stay paused under other keys after this. */
  stillPaused: { queue: string; keys: string[] }[];
}

/** What `pause --all` would do, confirmed before it runs. */
export interface PauseAllPreview {
  queues: string[];
  alreadyPaused: string[];
  reason: string | null;
  total: number;
  exact: true;
}

/** What resuming another key's pause would lift, confirmed before it runs. */
export interface ResumeKeyPreview {
  queue: string;
  key: string;
  pausedAt: string | null;
  total: number;
  exact: true;
}

const unsupported = (ctx: QueueContext) =>
  new JobqError(
    'unsupported',
    `Pausing queues needs Procrastinate 3.10 or later; this database is ${ctx.schema.generation}. To stop work now, scale the workers of that queue down (see the emergency stop).`,
    {
      runbookSection: 'emergency-stop',
    },
  );

export function assertPausable(ctx: QueueContext): void {
  if (!ctx.schema.has('pause_queues')) throw unsupported(ctx);
}

const toPaused = (row: PausedQueueRow, note?: { paused_by: string; reason: string | null }): PausedQueue => ({
  queue: row.queue_name,
  key: row.pause_key,
  pausedAt: row.paused_at.toISOString(),
  pausedBy: note?.paused_by ?? null,
  reason: note?.reason ?? null,
});

/** Every pause on the database (Procrastinate's table only: works without jobq's schema). */
export async function pausedQueues(ctx: QueueContext): Promise<PausedQueueRow[]> {
  if (!ctx.schema.has('pause_queues')) return [];
  return (await ctx.db.query(pausedQueuesAll(PAUSES_LIMIT))).rows;
}

/** Every pause, with who set it and why when jobq did. */
export async function listPaused(ctx: QueueContext): Promise<PausedQueue[]> {
  assertPausable(ctx);
  const rows = await pausedQueues(ctx);
  if (rows.length === 0) return [];
  const notes = (await ctx.db.query(pausesNotes([...new Set(rows.map((r) => r.queue_name))]))).rows;
  return rows.map((r) =>
    toPaused(
      r,
      notes.find((n) => n.queue_name === r.queue_name && n.pause_key === r.pause_key),
    ),
  );
}

export async function pauseQueues(ctx: QueueContext, queues: string[], reason: string | null, actor: Actor): Promise<PauseResult> {
  const audit = { actor, action: AUDIT_ACTION.pause, filters: { queues, reason } };
  return auditFailures(ctx, audit, async () => {
    assertActor(actor);
    assertPausable(ctx);
    return ctx.db.transaction(async (tx) => {
      const inserted = (await tx.query(pausedQueuesInsert(queues, JOBQ_PAUSE_KEY))).rows.map((r) => r.queue_name);
      // A Slack user by id (names can be changed or copied), a terminal user by name.
      if (inserted.length) await tx.query(pausesRecord(inserted, JOBQ_PAUSE_KEY, actor.kind === 'slack' ? actor.id : (actor.name ?? actor.id), reason));
      const alreadyPaused = queues.filter((q) => !inserted.includes(q));
      const message = `paused ${inserted.length ? inserted.join(', ') : 'nothing new'}${alreadyPaused.length ? `; already paused by jobq: ${alreadyPaused.join(', ')}` : ''}`;
      await recordAudit(tx, audit, AUDIT_OUTCOME.ok, 0, message);
      return { paused: inserted, alreadyPaused, reason };
    });
  });
}

/**
 * Lifts the pauses of one key (jobq's unless an operator names another) on the given queues, or on
 * every queue jobq paused. Says which queues stay paused under other keys.
 */
export async function resumeQueues(ctx: QueueContext, queues: string[] | null, actor: Actor, key = JOBQ_PAUSE_KEY): Promise<ResumeResult> {
  const audit = { actor, action: AUDIT_ACTION.resume, filters: { queues: queues ?? 'all', key } };
  return auditFailures(ctx, audit, async () => {
    assertActor(actor);
    assertPausable(ctx);
    return ctx.db.transaction(async (tx) => {
      const deleted = (await tx.query(pausedQueuesDelete(queues, key))).rows;
      const names = deleted.map((r) => r.queue_name);
      if (deleted.length === 0) {
        const others = queues ? (await tx.query(pausedQueuesAll(PAUSES_LIMIT))).rows.filter((r) => queues.includes(r.queue_name)) : [];
        const hint = others.length
          ? `${others.map((r) => `${r.queue_name} is paused under key "${r.pause_key}"`).join('; ')}: \`resume ${others[0]!.queue_name} --key ${others[0]!.pause_key}\` lifts it (after a confirmation).`
          : '`paused` lists every pause.';
        throw new JobqError('not_found', `${queues ? queues.join(', ') : 'No queue'} is not paused by ${key === JOBQ_PAUSE_KEY ? 'jobq' : `key "${key}"`}. ${hint}`, {
          runbookSection: 'emergency-stop',
        });
      }
      const notes = (await tx.query(pausesNotes(names))).rows;
      await tx.query(pausesForget(names, key));
      const remaining = (await tx.query(pausedQueuesAll(PAUSES_LIMIT))).rows.filter((r) => names.includes(r.queue_name));
      const stillPaused = names
        .filter((q) => remaining.some((r) => r.queue_name === q))
        .map((q) => ({ queue: q, keys: remaining.filter((r) => r.queue_name === q).map((r) => r.pause_key) }));
      const message = `resumed ${names.join(', ')}${key !== JOBQ_PAUSE_KEY ? ` (key "${key}")` : ''}${stillPaused.length ? `; still paused under other keys: ${stillPaused.map((s) => s.queue).join(', ')}` : ''}`;
      await recordAudit(tx, audit, AUDIT_OUTCOME.ok, 0, message);
      return {
        key,
        resumed: deleted.map((r) =>
          toPaused(
            r,
            notes.find((n) => n.queue_name === r.queue_name && n.pause_key === r.pause_key),
          ),
        ),
        stillPaused,
      };
    });
  });
}

/** The queues `pause --all` would pause: every queue the jobs table knows. */
export async function previewPauseAll(ctx: QueueContext, reason: string | null): Promise<PauseAllPreview> {
  assertPausable(ctx);
  const known = (await ctx.db.query(jobsQueueNames(QUEUES_LIMIT))).rows.map((r) => r.name);
  const ours = new Set((await pausedQueues(ctx)).filter((r) => r.pause_key === JOBQ_PAUSE_KEY).map((r) => r.queue_name));
  const queues = known.filter((q) => !ours.has(q));
  return { queues, alreadyPaused: known.filter((q) => ours.has(q)), reason, total: queues.length, exact: true };
}

/** What lifting another key's pause would do; refused for jobq's own key (no confirmation needed there). */
export async function previewResumeKey(ctx: QueueContext, queue: string, key: string): Promise<ResumeKeyPreview> {
  assertPausable(ctx);
  const row = (await pausedQueues(ctx)).find((r) => r.queue_name === queue && r.pause_key === key);
  return { queue, key, pausedAt: row?.paused_at.toISOString() ?? null, total: row ? 1 : 0, exact: true };
}
