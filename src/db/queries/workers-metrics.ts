import type { Query } from '../database.js';

export interface WorkersHeartbeatsRow {
  live: number;
  total: number;
  /** Seconds since the oldest heartbeat among registered workers; null with no worker registered. */
  oldest_heartbeat_age_seconds: number | null;
}

/** Live and registered workers (3.1+) and the oldest heartbeat, for the metrics collector. The table holds a row per worker. */
export function workersHeartbeats(staleSeconds: number): Query<WorkersHeartbeatsRow> {
  return {
    text: `
      SELECT count(*) FILTER (WHERE last_heartbeat >= now() - make_interval(secs => $1::float8))::bigint AS live,
             count(*)::bigint AS total,
             extract(epoch FROM now() - min(last_heartbeat))::float8 AS oldest_heartbeat_age_seconds
      FROM procrastinate_workers`,
    values: [staleSeconds],
  };
}
