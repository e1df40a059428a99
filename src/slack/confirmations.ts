import { randomUUID } from 'node:crypto';
import type { Db } from '../db/database.js';
import { confirmationsById, confirmationsCancel, confirmationsClaim, confirmationsFinish, confirmationsInsert } from '../db/queries/jobq-confirmations.js';
import { JobqError } from '../errors.js';
import type { BulkKind } from '../commands/writes.js';

export interface Claimed {
  kind: BulkKind;
  params: unknown;
  requestedBy: string;
  channelId: string;
}

/** Bulk changes waiting for a click, kept in jobq's schema so every replica sees the same state. */
export function createConfirmations(pool: Db, ttlSeconds: number) {
  async function explain(id: string): Promise<JobqError> {
    const row = (await pool.query(confirmationsById(id))).rows[0];
    if (!row) return new JobqError('not_found', 'This confirmation is unknown (it may come from another jobq database).', { runbookSection: 'retrying-jobs-safely' });
    if (row.state === 'running' || row.state === 'done')
      return new JobqError('conflict', `Already confirmed by <@${row.decided_by}>: it runs once.`, { runbookSection: 'retrying-jobs-safely' });
    if (row.state === 'cancelled') return new JobqError('conflict', `Cancelled by <@${row.decided_by}>.`, { runbookSection: 'retrying-jobs-safely' });
    return new JobqError('expired', 'This preview expired: run the command again for a fresh one.', { runbookSection: 'retrying-jobs-safely' });
  }

  return {
    /** The kind of change a confirmation is for (to audit a refusal under the right action). */
    async kindOf(id: string): Promise<BulkKind> {
      const row = (await pool.query(confirmationsById(id))).rows[0];
      if (!row) throw await explain(id);
      return row.kind;
    },
    async create(kind: BulkKind, params: unknown, requestedBy: string, channelId: string): Promise<{ id: string; expiresAt: string }> {
      const id = randomUUID();
      const row = (await pool.query(confirmationsInsert({ id, kind, params, requestedBy, channelId, ttlSeconds }))).rows[0]!;
      return { id, expiresAt: row.expires_at.toISOString() };
    },
    /** The one place a confirmation turns into a run; throws `conflict`/`expired` otherwise. */
    async claim(id: string, userId: string): Promise<Claimed> {
      const row = (await pool.query(confirmationsClaim(id, userId))).rows[0];
      if (!row) throw await explain(id);
      return { kind: row.kind, params: row.params, requestedBy: row.requested_by, channelId: row.channel_id };
    },
    async cancel(id: string, userId: string): Promise<BulkKind> {
      const row = (await pool.query(confirmationsCancel(id, userId))).rows[0];
      if (!row) throw await explain(id);
      return row.kind;
    },
    async finish(id: string, result: unknown): Promise<void> {
      await pool.query(confirmationsFinish(id, result));
    },
  };
}

export type Confirmations = ReturnType<typeof createConfirmations>;
