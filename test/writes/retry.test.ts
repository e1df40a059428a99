import { describe, expect, it } from 'vitest';
import { JobqError } from '../../src/errors.js';
import type { Actor } from '../../src/queue/actor.js';
import { listAudit } from '../../src/queue/audit.js';
import { retryJob } from '../../src/queue/retry.js';
import { jobqWaitsForLock, queueContext, useMigratedDbs } from '../helpers/db.js';
import { SHAPES, type SchemaShape } from '../helpers/fixtures.js';
import { refusal } from '../helpers/refusal.js';

const alice: Actor = { kind: 'slack', id: 'U0ALICE', name: 'alice' };

describe.each(SHAPES)('retry one job (%s)', (shape: SchemaShape) => {
  const setup = useMigratedDbs(shape);

  it('puts a failed job back to todo, and a worker picks it up', async () => {
    const { db, ctx, f } = await setup();
    const id = await f.job({ status: 'failed', queue: 'emails', task: 'send' });
    const result = await retryJob(ctx, id, alice);
    expect(result).toMatchObject({ jobId: id, queue: 'emails', task: 'send', previousStatus: 'failed', status: 'todo', attempts: 2 });
    expect(result.method).toBe(shape === 'v3' ? 'retry_job_v2' : 'guarded_update');
    const row = await db.worker.query<{ attempts: number; scheduled_at: Date | null }>('SELECT attempts, scheduled_at FROM procrastinate_jobs WHERE id = $1', [id]);
    expect(row.rows[0]).toEqual({ attempts: 2, scheduled_at: null });
    const events = await f.events(id);
    expect(events.filter((e) => e === 'retried')).toHaveLength(shape === 'v3' ? 1 : 0);
    expect(await f.fetch(['emails'])).toBe(id);
    expect(await f.status(id)).toBe('doing');
    const audit = await listAudit(ctx, { limit: 1 });
    expect(audit.entries[0]).toMatchObject({ id: result.auditId, action: 'retry', outcome: 'ok', jobCount: 1, filters: { jobId: id }, actor: alice });
  });

  it('refuses an unknown job with not_found, and audits the refusal', async () => {
    const { ctx } = await setup();
    const error = await refusal(retryJob(ctx, 987654, alice));
    expect(error.code).toBe('not_found');
    expect(error.message).toBe('There is no job 987654: it never existed or has been deleted (purged, or deleted by its worker).');
    const audit = await listAudit(ctx, { limit: 1 });
    expect(audit.entries[0]).toMatchObject({ action: 'retry', outcome: 'refused', jobCount: 0, filters: { jobId: 987654 }, message: error.message });
  });

  it.each([
    ['todo', 'it is already waiting to run'],
    ['succeeded', 'it succeeded'],
    ['cancelled', 'it was cancelled before it ran'],
    ['aborted', 'it was aborted on request'],
  ] as const)('refuses a job in %s: nothing to retry', async (status, why) => {
    const { ctx, f } = await setup();
    const id = await f.job({ status });
    const error = await refusal(retryJob(ctx, id, alice));
    expect(error.code).toBe('wrong_status');
    expect(error.message).toBe(`Job ${id} is \`${status}\`, not \`failed\`: nothing to retry (${why}).`);
    expect(await f.status(id)).toBe(status);
  });

  it('refuses a running job whose worker is alive: it is running, not stalled', async () => {
    const { ctx, f } = await setup();
    const workerId = shape === 'v3' ? await f.worker() : null;
    const id = await f.job({ status: 'doing', workerId });
    const error = await refusal(retryJob(ctx, id, alice));
    expect(error.code).toBe('wrong_status');
    expect(error.message).toMatch(new RegExp(`^Job ${id} is \`doing\`: it is running, not stalled \\(it started \\d+ s ago`));
    if (shape === 'v3') expect(error.message).toContain(`worker ${workerId} sent a heartbeat`);
    expect(await f.status(id)).toBe('doing');
  });

  it('retries a running job that has run longer than the stalled limit', async () => {
    const { ctx, f } = await setup({ stalledRunningSeconds: 600 });
    const workerId = shape === 'v3' ? await f.worker() : null;
    const id = await f.job({ status: 'doing', workerId });
    await f.age(id, 3_600);
    const result = await retryJob(ctx, id, alice);
    expect(result).toMatchObject({ previousStatus: 'doing', status: 'todo', attempts: 1, stalled: 'it started 60 min ago' });
    expect(result.method).toBe(shape === 'v3' ? 'retry_job_v2' : 'retry_job');
    expect(await f.events(id)).toContain('deferred_for_retry');
    expect(await f.fetch()).toBe(id);
  });

  if (shape === 'v3') {
    it('retries a running job whose worker stopped sending heartbeats', async () => {
      const { ctx, f } = await setup({ stalledHeartbeatSeconds: 30 });
      const workerId = await f.worker(300);
      const id = await f.job({ status: 'doing', workerId });
      const result = await retryJob(ctx, id, alice);
      expect(result.stalled).toBe(`its worker ${workerId} last sent a heartbeat 5 min ago`);
      expect(await f.status(id)).toBe('todo');
    });

    it('on 3.0-3.3 (no retry_job_v2): failed jobs by guarded update, stalled ones by retry_job_v1', async () => {
      const { db, f } = await setup({ stalledRunningSeconds: 600 });
      await db.worker.query('DROP FUNCTION procrastinate_retry_job_v2');
      const ctx = await queueContext(db, { stalledRunningSeconds: 600 });
      expect(ctx.schema.has('retry_failed')).toBe(false);
      const failed = await f.job({ status: 'failed' });
      expect((await retryJob(ctx, failed, alice)).method).toBe('guarded_update');
      expect(await f.status(failed)).toBe('todo');
      const stalled = await f.job({ status: 'doing' });
      await f.age(stalled, 3_600);
      expect((await retryJob(ctx, stalled, alice)).method).toBe('retry_job_v1');
      expect(await f.status(stalled)).toBe('todo');
    });
  }

  it('answers conflict when someone else retried the job a moment ago', async () => {
    const { db, ctx, f } = await setup();
    const id = await f.job({ status: 'failed' });
    const other = await db.worker.connect();
    try {
      await other.query('BEGIN');
      await other.query(`UPDATE procrastinate_jobs SET status = 'todo', attempts = attempts + 1 WHERE id = $1`, [id]);
      const attempt = retryJob(ctx, id, alice).catch((e: unknown) => e);
      await jobqWaitsForLock(db);
      await other.query('COMMIT');
      const error = (await attempt) as JobqError;
      expect(error).toBeInstanceOf(JobqError);
      expect(error.code).toBe('conflict');
      expect(error.message).toBe(`Job ${id} went from \`failed\` to \`todo\`: someone else retried it a moment ago. Nothing was changed.`);
    } finally {
      other.release();
    }
    const row = await db.worker.query<{ attempts: number }>('SELECT attempts FROM procrastinate_jobs WHERE id = $1', [id]);
    expect(row.rows[0]!.attempts).toBe(2);
  });

  it('answers conflict when another job holds its queueing lock in todo', async () => {
    const { ctx, f } = await setup();
    const id = await f.job({ status: 'failed', queueingLock: 'nightly-report' });
    await f.job({ status: 'todo', queueingLock: 'nightly-report' });
    const error = await refusal(retryJob(ctx, id, alice));
    expect(error.code).toBe('conflict');
    expect(error.message).toContain('another job with its queueing lock `nightly-report` is already waiting (todo)');
    expect(await f.status(id)).toBe('failed');
  });

  it('refuses a job id that is not a positive whole number', async () => {
    const { ctx } = await setup();
    const error = await refusal(retryJob(ctx, -3, alice));
    expect(error.code).toBe('usage');
  });
});
