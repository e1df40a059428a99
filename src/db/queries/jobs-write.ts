import type { Query } from '../database.js';
import type { FinalStatus } from '../procrastinate.js';
import { escapeIdentifier, type QueryConfig } from 'pg';

/**
 * Statements that change procrastinate_jobs (and the reads that guard them). Every change is
 * guarded on the status it expects, so a job that moved on since it was read is left alone.
 * Bulk statements walk the primary key in id windows `[lo, hi)`: there is no index on
 * `failed`/`succeeded`, and a window keeps each statement far under the statement timeout.
 * Status lists are inlined literals (constants, never user input) so the planner can match
 * Procrastinate's partial indexes and jobq's optional failed-jobs index.
 */

const literalList = (values: readonly string[]) => values.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ');

export interface ActionStateOptions {
  /** 3.0+: jobs.abort_requested exists. */
  abortRequested: boolean;
  /** 3.1+: jobs.worker_id and procrastinate_workers exist. */
  workers: boolean;
}

export interface JobsActionStateRow {
  id: number;
  status: string;
  queue_name: string;
  task_name: string;
  attempts: number;
  queueing_lock: string | null;
  scheduled_at: Date | null;
  scheduled_in_future: boolean;
  abort_requested: boolean;
  worker_id: number | null;
  worker_exists: boolean | null;
  heartbeat_age_seconds: number | null;
  started_seconds_ago: number | null;
}

/**
 * Everything a single-job action decides on, in one read: status, schedule, abort flag, worker
 * liveness (3.1+) and how long ago it started (events (job_id) index).
 */
export function jobsActionState(id: number, options: ActionStateOptions): Query<JobsActionStateRow> {
  const abort = options.abortRequested ? 'j.abort_requested' : 'false';
  const worker = options.workers
    ? `j.worker_id, w.id IS NOT NULL AS worker_exists, extract(epoch FROM now() - w.last_heartbeat)::float8 AS heartbeat_age_seconds`
    : `NULL::bigint AS worker_id, NULL::boolean AS worker_exists, NULL::float8 AS heartbeat_age_seconds`;
  const join = options.workers ? 'LEFT JOIN procrastinate_workers w ON w.id = j.worker_id' : '';
  return {
    text: `
      SELECT j.id, j.status::text AS status, j.queue_name, j.task_name, j.attempts, j.queueing_lock,
             j.scheduled_at, coalesce(j.scheduled_at > now(), false) AS scheduled_in_future,
             ${abort} AS abort_requested, ${worker},
             (SELECT extract(epoch FROM now() - max(e.at))::float8 FROM procrastinate_events e
              WHERE e.job_id = j.id AND e.type = 'started') AS started_seconds_ago
      FROM procrastinate_jobs j
      ${join}
      WHERE j.id = $1::bigint`,
    values: [id],
  };
}

export interface JobsLockInStatusRow {
  status: string;
}

/**
 * Locks one job if it is still in one of `statuses`; no row means it moved on (or is gone).
 * Waits at most the pool's lock_timeout behind whoever holds it.
 */
export function jobsLockInStatus(id: number, statuses: readonly string[]): Query<JobsLockInStatusRow> {
  return {
    text: `SELECT id, status::text AS status FROM procrastinate_jobs WHERE id = $1::bigint AND status IN (${literalList(statuses)}) FOR UPDATE`,
    values: [id],
  };
}

/**
 * Procrastinate's retry function, due now, nothing else changed. `_v2`/`_v1` take
 * (id, retry_at, priority, queue, lock); 2.x's original overload takes (id, retry_at).
 */
export function jobsCallRetry(fn: string, id: number, signature: 'five' | 'two'): QueryConfig {
  const rest = signature === 'five' ? ', NULL::integer, NULL::varchar, NULL::varchar' : '';
  return { text: `SELECT ${escapeIdentifier(fn)}($1::bigint, NULL::timestamptz${rest})`, values: [id] };
}

/** Same as jobsCallRetry for many already-locked failed jobs (3.4+), one call per job. */
export function jobsCallRetryMany(fn: string, ids: number[]): QueryConfig {
  return {
    text: `SELECT t.id, ${escapeIdentifier(fn)}(t.id, NULL::timestamptz, NULL::integer, NULL::varchar, NULL::varchar) FROM unnest($1::bigint[]) AS t(id)`,
    values: [ids],
  };
}

