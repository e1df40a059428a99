import { describe, expect, it } from 'vitest';
import { JobqError } from '../../src/errors.js';
import type { Actor } from '../../src/queue/actor.js';
import { listAudit } from '../../src/queue/audit.js';
import { cancelJob } from '../../src/queue/cancel.js';
import { runJobNow } from '../../src/queue/run-now.js';
import { jobqWaitsForLock, useMigratedDbs } from '../helpers/db.js';
import { SHAPES, type SchemaShape } from '../helpers/fixtures.js';
import { refusal } from '../helpers/refusal.js';

const bob: Actor = { kind: 'cli', id: 'bob' };

describe.each(SHAPES)('cancel and run-now (%s)', (shape: SchemaShape) => {
  const setup = useMigratedDbs(shape);

  describe('cancel', () => {
    it('cancels a waiting job, so no worker takes it', async () => {
      const { ctx, f } = await setup();
      const id = await f.job({ queue: 'emails' });
      const result = await cancelJob(ctx, id, bob);
      expect(result).toMatchObject({ jobId: id, previousStatus: 'todo', outcome: 'cancelled' });
      expect(await f.status(id)).toBe('cancelled');
      expect(await f.events(id)).toEqual(['deferred', 'cancelled']);
      expect(await f.fetch(['emails'])).toBeNull();
      expect((await listAudit(ctx, { limit: 1 })).entries[0]).toMatchObject({ id: result.auditId, action: 'cancel', outcome: 'ok', jobCount: 1, actor: bob });
    });

    it('asks the worker of a running job to abort it', async () => {
      const { db, ctx, f } = await setup();
      const id = await f.job({ status: 'doing' });
      const result = await cancelJob(ctx, id, bob);
      expect(result.outcome).toBe('abort_requested');
      expect(await f.events(id)).toContain('abort_requested');
      if (shape === 'v3') {
        const row = await db.worker.query<{ status: string; abort_requested: boolean }>('SELECT status::text AS status, abort_requested FROM procrastinate_jobs WHERE id = $1', [
          id,
        ]);
        expect(row.rows[0]).toEqual({ status: 'doing', abort_requested: true });
      } else {
        expect(await f.status(id)).toBe('aborting');
      }
    });

    it('refuses a second cancel while the abort is pending', async () => {
      const { ctx, f } = await setup();
      const id = await f.job({ status: 'doing' });
      await cancelJob(ctx, id, bob);
      const error = await refusal(cancelJob(ctx, id, bob));
      expect(error.code).toBe('wrong_status');
      expect(error.message).toBe(`Job ${id} is already being aborted: an abort was requested and its worker has not stopped it yet. Nothing to cancel.`);
    });

    it.each(['succeeded', 'failed', 'cancelled', 'aborted'] as const)('refuses a job in %s: it has finished', async (status) => {
      const { ctx, f } = await setup();
      const id = await f.job({ status });
      const error = await refusal(cancelJob(ctx, id, bob));
      expect(error.code).toBe('wrong_status');
      expect(error.message).toBe(`Job ${id} is \`${status}\`: it has finished, nothing to cancel.`);
      expect((await listAudit(ctx, { limit: 1 })).entries[0]).toMatchObject({ action: 'cancel', outcome: 'refused', message: error.message });
    });

    it('refuses an unknown job', async () => {
      const { ctx } = await setup();
      expect((await refusal(cancelJob(ctx, 424242, bob))).code).toBe('not_found');
    });

    it('answers conflict when a worker takes the job while it is being cancelled', async () => {
      const { db, ctx, f } = await setup();
      const id = await f.job({ queue: 'q' });
      const worker = await db.worker.connect();
      try {
        await worker.query('BEGIN');
        const fetched = shape === 'v3' ? 'SELECT id FROM procrastinate_fetch_job_v2(ARRAY[$1]::varchar[], NULL)' : 'SELECT id FROM procrastinate_fetch_job(ARRAY[$1]::varchar[])';
        expect(Number((await worker.query<{ id: string }>(fetched, ['q'])).rows[0]!.id)).toBe(id);
        const attempt = cancelJob(ctx, id, bob).catch((e: unknown) => e);
        await jobqWaitsForLock(db);
        await worker.query('COMMIT');
        const error = (await attempt) as JobqError;
        expect(error).toBeInstanceOf(JobqError);
        expect(error.code).toBe('conflict');
        expect(error.message).toBe(`Job ${id} went from \`todo\` to \`doing\`: a worker started it a moment ago. Nothing was changed.`);
      } finally {
        worker.release();
      }
      expect(await f.status(id)).toBe('doing');
    });
  });

  describe('run-now', () => {
    it('makes a scheduled job due now, and a worker takes it', async () => {
      const { ctx, f } = await setup();
      const later = new Date(Date.now() + 3_600_000);
      const id = await f.job({ queue: 'reports', scheduledAt: later });
      expect(await f.fetch(['reports'])).toBeNull();
      const result = await runJobNow(ctx, id, bob);
      expect(result.previouslyScheduledAt).toBe(later.toISOString());
      expect(new Date(result.scheduledAt).getTime()).toBeLessThanOrEqual(Date.now() + 1_000);
      expect(await f.fetch(['reports'])).toBe(id);
      expect((await listAudit(ctx, { limit: 1 })).entries[0]).toMatchObject({ action: 'run_now', outcome: 'ok', jobCount: 1, filters: { jobId: id } });
    });

    it('refuses a job that is already due', async () => {
      const { ctx, f } = await setup();
      const id = await f.job({ queue: 'reports' });
      const error = await refusal(runJobNow(ctx, id, bob));
      expect(error.code).toBe('wrong_status');
      expect(error.message).toBe(`Job ${id} is already due: it runs as soon as a worker of queue reports is free. Nothing to change.`);
    });

    it('refuses a job that is not waiting', async () => {
      const { ctx, f } = await setup();
      const id = await f.job({ status: 'succeeded' });
      const error = await refusal(runJobNow(ctx, id, bob));
      expect(error.code).toBe('wrong_status');
      expect(error.message).toBe(`Job ${id} is \`succeeded\`, not \`todo\`: only a waiting job can be made to run now.`);
      expect((await listAudit(ctx, { limit: 1 })).entries[0]).toMatchObject({ action: 'run_now', outcome: 'refused' });
    });

    it('refuses an unknown job', async () => {
      const { ctx } = await setup();
      expect((await refusal(runJobNow(ctx, 5150, bob))).code).toBe('not_found');
    });
  });
});
