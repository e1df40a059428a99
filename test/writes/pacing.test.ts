import type pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { dbFromUrl } from '../../src/db/connect.js';
import type { Db } from '../../src/db/database.js';
import type { Actor } from '../../src/queue/actor.js';
import { listAudit } from '../../src/queue/audit.js';
import type { QueueContext } from '../../src/queue/context.js';
import { DEFAULT_TUNING, type PacingReport } from '../../src/queue/pacer.js';
import { purge } from '../../src/queue/purge.js';
import { previewRetryAll, retryAll } from '../../src/queue/retry-all.js';
import { jobqWaitsForLock, type TestDb, useMigratedDbs } from '../helpers/db.js';

const erin: Actor = { kind: 'cli', id: 'erin' };

/** `count` finished jobs in one statement (no trigger writes an event for them), each with one event `days` old. */
async function oldSucceededJobs(db: TestDb, count: number, days: number): Promise<number[]> {
  const rows = await db.worker.query<{ id: string }>(
    `WITH j AS (
       INSERT INTO procrastinate_jobs (queue_name, task_name, args, status, attempts)
       SELECT 'q', 'app.tasks.old', '{}'::jsonb, 'succeeded', 1 FROM generate_series(1, $1::int)
       RETURNING id)
     INSERT INTO procrastinate_events (job_id, type, at) SELECT id, 'succeeded', now() - make_interval(days => $2::int) FROM j
     RETURNING job_id AS id`,
    [count, days],
  );
  return rows.rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}

/** `count` failed jobs in one statement; the first has the given queueing lock. */
async function failedJobs(db: TestDb, count: number, firstQueueingLock: string | null = null): Promise<number[]> {
  const rows = await db.worker.query<{ id: string }>(
    `INSERT INTO procrastinate_jobs (queue_name, task_name, args, status, attempts, queueing_lock)
     SELECT 'q', 'app.tasks.flaky', '{}'::jsonb, 'failed', 1, CASE WHEN g = 1 THEN $2::text END FROM generate_series(1, $1::int) AS g
     RETURNING id`,
    [count, firstQueueingLock],
  );
  return rows.rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}

async function remaining(db: TestDb, ids: number[]): Promise<number> {
  const row = await db.worker.query<{ n: number }>('SELECT count(*)::int AS n FROM procrastinate_jobs WHERE id = ANY($1::bigint[])', [ids]);
  return row.rows[0]!.n;
}

async function statuses(db: TestDb, ids: number[]): Promise<Record<string, number>> {
  const rows = await db.worker.query<{ status: string; n: number }>(
    'SELECT status::text AS status, count(*)::int AS n FROM procrastinate_jobs WHERE id = ANY($1::bigint[]) GROUP BY 1',
    [ids],
  );
  return Object.fromEntries(rows.rows.map((r) => [r.status, r.n]));
}

/** Polls with a deadline until `check` holds. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** A session playing a worker, with its backend pid. */
async function session(db: TestDb): Promise<{ client: pg.PoolClient; pid: number }> {
  const client = await db.worker.connect();
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  return { client, pid };
}

const waitsForLock = async (db: TestDb, pid: number) =>
  (await db.worker.query<{ waiting: boolean }>(`SELECT wait_event_type = 'Lock' AS waiting FROM pg_stat_activity WHERE pid = $1`, [pid])).rows[0]?.waiting === true;

/** What every paced run must show, whatever the timing: the report agrees with itself and with the lock holds measured. */
function expectConsistent(pacing: PacingReport, lockHoldMaxMs: number) {
  const locking = pacing.steps.filter((s) => s.rows > 0);
  expect(pacing.batches).toBe(locking.length);
  expect(pacing.maxBatchMs).toBe(Math.max(...locking.map((s) => s.heldMs)));
  expect(pacing.maxBatchMs).toBe(lockHoldMaxMs);
  for (const s of pacing.steps) {
    expect(s.limit).toBeLessThanOrEqual(pacing.maxRows);
    expect(s.nextLimit).toBeLessThanOrEqual(pacing.maxRows);
    if (s.action === 'grow') expect(s.heldMs).toBeLessThan(pacing.targetMs / 2);
    // A batch over the target never lets the next one be as large (unless it is at the floor already).
    if (s.heldMs > pacing.targetMs && s.bound === 'rows' && s.limit > DEFAULT_TUNING.minRows) expect(s.nextLimit).toBeLessThan(s.limit);
  }
}

