import type { Fence } from '../db/queries/jobq-leases.js';
import { ALERT_NAMES, type AlertName } from '../config.js';
import type { Db, Queryable } from '../db/database.js';
import { mutesActive, mutesClaimNotes, mutesCount, mutesEnd, mutesExpire, mutesInsert, mutesUnclaimNote, type MuteRow } from '../db/queries/jobq-alerts.js';
import { JobqError, asJobqError } from '../errors.js';
import { assertActor, type Actor } from './actor.js';
import { AUDIT_ACTION, AUDIT_OUTCOME, auditFailures, recordAudit } from './audit.js';
import type { QueueContext } from './context.js';
import { MUTE_MAX_SECONDS } from './limits.js';

/** A silence: alerts about a queue, a task or an alert kind are counted instead of posted. */
export interface Mute {
  id: number;
  target: string;
  reason: string | null;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  endedAt: string | null;
  endedBy: string | null;
  endReason: 'expired' | 'unmuted' | null;
  suppressedAlerts: number;
  suppressedFailures: number;
}

/** What an alert is about, for matching against silences. */
export interface AlertSubject {
  alert: AlertName;
  queue?: string | undefined;
  task?: string | undefined;
}

const PREFIXES = ['queue', 'task', 'alert'] as const;

const toMute = (r: MuteRow): Mute => ({
  id: r.id,
  target: r.target,
  reason: r.reason,
  createdBy: r.created_by,
  createdAt: r.created_at.toISOString(),
  expiresAt: r.expires_at.toISOString(),
  endedAt: r.ended_at?.toISOString() ?? null,
  endedBy: r.ended_by,
  endReason: r.end_reason,
  suppressedAlerts: r.suppressed_alerts,
  suppressedFailures: r.suppressed_failures,
});

/**
 * `emails` matches a queue, a task or an alert of that name; `queue:emails`, `task:app.send`
 * and `alert:backlog` match only that kind.
 */
export function muteMatches(target: string, subject: AlertSubject): boolean {
  const colon = target.indexOf(':');
  const prefix = colon > 0 ? target.slice(0, colon) : '';
  if ((PREFIXES as readonly string[]).includes(prefix)) {
    const value = target.slice(colon + 1);
    if (prefix === 'queue') return subject.queue === value;
    if (prefix === 'task') return subject.task === value;
    return subject.alert === value;
  }
  return subject.queue === target || subject.task === target || subject.alert === target;
}

/** Checks a mute target's shape (the queue or task need not exist yet: mute before a deploy). */
export function validateMuteTarget(target: string): string {
  const value = target.trim();
  if (value === '' || value.length > 140 || /\s/.test(value))
    throw new JobqError('usage', 'Give one queue, task or alert name to mute (no spaces).', { runbookSection: 'silencing-alerts' });
  if (value.startsWith('alert:') && !(ALERT_NAMES as readonly string[]).includes(value.slice(6))) {
    throw new JobqError('usage', `Unknown alert "${value.slice(6)}". Alerts: ${ALERT_NAMES.join(', ')}.`, { runbookSection: 'silencing-alerts' });
  }
  return value;
}

function mutesError(error: unknown): JobqError {
  if ((error as { code?: string }).code === '42P01') {
    return new JobqError('internal', "jobq's silences table (jobq.mutes) does not exist yet: start the bot once so it migrates its schema.", {
      runbookSection: 'silencing-alerts',
      cause: error,
    });
  }
  return asJobqError(error);
}

/** Creates a silence and audits it (in one transaction). */
export async function createMute(ctx: QueueContext, input: { target: string; seconds: number; reason: string | null }, actor: Actor): Promise<Mute> {
  const audit = { actor, action: AUDIT_ACTION.mute, filters: { target: input.target, seconds: input.seconds, reason: input.reason } };
  return auditFailures(ctx, audit, async () => {
    assertActor(actor);
    const target = validateMuteTarget(input.target);
    if (!Number.isFinite(input.seconds) || input.seconds < 60 || input.seconds > MUTE_MAX_SECONDS) {
      throw new JobqError('usage', 'A silence lasts from 1m to 30d.', { runbookSection: 'silencing-alerts' });
    }
    return inTransaction(ctx.db, async (client) => {
      const row = (await client.query(mutesInsert(target, input.seconds, input.reason, actor.id))).rows[0]!;
      await recordAudit(client, audit, AUDIT_OUTCOME.ok, 0, `muted until ${row.expires_at.toISOString()}`);
      return toMute(row);
    });
  });
}

/** Ends every active silence on a target and audits it; says so when there is none. */
export async function endMutes(ctx: QueueContext, target: string, actor: Actor): Promise<Mute[]> {
  const audit = { actor, action: AUDIT_ACTION.unmute, filters: { target } };
  return auditFailures(ctx, audit, async () => {
    assertActor(actor);
    const value = validateMuteTarget(target);
    return inTransaction(ctx.db, async (client) => {
      const rows = (await client.query(mutesEnd(value, actor.id))).rows.map(toMute);
      if (rows.length === 0) throw new JobqError('not_found', `Nothing is muted as "${value}". \`/jobq mutes\` lists active silences.`, { runbookSection: 'silencing-alerts' });
      const suppressed = rows.reduce((n, m) => n + m.suppressedAlerts, 0);
      await recordAudit(client, audit, AUDIT_OUTCOME.ok, 0, `${rows.length} silence(s) ended; ${suppressed} alert(s) had been suppressed`);
      return rows;
    });
  });
}

export async function listMutes(pool: Db): Promise<Mute[]> {
  try {
    return (await pool.query(mutesActive())).rows.map(toMute);
  } catch (error) {
    throw mutesError(error);
  }
}

/** Counts one suppressed alert (and the failures in it) on every matching silence. */
export async function countSuppressed(db: Db | Queryable, muteIds: number[], failures = 0): Promise<void> {
  if (muteIds.length === 0) return;
  await db.query(mutesCount(muteIds, 1, failures));
}

/** Ends silences whose time is up, then claims the ended ones whose note is not yet posted. */
export async function endedMutesToAnnounce(pool: Db, fence: Fence, limit = 10): Promise<Mute[]> {
  await pool.query(mutesExpire());
  return (await pool.query(mutesClaimNotes(limit, fence))).rows.map(toMute);
}

export async function unclaimMuteNote(pool: Db, id: number): Promise<void> {
  await pool.query(mutesUnclaimNote(id));
}

/** Silences matching a subject, from a list loaded once per check. */
export function mutesFor(mutes: Mute[], subject: AlertSubject): Mute[] {
  const now = Date.now();
  return mutes.filter((m) => Date.parse(m.expiresAt) > now && muteMatches(m.target, subject));
}

function inTransaction<T>(pool: Db, fn: (client: Queryable) => Promise<T>): Promise<T> {
  return pool.transaction(fn).catch((error: unknown) => {
    throw mutesError(error);
  });
}
