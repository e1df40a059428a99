import { afterEach, describe, expect, it } from 'vitest';
import { JobqError } from '../../src/errors.js';
import { listStalled, type StalledJob } from '../../src/queue/stalled.js';
import { listWorkers } from '../../src/queue/workers.js';
import { createTestDb, queueContext, useFixtureDb, type TestDb } from '../helpers/db.js';
import { factories } from '../helpers/factories.js';
import { SHAPES, type SchemaShape } from '../helpers/fixtures.js';

const HOUR = 3600;

const reasonsById = (jobs: StalledJob[]) => Object.fromEntries(jobs.map((j) => [j.id, j.reasons]));

describe.each(SHAPES)('listStalled on a %s schema', (shape: SchemaShape) => {
  const setup = useFixtureDb(shape);
  // Regression: without workers (2.x, 3.0) the statement once sent a parameter it did not use.
  it('lists jobs running longer than the threshold, and not healthy ones', async () => {
    const { f, ctx } = await setup();
    const w = shape === 'v3' ? await f.worker() : null;
    const healthy = await f.job({ status: 'doing', workerId: w });
    const long = await f.job({ queue: 'reports', task: 'app.render', status: 'doing', workerId: w });
    await f.age(long, 2 * HOUR);
    // Old jobs that are not running are never stalled.
    for (const status of ['todo', 'failed', 'succeeded'] as const) await f.age(await f.job({ status }), 2 * HOUR);

    const result = await listStalled(ctx);
    expect(result.jobs.map((j) => j.id)).toEqual([long]);
    expect(result.jobs.map((j) => j.id)).not.toContain(healthy);
    const [job] = result.jobs;
    expect(job).toMatchObject({ id: long, queue: 'reports', task: 'app.render', status: 'doing', reasons: ['running_too_long'], workerId: w });
    expect(job!.runningSeconds).toBeGreaterThanOrEqual(2 * HOUR - 5);
    expect(job!.runningSeconds).toBeLessThanOrEqual(2 * HOUR + 30);
    expect(Date.now() - Date.parse(job!.startedAt!)).toBeGreaterThanOrEqual((2 * HOUR - 5) * 1000);
    expect(result.thresholds).toEqual({ heartbeatSeconds: shape === 'v3' ? 30 : null, runningSeconds: 3600 });
    expect(result.truncated).toBe(false);
  });

  it('takes thresholds from the query over the settings', async () => {
    const { f, ctx } = await setup();
    const w = shape === 'v3' ? await f.worker() : null;
    const id = await f.job({ status: 'doing', workerId: w });
    await f.age(id, 120);
    expect((await listStalled(ctx)).jobs).toEqual([]);
    const result = await listStalled(ctx, { runningSeconds: 60 });
    expect(reasonsById(result.jobs)).toEqual({ [id]: ['running_too_long'] });
    expect(result.thresholds.runningSeconds).toBe(60);
  });

  it('caps the list at the limit and says it was truncated', async () => {
    const { f, ctx } = await setup();
    const w = shape === 'v3' ? await f.worker() : null;
    const ids = await f.jobs(3, { status: 'doing', workerId: w });
    for (const id of ids) await f.age(id, 2 * HOUR);
    const result = await listStalled(ctx, { limit: 2 });
    expect(result.jobs.map((j) => j.id)).toEqual(ids.slice(0, 2));
    expect(result.limit).toBe(2);
    expect(result.truncated).toBe(true);
    expect((await listStalled(ctx, { limit: 3 })).truncated).toBe(false);
  });
});

