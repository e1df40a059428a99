import { describe, expect, it } from 'vitest';
import { JobqError } from '../../src/errors.js';
import type { Actor } from '../../src/queue/actor.js';
import { listAudit } from '../../src/queue/audit.js';
import { previewPurge, purge, type PurgeProgress } from '../../src/queue/purge.js';
import { useMigratedDbs, type TestDb } from '../helpers/db.js';
import type { Factories, JobSpec } from '../helpers/factories.js';
import { SHAPES, type SchemaShape } from '../helpers/fixtures.js';

const erin: Actor = { kind: 'cli', id: 'erin' };
const DAY = 86_400;

async function existing(db: TestDb, ids: number[]): Promise<number[]> {
  const rows = await db.worker.query<{ id: string }>('SELECT id FROM procrastinate_jobs WHERE id = ANY($1::bigint[]) ORDER BY id', [ids]);
  return rows.rows.map((r) => Number(r.id));
}

async function eventsOf(db: TestDb, ids: number[]): Promise<number> {
  const rows = await db.worker.query<{ n: number }>('SELECT count(*)::int AS n FROM procrastinate_events WHERE job_id = ANY($1::bigint[])', [ids]);
  return rows.rows[0]!.n;
}

/** Jobs whose every event happened `days` ago. */
async function oldJobs(f: Factories, count: number, spec: JobSpec, days: number): Promise<number[]> {
  const ids = await f.jobs(count, spec);
  for (const id of ids) await f.age(id, days * DAY);
  return ids;
}

