import { describe, expect, it } from 'vitest';
import { JobqError } from '../../src/errors.js';
import { parseJobId } from '../../src/commands/values.js';
import { getJob } from '../../src/queue/job.js';
import { queueContext, useFixtureDb } from '../helpers/db.js';
import { SHAPES, type SchemaShape } from '../helpers/fixtures.js';

const HOUR = 3600;

describe.each(SHAPES)('getJob on a %s schema', (shape: SchemaShape) => {
  const setup = useFixtureDb(shape);
  const retryDoing = shape === 'v3' ? 'procrastinate_retry_job_v1($1::bigint, NULL, NULL, NULL, NULL)' : 'procrastinate_retry_job($1::bigint, NULL::timestamptz)';

  it('shows the columns and the full timeline in order', async () => {
    const { db, f, ctx } = await setup();
    const id = await f.job({ queue: 'emails', task: 'app.send', args: { to: 'a@example.com', n: 3 } });
    expect(await f.fetch()).toBe(id);
    // The worker's task raised a retriable error: back to todo, then run again and fail for good.
    await db.worker.query(`SELECT ${retryDoing}`, [id]);
    expect(await f.fetch()).toBe(id);
    await f.finish(id, 'failed');

    const detail = await getJob(ctx, id);
    expect(detail.job).toMatchObject({
      id,
      queue: 'emails',
      task: 'app.send',
      status: 'failed',
      attempts: 2,
      priority: 0,
      args: { to: 'a@example.com', n: 3 },
      lock: null,
      queueingLock: null,
      scheduledAt: null,
      abortRequested: shape === 'v3' ? false : null,
    });
    expect(detail.events.map((e) => e.type)).toEqual(['deferred', 'started', 'deferred_for_retry', 'started', 'failed']);
    const times = detail.events.map((e) => Date.parse(e.at));
    expect(times.every((t) => Number.isFinite(t))).toBe(true);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(detail.eventsTruncated).toBe(false);
    expect(detail.stalled).toBe(false);
    expect(detail.actions).toEqual(['retry']);
  });

  it('offers run-now for a todo job scheduled in the future, only cancel for a due one', async () => {
    const { f, ctx } = await setup();
    const at = new Date(Date.now() + 2 * HOUR * 1000);
    const scheduled = await f.job({ scheduledAt: at });
    const due = await f.job();
    const scheduledDetail = await getJob(ctx, scheduled);
    expect(scheduledDetail.job.status).toBe('todo');
    expect(Date.parse(scheduledDetail.job.scheduledAt!)).toBe(at.getTime());
    expect(scheduledDetail.actions).toContain('run-now');
    expect(scheduledDetail.actions).toContain('cancel');
    expect(scheduledDetail.events.map((e) => e.type).sort()).toEqual(['deferred', 'scheduled']);
    expect((await getJob(ctx, due)).actions).toEqual(['cancel']);
  });

  it('offers nothing for jobs in a final state other than failed', async () => {
    const { f, ctx } = await setup();
    for (const status of ['succeeded', 'cancelled', 'aborted'] as const) {
      const id = await f.job({ status });
      const detail = await getJob(ctx, id);
      expect(detail.job.status).toBe(status);
      expect(detail.actions, status).toEqual([]);
      expect(detail.stalled).toBe(false);
    }
    expect((await getJob(ctx, await f.job({ status: 'failed' }))).actions).toEqual(['retry']);
  });

  it('lists other live jobs sharing its lock or queueing lock', async () => {
    const { f, ctx } = await setup();
    // A finished job with the same lock does not count (it ran before the current one).
    await f.job({ lock: 'user-7', status: 'succeeded' });
    const running = await f.job({ lock: 'user-7', status: 'doing' });
    const waiting = await f.job({ lock: 'user-7' });
    const runningQ = await f.job({ queueingLock: 'nightly', status: 'doing' });
    const waitingQ = await f.job({ queueingLock: 'nightly' });
    const alone = await f.job({ lock: 'user-8' });

    expect((await getJob(ctx, waiting)).sharingLocks).toEqual([{ id: running, status: 'doing', via: 'lock' }]);
    expect((await getJob(ctx, running)).sharingLocks).toEqual([{ id: waiting, status: 'todo', via: 'lock' }]);
    expect((await getJob(ctx, waitingQ)).sharingLocks).toEqual([{ id: runningQ, status: 'doing', via: 'queueing_lock' }]);
    expect((await getJob(ctx, alone)).sharingLocks).toEqual([]);
  });

  it('flags a running job as stalled when it started too long ago', async () => {
    const { db, f } = await setup();
    const ctx = await queueContext(db, { stalledRunningSeconds: 600 });
    const w = shape === 'v3' ? await f.worker() : null;
    const fresh = await f.job({ status: 'doing', workerId: w });
    const old = await f.job({ status: 'doing', workerId: w });
    await f.age(old, 2 * HOUR);
    const freshDetail = await getJob(ctx, fresh);
    expect(freshDetail.stalled).toBe(false);
    expect(freshDetail.actions).toEqual(['abort']);
    const oldDetail = await getJob(ctx, old);
    expect(oldDetail.stalled).toBe(true);
    expect(oldDetail.actions).toEqual(['retry', 'abort']);
  });

  it('says so plainly when the job does not exist', async () => {
    const { f, ctx } = await setup();
    await f.job();
    const error = await getJob(ctx, 987654).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobqError);
    expect((error as JobqError).code).toBe('not_found');
    expect((error as JobqError).message).toMatch(/987654/);
  });
});