describe('listStalled with workers (3.1+)', () => {
  const setup = useFixtureDb('v3');

  it('names why each job looks stalled: worker missing, heartbeat stale, running too long', async () => {
    const { db, f, ctx } = await setup();
    const live = await f.worker();
    const silent = await f.worker(120);
    const doomed = await f.worker();
    const healthy = await f.job({ status: 'doing', workerId: live });
    const noWorker = await f.job({ status: 'doing' });
    const staleHeartbeat = await f.job({ status: 'doing', workerId: silent });
    const long = await f.job({ status: 'doing', workerId: live });
    await f.age(long, 2 * HOUR);
    const staleAndLong = await f.job({ status: 'doing', workerId: silent });
    await f.age(staleAndLong, 2 * HOUR);
    const pruned = await f.job({ status: 'doing', workerId: doomed });
    // The worker was killed and another one pruned its row: worker_id is set to NULL.
    await db.worker.query('DELETE FROM procrastinate_workers WHERE id = $1', [doomed]);

    const result = await listStalled(ctx);
    expect(reasonsById(result.jobs)).toEqual({
      [noWorker]: ['worker_missing'],
      [staleHeartbeat]: ['heartbeat_stale'],
      [long]: ['running_too_long'],
      [staleAndLong]: ['heartbeat_stale', 'running_too_long'],
      [pruned]: ['worker_missing'],
    });
    expect(result.jobs.map((j) => j.id)).not.toContain(healthy);
    expect(result.jobs.map((j) => j.id)).toEqual([...result.jobs.map((j) => j.id)].sort((a, b) => a - b));
    const stale = result.jobs.find((j) => j.id === staleHeartbeat)!;
    expect(stale.workerId).toBe(silent);
    expect(Date.now() - Date.parse(stale.lastHeartbeat!)).toBeGreaterThanOrEqual(119_000);
    expect(result.jobs.find((j) => j.id === pruned)!.workerId).toBeNull();
  });

  it('uses the heartbeat threshold from the query', async () => {
    const { f, ctx } = await setup();
    const w = await f.worker(45);
    const id = await f.job({ status: 'doing', workerId: w });
    expect((await listStalled(ctx)).jobs.map((j) => j.id)).toEqual([id]);
    expect((await listStalled(ctx, { heartbeatSeconds: 60 })).jobs).toEqual([]);
  });
});

describe('listWorkers', () => {
  let db: TestDb | undefined;
  afterEach(async () => {
    await db?.drop();
    db = undefined;
  });

  it('lists each worker with the jobs it holds, alive or stale (3.1+)', async () => {
    db = await createTestDb('v3');
    const f = factories(db.worker, 'v3');
    const busy = await f.worker();
    const silent = await f.worker(120);
    const idle = await f.worker();
    await f.jobs(2, { status: 'doing', workerId: busy });
    // Finished jobs keep their worker_id but are not held any more.
    await f.job({ status: 'succeeded', workerId: busy });
    await f.job({ status: 'failed', workerId: busy });
    await f.job({ status: 'doing', workerId: silent });

    const result = await listWorkers(await queueContext(db));
    expect(result.workers.map((w) => ({ id: w.id, alive: w.alive, jobs: w.jobs }))).toEqual([
      { id: busy, alive: true, jobs: 2 },
      { id: silent, alive: false, jobs: 1 },
      { id: idle, alive: true, jobs: 0 },
    ]);
    expect(result).toMatchObject({ live: 2, stale: 1, staleAfterSeconds: 30, truncated: false });
    const silentInfo = result.workers.find((w) => w.id === silent)!;
    expect(silentInfo.heartbeatAgeSeconds).toBeGreaterThanOrEqual(119);
    expect(silentInfo.heartbeatAgeSeconds).toBeLessThanOrEqual(150);
    expect(result.workers.find((w) => w.id === busy)!.heartbeatAgeSeconds).toBeLessThanOrEqual(5);
  });

  it('says nothing is registered on an empty workers table', async () => {
    db = await createTestDb('v3');
    expect(await listWorkers(await queueContext(db))).toMatchObject({ workers: [], live: 0, stale: 0 });
  });

  it('refuses on 2.x, which has no workers table, with an unsupported error', async () => {
    db = await createTestDb('v2');
    const error = await listWorkers(await queueContext(db)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobqError);
    expect((error as JobqError).code).toBe('unsupported');
    expect((error as JobqError).message).toMatch(/3\.1/);
    expect((error as JobqError).hint).toMatch(/stalled/);
  });
});
