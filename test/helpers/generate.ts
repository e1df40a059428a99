import type { Pool } from 'pg';

/** One queue of the generated table: its share of all jobs and how often its jobs end badly. */
export interface QueueProfile {
  name: string;
  /** Share of all jobs, in parts per 10,000 (the shares of a profile add up to 10,000). */
  share: number;
  /** Per million finished jobs of this queue. */
  failedPpm: number;
  cancelledPpm: number;
  abortedPpm: number;
}

/**
 * Issue 11's table: 8 queues of very different sizes, each with its own failure rate (a flaky
 * webhooks queue, a careful billing one), about 0.5% failed, 0.3% cancelled and 0.05% aborted
 * overall. Rates differing by queue is what makes per-queue estimates of rare statuses hard.
 */
export const ISSUE_11_QUEUES: QueueProfile[] = [
  { name: 'default', share: 3_500, failedPpm: 3_000, cancelledPpm: 2_000, abortedPpm: 200 },
  { name: 'emails', share: 2_500, failedPpm: 4_000, cancelledPpm: 5_000, abortedPpm: 500 },
  { name: 'webhooks', share: 1_500, failedPpm: 14_000, cancelledPpm: 1_000, abortedPpm: 1_000 },
  { name: 'reports', share: 1_000, failedPpm: 5_000, cancelledPpm: 5_000, abortedPpm: 1_000 },
  { name: 'billing', share: 700, failedPpm: 2_000, cancelledPpm: 3_000, abortedPpm: 500 },
  { name: 'exports', share: 400, failedPpm: 8_000, cancelledPpm: 10_000, abortedPpm: 2_000 },
  { name: 'notifications', share: 300, failedPpm: 3_000, cancelledPpm: 2_000, abortedPpm: 0 },
  { name: 'maintenance', share: 100, failedPpm: 1_000, cancelledPpm: 500, abortedPpm: 5_000 },
];

export interface GenerateProgress {
  jobs: number;
  total: number;
  elapsedMs: number;
}

export interface GenerateOptions {
  jobs: number;
  /** Spread of job creation times, newest at now (default 60, what test/scale expects; issue 11's table is 30). */
  days?: number;
  /** Queue names (equal shares, 0.5% failed each) or full profiles; default ISSUE_11_QUEUES. */
  queues?: string[] | QueueProfile[];
  /** Jobs inserted per statement, so 10M rows never sit in one sort (default 200,000). */
  chunkSize?: number;
  /** Called after each chunk. */
  onProgress?: (progress: GenerateProgress) => void;
  /** VACUUM (ANALYZE) at the end, as autovacuum would have left a table this old (default true); else ANALYZE. */
  vacuum?: boolean;
}

/** The parts of the table the shape of the distribution depends on, for reports and checks. */
export interface GeneratedTable {
  jobs: number;
  days: number;
  queues: QueueProfile[];
  /** Ids above this are the backlog (todo; 5% of it scheduled later). */
  backlogAfterId: number;
  /** Ids in (doingAfterId, backlogAfterId] are running. */
  doingAfterId: number;
  /** The webhooks incident: ids in this range of that queue failed at 25%. */
  incident: { queue: string; fromId: number; toId: number };
  /** Live worker ids (heartbeat at generation time) and the stale one. */
  workers: { live: number[]; stale: number };
}

/** The newest 2% of ids wait (todo): most are due, 5% of them were deferred for later (1 to 37 hours ahead). */
const BACKLOG = 0.02;
const BACKLOG_LATER_PPM = 50_000;
/**
 * Long-delayed jobs ("remind me in 60 days") among the older ids: few, because every fetch of a
 * Procrastinate worker walks past each of them (they sort before the due backlog by id).
 */
const LONG_DELAYED_PPM = 20;
const RETRIED_SUCCEEDED_PPM = 20_000; // succeeded after one retry
const RETRIED_FAILED_PPM = 300_000; // failed again after one retry
const INCIDENT_FAILED_PPM = 250_000;
const INCIDENT_DAYS_AGO = 10;
const INCIDENT_HOURS = 3;
const LIVE_WORKERS = 3;
const V310_UPGRADE_DAYS_AGO = 6;

/**
 * Fills a fixture database with a realistic, never-purged Procrastinate table fast: set-based
 * inserts in chunks of ids with Procrastinate's triggers off (session_replication_role = replica),
 * writing the events the triggers would have written, in id order so event ids and times grow
 * together as in production. The mix (issue 11): ~97% succeeded, ~0.5% failed (one queue much
 * flakier, and a 3-hour incident), ~0.3% cancelled, ~0.05% aborted, 2% todo (the newest ids, 5%
 * of them scheduled later, and a few long-delayed older ones), a handful doing on live and stale
 * workers, ~3 events a job.
 * Every draw is a hash of the job id, so the same N gives the same table. A 3.10 table (detected
 * by its `deferred_at` column) gets `deferred_at` on the jobs created after its upgrade, 6 days ago.
 */
