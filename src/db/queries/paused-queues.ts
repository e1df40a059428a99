import type { Query } from '../database.js';

/**
 * Procrastinate 3.10's queue pauses: a queue is paused while at least one row of
 * procrastinate_paused_queues names it, under any pause_key; procrastinate_fetch_job_v3 skips it,
 * and deleting the rows resumes it (a trigger wakes listening workers). jobq writes and deletes
 * only rows under its own key, so it never lifts a pause another party set, unless told to.
 */

export interface PausedQueueRow {
  queue_name: string;
  pause_key: string;
  paused_at: Date;
}

/** Every pause, oldest first per queue. The unique (queue_name, pause_key) index serves it; the table is tiny. */
export function pausedQueuesAll(limit: number): Query<PausedQueueRow> {
  return {
    text: `SELECT queue_name, pause_key, paused_at FROM procrastinate_paused_queues ORDER BY queue_name, paused_at LIMIT $1::int`,
    values: [limit],
  };
}

/** Pauses queues under a key; queues already paused under it are left as they were. */
export function pausedQueuesInsert(queues: string[], key: string): Query<PausedQueueRow> {
  return {
    text: `
      INSERT INTO procrastinate_paused_queues (queue_name, pause_key)
      SELECT q, $2::varchar FROM unnest($1::varchar[]) AS q
      ON CONFLICT (queue_name, pause_key) DO NOTHING
      RETURNING queue_name, pause_key, paused_at`,
    values: [queues, key],
  };
}

/** Lifts the pauses of one key, on the given queues or (null) on every queue it paused. */
export function pausedQueuesDelete(queues: string[] | null, key: string): Query<PausedQueueRow> {
  return {
    text: `
      DELETE FROM procrastinate_paused_queues
      WHERE pause_key = $2::varchar AND ($1::varchar[] IS NULL OR queue_name = ANY ($1::varchar[]))
      RETURNING queue_name, pause_key, paused_at`,
    values: [queues, key],
  };
}
