import type { Query } from '../database.js';
import type { JobStatus } from '../procrastinate.js';

/**
 * Statements on procrastinate_jobs. Status lists are inlined as literals on purpose: the planner
 * can only use Procrastinate's partial indexes (`WHERE status IN ('todo','doing')` and friends)
 * when it can prove the query's predicate implies the index's, which a bound parameter hides.
 */

export type GroupColumn = 'queue_name' | 'task_name';

const literalList = (values: readonly string[]) => values.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ');

export interface JobsQueueNamesRow {
  name: string;
}

/** Queue names by a loose index scan of (queue_name): cost grows with the number of queues, not rows. */
export function jobsQueueNames(limit: number): Query<JobsQueueNamesRow> {
  return {
    text: `
      WITH RECURSIVE queues(name) AS (
        (SELECT queue_name FROM procrastinate_jobs ORDER BY queue_name LIMIT 1)
        UNION ALL
        SELECT (SELECT j.queue_name FROM procrastinate_jobs j WHERE j.queue_name > q.name ORDER BY j.queue_name LIMIT 1)
        FROM queues q WHERE q.name IS NOT NULL
      )
      SELECT name FROM queues WHERE name IS NOT NULL LIMIT $1::int`,
    values: [limit],
  };
}

export interface JobsCountByStatusRow {
  key: string;
  status: JobStatus;
  count: number;
}

/**
 * Exact counts per group and status. For todo/doing Procrastinate's partial index on live jobs
 * serves it; for final statuses it is a full scan, only used while the table is small (or, for
 * failed, cancelled and aborted, when jobq's recommended partial index covers them).
 */
export function jobsCountByStatus(group: GroupColumn, statuses: readonly string[]): Query<JobsCountByStatusRow> {
  const indexed = statuses.every((s) => s === 'todo' || s === 'doing') || statuses.every((s) => s === 'failed' || s === 'cancelled' || s === 'aborted');
  return {
    text: `
      SELECT ${group} AS key, status::text AS status, count(*)::bigint AS count
      FROM procrastinate_jobs
      WHERE status IN (${literalList(statuses)})
      GROUP BY 1, 2`,
    // Live jobs (2% of a big table, at its end) through Procrastinate's partial index: at 10M rows
    // the planner otherwise switches to a full scan, 40 times the pages. The rare final statuses
    // go through jobq's recommended partial index when it exists (callers check); succeeded has
    // no index and is only counted this way while the table is small.
    ...(indexed ? { planner: { enable_seqscan: 'off' as const } } : {}),
  };
}

export interface JobsFinalCountsWindowRow {
  queue_name: string;
  task_name: string;
  status: JobStatus;
  count: number;
}

/**
 * Exact counts per queue, task and status of the jobs with ids in [fromId, toId): one window of
 * the background count's walk. A primary-key range, so each statement reads only its window,
 * whatever the table's size.
 */
export function jobsFinalCountsWindow(fromId: number, toId: number, statuses: readonly string[]): Query<JobsFinalCountsWindowRow> {
  return {
    text: `
      SELECT queue_name, task_name, status::text AS status, count(*)::bigint AS count
      FROM procrastinate_jobs
      WHERE id >= $1::bigint AND id < $2::bigint AND status IN (${literalList(statuses)})
      GROUP BY 1, 2, 3`,
    values: [fromId, toId],
    // A window can be a large share of a table just above the threshold: still the primary key.
    // One backend, no parallel workers: the background pass keeps to its share of one connection.
    planner: { enable_seqscan: 'off', max_parallel_workers_per_gather: 0 },
  };
}

/**
 * Exact counts per group and status of the jobs newer than a background count: the ids past
 * `afterId`, a primary-key range as long as the jobs created since that count.
 */
export function jobsCountByStatusAfter(group: GroupColumn, statuses: readonly string[], afterId: number): Query<JobsCountByStatusRow> {
  return {
    text: `
      SELECT ${group} AS key, status::text AS status, count(*)::bigint AS count
      FROM procrastinate_jobs
      WHERE id > $1::bigint AND status IN (${literalList(statuses)})
      GROUP BY 1, 2`,
    values: [afterId],
    planner: { enable_seqscan: 'off' },
  };
}

