import type { QueryConfig } from 'pg';
import type { Query } from '../database.js';

/**
 * Pending bulk changes awaiting a Confirm click in Slack. Shared through the database so that
 * any replica can take the click, and a double click (or two people clicking) runs it once:
 * the claim is one conditional UPDATE.
 */

export function confirmationsCreateTable(): QueryConfig {
  return {
    text: `
      CREATE TABLE jobq.confirmations (
        id text PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('retry-all', 'purge')),
        params jsonb NOT NULL,
        requested_by text NOT NULL,
        channel_id text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'cancelled')),
        decided_by text,
        decided_at timestamptz,
        result jsonb
      )`,
  };
}

export interface ConfirmationsInsertRow {
  expires_at: Date;
}

export function confirmationsInsert(c: { id: string; kind: string; params: unknown; requestedBy: string; channelId: string; ttlSeconds: number }): Query<ConfirmationsInsertRow> {
  return {
    text: `
      INSERT INTO jobq.confirmations (id, kind, params, requested_by, channel_id, expires_at)
      VALUES ($1::text, $2::text, $3::jsonb, $4::text, $5::text, now() + make_interval(secs => $6::float8))
      RETURNING expires_at`,
    values: [c.id, c.kind, JSON.stringify(c.params), c.requestedBy, c.channelId, c.ttlSeconds],
  };
}

export interface ConfirmationsClaimRow {
  kind: 'retry-all' | 'purge';
  params: unknown;
  requested_by: string;
  channel_id: string;
}

/** Takes a pending, unexpired confirmation for one run; no row means someone else did, or it expired. */
export function confirmationsClaim(id: string, userId: string): Query<ConfirmationsClaimRow> {
  return {
    text: `
      UPDATE jobq.confirmations SET state = 'running', decided_by = $2::text, decided_at = now()
      WHERE id = $1::text AND state = 'pending' AND expires_at > now()
      RETURNING kind, params, requested_by, channel_id`,
    values: [id, userId],
  };
}

export interface ConfirmationsCancelRow {
  kind: 'retry-all' | 'purge';
}

export function confirmationsCancel(id: string, userId: string): Query<ConfirmationsCancelRow> {
  return {
    text: `
      UPDATE jobq.confirmations SET state = 'cancelled', decided_by = $2::text, decided_at = now()
      WHERE id = $1::text AND state = 'pending'
      RETURNING kind`,
    values: [id, userId],
  };
}

export function confirmationsFinish(id: string, result: unknown): QueryConfig {
  return {
    text: `UPDATE jobq.confirmations SET state = 'done', result = $2::jsonb WHERE id = $1::text`,
    values: [id, JSON.stringify(result)],
  };
}

export interface ConfirmationsByIdRow {
  kind: 'retry-all' | 'purge';
  state: string;
  decided_by: string | null;
  expired: boolean;
}

export function confirmationsById(id: string): Query<ConfirmationsByIdRow> {
  return {
    text: `SELECT kind, state, decided_by, decided_at, expires_at, expires_at <= now() AS expired FROM jobq.confirmations WHERE id = $1::text`,
    values: [id],
  };
}

/** Migration 7: confirmations also for pausing every queue and lifting another key's pause (3.10). */
export function confirmationsWidenKinds(): Query {
  return {
    text: `
      ALTER TABLE jobq.confirmations DROP CONSTRAINT IF EXISTS confirmations_kind_check,
        ADD CONSTRAINT confirmations_kind_check CHECK (kind IN ('retry-all', 'purge', 'pause-all', 'resume-key'))`,
  };
}
