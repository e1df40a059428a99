import { leaseAcquire, type Fence } from '../../src/db/queries/jobq-leases.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { METADATA_TYPE } from '../../src/alerts/poster.js';
import { getHealthSummary } from '../../src/queue/summary.js';
import { sparkline, summaryBlocks } from '../../src/render/blocks/summary.js';
import type { SlackEmulator } from '../../src/emulator/web-api.js';
import { createTestDb, queueContext, type TestDb } from '../helpers/db.js';
import { factories, type Factories } from '../helpers/factories.js';
import { blockText, RUNBOOK } from '../helpers/bot.js';
import { webApi } from '@slack/bolt';
import { createPoster } from '../../src/alerts/poster.js';
import { loadConfig } from '../../src/config.js';
import { createQueueHandle } from '../../src/queue/handle.js';
import { testLogger } from '../helpers/log.js';
import { startSummaries } from '../../src/alerts/summaries.js';
import { BOT_TOKEN } from '../helpers/bot.js';
import { startAlerter, startEmulator, tagged, type Alerter } from '../alerts/harness.js';

const EVERY_SECOND = JSON.stringify([{ cron: '* * * * * *', timezone: 'Europe/Berlin', channel: 'C_OPS' }]);

describe('scheduled health summaries', () => {
  let db: TestDb;
  let slack: SlackEmulator;
  let f: Factories;
  let replicas: Alerter[] = [];

  beforeAll(async () => {
    db = await createTestDb('v3');
    f = factories(db.worker, 'v3');
    slack = await startEmulator();
    // Events must grow with their ids, as in production: older history first.
    const aged = async (seconds: number, count: number, spec: Parameters<Factories['job']>[0]) => {
      for (const id of await f.jobs(count, spec)) await f.age(id, seconds);
    };
    await aged(4 * 3600, 2, { queue: 'emails', task: 'app.send', status: 'failed' }); // previous period
    await aged(170 * 60, 1, { queue: 'emails', task: 'app.send', status: 'failed' });
    await aged(100 * 60, 3, { queue: 'reports', task: 'app.render', status: 'failed' });
    await f.jobs(6, { queue: 'emails', task: 'app.send', status: 'failed' });
    await f.jobs(4, { queue: 'emails', task: 'app.send', status: 'succeeded' });
    await f.jobs(2, { queue: 'reports', task: 'app.render' }); // backlog
  });
  afterEach(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    replicas = [];
  });
  afterAll(async () => {
    await slack?.close();
    await db?.drop();
  });

  it('compares the period with the one before, per queue, with top failing tasks and an hourly sparkline', async () => {
    const ctx = await queueContext(db);
    const to = new Date();
    const summary = await getHealthSummary(ctx, { from: new Date(to.getTime() - 3 * 3600_000), to });
    expect(summary.totals.current).toMatchObject({ failed: 10, succeeded: 4 });
    expect(summary.totals.previous).toMatchObject({ failed: 2, succeeded: 0 });
    expect(summary.failuresPerBucket).toEqual([1, 3, 6]);
    expect(sparkline(summary.failuresPerBucket)).toBe('▂▅█');
    expect(summary.topFailingTasks[0]).toEqual({ task: 'app.send', queue: 'emails', failed: 7, previousFailed: 2 });
    const emails = summary.queues.find((q) => q.name === 'emails')!;
    expect(emails.current.failureRate).toBeCloseTo(7 / 11);
    expect(summary.queues.find((q) => q.name === 'reports')!.todo).toBe(2);

    const text = blockText(summaryBlocks(summary, { runbookBase: RUNBOOK }));
    expect(text).toContain('failed 10 ▲ (was 2)');
    expect(text).toContain('`▂▅█`');
    expect(text).toContain('/jobq failed');
    expect(text).toContain(`${RUNBOOK}#scheduled-health-summaries`);
  });

  it('posts on the cron schedule (here every second) without an alert channel', async () => {
    replicas = [await startAlerter(db, slack, { JOBQ_ALERT_CHANNEL: '', JOBQ_SUMMARY_SCHEDULES: EVERY_SECOND })];
    const posted = await slack.waitFor(() => tagged(slack, 'C_OPS', METADATA_TYPE.summary)[0], 5_000, 'a summary');
    // The first summary of a schedule covers the last 24 hours: all 12 failures.
    expect(posted.text).toMatch(/^Queue health: 12 failed, 4 done, backlog 2, 0 stalled/);
    expect(blockText(posted)).toContain('Failures per hour');
  });

  it.each([2, 3])('posts each tick once with %i replicas', async (count) => {
    const before = tagged(slack, 'C_OPS', METADATA_TYPE.summary).length;
    replicas = await Promise.all(Array.from({ length: count }, () => startAlerter(db, slack, { JOBQ_ALERT_CHANNEL: '', JOBQ_SUMMARY_SCHEDULES: EVERY_SECOND })));
    await slack.waitFor(() => tagged(slack, 'C_OPS', METADATA_TYPE.summary).length >= before + 3, 6_000, 'three more ticks');
    await Promise.all(replicas.map((r) => r.stop()));
    replicas = [];
    const ticks = tagged(slack, 'C_OPS', METADATA_TYPE.summary).map((m) => String(m.metadata!.event_payload.tick));
    expect(new Set(ticks).size).toBe(ticks.length); // never two posts for one tick
    const rows = await db.worker.query<{ n: number }>('SELECT count(*)::int AS n FROM jobq.summary_ticks WHERE ts IS NOT NULL');
    expect(rows.rows[0]!.n).toBe(ticks.length);
  });

  it("posts a tick once when two replicas both believe they lead: the stale leader's token is refused", async () => {
    const schedule = { cron: '0 9 * * 1-5', timezone: 'Europe/Berlin', channel: 'C_GENERAL' };
    const log = testLogger().log;
    // The lease moved from A (token 1) to B (token 2) while A was paused; A still thinks it leads.
    await db.pool.query(leaseAcquire('summaries-test', 'replica-a', 60_000));
    await db.worker.query(`UPDATE jobq.leases SET expires_at = now() - interval '1 second' WHERE name = 'summaries-test'`);
    const token = (await db.pool.query<{ token: number }>(leaseAcquire('summaries-test', 'replica-b', 60_000))).rows[0]!.token;
    expect(token).toBe(2);
    const fences: Record<string, Fence> = { a: { name: 'summaries-test', holder: 'replica-a', token: 1 }, b: { name: 'summaries-test', holder: 'replica-b', token: 2 } };
    const make = (who: 'a' | 'b') => {
      const queue = createQueueHandle(loadConfig({ JOB_QUEUE_DATABASE_URL: db.url }), log);
      const poster = createPoster(new webApi.WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl }), { postIntervalMs: 0, maxPerMinute: 10 });
      return { queue, summaries: startSummaries({ schedules: [schedule], queue, poster, log, render: { runbookBase: RUNBOOK }, fence: () => fences[who]! }) };
    };
    const [a, b] = [make('a'), make('b')];
    try {
      const tick = new Date('2030-01-07T08:00:00Z');
      const results = await Promise.all([a.summaries.runTick(schedule, tick), b.summaries.runTick(schedule, tick)]);
      expect(results).toEqual([false, true]);
      expect(tagged(slack, 'C_GENERAL', METADATA_TYPE.summary)).toHaveLength(1);
      // Even the same valid token twice (one replica's tick fired twice) posts once.
      const again = new Date('2030-01-08T08:00:00Z');
      const twice = await Promise.all([b.summaries.runTick(schedule, again), b.summaries.runTick(schedule, again)]);
      expect(twice.filter(Boolean)).toHaveLength(1);
    } finally {
      for (const x of [a, b]) {
        await x.summaries.stop();
        await x.queue.close();
      }
    }
  });
});
