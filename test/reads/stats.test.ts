import { afterEach, describe, expect, it } from 'vitest';
import type { ReportedStatus } from '../../src/db/procrastinate.js';
import { getStats, type GroupStats, type StatsResult } from '../../src/queue/stats.js';
import { createTestDb, queueContext, useFixtureDb, type TestDb } from '../helpers/db.js';
import { factories } from '../helpers/factories.js';
import { SHAPES, type SchemaShape } from '../helpers/fixtures.js';

const HOUR = 3600;

const zero = (): Record<ReportedStatus, number> => ({ todo: 0, doing: 0, succeeded: 0, failed: 0, cancelled: 0, aborted: 0 });

function groupOf(stats: StatsResult, name: string): GroupStats {
  const g = stats.queues.find((q) => q.name === name);
  if (!g) throw new Error(`no group ${name} in ${stats.queues.map((q) => q.name).join(', ')}`);
  return g;
}

describe.each(SHAPES)('getStats on a %s schema', (shape: SchemaShape) => {
  const setup = useFixtureDb(shape);
  it('counts every status per queue exactly on a small table', async () => {
    const { f, ctx } = await setup();
    const plan: { queue: string; status: ReportedStatus; n: number }[] = [
      { queue: 'emails', status: 'todo', n: 3 },
      { queue: 'emails', status: 'doing', n: 2 },
      { queue: 'emails', status: 'succeeded', n: 4 },
      { queue: 'emails', status: 'failed', n: 1 },
      { queue: 'reports', status: 'failed', n: 2 },
      { queue: 'reports', status: 'cancelled', n: 1 },
      { queue: 'reports', status: 'aborted', n: 1 },
      { queue: 'billing', status: 'succeeded', n: 1 },
    ];
    const expected: Record<string, Record<ReportedStatus, number>> = {};
    for (const p of plan) {
      await f.jobs(p.n, { queue: p.queue, status: p.status });
      expected[p.queue] ??= zero();
      expected[p.queue]![p.status] += p.n;
    }
    const stats = await getStats(ctx);
    expect(stats.groupBy).toBe('queue');
    expect(stats.countMethod).toEqual({ kind: 'exact' });
    expect(stats.queues.map((q) => q.name)).toEqual(['billing', 'emails', 'reports']);
    for (const [queue, counts] of Object.entries(expected)) {
      expect(groupOf(stats, queue).counts).toEqual(counts);
      expect(groupOf(stats, queue).estimated).toEqual([]);
    }
    const total = zero();
    for (const p of plan) total[p.status] += p.n;
    expect(stats.totals).toEqual({ counts: total, estimated: [], counted: [], margins: {} });
  });

  it('groups by task when asked', async () => {
    const { f, ctx } = await setup();
    await f.jobs(2, { queue: 'a', task: 'app.send', status: 'todo' });
    await f.jobs(1, { queue: 'b', task: 'app.send', status: 'failed' });
    await f.jobs(3, { queue: 'a', task: 'app.report', status: 'succeeded' });
    const stats = await getStats(ctx, { groupBy: 'task' });
    expect(stats.groupBy).toBe('task');
    expect(stats.queues.map((q) => q.name)).toEqual(['app.report', 'app.send']);
    expect(groupOf(stats, 'app.send').counts).toEqual({ ...zero(), todo: 2, failed: 1 });
    expect(groupOf(stats, 'app.report').counts).toEqual({ ...zero(), succeeded: 3 });
  });

  it('reports the oldest due todo job, ignoring jobs scheduled in the future', async () => {
    const { f, ctx } = await setup();
    const old = await f.job({ queue: 'q' });
    await f.age(old, 2 * HOUR);
    await f.job({ queue: 'q' });
    // Deferred long ago but scheduled far in the future: not waiting yet.
    const future = await f.job({ queue: 'q', scheduledAt: new Date(Date.now() + 24 * HOUR * 1000) });
    await f.age(future, 10 * HOUR);
    // Only future jobs: nothing is waiting.
    const onlyFuture = await f.job({ queue: 'later', scheduledAt: new Date(Date.now() + HOUR * 1000) });
    await f.age(onlyFuture, 5 * HOUR);
    // Deferred 3h ago for 10 minutes ago: waits since its scheduled time, not since deferral.
    const scheduledPast = await f.job({ queue: 'sched', scheduledAt: new Date(Date.now() - 600_000) });
    await f.age(scheduledPast, 3 * HOUR);

    const stats = await getStats(ctx);
    expect(groupOf(stats, 'q').counts.todo).toBe(3);
    expect(groupOf(stats, 'q').oldestTodoAgeSeconds).toBeGreaterThanOrEqual(2 * HOUR - 5);
    expect(groupOf(stats, 'q').oldestTodoAgeSeconds).toBeLessThanOrEqual(2 * HOUR + 30);
    expect(groupOf(stats, 'later').counts.todo).toBe(1);
    expect(groupOf(stats, 'later').oldestTodoAgeSeconds).toBeNull();
    expect(groupOf(stats, 'sched').oldestTodoAgeSeconds).toBeGreaterThanOrEqual(600 - 5);
    expect(groupOf(stats, 'sched').oldestTodoAgeSeconds).toBeLessThanOrEqual(600 + 30);
  });

  it('a queue with no todo job has no oldest waiting age', async () => {
    const { f, ctx } = await setup();
    await f.job({ queue: 'done', status: 'succeeded' });
    const stats = await getStats(ctx);
    expect(groupOf(stats, 'done').oldestTodoAgeSeconds).toBeNull();
  });

  it('counts recent outcomes from events: last hour and last 24 hours', async () => {
    const { f, ctx } = await setup();
    // Ids grow with time, as in production: the oldest events first.
    const ancient = await f.jobs(2, { queue: 'q', status: 'succeeded' });
    for (const id of ancient) await f.age(id, 25 * HOUR);
    const ancientFailed = await f.job({ queue: 'q', status: 'failed' });
    await f.age(ancientFailed, 25 * HOUR);
    const twoHours = await f.jobs(3, { queue: 'q', status: 'succeeded' });
    for (const id of twoHours) await f.age(id, 2 * HOUR);
    const twoHoursFailed = await f.job({ queue: 'q', status: 'failed' });
    await f.age(twoHoursFailed, 2 * HOUR);
    await f.jobs(4, { queue: 'q', status: 'succeeded' });
    await f.jobs(2, { queue: 'q', status: 'failed' });
    await f.jobs(1, { queue: 'other', status: 'failed' });

    const stats = await getStats(ctx);
    expect(groupOf(stats, 'q').recent).toEqual({ lastHour: { succeeded: 4, failed: 2 }, last24h: { succeeded: 7, failed: 3 } });
    expect(groupOf(stats, 'other').recent).toEqual({ lastHour: { succeeded: 0, failed: 1 }, last24h: { succeeded: 0, failed: 1 } });
    // The aged jobs are still counted by status.
    expect(groupOf(stats, 'q').counts.succeeded).toBe(9);
    expect(groupOf(stats, 'q').counts.failed).toBe(4);
  });

  it('reports workers on 3.1+ and null before', async () => {
    const { f, ctx } = await setup();
    if (shape === 'v3') {
      await f.worker();
      await f.worker();
      await f.worker(120);
      const stats = await getStats(ctx);
      expect(stats.workers).toEqual({ live: 2, total: 3 });
    } else {
      const stats = await getStats(ctx);
      expect(stats.workers).toBeNull();
    }
  });

  it('samples final statuses on a large table and keeps todo/doing exact', async () => {
    const { db, ctx } = await setup();
    // A few thousand jobs written through Procrastinate's triggers (insert as todo, then status
    // updates), in bulk: 3000 succeeded, 200 failed, 100 cancelled in 'bulk'; 40 todo, 7 doing.
    await db.worker.query(`INSERT INTO procrastinate_jobs (queue_name, task_name) SELECT 'bulk', 'app.t' FROM generate_series(1, 3347)`);
    await db.worker.query(`UPDATE procrastinate_jobs SET status = 'cancelled' WHERE id IN (SELECT id FROM procrastinate_jobs ORDER BY id LIMIT 100)`);
    await db.worker.query(`UPDATE procrastinate_jobs SET status = 'doing' WHERE id IN (SELECT id FROM procrastinate_jobs WHERE status = 'todo' ORDER BY id LIMIT 3207)`);
    await db.worker.query(`UPDATE procrastinate_jobs SET status = 'failed' WHERE id IN (SELECT id FROM procrastinate_jobs WHERE status = 'doing' ORDER BY id LIMIT 200)`);
    await db.worker.query(`UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id IN (SELECT id FROM procrastinate_jobs WHERE status = 'doing' ORDER BY id LIMIT 3000)`);
    await db.worker.query('ANALYZE procrastinate_jobs');
    const exact = await db.worker.query<{ status: string; n: string }>(`SELECT status::text AS status, count(*) AS n FROM procrastinate_jobs GROUP BY 1`);
    expect(Object.fromEntries(exact.rows.map((r) => [r.status, Number(r.n)]))).toEqual({ todo: 40, doing: 7, failed: 200, succeeded: 3000, cancelled: 100 });

    const sampledCtx = await queueContext(db, { exactCountMaxRows: 0 });
    const stats = await getStats(sampledCtx);
    expect(stats.countMethod.kind).toBe('sampled');
    if (stats.countMethod.kind === 'sampled') {
      expect(stats.countMethod.samplePercent).toBeGreaterThan(0);
      expect(stats.countMethod.samplePercent).toBeLessThanOrEqual(100);
      expect(stats.countMethod.estimatedRows).toBeGreaterThan(3347 * 0.5);
    }
    const bulk = groupOf(stats, 'bulk');
    expect([...bulk.estimated].sort()).toEqual(['aborted', 'cancelled', 'failed', 'succeeded']);
    expect([...stats.totals.estimated].sort()).toEqual(['aborted', 'cancelled', 'failed', 'succeeded']);
    expect(bulk.estimated).not.toContain('todo');
    expect(bulk.estimated).not.toContain('doing');
    expect(bulk.counts.todo).toBe(40);
    expect(bulk.counts.doing).toBe(7);
    expect(bulk.counts.succeeded).toBeGreaterThanOrEqual(1500);
    expect(bulk.counts.succeeded).toBeLessThanOrEqual(4500);

    // Same table, exact mode: the default threshold is far above a few thousand rows.
    const exactStats = await getStats(ctx);
    expect(exactStats.countMethod).toEqual({ kind: 'exact' });
    expect(groupOf(exactStats, 'bulk').counts).toEqual({ todo: 40, doing: 7, succeeded: 3000, failed: 200, cancelled: 100, aborted: 0 });
  });

  it('keeps failed exact in sampled mode when the recommended failed index exists', async () => {
    const { db } = await setup();
    await db.worker.query(`INSERT INTO procrastinate_jobs (queue_name, task_name) SELECT 'bulk', 'app.t' FROM generate_series(1, 2013)`);
    await db.worker.query(`UPDATE procrastinate_jobs SET status = 'doing'`);
    await db.worker.query(`UPDATE procrastinate_jobs SET status = 'failed' WHERE id IN (SELECT id FROM procrastinate_jobs ORDER BY id LIMIT 13)`);
    await db.worker.query(`UPDATE procrastinate_jobs SET status = 'succeeded' WHERE status = 'doing'`);
    await db.worker.query(`CREATE INDEX jobq_failed_jobs_idx ON procrastinate_jobs (queue_name, id) WHERE status = 'failed'`);
    await db.worker.query('ANALYZE procrastinate_jobs');
    const stats = await getStats(await queueContext(db, { exactCountMaxRows: 0 }));
    expect(stats.countMethod.kind).toBe('sampled');
    const bulk = groupOf(stats, 'bulk');
    expect(bulk.estimated).not.toContain('failed');
    expect(bulk.estimated).toContain('succeeded');
    expect(bulk.counts.failed).toBe(13);
  });
});

