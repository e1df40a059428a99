import { describe, expect, it } from 'vitest';
import { JobqError } from '../../src/errors.js';
import type { Actor } from '../../src/queue/actor.js';
import { listAudit } from '../../src/queue/audit.js';
import { PREVIEW_MAX_AGE_MS, fingerprint, previewRetryAll, retryAll, type RetryAllPreview, type RetryAllProgress } from '../../src/queue/retry-all.js';
import { SKIPPED_IDS_KEPT, describeSkips } from '../../src/queue/retry-all-skips.js';
import { retryAllResultText } from '../../src/render/text/writes.js';
import { queueContext, useMigratedDbs, type TestDb } from '../helpers/db.js';
import { factories, type Factories } from '../helpers/factories.js';
import { SHAPES, type SchemaShape } from '../helpers/fixtures.js';

const carol: Actor = { kind: 'slack', id: 'U0CAROL', name: 'carol' };
const dave: Actor = { kind: 'cli', id: 'dave' };

/**
 * How many times each job went back from failed to todo, whatever the version: attempts grow
 * by one per retry and by one per run a worker finished (one `started` event each, minus a run
 * still going).
 */
async function retriesOf(db: TestDb, ids: number[]): Promise<Map<number, number>> {
  const rows = await db.worker.query<{ id: string; retries: number }>(
    `SELECT j.id, j.attempts - ((SELECT count(*) FROM procrastinate_events e WHERE e.job_id = j.id AND e.type = 'started')
                                - CASE WHEN j.status IN ('doing', 'aborting') THEN 1 ELSE 0 END)::int AS retries
     FROM procrastinate_jobs j WHERE j.id = ANY($1::bigint[])`,
    [ids],
  );
  return new Map(rows.rows.map((r) => [Number(r.id), r.retries]));
}

async function retriedEvents(db: TestDb, ids: number[]): Promise<number[]> {
  const rows = await db.worker.query<{ n: number }>(
    `SELECT (SELECT count(*) FROM procrastinate_events e WHERE e.job_id = t.id AND e.type = 'retried')::int AS n FROM unnest($1::bigint[]) AS t(id) ORDER BY t.id`,
    [ids],
  );
  return rows.rows.map((r) => r.n);
}

/** Simulated workers: fetch from the queue and finish each job (failing every third) until told to stop and nothing is left. */
function startWorkers(f: Factories, queue: string, count: number, begin: Promise<void>) {
  let stop = false;
  let finished = 0;
  const loops = Array.from({ length: count }, async () => {
    await begin;
    for (;;) {
      const id = await f.fetch([queue]);
      if (id === null) {
        if (stop) return;
        continue;
      }
      await f.finish(id, id % 3 === 0 ? 'failed' : 'succeeded');
      finished += 1;
    }
  });
  return {
    finished: () => finished,
    async stopAndDrain() {
      stop = true;
      await Promise.all(loops);
    },
  };
}

/**
 * Simulated workers that fail every job they fetch, so a job a retry-all sent back to todo is
 * failed again while the runs are still going. Counts the failures that happened before the runs ended.
 */
function startFailingWorkers(f: Factories, queue: string, count: number, begin: Promise<void>) {
  let stop = false;
  let running = true;
  let failedWhileRunning = 0;
  const loops = Array.from({ length: count }, async () => {
    await begin;
    for (;;) {
      const id = await f.fetch([queue]);
      if (id === null) {
        if (stop) return;
        continue;
      }
      await f.finish(id, 'failed');
      if (running) failedWhileRunning += 1;
    }
  });
  return {
    runsEnded: () => (running = false),
    failedWhileRunning: () => failedWhileRunning,
    async stopAndDrain() {
      stop = true;
      await Promise.all(loops);
    },
  };
}