/**
 * Before 3.4 no function retries a failed job: this is the guarded update teams ran by hand,
 * with the same effect as procrastinate_retry_job_v2 (todo, attempts + 1, due now). No event is
 * written on these versions (the `retried` event type does not exist yet).
 */
export function jobsRetryFailedGuarded(ids: number[]): QueryConfig {
  return {
    text: `
      UPDATE procrastinate_jobs SET status = 'todo', attempts = attempts + 1, scheduled_at = NULL
      WHERE id = ANY($1::bigint[]) AND status = 'failed'
      RETURNING id`,
    values: [ids],
  };
}

export interface JobsCallCancelRow {
  id: number | null;
}

/** Procrastinate's cancel: todo -> cancelled; with abort, a running job is asked to abort. */
export function jobsCallCancel(fn: string, id: number, abort: boolean): Query<JobsCallCancelRow> {
  return { text: `SELECT ${escapeIdentifier(fn)}($1::bigint, $2::boolean, false) AS id`, values: [id, abort] };
}

export interface JobsRunNowRow {
  id: number;
  scheduled_at: Date;
}

/**
 * Makes a scheduled job due now. Guarded on todo and a future schedule, so a job a worker just
 * took, or one already due, is untouched. Procrastinate's trigger records a `scheduled` event.
 */
export function jobsRunNow(id: number): Query<JobsRunNowRow> {
  return {
    text: `
      UPDATE procrastinate_jobs SET scheduled_at = now()
      WHERE id = $1::bigint AND status = 'todo' AND scheduled_at > now()
      RETURNING id, scheduled_at`,
    values: [id],
  };
}

export interface JobsWriteSnapshotRow {
  min_id: number | null;
  max_id: number | null;
  max_event_id: number | null;
  now: Date;
  now_iso: string;
}

/**
 * The id range, the highest event id and the database clock, read together: the snapshot a
 * bulk operation keeps to. Every event written after this statement gets a higher id than
 * `max_event_id` (one sequence), so "no event above it" means "nothing happened to the job
 * since"; event times cannot say that, as each is its transaction's now(), not its commit order.
 * (Ids are not commit order either: an event committing in the very instant of the snapshot can
 * be below `max_event_id` yet unseen. Such a failure counts as one from before the preview.)
 * The clock also comes as ISO 8601 text to the microsecond: a JS Date keeps milliseconds only.
 */
export function jobsWriteSnapshot(): Query<JobsWriteSnapshotRow> {
  return {
    text: `
      SELECT (SELECT min(id) FROM procrastinate_jobs) AS min_id, (SELECT max(id) FROM procrastinate_jobs) AS max_id,
             (SELECT max(id) FROM procrastinate_events) AS max_event_id, now() AS now,
             to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS now_iso`,
  };
}

export interface FailedFilter {
  queue: string | null;
  task: string | null;
  /** On the job's latest `failed` event. */
  failedSince: Date | null;
  failedBefore: Date | null;
}

/**
 * The retry-all selection, on `j`, with parameters $1..$4 (queue, task, since, before). The
 * failure time is read per failed job only, through the events (job_id) index.
 */
function failedFilterSql(): string {
  return `j.status = 'failed'
        AND ($1::text IS NULL OR j.queue_name = $1::text)
        AND ($2::text IS NULL OR j.task_name = $2::text)
        AND (($3::timestamptz IS NULL AND $4::timestamptz IS NULL) OR EXISTS (
              SELECT 1 FROM (SELECT max(e.at) AS at FROM procrastinate_events e WHERE e.job_id = j.id AND e.type = 'failed') f
              WHERE ($3::timestamptz IS NULL OR f.at >= $3::timestamptz) AND ($4::timestamptz IS NULL OR f.at < $4::timestamptz)))`;
}

const failedFilterValues = (f: FailedFilter) => [f.queue, f.task, f.failedSince, f.failedBefore];

export interface JobsFailedGroupsInWindowRow {
  queue_name: string;
  task_name: string;
  count: number;
}