describe('getStats on a 2.x schema', () => {
  let db: TestDb | undefined;
  afterEach(async () => {
    await db?.drop();
  });

  it('counts final statuses exactly and folds 2.x `aborting` into doing', async () => {
    db = await createTestDb('v2');
    const f = factories(db.worker, 'v2');
    await f.jobs(2, { queue: 'q', status: 'aborting' });
    await f.job({ queue: 'q', status: 'doing' });
    await f.jobs(3, { queue: 'q', status: 'succeeded' });
    await f.jobs(2, { queue: 'r', status: 'failed' });
    await f.job({ queue: 'r', status: 'cancelled' });
    await f.job({ queue: 'r', status: 'aborted' });
    const stats = await getStats(await queueContext(db));
    expect(groupOf(stats, 'q').counts).toEqual({ ...zero(), doing: 3, succeeded: 3 });
    expect(groupOf(stats, 'r').counts).toEqual({ ...zero(), failed: 2, cancelled: 1, aborted: 1 });
    expect(stats.totals.counts).toEqual({ ...zero(), doing: 3, succeeded: 3, failed: 2, cancelled: 1, aborted: 1 });
  });

  // Regression: the oldest-waiting query named the `retried` event, which 2.x (and 3.0-3.3) lack.
  it('works on a 2.x database holding a todo job', async () => {
    db = await createTestDb('v2');
    const f = factories(db.worker, 'v2');
    await f.job({ queue: 'q' });
    const stats = await getStats(await queueContext(db));
    expect(groupOf(stats, 'q').counts.todo).toBe(1);
  });
});
