import type { QueryConfig } from 'pg';

/** Statements on procrastinate_workers (3.1+). The table holds one row per live-ish worker. */

export function workersSummary(staleSeconds: number): QueryConfig {
  return {
    text: `
      SELECT count(*) FILTER (WHERE last_heartbeat >= now() - make_interval(secs => $1::float8))::bigint AS live,
             count(*)::bigint AS total
      FROM procrastinate_workers`,
    values: [staleSeconds],
  };
}

/** Each worker with the jobs it holds, counted through the (worker_id) partial index. */
export function workersWithJobs(staleSeconds: number, limit: number): QueryConfig {
  return {
    text: `
      SELECT w.id, w.last_heartbeat,
             extract(epoch FROM now() - w.last_heartbeat)::float8 AS heartbeat_age_seconds,
             w.last_heartbeat >= now() - make_interval(secs => $1::float8) AS alive,
             (SELECT count(*) FROM procrastinate_jobs j WHERE j.worker_id = w.id AND j.status = 'doing')::bigint AS jobs
      FROM procrastinate_workers w
      ORDER BY w.id
      LIMIT $2::int`,
    values: [staleSeconds, limit],
  };
}

export function workersById(id: number): QueryConfig {
  return {
    text: `SELECT id, last_heartbeat, extract(epoch FROM now() - last_heartbeat)::float8 AS heartbeat_age_seconds FROM procrastinate_workers WHERE id = $1::bigint`,
    values: [id],
  };
}