/** Failed jobs matching the filter in the id window [lo, hi), per queue and task. */
export function jobsFailedGroupsInWindow(filter: FailedFilter, lo: number, hi: number): Query<JobsFailedGroupsInWindowRow> {
  return {
    text: `
      SELECT j.queue_name, j.task_name, count(*)::bigint AS count
      FROM procrastinate_jobs j
      WHERE ${failedFilterSql()}
        AND j.id >= $5::bigint AND j.id < $6::bigint
      GROUP BY 1, 2`,
    values: [...failedFilterValues(filter), lo, hi],
  };
}

export interface JobsFailedInWindowRow {
  id: number;
}

/**
 * One retry-all batch's jobs: up to `limit` matching failed jobs in [lo, hi), read without
 * locking. The window is read once, here; locking (jobsPickFailedByIds) and deciding
 * (jobsFailedStateByIds) then go by these ids through the primary key, so a batch costs one
 * walk of its window, not two.
 */
export function jobsFailedInWindow(filter: FailedFilter, lo: number, hi: number, limit: number): Query<JobsFailedInWindowRow> {
  return {
    text: `
      SELECT j.id
      FROM procrastinate_jobs j
      WHERE ${failedFilterSql()}
        AND j.id >= $5::bigint AND j.id < $6::bigint
      ORDER BY j.id
      LIMIT $7::int`,
    values: [...failedFilterValues(filter), lo, hi, limit],
  };
}

export interface JobsPickFailedByIdsRow {
  id: number;
}

/**
 * Locks the given jobs while they are still failed and match the filter. A batch's first try
 * skips rows someone else holds (a worker, another operator, a purge). Whether a job changed
 * since the preview is not decided here: when a row changed after this statement's snapshot,
 * PostgreSQL re-checks the newest version of the row before locking it, but would still read
 * its events as of the snapshot. jobsFailedStateByIds decides, in a later statement, once the
 * rows are held. With `wait` (the second try at rows another session held) it queues behind
 * their holders (at most the pool's lock_timeout, then fails with 55P03): a row held by another
 * run's batch is released in milliseconds, and is then seen in its new status. Rows are locked
 * in id order, as every jobq batch locks them.
 */
export function jobsPickFailedByIds(filter: FailedFilter, ids: number[], wait: boolean): Query<JobsPickFailedByIdsRow> {
  return {
    text: `
      SELECT j.id
      FROM procrastinate_jobs j
      WHERE ${failedFilterSql()}
        AND j.id = ANY($5::bigint[])
      ORDER BY j.id
      FOR UPDATE OF j${wait ? '' : ' SKIP LOCKED'}`,
    values: [...failedFilterValues(filter), ids],
  };
}

export interface FailedBatchStateRow {
  id: number;
  /** Locked by this batch; otherwise another session held it. */
  picked: boolean;
  /** Has an event above the snapshot: it ran, failed again or was retried since the preview. */
  changed: boolean;
  queueing_lock: string | null;
  /** A waiting job has its queueing lock: it cannot go back to todo (unique index). */
  queueing_lock_taken: boolean;
}

/**
 * The given jobs a batch locked (`picked`, a subset of `ids`), and those it could not lock that
 * still match the filter, with what the batch decides on. Read after the pick, in the same
 * transaction but a later statement (a fresh snapshot): a locked row cannot gain events while
 * held (every event is written by a trigger on the job's row), so `changed` is final for it.
 * Jobs are read by id from the two lists (hash-joined: a list compared with a list row by row
 * would cost their product), so the planner has no window to read again and nothing to run in
 * parallel. Events are read per job through the (job_id) index: `e.id + 0` keeps the planner off
 * the primary key, which would read every event written since the snapshot for each job.
 */