describe('getJob with workers (3.1+)', () => {
  const setup = useFixtureDb('v3');

  it('shows the worker holding the job and its heartbeat', async () => {
    const { f, ctx } = await setup();
    const w = await f.worker();
    const id = await f.job({ status: 'doing', workerId: w });
    const detail = await getJob(ctx, id);
    expect(detail.job.workerId).toBe(w);
    expect(detail.worker).toMatchObject({ id: w, alive: true });
    expect(detail.worker!.heartbeatAgeSeconds).toBeLessThanOrEqual(5);
    expect(Number.isNaN(Date.parse(detail.worker!.lastHeartbeat))).toBe(false);
    expect(detail.stalled).toBe(false);
    expect(detail.actions).toEqual(['abort']);
  });

  it('flags the job stalled when its worker has gone silent', async () => {
    const { f, ctx } = await setup();
    const w = await f.worker(120);
    const id = await f.job({ status: 'doing', workerId: w });
    const detail = await getJob(ctx, id);
    expect(detail.worker).toMatchObject({ id: w, alive: false });
    expect(detail.worker!.heartbeatAgeSeconds).toBeGreaterThanOrEqual(119);
    expect(detail.stalled).toBe(true);
    expect(detail.actions).toEqual(['retry', 'abort']);
  });

  it('flags the job stalled when its worker row is gone', async () => {
    const { db, f, ctx } = await setup();
    const w = await f.worker();
    const id = await f.job({ status: 'doing', workerId: w });
    // A killed worker pruned by another one: worker_id becomes NULL (ON DELETE SET NULL).
    await db.worker.query('SELECT procrastinate_prune_stalled_workers_v1(0)');
    await db.worker.query('DELETE FROM procrastinate_workers WHERE id = $1', [w]);
    const detail = await getJob(ctx, id);
    expect(detail.job.workerId).toBeNull();
    expect(detail.worker).toBeNull();
    expect(detail.stalled).toBe(true);
  });

  it('does not offer abort twice once abort was requested', async () => {
    const { db, f, ctx } = await setup();
    const w = await f.worker();
    const id = await f.job({ status: 'doing', workerId: w });
    await db.worker.query('SELECT procrastinate_cancel_job_v1($1::bigint, true, false)', [id]);
    const detail = await getJob(ctx, id);
    expect(detail.job.abortRequested).toBe(true);
    expect(detail.events.map((e) => e.type)).toEqual(['deferred', 'started', 'abort_requested']);
    expect(detail.actions).toEqual([]);
  });
});

describe('parseJobId', () => {
  it('accepts a positive whole number', () => {
    expect(parseJobId('42')).toBe(42);
    expect(parseJobId(' 7 ')).toBe(7);
  });

  it.each(['abc', '0', '-1', '1.5', '', '12abc', '1e3'])('refuses %j with a usage error', (text) => {
    let error: unknown;
    try {
      parseJobId(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(JobqError);
    expect((error as JobqError).code).toBe('usage');
  });
});