export interface JobsFinalCountsSampledRow {
  key: string;
  status: JobStatus;
  count: number;
  sample_total: number;
}

/**
 * Estimated counts from a block sample (TABLESAMPLE SYSTEM reads only the sampled pages), scaled
 * up by the caller. Also returns the sample's total so the caller can scale by reltuples.
 */
export function jobsFinalCountsSampled(group: GroupColumn, percent: number): Query<JobsFinalCountsSampledRow> {
  return {
    text: `
      SELECT ${group} AS key, status::text AS status, count(*)::bigint AS count,
             sum(count(*)) OVER ()::bigint AS sample_total
      FROM procrastinate_jobs TABLESAMPLE SYSTEM ($1::real)
      GROUP BY 1, 2`,
    values: [percent],
  };
}

export interface JobsOldestDueTodoRow {
  key: string;
  waiting_since: Date | null;
}

/**
 * When the oldest due job in each group has been waiting since. Only the lowest ids of each
 * group's due backlog are examined (ids grow with time), so the cost is bounded per group.
 * On 3.10 a job that never ran has waited since its deferred_at; the events (job_id index) are
 * read only for retried jobs and for jobs deferred before the upgrade (deferred_at NULL).
 */
export function jobsOldestDueTodo(group: GroupColumn, keys: string[], perGroup: number, waitingEvents: readonly string[], hasDeferredAt = false): Query<JobsOldestDueTodoRow> {
  const lastEvent = `(SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = c.id AND e.type IN (${literalList(waitingEvents)}))`;
  const since = hasDeferredAt ? `CASE WHEN c.deferred_at IS NOT NULL AND c.attempts = 0 THEN c.deferred_at ELSE ${lastEvent} END` : lastEvent;
  return {
    text: `
      SELECT k.key,
             (SELECT min(greatest(c.scheduled_at, ${since}))
              FROM (SELECT j.id, j.scheduled_at, j.attempts${hasDeferredAt ? ', j.deferred_at' : ''} FROM procrastinate_jobs j
                    WHERE j.${group} = k.key AND j.status IN ('todo')
                      AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
                    ORDER BY j.id LIMIT $2::int) c) AS waiting_since
      FROM unnest($1::text[]) AS k(key)`,
    values: [keys, perGroup],
    // Procrastinate's partial indexes on live jobs serve this; at 10M rows the planner would scan the table.
    planner: { enable_seqscan: 'off' },
  };
}

export interface FailedPageFilter {
  queue: string | null;
  task: string | null;
  since: Date | null;
  before: Date | null;
}

export interface JobsFailedPageRow {
  id: number;
  queue_name: string;
  task_name: string;
  attempts: number;
  failed_at: Date | null;
  args_preview: string;
  args_length: number;
}

/**
 * One page of failed jobs, newest first, inside the id window [floor, cursor). Without jobq's
 * recommended partial index on failed jobs the window bounds how much of the primary key is
 * walked per call; with it the caller passes floor 0.
 */
export function jobsFailedPage(filter: FailedPageFilter, cursor: number, floor: number, limit: number, argsChars: number): Query<JobsFailedPageRow> {
  return {
    text: `
      SELECT j.id, j.queue_name, j.task_name, j.attempts, f.at AS failed_at,
             left(j.args::text, $8::int) AS args_preview, length(j.args::text) AS args_length
      FROM procrastinate_jobs j
      LEFT JOIN LATERAL (SELECT max(e.at) AS at FROM procrastinate_events e
                         WHERE e.job_id = j.id AND e.type = 'failed') f ON true
      WHERE j.status = 'failed' AND j.id < $1::bigint AND j.id >= $2::bigint
        AND ($3::text IS NULL OR j.queue_name = $3::text)
        AND ($4::text IS NULL OR j.task_name = $4::text)
        AND ($5::timestamptz IS NULL OR f.at >= $5::timestamptz)
        AND ($6::timestamptz IS NULL OR f.at < $6::timestamptz)
      ORDER BY j.id DESC
      LIMIT $7::int`,
    values: [cursor, floor, filter.queue, filter.task, filter.since, filter.before, limit, argsChars],
  };
}

export interface JobsIdBoundsRow {
  min_id: number | null;
  max_id: number | null;
}