export async function generateJobs(pool: Pool, options: GenerateOptions): Promise<GeneratedTable> {
  const n = options.jobs;
  const days = options.days ?? 60;
  const queues = profiles(options.queues);
  const chunk = options.chunkSize ?? 200_000;
  const backlogAfterId = n - Math.max(1, Math.round(n * BACKLOG));
  const doingAfterId = backlogAfterId - Math.min(50, Math.max(4, Math.round(n / 200_000)));
  const idAt = (daysAgo: number) => Math.max(1, Math.round(n * (1 - daysAgo / days)));
  const incidentQueue = queues.find((q) => q.name === 'webhooks') ?? queues[0]!;
  const incident = { queue: incidentQueue.name, fromId: idAt(INCIDENT_DAYS_AGO), toId: idAt(INCIDENT_DAYS_AGO - INCIDENT_HOURS / 24) };
  const started = performance.now();
  const client = await pool.connect();
  try {
    await client.query(`SET session_replication_role = replica`);
    await client.query(`SET statement_timeout = 0`);
    await client.query(`SET work_mem = '256MB'`);
    const v310 = (await client.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'procrastinate_jobs' AND column_name = 'deferred_at'`)).rowCount! > 0;
    const workers = await insertWorkers(client);
    const now = (await client.query<{ now: Date }>(`SELECT now() AS now`)).rows[0]!.now;
    for (let lo = 1; lo <= n; lo += chunk) {
      const hi = Math.min(n, lo + chunk - 1);
      await client.query(chunkStatement(v310), [
        lo,
        hi,
        n,
        days,
        now,
        queues.map((q) => q.name),
        cumulativeShares(queues),
        queues.map((q) => q.failedPpm),
        queues.map((q) => q.cancelledPpm),
        queues.map((q) => q.abortedPpm),
        backlogAfterId,
        doingAfterId,
        LONG_DELAYED_PPM,
        BACKLOG_LATER_PPM,
        queues.indexOf(incidentQueue) + 1,
        incident.fromId,
        incident.toId,
        INCIDENT_FAILED_PPM,
        RETRIED_SUCCEEDED_PPM,
        RETRIED_FAILED_PPM,
        [...workers.live, workers.stale],
        ...(v310 ? [idAt(V310_UPGRADE_DAYS_AGO)] : []),
      ]);
      options.onProgress?.({ jobs: hi, total: n, elapsedMs: performance.now() - started });
    }
    await client.query(`SELECT setval(pg_get_serial_sequence('procrastinate_jobs', 'id'), $1::bigint)`, [n]);
    await client.query(`SET session_replication_role = DEFAULT`);
    const vacuum = options.vacuum ?? true;
    for (const table of ['procrastinate_jobs', 'procrastinate_events', 'procrastinate_workers']) {
      await client.query(vacuum ? `VACUUM (ANALYZE) ${table}` : `ANALYZE ${table}`);
    }
    return { jobs: n, days, queues, backlogAfterId, doingAfterId, incident, workers };
  } finally {
    client.release();
  }
}

function profiles(queues: GenerateOptions['queues']): QueueProfile[] {
  if (!queues) return ISSUE_11_QUEUES;
  if (queues.length === 0) throw new Error('generateJobs: at least one queue');
  if (typeof queues[0] !== 'string') return queues as QueueProfile[];
  const names = queues as string[];
  const share = Math.floor(10_000 / names.length);
  return names.map((name) => ({ name, share, failedPpm: 5_000, cancelledPpm: 3_000, abortedPpm: 500 }));
}

/** Lower bounds of each queue's slice of 0..9999, for width_bucket. */
function cumulativeShares(queues: QueueProfile[]): number[] {
  const bounds: number[] = [];
  let total = 0;
  for (const q of queues) {
    bounds.push(total);
    total += q.share;
  }
  return bounds;
}

/** LIVE_WORKERS with a fresh heartbeat and one silent for an hour: its running jobs look stalled. */
async function insertWorkers(client: { query: Pool['query'] }): Promise<GeneratedTable['workers']> {
  const live = await client.query<{ id: number }>(`INSERT INTO procrastinate_workers (last_heartbeat) SELECT now() FROM generate_series(1, $1::int) RETURNING id`, [LIVE_WORKERS]);
  const stale = await client.query<{ id: number }>(`INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - interval '1 hour') RETURNING id`);
  return { live: live.rows.map((r) => Number(r.id)), stale: Number(stale.rows[0]!.id) };
}

/**
 * One chunk of ids: the jobs, then their events in (job id, event order), in one statement.
 * Draws: queue, outcome, retry, timings, each an independent hash of the id.
 */
function chunkStatement(v310: boolean): string {
  return `
    WITH draws AS (
      SELECT g AS id,
             width_bucket(abs(hashint8extended(g, 1)) % 10000, $7::int[]) AS qi,
             abs(hashint8extended(g, 2)) % 1000000 AS r_status,
             abs(hashint8extended(g, 3)) % 1000000 AS r_retry,
             abs(hashint8extended(g, 4)) % 1000000 AS r_later,
             0.2 + (abs(hashint8extended(g, 5)) % 3000) / 1000.0 AS wait_s,
             0.05 + (abs(hashint8extended(g, 6)) % 20000) / 1000.0 AS run_s,
             $5::timestamptz - make_interval(secs => $4::float8 * 86400 * (1 - g::float8 / $3::float8)) AS t0
      FROM generate_series($1::bigint, $2::bigint) AS g
    ),
    kinds AS (
      SELECT d.*,
             CASE
               WHEN d.id > $11 AND d.r_later < $14 THEN 'todo_later'
               WHEN d.id > $11 THEN 'todo'
               WHEN d.id > $12 THEN 'doing'
               WHEN d.r_later < $13 THEN 'todo_later'
               WHEN d.qi = $15 AND d.id BETWEEN $16 AND $17 AND d.r_status < $18 THEN 'failed'
               WHEN d.r_status < ($8::int[])[d.qi] THEN 'failed'
               WHEN d.r_status < ($8::int[])[d.qi] + ($9::int[])[d.qi] THEN 'cancelled'
               WHEN d.r_status < ($8::int[])[d.qi] + ($9::int[])[d.qi] + ($10::int[])[d.qi] THEN 'aborted'
               ELSE 'succeeded'
             END AS kind
      FROM draws d
    ),
    jobs AS (
      SELECT k.*,
             (k.kind = 'succeeded' AND k.r_retry < $19) OR (k.kind = 'failed' AND k.r_retry < $20) AS retried,
             CASE WHEN k.kind = 'todo_later' AND k.id > $11 THEN $5::timestamptz + make_interval(secs => 3600 + k.r_later % 100000 * 2.6)
                  WHEN k.kind = 'todo_later' THEN $5::timestamptz + make_interval(days => 30 + (k.r_later % 60)::int) END AS later_at,
             -- running jobs started a moment ago: they are the oldest of the due backlog
             $5::timestamptz - make_interval(secs => 5 + k.r_retry % 120) AS doing_since
      FROM kinds k
    ),
    inserted AS (
      INSERT INTO procrastinate_jobs (id, queue_name, task_name, args, status, attempts, scheduled_at, worker_id${v310 ? ', deferred_at' : ''})
      SELECT j.id,
             ($6::text[])[j.qi],
             -- ten task names shared by every queue, as test/scale's by-task reads expect
             'app.tasks.task_' || (j.id % 10),
             jsonb_build_object('n', j.id, 'user', 'user-' || (j.r_status % 5000)),
             (CASE j.kind WHEN 'todo_later' THEN 'todo' ELSE j.kind END)::procrastinate_job_status,
             CASE WHEN j.kind IN ('todo', 'todo_later', 'cancelled') THEN 0 WHEN j.kind = 'doing' THEN 0 WHEN j.retried THEN 2 ELSE 1 END,
             j.later_at,
             CASE WHEN j.kind = 'doing' THEN ($21::bigint[])[1 + j.id % array_length($21::bigint[], 1)] END
             ${v310 ? ', CASE WHEN j.id > $22 THEN j.t0 END' : ''}
      FROM jobs j
    )
    INSERT INTO procrastinate_events (job_id, type, at)
    SELECT j.id, e.type::procrastinate_job_event_type, e.at
    FROM jobs j
    CROSS JOIN LATERAL unnest(
      CASE
        WHEN j.kind = 'todo' THEN ARRAY['deferred']
        WHEN j.kind = 'todo_later' THEN ARRAY['deferred', 'scheduled']
        WHEN j.kind = 'doing' THEN ARRAY['deferred', 'started']
        WHEN j.kind = 'cancelled' THEN ARRAY['deferred', 'cancelled']
        WHEN j.kind = 'aborted' THEN ARRAY['deferred', 'started', 'abort_requested', 'aborted']
        WHEN j.retried THEN ARRAY['deferred', 'started', 'deferred_for_retry', 'started', j.kind]
        ELSE ARRAY['deferred', 'started', j.kind]
      END,
      CASE
        WHEN j.kind = 'todo' THEN ARRAY[j.t0]
        WHEN j.kind = 'todo_later' THEN ARRAY[j.t0, j.later_at]
        WHEN j.kind = 'doing' THEN ARRAY[j.t0, j.doing_since]
        WHEN j.kind = 'cancelled' THEN ARRAY[j.t0, j.t0 + make_interval(secs => j.wait_s)]
        WHEN j.kind = 'aborted' THEN ARRAY[j.t0, j.t0 + make_interval(secs => j.wait_s), j.t0 + make_interval(secs => j.wait_s + j.run_s / 2), j.t0 + make_interval(secs => j.wait_s + j.run_s)]
        WHEN j.retried THEN ARRAY[j.t0, j.t0 + make_interval(secs => j.wait_s), j.t0 + make_interval(secs => j.wait_s + j.run_s), j.t0 + make_interval(secs => j.wait_s + j.run_s + 30), j.t0 + make_interval(secs => j.wait_s + 2 * j.run_s + 30)]
        ELSE ARRAY[j.t0, j.t0 + make_interval(secs => j.wait_s), j.t0 + make_interval(secs => j.wait_s + j.run_s)]
      END
    ) WITH ORDINALITY AS e(type, at, n)
    ORDER BY j.id, e.n`;
}
