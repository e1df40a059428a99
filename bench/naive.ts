import type { QueryConfig } from 'pg';

/**
 * What teams run today instead of jobq, per read: plain SQL in psql, and the statements
 * Procrastinate's own shell and admin send (procrastinate/sql/queries.sql, 3.x), with their
 * filters unset as `procrastinate shell`'s `list_queues` / `list_jobs` sends them by default.
 * Timed next to jobq's reads on the same table.
 */
export interface NaiveQuery {
  name: string;
  /** Where teams get it from. */
  source: string;
  statement: QueryConfig;
}

const groupByQueueStatus: NaiveQuery = {
  name: 'GROUP BY queue_name, status',
  source: 'psql by hand',
  statement: { text: 'SELECT queue_name, status, count(*) FROM procrastinate_jobs GROUP BY queue_name, status' },
};

const countJobsStatus: NaiveQuery = {
  name: 'count_jobs_status',
  source: 'Procrastinate queries.sql',
  statement: { text: 'SELECT count(*) AS count, status FROM procrastinate_jobs GROUP BY status' },
};

/** `procrastinate shell` → `list_queues`: every job once per queue, then once per queue again for the per-status counts. */
const listQueues: NaiveQuery = {
  name: 'list_queues',
  source: 'Procrastinate shell (queries.sql list_queues)',
  statement: {
    text: `
      WITH jobs AS (
        SELECT id, queue_name, task_name, lock, args, status, scheduled_at, attempts
        FROM procrastinate_jobs
        WHERE ($1::varchar IS NULL OR queue_name = $1)
          AND ($2::varchar IS NULL OR task_name = $2)
          AND ($3::procrastinate_job_status IS NULL OR status = $3)
          AND ($4::varchar IS NULL OR lock = $4)
      )
      SELECT queue_name AS name, count(id) AS jobs_count,
             (WITH stats AS (SELECT status, count(*) AS jobs_count FROM jobs WHERE queue_name = j.queue_name GROUP BY status)
              SELECT json_object_agg(status, jobs_count) FROM stats) AS stats
      FROM jobs AS j
      GROUP BY name
      ORDER BY name`,
    values: [null, null, null, null],
  },
};

const failedPage = (queue: string | null): NaiveQuery => ({
  name: queue ? `failed in ${queue}, newest 20` : 'failed, newest 20',
  source: 'psql by hand',
  statement: {
    text: `SELECT id, queue_name, task_name, args, attempts FROM procrastinate_jobs WHERE status = 'failed'${queue ? ' AND queue_name = $1' : ''} ORDER BY id DESC LIMIT 20`,
    values: queue ? [queue] : [],
  },
});

/** `procrastinate shell` → `list_jobs --status failed`: no LIMIT, oldest first. */
const listJobsFailed: NaiveQuery = {
  name: 'list_jobs status=failed',
  source: 'Procrastinate shell (queries.sql list_jobs)',
  statement: {
    text: `SELECT id, queue_name, task_name, priority, lock, queueing_lock, args, status, scheduled_at, attempts, abort_requested, worker_id
           FROM procrastinate_jobs WHERE status = $1::procrastinate_job_status ORDER BY id ASC`,
    values: ['failed'],
  },
};

const jobWithEvents = (id: number): NaiveQuery => ({
  name: 'job and its events',
  source: 'psql by hand',
  statement: { text: 'SELECT j.*, e.type, e.at FROM procrastinate_jobs j LEFT JOIN procrastinate_events e ON e.job_id = j.id WHERE j.id = $1 ORDER BY e.id', values: [id] },
});

/** Procrastinate's `select_stalled_jobs`: running jobs whose `started` event is older than N seconds. */
const selectStalledJobs: NaiveQuery = {
  name: 'select_stalled_jobs',
  source: 'Procrastinate queries.sql',
  statement: {
    text: `
      SELECT job.id, status, task_name, priority, lock, queueing_lock, args, scheduled_at, queue_name, attempts, worker_id, max(event.at) AS started_at
      FROM procrastinate_jobs job JOIN procrastinate_events event ON event.job_id = job.id
      WHERE event.type = 'started' AND job.status = 'doing'
      GROUP BY job.id
      HAVING max(event.at) < now() - ($1 || ' SECOND')::interval`,
    values: ['1800'],
  },
};

const selectStalledWorkers: NaiveQuery = {
  name: 'select_stalled_workers',
  source: 'Procrastinate queries.sql',
  statement: { text: `SELECT id AS worker_id FROM procrastinate_workers WHERE last_heartbeat < now() - ($1 || ' SECOND')::interval`, values: ['30'] },
};

/** The naive counterparts of each jobq read (none for doctor and audit: teams have nothing like them). */
export function naiveFor(read: string, jobId: number, queue: string): NaiveQuery[] {
  switch (read) {
    case 'stats':
      return [groupByQueueStatus, countJobsStatus, listQueues];
    case 'failed':
      return [failedPage(null), listJobsFailed];
    case 'failed --queue':
      return [failedPage(queue)];
    case 'job':
      return [jobWithEvents(jobId)];
    case 'stalled':
      return [selectStalledJobs];
    case 'workers':
      return [selectStalledWorkers];
    default:
      return [];
  }
}

/** The exact truth for the accuracy check: one full count per queue and status. */
export const EXACT_COUNTS = groupByQueueStatus.statement;
