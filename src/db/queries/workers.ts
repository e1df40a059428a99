import type { Query } from '../database.js';

/** Statements on procrastinate_workers (3.1+). The table holds one row per live-ish worker. */

export interface WorkersSummaryRow {
  live: number;
  total: number;
}

export function workersSummary(staleSeconds: number): Query<WorkersSummaryRow> {
  return {
    text: `
      SELECT count(*) FILTER (WHERE last_heartbeat >= now() - make_interval(secs => $1::float8))::bigint AS live,
             count(*)::bigint AS total
      FROM procrastinate_workers`,
    values: [staleSeconds],
  };
}

export interface WorkersWithJobsRow {
  id: number;
  last_heartbeat: Date;
  heartbeat_age_seconds: number;
  alive: boolean;
  jobs: number;
}

/** Each worker with the jobs it holds, counted through the (worker_id) partial index. */
export function workersWithJobs(staleSeconds: number, limit: number): Query<WorkersWithJobsRow> {
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

export interface WorkersByIdRow {
  id: number;
  last_heartbeat: Date;
  heartbeat_age_seconds: number;
}

export function workersById(id: number): Query<WorkersByIdRow> {
  return {
    text: `SELECT id, last_heartbeat, extract(epoch FROM now() - last_heartbeat)::float8 AS heartbeat_age_seconds FROM procrastinate_workers WHERE id = $1::bigint`,
    values: [id],
  };
}
