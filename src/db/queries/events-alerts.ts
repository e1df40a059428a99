import type { Query } from '../database.js';

/**
 * Statements on procrastinate_events for alerts and summaries. Every one is bounded by a
 * primary-key range chosen by the caller, so its cost depends on how many events happened in
 * that range, never on the size of the table.
 */

export interface EventsFailedGroupsRow {
  queue_name: string;
  task_name: string;
  failures: number;
  first_at: Date | null;
  last_at: Date | null;
  sample_job_ids: number[] | null;
  any_unsafe: boolean;
}

/**
 * New failures per queue and task among events (lo, hi], read by primary-key range. Events above
 * `safeHi` are only reported as "seen" (any_unsafe): a transaction that took a lower id may not
 * have committed yet, so the caller counts them on a later poll, once they have settled.
 */
export function eventsFailedGroups(lo: number, hi: number, safeHi: number, sampleSize: number): Query<EventsFailedGroupsRow> {
  return {
    text: `
      SELECT j.queue_name, j.task_name,
             count(*) FILTER (WHERE e.id <= $3::bigint)::bigint AS failures,
             min(e.at) FILTER (WHERE e.id <= $3::bigint) AS first_at,
             max(e.at) FILTER (WHERE e.id <= $3::bigint) AS last_at,
             (array_agg(e.job_id ORDER BY e.id) FILTER (WHERE e.id <= $3::bigint))[1:$4::int] AS sample_job_ids,
             bool_or(e.id > $3::bigint) AS any_unsafe
      FROM procrastinate_events e
      JOIN procrastinate_jobs j ON j.id = e.job_id
      WHERE e.id > $1::bigint AND e.id <= $2::bigint AND e.type = 'failed'
      GROUP BY 1, 2`,
    values: [lo, hi, safeHi, sampleSize],
  };
}

export interface EventsOutcomeBucketsRow {
  queue_name: string;
  task_name: string;
  type: 'failed' | 'succeeded';
  bucket: number;
  count: number;
}

/**
 * Outcomes in an event-id range, per queue, task and time bucket, for summaries. The `at`
 * bounds trim the range's edges; the id range keeps the read on the primary key.
 */
export function eventsOutcomeBuckets(loId: number, hiId: number, from: Date, to: Date, bucketSeconds: number): Query<EventsOutcomeBucketsRow> {
  return {
    text: `
      SELECT j.queue_name, j.task_name, e.type::text AS type,
             floor(extract(epoch FROM e.at - $3::timestamptz) / $5::float8)::int AS bucket,
             count(*)::bigint AS count
      FROM procrastinate_events e
      JOIN procrastinate_jobs j ON j.id = e.job_id
      WHERE e.id >= $1::bigint AND e.id <= $2::bigint AND e.type IN ('succeeded', 'failed')
        AND e.at >= $3::timestamptz AND e.at < $4::timestamptz
      GROUP BY 1, 2, 3, 4`,
    values: [loId, hiId, from, to, bucketSeconds],
  };
}
