import { describe, expect, it } from 'vitest';
import { dbFromUrl } from '../../src/db/connect.js';
import { REPORTED_STATUSES } from '../../src/db/procrastinate.js';
import { createQueueCollector } from '../../src/metrics/collector.js';
import type { EventTallyOptions } from '../../src/metrics/event-tally.js';
import { OTHER_QUEUES } from '../../src/metrics/queue-metrics.js';
import { createMetrics } from '../../src/metrics/registry.js';
import type { QueueContext } from '../../src/queue/context.js';
import { type TestDb, useFixtureDb } from '../helpers/db.js';
import { factories } from '../helpers/factories.js';
import { testLogger } from '../helpers/log.js';
import { recordingPool } from '../helpers/recording-pool.js';
import { parseExposition, series, sampleValue } from './exposition.js';
import { promtool, until } from './prometheus.js';

/** A collector over `ctx` with its own registry; `scrape()` is what GET /metrics would serve. */
function subject(ctx: QueueContext, options: { maxQueues?: number; tally?: EventTallyOptions } = {}) {
  const metrics = createMetrics({ maxQueues: options.maxQueues ?? 50, processMetrics: false });
  const collector = createQueueCollector({ context: async () => ctx, metrics, intervalMs: 60_000, log: testLogger().log, tally: options.tally ?? {} });
  const text = () => metrics.registry.metrics();
  const scrape = async () => parseExposition(await text());
  return { metrics, collector, scrape, text };
}

/** Jobs per queue and status, counted the plain way (fine on a fixture). */
async function jobCounts(db: TestDb): Promise<Map<string, number>> {
  const rows = await db.worker.query<{ queue_name: string; status: string; n: number }>(
    `SELECT queue_name, status::text AS status, count(*)::int AS n FROM procrastinate_jobs GROUP BY 1, 2`,
  );
  return new Map(rows.rows.map((r) => [`queue=${r.queue_name},status=${r.status}`, r.n]));
}

/** Events per queue and type after an event id, counted the plain way. */
async function eventCounts(db: TestDb, afterId: number): Promise<Map<string, number>> {
  const rows = await db.worker.query<{ queue_name: string; type: string; n: number }>(
    `SELECT j.queue_name, e.type::text AS type, count(*)::int AS n FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id
     WHERE e.id > $1 GROUP BY 1, 2`,
    [afterId],
  );
  return new Map(rows.rows.map((r) => [`queue=${r.queue_name},type=${r.type}`, r.n]));
}

/** The non-zero series of a metric (series start at zero when a queue is first seen). */
const nonZero = (m: Map<string, number>) => new Map([...m].filter(([, v]) => v !== 0));

