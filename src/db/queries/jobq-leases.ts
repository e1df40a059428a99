import type { QueryConfig } from 'pg';
import type { Query } from '../database.js';

/**
 * Leadership as a lease in jobq's schema: a row per role (`alerts`) naming its holder, a fencing
 * token that grows with every new holder, and an expiry. Renewed in short transactions, it works
 * through any pooler (a session advisory lock does not: through PgBouncer in transaction mode
 * consecutive transactions land on different server connections). A new holder is admitted only
 * after the old lease expired, and every claim of alerting work carries the token, so a leader
 * that was paused past its lease cannot claim anything once another took over.
 */

export interface Fence {
  name: string;
  holder: string;
  token: number;
}

/** Migration 5. */
export function leasesCreateTable(): QueryConfig {
  return {
    text: `
      CREATE TABLE jobq.leases (
        name text PRIMARY KEY,
        holder text NOT NULL,
        token bigint NOT NULL,
        acquired_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
      )`,
  };
}

export interface LeaseAcquireRow {
  token: number;
}

/** Takes the lease if nobody holds it (or it expired); one row back with the new token, or none. */
export function leaseAcquire(name: string, holder: string, ttlMs: number): Query<LeaseAcquireRow> {
  return {
    text: `
      INSERT INTO jobq.leases AS l (name, holder, token, expires_at)
      VALUES ($1::text, $2::text, 1, now() + make_interval(secs => $3::float8 / 1000))
      ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, token = l.token + 1, acquired_at = now(), expires_at = EXCLUDED.expires_at
        WHERE l.expires_at < now()
      RETURNING token`,
    values: [name, holder, ttlMs],
  };
}

/** Extends the holder's lease while it is still valid; no row back: it was lost. */
export function leaseRenew(fence: Fence, ttlMs: number): QueryConfig {
  return {
    text: `
      UPDATE jobq.leases SET expires_at = now() + make_interval(secs => $4::float8 / 1000)
      WHERE name = $1::text AND holder = $2::text AND token = $3::bigint AND expires_at > now()
      RETURNING expires_at`,
    values: [fence.name, fence.holder, fence.token, ttlMs],
  };
}

/** A planned stop: the lease ends now, so a follower takes over at its next try. */
export function leaseRelease(fence: Fence): QueryConfig {
  return {
    text: `UPDATE jobq.leases SET expires_at = now() - interval '1 millisecond' WHERE name = $1::text AND holder = $2::text AND token = $3::bigint`,
    values: [fence.name, fence.holder, fence.token],
  };
}

/**
 * The condition every claim of leader-only work adds: the lease with this token is still held.
 * `first` is the number of the first of the three parameters it uses ($first .. $first+2).
 */
export function leaseHeldSql(first: number): string {
  return `EXISTS (SELECT 1 FROM jobq.leases WHERE name = $${first}::text AND holder = $${first + 1}::text AND token = $${first + 2}::bigint AND expires_at > now())`;
}

export const fenceValues = (fence: Fence) => [fence.name, fence.holder, fence.token];
