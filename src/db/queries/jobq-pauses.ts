import type { Query } from '../database.js';

/**
 * Who paused a queue through jobq, and why: Procrastinate's table keeps only the queue, the key
 * and the time, so jobq keeps the rest beside it (jobq.pauses, keyed like it).
 */

/** Migration 6. */
export function pausesCreateTable(): Query {
  return {
    text: `
      CREATE TABLE jobq.pauses (
        queue_name text NOT NULL,
        pause_key text NOT NULL,
        paused_by text NOT NULL,
        reason text,
        paused_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (queue_name, pause_key)
      )`,
  };
}

export interface PauseNoteRow {
  queue_name: string;
  pause_key: string;
  paused_by: string;
  reason: string | null;
}

export function pausesRecord(queues: string[], key: string, by: string, reason: string | null): Query {
  return {
    text: `
      INSERT INTO jobq.pauses (queue_name, pause_key, paused_by, reason)
      SELECT q, $2::text, $3::text, $4::text FROM unnest($1::text[]) AS q
      ON CONFLICT (queue_name, pause_key) DO UPDATE SET paused_by = EXCLUDED.paused_by, reason = EXCLUDED.reason, paused_at = now()`,
    values: [queues, key, by, reason],
  };
}

export function pausesForget(queues: string[], key: string): Query {
  return { text: 'DELETE FROM jobq.pauses WHERE pause_key = $2::text AND queue_name = ANY ($1::text[])', values: [queues, key] };
}

export function pausesNotes(queues: string[]): Query<PauseNoteRow> {
  return {
    text: 'SELECT queue_name, pause_key, paused_by, reason FROM jobq.pauses WHERE queue_name = ANY ($1::text[])',
    values: [queues],
  };
}