export function jobsFailedStateByIds(filter: FailedFilter, ids: number[], picked: number[], upToEventId: number): Query<FailedBatchStateRow> {
  return {
    text: `
      SELECT j.id, p.id IS NOT NULL AS picked,
             EXISTS (SELECT 1 FROM procrastinate_events e WHERE e.job_id = j.id AND e.id + 0 > $7::bigint) AS changed,
             j.queueing_lock,
             (j.queueing_lock IS NOT NULL AND EXISTS (
                SELECT 1 FROM procrastinate_jobs o WHERE o.queueing_lock = j.queueing_lock AND o.status = 'todo')) AS queueing_lock_taken
      FROM unnest($5::bigint[]) AS t(id)
      JOIN procrastinate_jobs j ON j.id = t.id
      LEFT JOIN unnest($6::bigint[]) AS p(id) ON p.id = t.id
      WHERE p.id IS NOT NULL OR (${failedFilterSql()})
      ORDER BY j.id`,
    values: [...failedFilterValues(filter), ids, picked, upToEventId],
  };
}

export interface JobsCreatedAtFromRow {
  id: number;
  created_at: Date | null;
}

/**
 * The first job at or after an id, with the time it was created (its first event that is not
 * `scheduled`: those carry the future run time). Used to binary-search the id axis by time.
 */
export function jobsCreatedAtFrom(id: number): Query<JobsCreatedAtFromRow> {
  return {
    text: `
      SELECT j.id, (SELECT min(e.at) FROM procrastinate_events e WHERE e.job_id = j.id AND e.type <> 'scheduled') AS created_at
      FROM procrastinate_jobs j
      WHERE j.id >= $1::bigint
      ORDER BY j.id
      LIMIT 1`,
    values: [id],
  };
}

/**
 * Purge selection, on `j`, with parameters $1 (queue) and $2 (cutoff): a job in a final status
 * whose latest event (any type, as Procrastinate's delete_old_jobs defines it) is older than the
 * cutoff. A job without events is never old. The latest event comes from the (job_id) index.
 */
function purgeFilterSql(statuses: readonly string[]): string {
  return `j.status IN (${literalList(statuses)})
        AND ($1::text IS NULL OR j.queue_name = $1::text)
        AND (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id) < $2::timestamptz`;
}

export interface JobsPurgeableInWindowRow {
  status: FinalStatus;
  count: number;
}

/** Purgeable jobs in the id window [lo, hi), per status. */
export function jobsPurgeableInWindow(statuses: readonly string[], queue: string | null, cutoff: Date, lo: number, hi: number): Query<JobsPurgeableInWindowRow> {
  return {
    text: `
      SELECT j.status::text AS status, count(*)::bigint AS count
      FROM procrastinate_jobs j
      WHERE ${purgeFilterSql(statuses)}
        AND j.id >= $3::bigint AND j.id < $4::bigint
      GROUP BY 1`,
    values: [queue, cutoff, lo, hi],
  };
}

export interface JobsPurgeBatchRow {
  picked: number;
  last_id: number | null;
  deleted: Partial<Record<FinalStatus, number>>;
}

/**
 * One purge batch in one statement: lock up to `limit` purgeable jobs in [lo, hi) (skipping
 * rows a worker or operator holds), delete them with the status checked again, report what
 * was picked (for the caller's cursor) and what was deleted per status. Events go by cascade;
 * Procrastinate's per-row delete trigger unlinks periodic defers.
 */
export function jobsPurgeBatch(statuses: readonly string[], queue: string | null, cutoff: Date, lo: number, hi: number, limit: number): Query<JobsPurgeBatchRow> {
  return {
    text: `
      WITH picked AS (
        SELECT j.id FROM procrastinate_jobs j
        WHERE ${purgeFilterSql(statuses)}
          AND j.id >= $3::bigint AND j.id < $4::bigint
        ORDER BY j.id
        LIMIT $5::int
        FOR UPDATE OF j SKIP LOCKED
      ), deleted AS (
        DELETE FROM procrastinate_jobs j USING picked p
        WHERE j.id = p.id AND j.status IN (${literalList(statuses)})
        RETURNING j.status::text AS status
      )
      SELECT (SELECT count(*) FROM picked)::int AS picked,
             (SELECT max(id) FROM picked) AS last_id,
             coalesce((SELECT jsonb_object_agg(status, n) FROM (SELECT status, count(*) AS n FROM deleted GROUP BY status) d), '{}'::jsonb) AS deleted`,
    values: [queue, cutoff, lo, hi, limit],
  };
}