describe('paced bulk changes', () => {
  const setup = useMigratedDbs('v3', { batchPauseMs: 50 });
  const pools: Db[] = [];
  afterEach(async () => {
    for (const pool of pools.splice(0)) await pool.end();
  });

  /**
   * A context whose lock timeout outlasts the blocking sessions a test stages (a test would
   * otherwise race the 1 s the shared pool allows).
   */
  const patient = (db: TestDb, ctx: QueueContext): QueueContext => {
    const pool = dbFromUrl({ url: db.url, statementTimeoutMs: 10_000, lockTimeoutMs: 10_000, max: 5 });
    pools.push(pool);
    return { ...ctx, db: pool };
  };

  /**
   * On a loaded two-core machine one batch of 100 rows can take most of the default 100 ms
   * target, so the tests that watch batches grow give the pacer a wider target: what they check
   * is that the loop feeds it and obeys it. The default target is the unit tests' and the benchmark's.
   */
  const roomy = { pacing: { targetMs: 1_000 } };

  it('purges several thousand rows with batches that grow from the start size, measuring the probe each batch', async () => {
    const { db, ctx } = await setup(roomy);
    const old = await oldSucceededJobs(db, 6_000, 40);
    const recent = await oldSucceededJobs(db, 50, 2);
    const result = await purge(ctx, { olderThanDays: 30 }, erin);
    expect(result).toMatchObject({ total: 6_000, stopped: false });
    expect(await remaining(db, old)).toBe(0);
    expect(await remaining(db, recent)).toBe(50);

    const { pacing } = result;
    expectConsistent(pacing, result.lockHold.maxMs);
    expect(pacing.firstRows).toBe(100);
    expect(pacing.steps[0]!.limit).toBe(100);
    expect(pacing.largestRows).toBeGreaterThanOrEqual(400);
    expect(pacing.steps.filter((s) => s.action === 'grow').length).toBeGreaterThanOrEqual(2);
    expect(pacing.batches).toBe(result.batches);
    expect(pacing.batches).toBeLessThan(6_000 / 100);
    expect(pacing.probeBaselineMs).not.toBeNull();
    const locking = pacing.steps.filter((s) => s.rows > 0);
    expect(locking.every((s) => s.pressure.lockWaiters === 0)).toBe(true);
    // Measured while each batch held its locks (a probe that cannot get a connection in time is left out).
    expect(locking.some((s) => s.pressure.probeMs !== null)).toBe(true);
    expect(pacing.maxBatchMs).toBeLessThan(2 * pacing.targetMs);

    const entry = (await listAudit(ctx, { limit: 1 })).entries[0]!;
    expect(entry).toMatchObject({ id: result.auditId, outcome: 'ok', jobCount: 6_000, message: 'Deleted 6000 jobs older than 30 days (6000 succeeded).' });
    expect(entry.filters).toMatchObject({
      olderThanDays: 30,
      pacing: { batches: pacing.batches, firstRows: 100, largestRows: pacing.largestRows, finalRows: pacing.finalRows, maxBatchMs: Math.round(pacing.maxBatchMs) },
    });
  });

  it('retries several thousand failed jobs with batches that grow, and retries each once', async () => {
    const { db, ctx } = await setup(roomy);
    const failed = await failedJobs(db, 4_000);
    const preview = await previewRetryAll(ctx, { queue: 'q' });
    expect(preview.total).toBe(4_000);
    const result = await retryAll(ctx, preview, erin);
    expect(result).toMatchObject({ retried: 4_000, stopped: false });
    expect(await statuses(db, failed)).toEqual({ todo: 4_000 });
    const attempts = await db.worker.query<{ n: number }>('SELECT count(*)::int AS n FROM procrastinate_jobs WHERE id = ANY($1::bigint[]) AND attempts = 2', [failed]);
    expect(attempts.rows[0]!.n).toBe(4_000);

    const { pacing } = result;
    expectConsistent(pacing, result.lockHold.maxMs);
    expect(pacing.steps[0]!.limit).toBe(100);
    expect(pacing.largestRows).toBeGreaterThanOrEqual(400);
    expect(pacing.batches).toBe(result.batches);
    expect(pacing.maxBatchMs).toBeLessThan(2 * pacing.targetMs);
    expect((await listAudit(ctx, { limit: 1 })).entries[0]!.filters).toMatchObject({ pacing: { batches: pacing.batches } });
  });

  it('purge backs off when a worker waits on a row its batch holds, and still deletes everything once it is released', async () => {
    const { db, ctx: shared } = await setup();
    const ctx = patient(db, shared);
    const old = await oldSucceededJobs(db, 3_000, 40);
    // A session holding the events table (as a migration would) makes jobq's first batch wait
    // at its cascade, holding its rows: a worker touching one of them then queues behind jobq.
    const blocker = await session(db);
    const worker = await session(db);
    try {
      await blocker.client.query('BEGIN');
      await blocker.client.query('LOCK TABLE procrastinate_events IN SHARE MODE');
      const running = purge(ctx, { olderThanDays: 30 }, erin);
      await jobqWaitsForLock(db);
      const touched = worker.client.query(`UPDATE procrastinate_jobs SET attempts = attempts WHERE id = $1`, [old[1]]);
      await until('the worker waits on the row jobq holds', () => waitsForLock(db, worker.pid));
      await blocker.client.query('COMMIT');
      const result = await running;
      expect((await touched).rowCount).toBe(0); // deleted by the batch it waited for

      expect(result).toMatchObject({ total: 3_000, stopped: false });
      expect(await remaining(db, old)).toBe(0);
      const { pacing } = result;
      expectConsistent(pacing, result.lockHold.maxMs);
      const first = pacing.steps[0]!;
      expect(first).toMatchObject({ limit: 100, action: 'back off', reason: 'lock wait', pauseMs: 50, nextLimit: 50 });
      expect(first.pressure.lockWaiters).toBe(1);
      expect(pacing.steps[1]!.limit).toBe(50);
      expect(pacing.pauses['lock wait'].count).toBe(1);
      expect(pacing.pauses['lock wait'].ms).toBeGreaterThan(0);
      expect(pacing.pausedMs).toBeGreaterThanOrEqual(pacing.pauses['lock wait'].ms);
      const audited = (await listAudit(ctx, { limit: 1 })).entries[0]!;
      expect(audited).toMatchObject({ outcome: 'ok', jobCount: 3_000 });
      expect(audited.filters).toMatchObject({ pacing: { pausedFor: { 'lock wait': { count: 1 } } } });
    } finally {
      await blocker.client.query('ROLLBACK').catch(() => undefined);
      blocker.client.release();
      worker.client.release();
    }
  });

  it('purge backs off while a fetch costs more than idle, then takes the idle cost as it is now', async () => {
    const { db, ctx: shared } = await setup();
    const ctx = patient(db, shared);
    const old = await oldSucceededJobs(db, 3_000, 40);
    const blocker = await session(db);
    const deferring = await session(db);
    try {
      // Hold the run at its first batch, after it measured the idle probe...
      await blocker.client.query('BEGIN');
      await blocker.client.query('LOCK TABLE procrastinate_events IN SHARE MODE');
      const running = purge(ctx, { olderThanDays: 30 }, erin);
      await jobqWaitsForLock(db);
      // ...then defer a large backlog at the head of the fetch index, not yet committed: every
      // fetch (and the probe) now steps over all of it. (Triggers off: they would wait on the blocker.)
      await deferring.client.query('BEGIN');
      await deferring.client.query('SET LOCAL session_replication_role = replica');
      await deferring.client.query(`INSERT INTO procrastinate_jobs (queue_name, task_name, args, priority) SELECT 'q', 'app.tasks.new', '{}', 100 FROM generate_series(1, 100000)`);
      await blocker.client.query('COMMIT');
      const result = await running;

      expect(result).toMatchObject({ total: 3_000, stopped: false });
      expect(await remaining(db, old)).toBe(0);
      const { pacing } = result;
      expectConsistent(pacing, result.lockHold.maxMs);
      const first = pacing.steps.findIndex((s) => s.reason === 'fetch latency');
      expect(first).toBeGreaterThanOrEqual(1); // one slow probe is noise: two in a row
      expect(pacing.steps[first]).toMatchObject({ action: 'back off', pauseMs: 50 });
      expect(pacing.steps[first]!.nextLimit).toBeLessThan(pacing.steps[first]!.limit);
      expect(pacing.pauses['fetch latency'].count).toBeGreaterThanOrEqual(1);
      // Measured again after the pause with the backlog still there: the slower fetch is the new idle.
      expect(pacing.probeBaselineMs).toBeGreaterThanOrEqual(pacing.steps[first]!.pressure.probeMs! / 4);
      expect(pacing.pauses['lock wait'].count).toBe(0);
    } finally {
      await blocker.client.query('ROLLBACK').catch(() => undefined);
      await deferring.client.query('ROLLBACK').catch(() => undefined);
      blocker.client.release();
      deferring.client.release();
    }
  });

  it('retry-all backs off when a worker waits on a row its batch holds, and still retries every job once it is released', async () => {
    const { db, ctx: shared } = await setup();
    const ctx = patient(db, shared);
    const failed = await failedJobs(db, 2_000, 'sync-1');
    const preview = await previewRetryAll(ctx, { queue: 'q' });
    // A job being deferred with the first failed job's queueing lock, not yet committed: jobq's
    // first batch waits to put that job back to todo, holding its other rows.
    const deferring = await session(db);
    const worker = await session(db);
    try {
      await deferring.client.query('BEGIN');
      await deferring.client.query(`INSERT INTO procrastinate_jobs (queue_name, task_name, args, queueing_lock) VALUES ('q', 'app.tasks.flaky', '{}', 'sync-1')`);
      const running = retryAll(ctx, preview, erin);
      await jobqWaitsForLock(db);
      const touched = worker.client.query(`UPDATE procrastinate_jobs SET attempts = attempts WHERE id = $1`, [failed[1]]);
      await until('the worker waits on the row jobq holds', () => waitsForLock(db, worker.pid));
      await deferring.client.query('ROLLBACK');
      const result = await running;
      expect((await touched).rowCount).toBe(1);

      expect(result).toMatchObject({ retried: 2_000, stopped: false });
      expect(result.skipped).toEqual({ locked: { count: 0, ids: [] }, changed: { count: 0, ids: [] }, queueingLock: { count: 0, ids: [] } });
      expect(await statuses(db, failed)).toEqual({ todo: 2_000 });
      const { pacing } = result;
      expectConsistent(pacing, result.lockHold.maxMs);
      expect(pacing.steps[0]).toMatchObject({ limit: 100, action: 'back off', reason: 'lock wait', nextLimit: 50 });
      expect(pacing.steps[0]!.pressure.lockWaiters).toBe(1);
      expect(pacing.pauses['lock wait'].count).toBe(1);
      expect(pacing.steps[1]!.limit).toBe(50);
    } finally {
      await deferring.client.query('ROLLBACK').catch(() => undefined);
      deferring.client.release();
      worker.client.release();
    }
  });
});