describe.each(SHAPES)('purge (%s)', (shape: SchemaShape) => {
  const setup = useMigratedDbs(shape, { batchPauseMs: 0 });

  /** Old jobs in every status, then recent ones: ids grow with time, as in production. */
  const population = async (f: Factories) => {
    const succeeded = await oldJobs(f, 4, { status: 'succeeded', queue: 'emails' }, 40);
    const cancelled = await oldJobs(f, 2, { status: 'cancelled', queue: 'emails' }, 40);
    const aborted = await oldJobs(f, 1, { status: 'aborted', queue: 'billing' }, 40);
    const failed = await oldJobs(f, 2, { status: 'failed', queue: 'emails' }, 40);
    const live = [
      ...(await oldJobs(f, 2, { status: 'todo', queue: 'emails' }, 40)),
      ...(await oldJobs(f, 2, { status: 'doing', queue: 'emails' }, 40)),
      ...(shape === 'v2' ? await oldJobs(f, 1, { status: 'aborting', queue: 'emails' }, 40) : []),
    ];
    const recent = [...(await oldJobs(f, 3, { status: 'succeeded', queue: 'emails' }, 10)), ...(await f.jobs(3, { status: 'succeeded', queue: 'emails' }))];
    return { succeeded, cancelled, aborted, failed, live, recent };
  };

  it('previews per status only jobs whose latest event is older than the cutoff, and reads only ids that can be', async () => {
    const { ctx, f } = await setup();
    const jobs = await population(f);
    const preview = await previewPurge(ctx, { olderThanDays: 30 });
    expect(preview).toMatchObject({ statuses: ['succeeded', 'cancelled', 'aborted'], counts: { succeeded: 4, cancelled: 2, aborted: 1, failed: 0 }, total: 7, exact: true });
    // The walk stops below the first job created after the cutoff.
    expect(preview.candidateIds.toId).toBeLessThan(jobs.recent[3]!);
    expect(preview.candidateIds.toId).toBeGreaterThanOrEqual(Math.max(...jobs.live));

    expect((await previewPurge(ctx, { olderThanDays: 30, includeFailed: true })).counts).toEqual({ succeeded: 4, cancelled: 2, aborted: 1, failed: 2 });
    expect((await previewPurge(ctx, { olderThanDays: 30, queue: 'billing' })).counts).toEqual({ succeeded: 0, cancelled: 0, aborted: 1, failed: 0 });
    expect((await previewPurge(ctx, { olderThanDays: 5 })).counts.succeeded).toBe(7);
  });

  it('a job with a recent event is not old, whatever its first events', async () => {
    const { db, ctx, f } = await setup();
    const [id] = await oldJobs(f, 1, { status: 'failed' }, 40);
    await f.job({ status: 'succeeded' });
    // Retried and failed again today: its latest event is recent.
    await db.worker.query(`UPDATE procrastinate_jobs SET status = 'todo' WHERE id = $1`, [id]);
    expect(await f.fetch()).toBe(id);
    await f.finish(id!, 'failed');
    expect((await previewPurge(ctx, { olderThanDays: 30, includeFailed: true })).total).toBe(0);
    expect((await purge(ctx, { olderThanDays: 30, includeFailed: true }, erin)).total).toBe(0);
    expect(await f.status(id!)).toBe('failed');
  });

  it('deletes old final jobs in batches with their events, never todo or doing, and audits it', async () => {
    const { db, ctx, f } = await setup({ batchSize: 3 });
    const jobs = await population(f);
    const progress: PurgeProgress[] = [];
    const result = await purge(ctx, { olderThanDays: 30 }, erin, { onProgress: (p) => progress.push(p) });
    expect(result).toMatchObject({ deleted: { succeeded: 4, cancelled: 2, aborted: 1, failed: 0 }, total: 7, stopped: false });
    expect(result.batches).toBe(3);
    expect(progress.map((p) => p.deleted)).toEqual([3, 6, 7]);
    const gone = [...jobs.succeeded, ...jobs.cancelled, ...jobs.aborted];
    expect(await existing(db, gone)).toEqual([]);
    expect(await eventsOf(db, gone)).toBe(0);
    const kept = [...jobs.failed, ...jobs.live, ...jobs.recent];
    expect(await existing(db, kept)).toEqual([...kept].sort((a, b) => a - b));
    expect(result.lockHold.maxMs).toBeGreaterThan(0);

    const entry = (await listAudit(ctx, { limit: 1 })).entries[0]!;
    expect(entry).toMatchObject({
      id: result.auditId,
      action: 'purge',
      outcome: 'ok',
      jobCount: 7,
      actor: erin,
      message: 'Deleted 7 jobs older than 30 days (4 succeeded, 2 cancelled, 1 aborted).',
    });
    expect(entry.filters).toMatchObject({ olderThanDays: 30, queue: null, includeFailed: false, statuses: ['succeeded', 'cancelled', 'aborted'] });
  });

  it('deletes failed jobs only when asked, and only in the given queue', async () => {
    const { db, ctx, f } = await setup();
    const billing = await oldJobs(f, 2, { status: 'failed', queue: 'billing' }, 40);
    const jobs = await population(f);
    const result = await purge(ctx, { olderThanDays: 30, includeFailed: true, queue: 'billing' }, erin);
    expect(result.deleted).toEqual({ succeeded: 0, cancelled: 0, aborted: 1, failed: 2 });
    expect(await existing(db, [...billing, ...jobs.aborted])).toEqual([]);
    expect(await existing(db, jobs.failed)).toEqual(jobs.failed);
  });

  it('unlinks periodic defers of deleted jobs, as Procrastinate does', async () => {
    const { db, ctx, f } = await setup();
    const [id] = await oldJobs(f, 1, { status: 'succeeded', task: 'nightly' }, 40);
    await db.worker.query(`INSERT INTO procrastinate_periodic_defers (task_name, defer_timestamp, job_id) VALUES ('nightly', 1, $1)`, [id]);
    expect((await purge(ctx, { olderThanDays: 30 }, erin)).total).toBe(1);
    const defer = await db.worker.query<{ job_id: string | null }>(`SELECT job_id FROM procrastinate_periodic_defers WHERE task_name = 'nightly'`);
    expect(defer.rows).toEqual([{ job_id: null }]);
  });

  it('runs while workers fetch and finish jobs: no deadlock, live jobs untouched', async () => {
    const { db, ctx, f } = await setup({ batchSize: 2, batchPauseMs: 2 });
    const old = await oldJobs(f, 30, { status: 'succeeded', queue: 'q' }, 40);
    const todo = await oldJobs(f, 20, { status: 'todo', queue: 'q' }, 40);
    let begin!: () => void;
    const started = new Promise<void>((resolve) => (begin = resolve));
    let stop = false;
    let finished = 0;
    const workers = Array.from({ length: 3 }, async () => {
      await started;
      for (;;) {
        const id = await f.fetch(['q']);
        if (id === null) {
          if (stop) return;
          continue;
        }
        await f.finish(id, id % 4 === 0 ? 'failed' : 'succeeded');
        finished += 1;
      }
    });
    let finishedDuringPurge = 0;
    const result = await purge(ctx, { olderThanDays: 30, includeFailed: true }, erin, { onProgress: () => begin() }).finally(() => {
      finishedDuringPurge = finished;
      stop = true;
    });
    begin();
    await Promise.all(workers);
    expect(finishedDuringPurge).toBeGreaterThan(0);
    expect(result.total).toBe(30);
    expect(await existing(db, old)).toEqual([]);
    // Every job that was waiting still exists: a job a worker finished has a fresh latest event.
    expect(await existing(db, todo)).toEqual(todo);
  });

  it('stops between batches on the abort signal, and a second run deletes the rest', async () => {
    const { db, ctx, f } = await setup({ batchSize: 2 });
    const old = await oldJobs(f, 5, { status: 'succeeded' }, 40);
    const controller = new AbortController();
    const stopped = await purge(ctx, { olderThanDays: 30 }, erin, { signal: controller.signal, onProgress: () => controller.abort() });
    expect(stopped).toMatchObject({ total: 2, stopped: true, nextId: old[1]! + 1 });
    expect((await listAudit(ctx, { limit: 1 })).entries[0]).toMatchObject({ outcome: 'stopped', jobCount: 2 });
    expect(await existing(db, old)).toEqual(old.slice(2));
    expect((await purge(ctx, { olderThanDays: 30 }, erin)).total).toBe(3);
  });

  it.each([0, -1, 2.5, Number.NaN])('refuses an age of %s days, and audits the refusal', async (days) => {
    const { ctx } = await setup();
    const error = (await purge(ctx, { olderThanDays: days }, erin).catch((e: unknown) => e)) as JobqError;
    expect(error).toBeInstanceOf(JobqError);
    expect(error.code).toBe('usage');
    expect(error.message).toBe(`The age must be a whole number of days between 1 and 36500; got \`${String(days)}\`.`);
    expect((await listAudit(ctx, { limit: 1 })).entries[0]).toMatchObject({ action: 'purge', outcome: 'refused', jobCount: 0, message: error.message });
  });

  it('does nothing on an empty table', async () => {
    const { ctx } = await setup();
    expect((await previewPurge(ctx, { olderThanDays: 1 })).total).toBe(0);
    expect(await purge(ctx, { olderThanDays: 1 }, erin)).toMatchObject({ total: 0, batches: 0, stopped: false });
  });
});
