import type { Query } from '../database.js';

/**
 * Statements on procrastinate_events for the metrics collector's event counter. Each reads a
 * primary-key range (or a short list of ids) chosen by the caller, so its cost follows the
 * activity since the last read, never the size of the table.
 */

export interface EventsTallyRow {
  queue_name: string;
  type: string;
  events: number;
  /** Seconds from the job's latest `started` event to this final event, one per final event that had one. */
  durations: number[] | null;
}

export interface EventsTallyByIdsRow extends EventsTallyRow {
  /** The ids found, so the caller stops looking for them. */
  ids: string[];
}

/**
 * Events per queue and type among `where`'s rows, with the run time of each final event. The
 * started time comes per final event through the (job_id) index, as a max() so the planner
 * cannot choose a backward walk of the primary key from the final event instead; CASE keeps the
 * lookup to final events.
 */
function tally(where: string, withIds: boolean): string {
  return `
      SELECT queue_name, type, count(*)::bigint AS events,
             array_agg(duration) FILTER (WHERE duration IS NOT NULL) AS durations${withIds ? ',\n             array_agg(id::text) AS ids' : ''}
      FROM (
        SELECT e.id, e.type::text AS type, j.queue_name,
               CASE WHEN e.type IN ('succeeded', 'failed', 'aborted') THEN
                 extract(epoch FROM e.at - (SELECT max(s.at) FROM procrastinate_events s
                                            WHERE s.job_id = e.job_id AND s.type = 'started' AND s.id < e.id))::float8
               END AS duration
        FROM procrastinate_events e
        JOIN procrastinate_jobs j ON j.id = e.job_id
        WHERE ${where}
      ) t
      GROUP BY 1, 2`;
}

/** Events (lo, hi] by primary-key range, counted per queue and type. */
export function eventsTallyRange(lo: number, hi: number): Query<EventsTallyRow> {
  return { text: tally('e.id > $1::bigint AND e.id <= $2::bigint', false), values: [lo, hi] };
}

/** The events among `ids` that exist now (ids a transaction held back when their range was read). */
export function eventsTallyByIds(ids: number[]): Query<EventsTallyByIdsRow> {
  return { text: tally('e.id = ANY($1::bigint[])', true), values: [ids] };
}

export interface EventsIdsInRangeRow {
  id: number;
}

/** The ids present in (lo, hi], from the primary key alone; read only when a range came up short. */
export function eventsIdsInRange(lo: number, hi: number): Query<EventsIdsInRangeRow> {
  return { text: 'SELECT id FROM procrastinate_events WHERE id > $1::bigint AND id <= $2::bigint ORDER BY id', values: [lo, hi] };
}
