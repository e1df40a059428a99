import type { QueryConfig } from 'pg';

/**
 * Signatures of Slack requests already accepted, so a captured request replayed within Slack's
 * five-minute window is refused on every replica, not only on the one that saw it first.
 */

/** Migration 4. Rows live until the request's timestamp leaves the window; the primary key is the lookup. */
export function seenRequestsCreateTable(): QueryConfig {
  return {
    text: `
      CREATE TABLE jobq.seen_requests (
        signature text PRIMARY KEY,
        expires_at timestamptz NOT NULL
      )`,
  };
}

/** One row if the signature is new (and now recorded); none if it was seen before. */
export function seenRequestsRecord(signature: string, expiresAtSeconds: number): QueryConfig {
  return {
    text: `INSERT INTO jobq.seen_requests (signature, expires_at) VALUES ($1::text, to_timestamp($2::float8)) ON CONFLICT (signature) DO NOTHING RETURNING 1 AS new`,
    values: [signature, expiresAtSeconds],
  };
}

/** Signatures whose request timestamp is out of the window can never be accepted again. */
export function seenRequestsPrune(): QueryConfig {
  return { text: 'DELETE FROM jobq.seen_requests WHERE expires_at < now()' };
}
