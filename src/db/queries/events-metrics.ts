import type { Query } from '../database.js';

/**
 * Statements on procrastinate_events for the metrics collector's event counter. Each reads a
 * primary-key range (or a short list of ids) chosen by the caller, so its cost follows the
 * activity since the last read, never the size of the table.
 */

export interface EventsMetricsRow {
  id: number;
  job_id: number;
  type: string;
  at: Date;
}

/** Events (lo, hi] by primary-key range. */
export function eventsInRange(lo: number, hi: number): Query<EventsMetricsRow> {
  return {
    text: 'SELECT id, job_id, type::text AS type, at FROM procrastinate_events WHERE id > $1::bigint AND id <= $2::bigint ORDER BY id',
    values: [lo, hi],
  };
}

/** The events among `ids` that exist now (ids a transaction still held when their range was read). */
export function eventsWithIds(ids: number[]): Query<EventsMetricsRow> {
  return {
    text: 'SELECT id, job_id, type::text AS type, at FROM procrastinate_events WHERE id = ANY($1::bigint[]) ORDER BY id',
    values: [ids],
  };
}

export interface EventsStartedBeforeRow {
  event_id: number;
  started_at: Date | null;
}

/**
 * For final events (`eventIds`, of `jobIds` in the same order), when their job last started
 * before them: through the (job_id) index, a job's few events each. A max() rather than ORDER BY
 * id DESC LIMIT 1, which the planner could answer by walking the primary key backwards.
 */
export function eventsStartedBefore(eventIds: number[], jobIds: number[]): Query<EventsStartedBeforeRow> {
  return {
    text: `
      SELECT f.event_id,
             (SELECT max(s.at) FROM procrastinate_events s
              WHERE s.job_id = f.job_id AND s.type = 'started' AND s.id < f.event_id) AS started_at
      FROM unnest($1::bigint[], $2::bigint[]) AS f(event_id, job_id)`,
    values: [eventIds, jobIds],
  };
}
