import type { QueryConfig } from 'pg';

/**
 * The workers' side of Procrastinate, for the sandbox's workload simulator: the same functions a
 * Procrastinate worker calls, so the triggers write the same events. 3.x names; the simulator
 * only runs on schemas that have them.
 */

export function workerRegister(): QueryConfig {
  return { text: 'SELECT worker_id FROM procrastinate_register_worker_v1()' };
}

export function workerHeartbeat(workerId: number): QueryConfig {
  return { text: 'SELECT procrastinate_update_heartbeat_v1($1::bigint)', values: [workerId] };
}

export function workerPruneStalled(seconds: number): QueryConfig {
  return { text: 'SELECT worker_id FROM procrastinate_prune_stalled_workers_v1($1::float8)', values: [seconds] };
}

export interface JobToDefer {
  queue: string;
  task: string;
  priority: number;
  lock: string | null;
  args: unknown;
  scheduledAt: Date | null;
}

/** Batch defer (3.2+), one statement for the whole batch. */
export function jobsDeferBatch(jobs: JobToDefer[]): QueryConfig {
  return {
    text: `
      SELECT unnest(procrastinate_defer_jobs_v1(array_agg(ROW(q, t, p, l, NULL, a, s)::procrastinate_job_to_defer_v1))) AS id
      FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::jsonb[], $6::timestamptz[]) AS j(q, t, p, l, a, s)`,
    values: [jobs.map((j) => j.queue), jobs.map((j) => j.task), jobs.map((j) => j.priority), jobs.map((j) => j.lock), jobs.map((j) => JSON.stringify(j.args)), jobs.map((j) => j.scheduledAt)],
  };
}

export function jobsFetchForWorker(workerId: number): QueryConfig {
  return { text: 'SELECT id, task_name, attempts FROM procrastinate_fetch_job_v2(NULL, $1::bigint) WHERE id IS NOT NULL', values: [workerId] };
}

export function jobsFinish(jobId: number, status: 'succeeded' | 'failed'): QueryConfig {
  return { text: 'SELECT procrastinate_finish_job_v1($1::bigint, $2::procrastinate_job_status, false)', values: [jobId, status] };
}

/** A task that raised and will be retried later: doing -> todo with a future scheduled_at. */
export function jobsRetryLater(jobId: number, seconds: number): QueryConfig {
  return { text: `SELECT procrastinate_retry_job_v2($1::bigint, now() + make_interval(secs => $2::float8), NULL, NULL, NULL)`, values: [jobId, seconds] };
}
