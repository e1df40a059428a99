import type { Query } from '../database.js';

/**
 * Statements on procrastinate_events. Its only index besides the primary key is (job_id), and
 * ids grow with time: recent events are reached by primary-key range, never by `at` or `type`.
 */

export interface EventsMaxIdRow {
  min_id: number;
  max_id: number;
}

/** Highest event id, from the primary key. */
export function eventsMaxId(): Query<EventsMaxIdRow> {
  return { text: 'SELECT coalesce(max(id), 0)::bigint AS max_id, coalesce(min(id), 0)::bigint AS min_id FROM procrastinate_events' };
}

export interface EventsFirstAtOrAfterIdRow {
  id: number;
  at: Date;
}

/**
 * The first event at or after an id, for a binary search of the time axis. `scheduled` events
 * carry a future `at` (the scheduled time), so they are skipped.
 */
export function eventsFirstAtOrAfterId(id: number): Query<EventsFirstAtOrAfterIdRow> {
  return {
    text: `SELECT id, at FROM procrastinate_events WHERE id >= $1::bigint AND type <> 'scheduled' ORDER BY id LIMIT 1`,
    values: [id],
  };
}

export interface EventsRecentOutcomesRow {
  key: string;
  succeeded_1h: number;
  failed_1h: number;
  succeeded_24h: number;
  failed_24h: number;
}

/** Succeeded/failed in the last hour and day, per group, over an event-id range found by the caller. */
export function eventsRecentOutcomes(group: 'queue_name' | 'task_name', fromEventId: number): Query<EventsRecentOutcomesRow> {
  return {
    text: `
      SELECT j.${group} AS key,
             count(*) FILTER (WHERE e.type = 'succeeded' AND e.at >= now() - interval '1 hour')::bigint AS succeeded_1h,
             count(*) FILTER (WHERE e.type = 'failed' AND e.at >= now() - interval '1 hour')::bigint AS failed_1h,
             count(*) FILTER (WHERE e.type = 'succeeded')::bigint AS succeeded_24h,
             count(*) FILTER (WHERE e.type = 'failed')::bigint AS failed_24h
      FROM procrastinate_events e
      JOIN procrastinate_jobs j ON j.id = e.job_id
      WHERE e.id >= $1::bigint AND e.type IN ('succeeded', 'failed') AND e.at >= now() - interval '24 hours'
      GROUP BY 1`,
    values: [fromEventId],
  };
}

export interface EventsByJobRow {
  type: string;
  at: Date;
}

/** A job's full timeline, by the (job_id) index, hard-limited. */
export function eventsByJob(jobId: number, limit: number): Query<EventsByJobRow> {
  return {
    text: `SELECT id, type::text AS type, at FROM procrastinate_events WHERE job_id = $1::bigint ORDER BY id LIMIT $2::int`,
    values: [jobId, limit],
  };
}