describe('the queue metrics collector (3.x)', () => {
  const setup = useFixtureDb('v3');

  it('shows jobs per queue and status, the oldest waiting job, stalled jobs and workers as the database has them', async () => {
    const { db, f, ctx } = await setup();
    const aged = await f.job({ queue: 'emails' });
    await f.age(aged, 300);
    await f.jobs(2, { queue: 'emails' });
    await f.jobs(2, { queue: 'emails', status: 'failed' });
    await f.jobs(4, { queue: 'reports', status: 'succeeded' });
    await f.job({ queue: 'reports', status: 'cancelled' });
    await f.job({ queue: 'default', scheduledAt: new Date(Date.now() + 3_600_000) });
    const live = await f.worker();
    const stale = await f.worker(600);
    await f.job({ queue: 'reports', status: 'doing', workerId: stale });
    await f.job({ queue: 'emails', status: 'doing', workerId: live });

    const { collector, scrape } = subject(ctx);
    await collector.collect();
    const samples = await scrape();

    const expected = await jobCounts(db);
    const jobs = series(samples, 'procrastinate_jobs');
    for (const queue of ['emails', 'reports', 'default'])
      for (const status of REPORTED_STATUSES) {
        const key = `queue=${queue},status=${status}`;
        expect(jobs.get(key), key).toBe(expected.get(key) ?? 0);
      }
    expect(jobs.size).toBe(3 * REPORTED_STATUSES.length);
    expect([...series(samples, 'procrastinate_jobs_estimated').values()].every((v) => v === 0)).toBe(true);

    const oldest = series(samples, 'procrastinate_queue_oldest_todo_age_seconds');
    expect(oldest.get('queue=emails')).toBeGreaterThanOrEqual(300);
    expect(oldest.get('queue=emails')).toBeLessThan(310);
    expect(oldest.get('queue=reports')).toBe(0);
    expect(oldest.get('queue=default')).toBe(0); // scheduled for later: not waiting yet

    expect(series(samples, 'procrastinate_stalled_jobs')).toEqual(
      new Map([
        ['queue=default', 0],
        ['queue=emails', 0],
        ['queue=reports', 1],
      ]),
    );
    expect(series(samples, 'procrastinate_workers')).toEqual(
      new Map([
        ['state=live', 1],
        ['state=stale', 1],
      ]),
    );
    const heartbeat = sampleValue(samples, 'procrastinate_worker_heartbeat_age_seconds')!;
    expect(heartbeat).toBeGreaterThanOrEqual(600);
    expect(heartbeat).toBeLessThan(610);
    // Pausing needs 3.10: no paused gauges on this schema.
    expect(samples.some((s) => s.name.startsWith('procrastinate_queue_pause'))).toBe(false);
    // Every queue's event series exist from the start, at zero.
    expect(sampleValue(samples, 'procrastinate_job_events_total', { queue: 'reports', type: 'failed' })).toBe(0);
    expect(sampleValue(samples, 'procrastinate_job_duration_seconds_count', { queue: 'default' })).toBe(0);

    // The gauges follow the table: a queue emptied of jobs disappears.
    await db.worker.query(`DELETE FROM procrastinate_jobs WHERE queue_name = 'default'`);
    await collector.collect();
    expect([...series(await scrape(), 'procrastinate_jobs').keys()].some((k) => k.includes('queue=default'))).toBe(false);
  });

  it('counts each event written after it started exactly once, and the run time of each job that ended', async () => {
    const { db, f, ctx } = await setup();
    await f.jobs(3, { queue: 'emails', status: 'succeeded' }); // before the start: never counted
    // Started 100 s before the start; its end, after it, is counted with its run time (its start looked up).
    const early = await f.job({ queue: 'reports', status: 'doing' });
    await db.worker.query(`UPDATE procrastinate_events SET at = at - interval '100 seconds' WHERE job_id = $1 AND type = 'started'`, [early]);
    // A small window, so that a collection reads several ranges.
    const { collector, scrape } = subject(ctx, { tally: { window: 4, lookupChunk: 2 } });
    await collector.collect();
    const start = collector.tally.cursor!;
    expect(start).toBeGreaterThan(0);
    expect(nonZero(series(await scrape(), 'procrastinate_job_events_total'))).toEqual(new Map());

    const worker = await f.worker();
    for (let i = 0; i < 5; i++) {
      await f.job({ queue: 'emails' });
      const id = (await f.fetch(['emails'], worker))!;
      await f.finish(id, i === 4 ? 'failed' : 'succeeded');
    }
    await f.jobs(2, { queue: 'reports', status: 'cancelled' });
    // A job that ran 42 seconds: its started event moved back in time before it finishes.
    const slow = await f.job({ queue: 'reports', status: 'doing', workerId: worker });
    await db.worker.query(`UPDATE procrastinate_events SET at = at - interval '42 seconds' WHERE job_id = $1 AND type = 'started'`, [slow]);
    await f.finish(slow, 'succeeded');
    await f.finish(early, 'succeeded');

    await collector.collect();
    let samples = await scrape();
    expect(nonZero(series(samples, 'procrastinate_job_events_total'))).toEqual(await eventCounts(db, start));
    expect(sampleValue(samples, 'procrastinate_job_duration_seconds_count', { queue: 'emails' })).toBe(5);
    expect(sampleValue(samples, 'procrastinate_job_duration_seconds_count', { queue: 'reports' })).toBe(2);
    expect(sampleValue(samples, 'procrastinate_job_duration_seconds_bucket', { queue: 'reports', le: '30' })).toBe(0);
    expect(sampleValue(samples, 'procrastinate_job_duration_seconds_bucket', { queue: 'reports', le: '60' })).toBe(1);
    expect(sampleValue(samples, 'procrastinate_job_duration_seconds_bucket', { queue: 'reports', le: '120' })).toBe(2);
    const sum = sampleValue(samples, 'procrastinate_job_duration_seconds_sum', { queue: 'reports' })!;
    expect(sum).toBeGreaterThanOrEqual(142);
    expect(sum).toBeLessThan(145);

    // A second collection adds only what came since; nothing is counted twice.
    await f.jobs(3, { queue: 'emails', status: 'failed' });
    await collector.collect();
    await collector.collect();
    samples = await scrape();
    expect(nonZero(series(samples, 'procrastinate_job_events_total'))).toEqual(await eventCounts(db, start));
    expect(sampleValue(samples, 'procrastinate_job_duration_seconds_count', { queue: 'emails' })).toBe(8);
    expect(collector.tally.behind).toBe(0);
  });

  it('counts an event whose transaction commits after newer ones once it commits, and forgets one rolled back', async () => {
    const { db, f, ctx } = await setup();
    const { collector, scrape } = subject(ctx, { tally: { window: 3, lookupChunk: 2, gapRetentionMs: 1_000 } });
    await collector.collect();
    const start = collector.tally.cursor!;

    const late = await db.worker.connect();
    try {
      await late.query('BEGIN');
      await factories(late, 'v3').job({ queue: 'late' }); // takes an event id, not visible yet
      await f.jobs(2, { queue: 'emails' });
      await collector.collect();
      expect(collector.tally.pendingGaps).toBe(1);
      expect(nonZero(series(await scrape(), 'procrastinate_job_events_total'))).toEqual(await eventCounts(db, start));
      await late.query('COMMIT');
    } finally {
      late.release();
    }
    await collector.collect();
    expect(collector.tally.pendingGaps).toBe(0);
    expect(sampleValue(await scrape(), 'procrastinate_job_events_total', { queue: 'late', type: 'deferred' })).toBe(1);
    expect(nonZero(series(await scrape(), 'procrastinate_job_events_total'))).toEqual(await eventCounts(db, start));

    const ghost = await db.worker.connect();
    try {
      await ghost.query('BEGIN');
      await factories(ghost, 'v3').job({ queue: 'ghost' });
      await f.job({ queue: 'emails' });
      await collector.collect();
      await ghost.query('ROLLBACK');
    } finally {
      ghost.release();
    }
    expect(collector.tally.pendingGaps).toBe(1);
    // Looked for again at each collection until it is too old to be a transaction still open.
    await until('the rolled-back id to be forgotten', async () => {
      await collector.collect();
      return collector.tally.pendingGaps === 0;
    });
    expect(nonZero(series(await scrape(), 'procrastinate_job_events_total'))).toEqual(await eventCounts(db, start));
  });

  it('reports the queues past JOBQ_METRICS_MAX_QUEUES together under one label', async () => {
    const { f, ctx } = await setup();
    await f.jobs(1, { queue: 'a' });
    await f.jobs(2, { queue: 'b' });
    await f.jobs(3, { queue: 'c' });
    const { collector, scrape } = subject(ctx, { maxQueues: 2 });
    await collector.collect();
    await f.jobs(4, { queue: 'd' });
    await f.job({ queue: 'a' });
    await collector.collect();
    const todo = [...series(await scrape(), 'procrastinate_jobs')].filter(([k]) => k.endsWith('status=todo'));
    expect(new Map(todo)).toEqual(
      new Map([
        ['queue=a,status=todo', 2],
        ['queue=b,status=todo', 2],
        [`queue=${OTHER_QUEUES},status=todo`, 7],
      ]),
    );
    const events = nonZero(series(await scrape(), 'procrastinate_job_events_total'));
    expect(events).toEqual(
      new Map([
        ['queue=a,type=deferred', 1],
        [`queue=${OTHER_QUEUES},type=deferred`, 4],
      ]),
    );
  });

  it('serves scrapes from memory: no statement reaches the database, however many', async () => {
    const { db, f, ctx } = await setup();
    await f.jobs(3, { queue: 'emails', status: 'failed' });
    const recorder = recordingPool(db.pool);
    const { collector, text } = subject({ ...ctx, db: recorder.pool });
    await collector.collect();
    await f.jobs(2, { queue: 'emails', status: 'succeeded' });
    await collector.collect();
    const sent = recorder.statements.length;
    expect(sent).toBeGreaterThan(0);
    const started = performance.now();
    let body = '';
    for (let i = 0; i < 200; i++) body = await text();
    const perScrapeMs = (performance.now() - started) / 200;
    expect(recorder.statements.length).toBe(sent);
    expect(perScrapeMs).toBeLessThan(50);
    // promtool lints the exposition: names, units, _total on counters, help texts.
    const lint = promtool(['check', 'metrics'], body);
    expect(lint.output).toBe('');
    expect(lint.status).toBe(0);
  });

  it('says the database is unreachable when a collection cannot connect, and keeps the last values', async () => {
    const { ctx } = await setup();
    const down = dbFromUrl({ url: 'postgres://postgres@127.0.0.1:1/none', statementTimeoutMs: 1_000, lockTimeoutMs: 100, max: 1 });
    const { metrics, collector, scrape } = subject(ctx);
    await collector.collect();
    expect(sampleValue(await scrape(), 'jobq_database_reachable')).toBe(1);
    const collectedAt = sampleValue(await scrape(), 'jobq_metrics_last_success_timestamp_seconds')!;
    expect(collectedAt).toBeGreaterThan(Date.now() / 1000 - 60);
    const broken = createQueueCollector({ context: async () => ({ ...ctx, db: down }), metrics, intervalMs: 60_000, log: testLogger().log });
    await expect(broken.collect()).rejects.toMatchObject({ code: 'db_unreachable' });
    const samples = await scrape();
    expect(sampleValue(samples, 'jobq_database_reachable')).toBe(0);
    expect(sampleValue(samples, 'jobq_metrics_collect_errors_total')).toBe(1);
    expect(sampleValue(samples, 'jobq_metrics_last_success_timestamp_seconds')).toBe(collectedAt);
    await down.end();
  });
});

