import { afterEach, describe, expect, it } from 'vitest';
import { jobsDeferBatch, type WorkerCalls } from '../../src/db/queries/procrastinate-worker.js';
import { JobqError } from '../../src/errors.js';
import { startSimulator, type Simulator } from '../../src/sandbox/simulator.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { factories } from '../helpers/factories.js';
import type { FixtureShape } from '../helpers/fixtures.js';
import { testLogger } from '../helpers/log.js';

/** A seeded generator, so a failing run can be replayed with the same workload. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EXPECTED_CALLS: Record<FixtureShape, WorkerCalls> = {
  v2: { defer: 'procrastinate_defer_job', fetch: 'procrastinate_fetch_job', finish: 'procrastinate_finish_job', retry: 'procrastinate_retry_job', workers: false },
  v3: { defer: 'procrastinate_defer_jobs_v1', fetch: 'procrastinate_fetch_job_v2', finish: 'procrastinate_finish_job_v1', retry: 'procrastinate_retry_job_v2', workers: true },
  // Mid-upgrade both generations exist: the simulator plays a 3.10 worker.
  v310pre: { defer: 'procrastinate_defer_jobs_v2', fetch: 'procrastinate_fetch_job_v3', finish: 'procrastinate_finish_job_v1', retry: 'procrastinate_retry_job_v2', workers: true },
  v310: { defer: 'procrastinate_defer_jobs_v2', fetch: 'procrastinate_fetch_job_v3', finish: 'procrastinate_finish_job_v1', retry: 'procrastinate_retry_job_v2', workers: true },
};

function useSimulatorDb() {
  const open: { db?: TestDb; simulator?: Simulator } = {};
  afterEach(async () => {
    await open.simulator?.stop();
    await open.db?.drop();
    delete open.simulator;
    delete open.db;
  });
  return {
    async db(shape: FixtureShape | 'empty') {
      open.db = await createTestDb(shape);
      return open.db;
    },
    async start(db: TestDb, seed: number) {
      open.simulator = await startSimulator({
        url: db.url,
        jobsPerMinute: 6_000,
        failureRate: 0.3,
        chaosEverySeconds: 0,
        tickMs: 100,
        random: seeded(seed),
        log: testLogger().log,
      });
      return open.simulator;
    },
  };
}

async function countBy(db: TestDb, sql: string): Promise<Record<string, number>> {
  const rows = await db.worker.query<{ key: string; n: string }>(sql);
  return Object.fromEntries(rows.rows.map((r) => [r.key, Number(r.n)]));
}

describe.each<FixtureShape>(['v2', 'v3', 'v310pre', 'v310'])('the workload simulator on a %s schema', (shape) => {
  const s = useSimulatorDb();

  it('defers, fetches and finishes jobs through the functions this schema has', { timeout: 60_000 }, async () => {
    const db = await s.db(shape);
    const simulator = await s.start(db, 16);
    expect(simulator.calls).toEqual(EXPECTED_CALLS[shape]);
    await expect.poll(() => Math.min(simulator.stats().succeeded, simulator.stats().failed), { timeout: 30_000 }).toBeGreaterThanOrEqual(3);
    await simulator.stop();

    // What it counted is what the database holds, written through Procrastinate's triggers.
    const stats = simulator.stats();
    const statuses = await countBy(db, `SELECT status::text AS key, count(*) AS n FROM procrastinate_jobs GROUP BY 1`);
    expect(Object.values(statuses).reduce((a, b) => a + b, 0)).toBe(stats.deferred);
    expect(statuses.succeeded).toBe(stats.succeeded);
    expect(statuses.failed).toBe(stats.failed);
    const events = await countBy(db, `SELECT type::text AS key, count(*) AS n FROM procrastinate_events GROUP BY 1`);
    expect(events.deferred).toBe(stats.deferred);
    expect(events.succeeded).toBe(stats.succeeded);
    expect(events.failed).toBe(stats.failed);
    expect(events.started).toBeGreaterThanOrEqual(stats.succeeded + stats.failed);
    expect(events.deferred_for_retry ?? 0).toBe(stats.retried);

    if (EXPECTED_CALLS[shape].workers) {
      const workers = await db.worker.query<{ id: string }>('SELECT id FROM procrastinate_workers');
      expect(workers.rows).toHaveLength(3);
      const strangers = await db.worker.query(`SELECT id FROM procrastinate_jobs WHERE status = 'doing' AND worker_id <> ALL($1::bigint[])`, [workers.rows.map((r) => r.id)]);
      expect(strangers.rows).toEqual([]);
    }
    if (shape === 'v310' || shape === 'v310pre') {
      const modes = await countBy(db, `SELECT lock_mode::text AS key, count(*) AS n FROM procrastinate_jobs WHERE deferred_at IS NOT NULL GROUP BY 1`);
      expect(modes).toEqual({ ordered: stats.deferred });
    }
  });
});

describe('the workload simulator and paused queues (3.10)', () => {
  const s = useSimulatorDb();

  it('takes nothing from a paused queue while it works the others, and takes from it once resumed', { timeout: 60_000 }, async () => {
    const db = await s.db('v310');
    const f = factories(db.worker, 'v310');
    await f.pause('emails', 'incident-7');
    const simulator = await s.start(db, 7);
    await expect.poll(() => simulator.stats().succeeded, { timeout: 30_000 }).toBeGreaterThanOrEqual(10);

    const taken = await countBy(db, `SELECT status::text AS key, count(*) AS n FROM procrastinate_jobs WHERE queue_name = 'emails' GROUP BY 1`);
    expect(taken.todo).toBeGreaterThan(0);
    expect(Object.keys(taken)).toEqual(['todo']);
    // An email that was due, unlocked and ahead of a job the workers did take: passed over.
    const passedOver = await db.worker.query(`
      SELECT e.id FROM procrastinate_jobs e
      WHERE e.queue_name = 'emails' AND e.status = 'todo' AND e.scheduled_at IS NULL AND e.lock IS NULL
        AND EXISTS (SELECT 1 FROM procrastinate_jobs t
                    WHERE t.queue_name <> 'emails' AND t.status <> 'todo' AND t.id > e.id AND t.priority <= e.priority)
      LIMIT 1`);
    expect(passedOver.rows).toHaveLength(1);

    expect(await f.resume('emails')).toBe(1);
    await expect
      .poll(async () => (await countBy(db, `SELECT 'taken' AS key, count(*) AS n FROM procrastinate_jobs WHERE queue_name = 'emails' AND status <> 'todo'`)).taken ?? 0, {
        timeout: 30_000,
      })
      .toBeGreaterThan(0);
  });

  it('defers a mutex job when asked, through defer_jobs_v2', async () => {
    const db = await s.db('v310');
    const job = { queue: 'billing', task: 'app.billing.charge_card', priority: 0, lock: 'customer-1', args: {}, scheduledAt: null };
    const ids = await db.worker.query<{ id: string }>(jobsDeferBatch('procrastinate_defer_jobs_v2', [{ ...job, lockMode: 'mutex' }, job]));
    const modes = await db.worker.query<{ lock_mode: string }>('SELECT lock_mode::text FROM procrastinate_jobs WHERE id = ANY($1::bigint[]) ORDER BY id', [
      ids.rows.map((r) => r.id),
    ]);
    expect(modes.rows.map((r) => r.lock_mode)).toEqual(['mutex', 'ordered']);
  });
});

describe('the workload simulator on a database without Procrastinate', () => {
  const s = useSimulatorDb();

  it('refuses to start, naming the calls it could not find', async () => {
    const db = await s.db('empty');
    const error = await startSimulator({ url: db.url, jobsPerMinute: 60, failureRate: 0, chaosEverySeconds: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobqError);
    expect((error as JobqError).code).toBe('not_procrastinate');
    expect((error as JobqError).message).toMatch(/no Procrastinate function to defer, fetch, finish, retry jobs/);
  });
});
