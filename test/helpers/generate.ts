import type { Pool } from 'pg';

export interface GenerateOptions {
  jobs: number;
  /** Spread of job creation times, newest at now. */
  days?: number;
  queues?: string[];
}

/**
 * Fills a fixture database with a realistic, never-purged table fast: set-based inserts with
 * Procrastinate's triggers off (session_replication_role = replica), writing the events the
 * triggers would have written. ~97% succeeded, ~1% failed, some cancelled, a small todo backlog
 * (a few scheduled in the future), a handful doing; three events per finished job.
 */
export async function generateJobs(pool: Pool, options: GenerateOptions): Promise<void> {
  const days = options.days ?? 60;
  const queues = options.queues ?? ['default', 'emails', 'reports', 'webhooks', 'billing'];
  const client = await pool.connect();
  try {
    await client.query(`SET session_replication_role = replica`);
    await client.query(`SET statement_timeout = 0`);
    await client.query(
      `INSERT INTO procrastinate_jobs (id, queue_name, task_name, args, status, attempts, scheduled_at)
       SELECT g,
              ($2::text[])[1 + (g % array_length($2::text[], 1))],
              'app.tasks.task_' || (g % 10),
              jsonb_build_object('n', g, 'user', 'user-' || (g % 1000)),
              (CASE WHEN g > $1 - 50 THEN 'doing'
                    WHEN g > $1 - 2000 THEN 'todo'
                    WHEN g % 100 = 7 THEN 'failed'
                    WHEN g % 200 = 13 THEN 'cancelled'
                    WHEN g % 5000 = 17 THEN 'todo'
                    ELSE 'succeeded' END)::procrastinate_job_status,
              CASE WHEN g > $1 - 2000 OR g % 100 = 7 OR g % 200 = 13 OR g % 5000 = 17 THEN 0 ELSE 1 END,
              CASE WHEN g % 5000 = 17 THEN now() + interval '1 day' END
       FROM generate_series(1, $1::bigint) AS g`,
      [options.jobs, queues],
    );
    await client.query(`SELECT setval(pg_get_serial_sequence('procrastinate_jobs', 'id'), $1::bigint)`, [options.jobs]);
    // Three events per job in id order, so event ids and times grow together as in production.
    await client.query(
      `INSERT INTO procrastinate_events (job_id, type, at)
       SELECT j.id, e.type::procrastinate_job_event_type,
              now() - make_interval(secs => ($2::float8 * 86400) * (1 - j.id::float8 / $1::float8)) + make_interval(secs => e.offs)
       FROM procrastinate_jobs j
       CROSS JOIN LATERAL (VALUES (1, 'deferred', 0), (2, 'started', 1), (3, CASE j.status WHEN 'failed' THEN 'failed' WHEN 'cancelled' THEN 'cancelled' ELSE 'succeeded' END, 2)) AS e(n, type, offs)
       WHERE e.n = 1 OR j.status IN ('succeeded', 'failed', 'doing') AND (e.n = 2 OR j.status <> 'doing') OR (j.status = 'cancelled' AND e.n = 3)
       ORDER BY j.id, e.n`,
      [options.jobs, days],
    );
    await client.query(`SET session_replication_role = DEFAULT`);
    await client.query(`ANALYZE procrastinate_jobs`);
    await client.query(`ANALYZE procrastinate_events`);
  } finally {
    client.release();
  }
}
