import type { QueryConfig } from 'pg';
import type { Query } from '../database.js';

/**
 * The workers' side of Procrastinate, for the sandbox's workload simulator: the same functions a
 * Procrastinate worker calls, so the triggers write the same events. Which functions those are
 * depends on the release, so each call is picked by name from the schema (pickWorkerCalls).
 */

/** Each worker call's function names, newest first. A schema in mid-upgrade has two: the newest wins. */
export const WORKER_FUNCTIONS = {
  /** 3.10 batch with lock_mode; 3.2+ batch; 3.0-3.1 and 2.x one job per call. */
  defer: ['procrastinate_defer_jobs_v2', 'procrastinate_defer_jobs_v1', 'procrastinate_defer_job_v1', 'procrastinate_defer_job'],
  /** 3.10 skips paused queues; 3.1+ takes a worker id; 3.0 and 2.x take the queues only. */
  fetch: ['procrastinate_fetch_job_v3', 'procrastinate_fetch_job_v2', 'procrastinate_fetch_job_v1', 'procrastinate_fetch_job'],
  finish: ['procrastinate_finish_job_v1', 'procrastinate_finish_job'],
  /** Of a running job; 3.4's v2 also takes failed jobs, 2.x's has a two-argument overload. */
  retry: ['procrastinate_retry_job_v2', 'procrastinate_retry_job_v1', 'procrastinate_retry_job'],
} as const;

const REGISTER_WORKER = 'procrastinate_register_worker_v1';

export type WorkerCall = keyof typeof WORKER_FUNCTIONS;
export type DeferFunction = (typeof WORKER_FUNCTIONS.defer)[number];
export type FetchFunction = (typeof WORKER_FUNCTIONS.fetch)[number];
export type FinishFunction = (typeof WORKER_FUNCTIONS.finish)[number];
export type RetryFunction = (typeof WORKER_FUNCTIONS.retry)[number];

export interface WorkerCalls {
  defer: DeferFunction;
  fetch: FetchFunction;
  finish: FinishFunction;
  retry: RetryFunction;
  /** 3.1+: workers register, heartbeat and prune each other. */
  workers: boolean;
}

export interface WorkerFunctionNamesRow {
  names: string[];
}

/** Names of Procrastinate's functions the search_path reaches, the way the worker calls them. */
export function workerFunctionNames(): Query<WorkerFunctionNamesRow> {
  return {
    text: `SELECT coalesce(array_agg(DISTINCT p.proname::text), '{}') AS names FROM pg_proc p WHERE p.proname LIKE 'procrastinate\\_%' AND pg_function_is_visible(p.oid)`,
  };
}

export type WorkerCallsPick = { kind: 'found'; calls: WorkerCalls } | { kind: 'missing'; missing: WorkerCall[] };

/**
 * The newest function for each worker call among `names`, or the calls with none (then the
 * database is not Procrastinate's, or its schema is not on the search_path).
 */
export function pickWorkerCalls(names: Iterable<string>): WorkerCallsPick {
  const present = new Set(names);
  const newest = <C extends WorkerCall>(call: C) => (WORKER_FUNCTIONS[call] as readonly (typeof WORKER_FUNCTIONS)[C][number][]).find((name) => present.has(name));
  const defer = newest('defer');
  const fetch = newest('fetch');
  const finish = newest('finish');
  const retry = newest('retry');
  if (!defer || !fetch || !finish || !retry) return { kind: 'missing', missing: (Object.keys(WORKER_FUNCTIONS) as WorkerCall[]).filter((call) => !newest(call)) };
  return { kind: 'found', calls: { defer, fetch, finish, retry, workers: present.has(REGISTER_WORKER) } };
}

export interface WorkerRegisterRow {
  worker_id: string;
}

export function workerRegister(): Query<WorkerRegisterRow> {
  return { text: `SELECT worker_id FROM ${REGISTER_WORKER}()` };
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
  /** 3.10; older schemas only know `ordered` behaviour and store nothing. */
  lockMode?: 'ordered' | 'mutex';
}

/** Defers a batch in one statement, returning one row (`id`) per job, whatever the release. */
export function jobsDeferBatch(fn: DeferFunction, jobs: JobToDefer[]): QueryConfig {
  const values = [
    jobs.map((j) => j.queue),
    jobs.map((j) => j.task),
    jobs.map((j) => j.priority),
    jobs.map((j) => j.lock),
    jobs.map((j) => JSON.stringify(j.args)),
    jobs.map((j) => j.scheduledAt),
  ];
  const columns = `unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::jsonb[], $6::timestamptz[]`;
  switch (fn) {
    case 'procrastinate_defer_jobs_v2':
      return {
        text: `
          SELECT unnest(procrastinate_defer_jobs_v2(array_agg(ROW(q, t, p, l, NULL, a, s, m)::procrastinate_job_to_defer_v2))) AS id
          FROM ${columns}, $7::procrastinate_lock_mode[]) AS j(q, t, p, l, a, s, m)`,
        values: [...values, jobs.map((j) => j.lockMode ?? 'ordered')],
      };
    case 'procrastinate_defer_jobs_v1':
      return {
        text: `
          SELECT unnest(procrastinate_defer_jobs_v1(array_agg(ROW(q, t, p, l, NULL, a, s)::procrastinate_job_to_defer_v1))) AS id
          FROM ${columns}) AS j(q, t, p, l, a, s)`,
        values,
      };
    case 'procrastinate_defer_job_v1':
    case 'procrastinate_defer_job':
      // No batch function before 3.2: one call per job, still one statement.
      return { text: `SELECT ${fn}(q, t, p, l, NULL::text, a, s) AS id FROM ${columns}) AS j(q, t, p, l, a, s)`, values };
  }
}

export interface JobsFetchForWorkerRow {
  id: string;
  task_name: string;
  attempts: number;
}

/** One fetch over every queue (3.10: skipping paused ones); no row when nothing is ready. */
export function jobsFetchForWorker(fn: FetchFunction, workerId: number): Query<JobsFetchForWorkerRow> {
  switch (fn) {
    case 'procrastinate_fetch_job_v3':
    case 'procrastinate_fetch_job_v2':
      return { text: `SELECT id, task_name, attempts FROM ${fn}(NULL::varchar[], $1::bigint) WHERE id IS NOT NULL`, values: [workerId] };
    case 'procrastinate_fetch_job_v1':
    case 'procrastinate_fetch_job':
      return { text: `SELECT id, task_name, attempts FROM ${fn}(NULL::varchar[]) WHERE id IS NOT NULL` };
  }
}

export function jobsFinish(fn: FinishFunction, jobId: number, status: 'succeeded' | 'failed'): QueryConfig {
  return { text: `SELECT ${fn}($1::bigint, $2::procrastinate_job_status, false)`, values: [jobId, status] };
}

/** A task that raised and will be retried later: doing -> todo with a future scheduled_at. */
export function jobsRetryLater(fn: RetryFunction, jobId: number, seconds: number): QueryConfig {
  const retryAt = 'now() + make_interval(secs => $2::float8)';
  return fn === 'procrastinate_retry_job'
    ? { text: `SELECT procrastinate_retry_job($1::bigint, ${retryAt})`, values: [jobId, seconds] }
    : { text: `SELECT ${fn}($1::bigint, ${retryAt}, NULL, NULL, NULL)`, values: [jobId, seconds] };
}