describe('the queue metrics collector (3.10)', () => {
  const setup = useFixtureDb('v310');

  it('shows paused queues and how long they have been paused', async () => {
    const { db, f, ctx } = await setup();
    await f.jobs(2, { queue: 'emails' });
    await f.jobs(1, { queue: 'reports' });
    await f.pause('emails', 'ops');
    await db.worker.query(`UPDATE procrastinate_paused_queues SET paused_at = now() - interval '2 hours' WHERE queue_name = 'emails'`);
    const { collector, scrape } = subject(ctx);
    await collector.collect();
    const samples = await scrape();
    expect(series(samples, 'procrastinate_queue_paused')).toEqual(
      new Map([
        ['queue=emails', 1],
        ['queue=reports', 0],
      ]),
    );
    const age = series(samples, 'procrastinate_queue_pause_age_seconds');
    expect([...age.keys()]).toEqual(['queue=emails']);
    expect(age.get('queue=emails')).toBeGreaterThanOrEqual(7_200);
    expect(age.get('queue=emails')).toBeLessThan(7_210);

    await f.resume('emails');
    await collector.collect();
    expect(series(await scrape(), 'procrastinate_queue_paused').get('queue=emails')).toBe(0);
    expect(series(await scrape(), 'procrastinate_queue_pause_age_seconds').size).toBe(0);
  });
});

describe('the queue metrics collector (2.x)', () => {
  const setup = useFixtureDb('v2');

  it('counts jobs and events; no worker or pause gauges where the schema has neither', async () => {
    const { db, f, ctx } = await setup();
    await f.jobs(2, { queue: 'emails', status: 'failed' });
    const { collector, scrape } = subject(ctx);
    await collector.collect();
    const start = collector.tally.cursor!;
    await f.jobs(3, { queue: 'emails', status: 'succeeded' });
    await collector.collect();
    const samples = await scrape();
    const expected = await jobCounts(db);
    for (const [key, n] of expected) expect(series(samples, 'procrastinate_jobs').get(key), key).toBe(n);
    expect(nonZero(series(samples, 'procrastinate_job_events_total'))).toEqual(await eventCounts(db, start));
    expect(samples.some((s) => s.name.startsWith('procrastinate_worker') || s.name.startsWith('procrastinate_queue_pause'))).toBe(false);
  });
});