describe.each(SHAPES)('retry-all (%s)', (shape: SchemaShape) => {
  const setup = useMigratedDbs(shape, { batchPauseMs: 0 });

  it('previews failed jobs per queue and task, filtered by queue, task and failure time', async () => {
    const { ctx, f } = await setup();
    const emails = await f.jobs(3, { status: 'failed', queue: 'emails', task: 'send' });
    await f.jobs(2, { status: 'failed', queue: 'emails', task: 'bounce' });
    const old = await f.job({ status: 'failed', queue: 'billing', task: 'charge' });
    await f.age(old, 3 * 86_400);
    await f.jobs(2, { status: 'succeeded', queue: 'emails', task: 'send' });
    await f.job({ status: 'todo', queue: 'emails', task: 'send' });

    const all = await previewRetryAll(ctx);
    expect(all).toMatchObject({ total: 6, exact: true, upToId: Math.max(...emails, old) + 3 });
    expect(all.groups).toEqual([
      { queue: 'emails', task: 'send', count: 3 },
      { queue: 'emails', task: 'bounce', count: 2 },
      { queue: 'billing', task: 'charge', count: 1 },
    ]);
    expect((await previewRetryAll(ctx, { queue: 'emails', task: 'send' })).total).toBe(3);
    expect((await previewRetryAll(ctx, { failedSince: new Date(Date.now() - 86_400_000) })).total).toBe(5);
    expect((await previewRetryAll(ctx, { failedBefore: new Date(Date.now() - 86_400_000) })).groups).toEqual([{ queue: 'billing', task: 'charge', count: 1 }]);
  });

  it('retries exactly the previewed jobs in batches, reports progress, and audits the run', async () => {
    const { db, ctx, f } = await setup({ batchSize: 3 });
    const failed = await f.jobs(8, { status: 'failed', queue: 'emails' });
    const other = await f.job({ status: 'failed', queue: 'billing' });
    const preview = await previewRetryAll(ctx, { queue: 'emails' });
    const afterPreview = await f.job({ status: 'failed', queue: 'emails' });

    const progress: RetryAllProgress[] = [];
    const result = await retryAll(ctx, preview, carol, { onProgress: (p) => progress.push(p) });
    expect(result).toMatchObject({
      retried: 8,
      previewed: { total: 8, exact: true },
      batches: 3,
      stopped: false,
      upToId: preview.upToId,
      nextId: preview.upToId + 1,
      skippedQueueingLock: 0,
    });
    expect(result.skipped).toEqual({ locked: { count: 0, ids: [] }, changed: { count: 0, ids: [] }, queueingLock: { count: 0, ids: [] } });
    expect(progress.map((p) => p.retried)).toEqual([3, 6, 8]);
    expect(progress.every((p) => p.total === 8)).toBe(true);
    for (const id of failed) expect(await f.status(id)).toBe('todo');
    expect(await f.status(other)).toBe('failed');
    expect(await f.status(afterPreview)).toBe('failed');
    expect([...(await retriesOf(db, failed)).values()]).toEqual(failed.map(() => 1));
    if (shape === 'v3') expect(await retriedEvents(db, failed)).toEqual(failed.map(() => 1));

    const entry = (await listAudit(ctx, { limit: 1 })).entries[0]!;
    expect(entry).toMatchObject({
      id: result.auditId,
      action: 'retry_all',
      outcome: 'ok',
      jobCount: 8,
      actor: carol,
      message: `Retried 8 failed jobs of 8 previewed (ids up to ${preview.upToId}).`,
    });
    expect(entry.filters).toMatchObject({ queue: 'emails', task: null, upToId: preview.upToId, upToEventId: preview.upToEventId, previewTotal: 8, previewToken: preview.token });
    expect(entry.finishedAt).not.toBeNull();
  });

  it('walks the primary key in windows across gaps in the ids', async () => {
    const { db, ctx, f } = await setup({ batchSize: 2 });
    const low = await f.jobs(3, { status: 'failed' });
    await db.worker.query(`SELECT setval('procrastinate_jobs_id_seq', 180000)`);
    const high = await f.jobs(3, { status: 'failed' });
    const preview = await previewRetryAll(ctx);
    expect(preview.total).toBe(6);
    const result = await retryAll(ctx, preview, carol);
    expect(result.retried).toBe(6);
    for (const id of [...low, ...high]) expect(await f.status(id)).toBe('todo');
  });

  it('leaves alone, and names, a job that failed after the preview, even with an id inside the snapshot', async () => {
    const { ctx, f } = await setup();
    const failed = await f.job({ status: 'failed', queue: 'q' });
    const running = await f.job({ status: 'doing', queue: 'q' });
    const preview = await previewRetryAll(ctx, { queue: 'q' });
    expect(preview.total).toBe(1);
    await f.finish(running, 'failed');
    const result = await retryAll(ctx, preview, carol);
    expect(result.retried).toBe(1);
    expect(result.skipped.changed).toEqual({ count: 1, ids: [running] });
    expect(await f.status(failed)).toBe('todo');
    expect(await f.status(running)).toBe('failed');
  });

  it('skips and names a previewed job that was retried and failed again before the confirmation', async () => {
    const { db, ctx, f } = await setup({ batchSize: 2 });
    const failed = await f.jobs(5, { status: 'failed', queue: 'q' });
    const preview = await previewRetryAll(ctx, { queue: 'q' });
    expect(preview.total).toBe(5);
    // Retried by hand (2.x-3.3 write no event for it; 3.4+ writes `retried`), then a worker runs it and it fails again.
    const again = failed[3]!;
    await db.worker.query(`UPDATE procrastinate_jobs SET status = 'todo', attempts = attempts + 1 WHERE id = $1 AND status = 'failed'`, [again]);
    expect(await f.fetch(['q'])).toBe(again);
    await f.finish(again, 'failed');

    const result = await retryAll(ctx, preview, carol);
    expect(result).toMatchObject({ retried: 4, previewed: { total: 5, exact: true } });
    expect(result.skipped).toEqual({ locked: { count: 0, ids: [] }, changed: { count: 1, ids: [again] }, queueingLock: { count: 0, ids: [] } });
    const retries = await retriesOf(db, failed);
    expect(failed.map((id) => retries.get(id))).toEqual([1, 1, 1, 1, 1]); // the hand retry for `again`, none from retry-all
    expect(await f.status(again)).toBe('failed');
    const skipLine = `Skipped #${again}: it failed again, ran or was retried after the preview. Preview again to include it.`;
    expect(retryAllResultText(result).split('\n').slice(0, 2)).toEqual(['Retried 4 failed jobs of 5 previewed, in 3 batches.', skipLine]);
    expect((await listAudit(ctx, { limit: 1 })).entries[0]!.message).toBe(`Retried 4 failed jobs of 5 previewed (ids up to ${preview.upToId}). ${skipLine}`);

    // A fresh preview includes it again.
    const fresh = await previewRetryAll(ctx, { queue: 'q' });
    expect(fresh.total).toBe(1);
    expect((await retryAll(ctx, fresh, carol)).retried).toBe(1);
  });

  it('a failure whose time is before the preview but which happened after it is still a change (event times are transaction starts)', async () => {
    const { db, ctx, f } = await setup();
    const failed = await f.jobs(3, { status: 'failed', queue: 'q' });
    // A worker whose transaction began before the preview: its events carry that earlier time.
    const worker = await db.worker.connect();
    try {
      await worker.query('BEGIN');
      const preview = await previewRetryAll(ctx, { queue: 'q' });
      expect((await retryAll(ctx, preview, carol)).retried).toBe(3);
      const w = factories(worker, shape);
      const ran = failed[1]!;
      expect(await w.fetch(['q'])).toBe(failed[0]);
      await w.finish(failed[0]!, 'succeeded');
      expect(await w.fetch(['q'])).toBe(ran);
      await w.finish(ran, 'failed');
      await worker.query('COMMIT');
      const times = await db.worker.query<{ before: boolean }>(`SELECT max(at) <= $2::timestamptz AS before FROM procrastinate_events WHERE job_id = $1 AND type = 'failed'`, [
        ran,
        preview.snapshotAt,
      ]);
      expect(times.rows[0]!.before).toBe(true);

      const again = await retryAll(ctx, preview, dave);
      expect(again.retried).toBe(0);
      expect(again.skipped.changed).toEqual({ count: 1, ids: [ran] });
      expect([...(await retriesOf(db, failed)).values()]).toEqual([1, 1, 1]);
    } finally {
      await worker.query('ROLLBACK').catch(() => undefined);
      worker.release();
    }
  });

  it('skips and names a job whose row another session holds; the rest of the preview is retried', async () => {
    const { db, ctx, f } = await setup({ batchSize: 2 });
    const failed = await f.jobs(6, { status: 'failed', queue: 'q' });
    const preview = await previewRetryAll(ctx, { queue: 'q' });
    const held = failed[2]!;
    const holder = await db.worker.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM procrastinate_jobs WHERE id = $1 FOR UPDATE', [held]);
      const result = await retryAll(ctx, preview, carol);
      expect(result.skipped).toEqual({ locked: { count: 1, ids: [held] }, changed: { count: 0, ids: [] }, queueingLock: { count: 0, ids: [] } });
      expect(result.retried).toBe(preview.total - result.skipped.locked.count);
      expect(result.retried).toBe(5);
      const lockLine = `Skipped #${held}: another session held it each time this run came to it (a worker or another operator). If it is still failed, run \`retry ${held}\` in a moment.`;
      expect(retryAllResultText(result).split('\n').slice(0, 2)).toEqual(['Retried 5 failed jobs of 6 previewed, in 3 batches.', lockLine]);
      expect((await listAudit(ctx, { limit: 1 })).entries[0]!.message).toBe(`Retried 5 failed jobs of 6 previewed (ids up to ${preview.upToId}). ${lockLine}`);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    expect(await Promise.all(failed.map((id) => f.status(id)))).toEqual(['todo', 'todo', 'failed', 'todo', 'todo', 'todo']);
    // Once released, the same preview finishes the job: it is still the failure the preview saw.
    expect((await retryAll(ctx, preview, carol)).retried).toBe(1);
    expect([...(await retriesOf(db, failed)).values()]).toEqual(failed.map(() => 1));
  });

  it('two runs of one preview at once, with workers failing retried jobs between batches: each previewed job is retried exactly once', async () => {
    const { db, ctx, f } = await setup({ batchSize: 5, batchPauseMs: 3 });
    const failed = await f.jobs(49, { status: 'failed', queue: 'q' });
    const preview = await previewRetryAll(ctx, { queue: 'q' });
    expect(preview.total).toBe(49);
    let begin!: () => void;
    const started = new Promise<void>((resolve) => (begin = resolve));
    const workers = startFailingWorkers(f, 'q', 2, started);
    const [ra, rb] = await Promise.all([retryAll(ctx, preview, carol, { onProgress: () => begin() }), retryAll(ctx, preview, dave, { onProgress: () => begin() })]).finally(() =>
      workers.runsEnded(),
    );
    await workers.stopAndDrain();

    expect(workers.failedWhileRunning()).toBeGreaterThan(0);
    expect(ra.retried + rb.retried).toBe(49);
    const retries = await retriesOf(db, failed);
    expect(failed.filter((id) => retries.get(id) !== 1)).toEqual([]);
    if (shape === 'v3') expect(await retriedEvents(db, failed)).toEqual(failed.map(() => 1));
    // A job one run found held by the other's batch was retried by that batch: at the second try
    // it is todo, running, or failed again (named as changed), never left to the operator as held.
    for (const r of [ra, rb]) {
      expect(r.skipped.locked).toEqual({ count: 0, ids: [] });
      expect(r.skipped.queueingLock.count).toBe(0);
      for (const id of r.skipped.changed.ids) expect(failed).toContain(id);
      // The jobs the other run retried first are not named: the text says where they went.
      if (r.retried + r.skipped.changed.count < 49) expect(retryAllResultText(r)).toContain('were no longer failed when their batch ran');
    }
    // The same preview confirmed once more retries nothing: every job has run since.
    expect((await retryAll(ctx, preview, carol)).retried).toBe(0);
  });

  it('two operators at once: every failed job is retried exactly once', async () => {
    const { db, ctx, f } = await setup({ batchSize: 2 });
    const failed = await f.jobs(30, { status: 'failed' });
    const [a, b] = await Promise.all([previewRetryAll(ctx), previewRetryAll(ctx)]);
    const [ra, rb] = await Promise.all([retryAll(ctx, a, carol), retryAll(ctx, b, dave)]);
    expect(ra.retried + rb.retried).toBe(30);
    const attempts = await db.worker.query<{ attempts: number }>('SELECT attempts FROM procrastinate_jobs WHERE id = ANY($1::bigint[])', [failed]);
    expect(attempts.rows.map((r) => r.attempts)).toEqual(failed.map(() => 2));
    if (shape === 'v3') expect(await retriedEvents(db, failed)).toEqual(failed.map(() => 1));
    // Running it again finds nothing left to retry.
    expect((await retryAll(ctx, {}, carol)).retried).toBe(0);
  });

  it('runs while workers fetch and finish jobs: no deadlock, no job retried twice, none touched unless failed', async () => {
    const { db, ctx, f } = await setup({ batchSize: 3, batchPauseMs: 5 });
    const failed = await f.jobs(30, { status: 'failed', queue: 'q' });
    const waiting = await f.jobs(20, { status: 'todo', queue: 'q' });
    const preview = await previewRetryAll(ctx, { queue: 'q' });
    expect(preview.total).toBe(30);
    let begin!: () => void;
    const started = new Promise<void>((resolve) => (begin = resolve));
    const workers = startWorkers(f, 'q', 3, started);
    let finishedDuringRun = 0;
    const result = await retryAll(ctx, preview, carol, { onProgress: () => begin() }).finally(() => {
      finishedDuringRun = workers.finished();
    });
    await workers.stopAndDrain();

    expect(result.retried).toBe(30);
    expect(finishedDuringRun).toBeGreaterThan(0);
    const retries = await retriesOf(db, [...failed, ...waiting]);
    for (const id of failed) expect(retries.get(id)).toBe(1);
    for (const id of waiting) expect(retries.get(id)).toBe(0);
    if (shape === 'v3') expect(await retriedEvents(db, failed)).toEqual(failed.map(() => 1));
    const left = await db.worker.query<{ n: number }>(`SELECT count(*)::int AS n FROM procrastinate_jobs WHERE status IN ('todo', 'doing')`);
    expect(left.rows[0]!.n).toBe(0);
  });

  it('stops between batches on the abort signal, says how far it got, and a second run finishes the job', async () => {
    const { ctx, f } = await setup({ batchSize: 2 });
    const failed = await f.jobs(7, { status: 'failed' });
    const preview = await previewRetryAll(ctx);
    const controller = new AbortController();
    const stopped = await retryAll(ctx, preview, carol, { signal: controller.signal, onProgress: () => controller.abort() });
    expect(stopped).toMatchObject({ retried: 2, batches: 1, stopped: true, nextId: failed[1]! + 1 });
    expect((await listAudit(ctx, { limit: 1 })).entries[0]).toMatchObject({
      outcome: 'stopped',
      jobCount: 2,
      message: `Stopped on request after retrying 2 failed jobs; ids below ${failed[1]! + 1} were done, up to ${preview.upToId} remained.`,
    });
    const statuses = await Promise.all(failed.map((id) => f.status(id)));
    expect(statuses).toEqual(['todo', 'todo', 'failed', 'failed', 'failed', 'failed', 'failed']);

    const rest = await retryAll(ctx, preview, carol);
    expect(rest).toMatchObject({ retried: 5, stopped: false });
  });

  it('retries one job per queueing lock and leaves the others failed', async () => {
    const { ctx, f } = await setup();
    const a = await f.job({ status: 'failed', queueingLock: 'sync-42' });
    const b = await f.job({ status: 'failed', queueingLock: 'sync-42' });
    const c = await f.job({ status: 'failed', queueingLock: 'sync-7' });
    await f.job({ status: 'todo', queueingLock: 'sync-7' });
    const result = await retryAll(ctx, {}, carol);
    expect(result).toMatchObject({ retried: 1, skippedQueueingLock: 2 });
    expect([await f.status(a), await f.status(b), await f.status(c)]).toEqual(['todo', 'failed', 'failed']);
  });

  it('uses the failed-jobs index when a team added it', async () => {
    const { db, f } = await setup({ batchSize: 2 });
    await db.worker.query(`CREATE INDEX jobq_failed_jobs_idx ON procrastinate_jobs (id) WHERE status = 'failed'`);
    const ctx = await queueContext(db, { batchSize: 2, batchPauseMs: 0 });
    expect(ctx.schema.has('failed_index')).toBe(true);
    const failed = await f.jobs(5, { status: 'failed' });
    const preview = await previewRetryAll(ctx);
    expect(preview.total).toBe(5);
    expect((await retryAll(ctx, preview, carol)).retried).toBe(5);
    for (const id of failed) expect(await f.status(id)).toBe('todo');
  });

  it('refuses an altered or expired preview, and audits the refusal', async () => {
    const { ctx, f } = await setup();
    const failed = await f.job({ status: 'failed' });
    const preview = await previewRetryAll(ctx);

    const altered = await retryAll(ctx, { ...preview, upToId: preview.upToId + 1000 }, carol).catch((e: unknown) => e);
    expect(altered).toBeInstanceOf(JobqError);
    expect((altered as JobqError).code).toBe('usage');
    expect((altered as JobqError).message).toBe('This retry-all preview does not match its fingerprint (it was altered or is incomplete): nothing was retried.');

    const refusal = 'This retry-all preview does not match its fingerprint (it was altered or is incomplete): nothing was retried.';
    for (const tampered of [
      { ...preview, upToEventId: preview.upToEventId + 1000 },
      { ...preview, upToEventId: String(preview.upToEventId) },
      { ...preview, upToEventId: undefined },
    ]) {
      const error = (await retryAll(ctx, tampered as unknown as RetryAllPreview, carol).catch((e: unknown) => e)) as JobqError;
      expect([error.code, error.message]).toEqual(['usage', refusal]);
    }

    const snapshotAt = new Date(Date.now() - PREVIEW_MAX_AGE_MS - 60_000).toISOString().replace('Z', '123Z');
    const stale = { ...preview, snapshotAt, token: fingerprint({ filter: preview.filter, upToId: preview.upToId, upToEventId: preview.upToEventId, snapshotAt }) };
    const expired = (await retryAll(ctx, stale, carol).catch((e: unknown) => e)) as JobqError;
    expect(expired.code).toBe('expired');
    expect(expired.message).toBe('This retry-all preview is 16 minutes old (limit 15): what it showed may have changed. Nothing was retried.');
    expect(await f.status(failed)).toBe('failed');

    const entries = (await listAudit(ctx, { limit: 5 })).entries;
    expect(entries.map((e) => [e.action, e.outcome, e.jobCount])).toEqual(entries.map(() => ['retry_all', 'refused', 0]));
    expect(entries).toHaveLength(5);
  });

  it('refuses a filter whose since is not before its before', async () => {
    const { ctx } = await setup();
    const error = (await previewRetryAll(ctx, { failedSince: new Date('2026-01-02'), failedBefore: new Date('2026-01-01') }).catch((e: unknown) => e)) as JobqError;
    expect(error.code).toBe('usage');
    expect(error.message).toBe('"since" (2026-01-02T00:00:00.000Z) must be earlier than "before" (2026-01-01T00:00:00.000Z).');
  });
});

describe('describeSkips', () => {
  const none = { count: 0, ids: [] };
  it('names each skipped job with what to do, singular and plural, and bounds the list', () => {
    expect(describeSkips({ locked: { count: 1, ids: [123] }, changed: none, queueingLock: none })).toEqual([
      'Skipped #123: another session held it each time this run came to it (a worker or another operator). If it is still failed, run `retry 123` in a moment.',
    ]);
    const many = Array.from({ length: SKIPPED_IDS_KEPT }, (_, i) => i + 1);
    expect(describeSkips({ locked: none, changed: { count: 25, ids: many }, queueingLock: { count: 2, ids: [7, 9] } })).toEqual([
      `Skipped 25 jobs (${many.map((id) => `#${id}`).join(', ')} and 5 more): they failed again, ran or were retried after the preview. Preview again to include them.`,
      'Left 2 jobs (#7, #9) failed: another job with the same queueing lock is waiting.',
    ]);
    expect(describeSkips({ locked: none, changed: none, queueingLock: none })).toEqual([]);
  });
});