/** Highest and lowest job id, both from the primary key. */
export function jobsIdBounds(): Query<JobsIdBoundsRow> {
  return { text: 'SELECT (SELECT min(id) FROM procrastinate_jobs) AS min_id, (SELECT max(id) FROM procrastinate_jobs) AS max_id' };
}

export interface JobsByIdRow {
  job: Record<string, unknown>;
}

/** One job, every column whatever the Procrastinate version (to_jsonb adapts). */
export function jobsById(id: number): Query<JobsByIdRow> {
  return {
    text: `SELECT to_jsonb(j) AS job FROM procrastinate_jobs j WHERE j.id = $1::bigint`,
    values: [id],
  };
}

export interface JobsSharingLocksRow {
  id: number;
  status: string;
  via: 'lock' | 'queueing_lock';
  /** 3.10's lock mode ('ordered' before 3.10, which behaves so). */
  lock_mode: 'ordered' | 'mutex';
  /** A todo job whose scheduled time has come (or has none). */
  due: boolean;
}

/** Other live jobs sharing a lock or queueing lock with a job (served by the partial lock indexes). */
export function jobsSharingLocks(id: number, lock: string | null, queueingLock: string | null, hasLockMode = false): Query<JobsSharingLocksRow> {
  return {
    text: `
      SELECT j.id, j.status::text AS status, CASE WHEN j.lock = $2::text THEN 'lock' ELSE 'queueing_lock' END AS via,
             ${hasLockMode ? 'j.lock_mode::text' : "'ordered'"} AS lock_mode, (j.scheduled_at IS NULL OR j.scheduled_at <= now()) AS due
      FROM procrastinate_jobs j
      WHERE j.id <> $1::bigint AND j.status IN ('todo', 'doing')
        AND ((j.lock = $2::text) OR (j.queueing_lock = $3::text))
      ORDER BY j.id LIMIT 20`,
    values: [id, lock, queueingLock],
  };
}

export interface StalledFilter {
  heartbeatSeconds: number;
  runningSeconds: number;
  limit: number;
}

export interface JobsStalledRow {
  id: number;
  queue_name: string;
  task_name: string;
  status: string;
  attempts: number;
  started_at: Date | null;
  worker_id: number | null;
  worker_exists: boolean | null;
  last_heartbeat: Date | null;
}

/**
 * Running jobs that look stalled: worker gone or silent (3.1+), or started too long ago. Reads
 * only running jobs through the live-jobs partial index; `started` times come per job from
 * the events (job_id) index.
 */
export function jobsStalled(filter: StalledFilter, runningStatuses: readonly string[], withWorkers: boolean): Query<JobsStalledRow> {
  const workerColumns = withWorkers
    ? `j.worker_id, w.id IS NOT NULL AS worker_exists, w.last_heartbeat`
    : `NULL::bigint AS worker_id, NULL::boolean AS worker_exists, NULL::timestamptz AS last_heartbeat`;
  const workerJoin = withWorkers ? `LEFT JOIN procrastinate_workers w ON w.id = j.worker_id` : '';
  // Without workers (2.x, 3.0) the heartbeat threshold is not part of the statement at all.
  const workerCondition = withWorkers ? `w.id IS NULL OR w.last_heartbeat < now() - make_interval(secs => $3::float8) OR` : '';
  return {
    text: `
      SELECT j.id, j.queue_name, j.task_name, j.status::text AS status, j.attempts, s.started_at, ${workerColumns}
      FROM procrastinate_jobs j
      ${workerJoin}
      LEFT JOIN LATERAL (SELECT max(e.at) AS started_at FROM procrastinate_events e
                         WHERE e.job_id = j.id AND e.type = 'started') s ON true
      WHERE j.status IN (${literalList(runningStatuses)})
        AND (${workerCondition} s.started_at < now() - make_interval(secs => $1::float8))
      ORDER BY j.id
      LIMIT $2::int`,
    values: withWorkers ? [filter.runningSeconds, filter.limit, filter.heartbeatSeconds] : [filter.runningSeconds, filter.limit],
    // Procrastinate's partial indexes on live jobs serve this; at 10M rows the planner would scan the table.
    planner: { enable_seqscan: 'off' },
  };
}
