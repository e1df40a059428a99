import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METADATA_TYPE } from '../../src/alerts/poster.js';
import type { SlackEmulator } from '../../src/emulator/web-api.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { failJobs, failuresIn, startAlerter, startEmulator, tagged, until, waitForIdle, type Alerter } from './harness.js';

const CHANNEL = 'C_ALERTS';
const MAX_PER_MINUTE = 10;
const TASKS = ['app.storm.a', 'app.storm.b', 'app.storm.c'];

/** 10,000 failures in a few seconds, Slack answering 429 now and then: a handful of messages, exact totals. */
describe('a failure storm', () => {
  let db: TestDb;
  let slack: SlackEmulator;
  let alerter: Alerter;

  beforeAll(async () => {
    db = await createTestDb('v3');
    slack = await startEmulator();
    // Production pacing: one post per second per channel, at most 10 per minute.
    alerter = await startAlerter(db, slack, { JOBQ_ALERT_POST_INTERVAL_MS: '1000', JOBQ_ALERT_MAX_PER_MINUTE: String(MAX_PER_MINUTE) });
    await waitForIdle(db);
  });
  afterAll(async () => {
    await alerter?.stop();
    await slack?.close();
    await db?.drop();
  });

  it('becomes a bounded number of messages whose totals add up to exactly 10,000, through 429s', async () => {
    slack.faults.next('chat.postMessage', { status: 429, retryAfter: 1 }).next('chat.postMessage', { status: 429, retryAfter: 1 });
    slack.faults.next('chat.update', { status: 429, retryAfter: 1 });
    const began = Date.now();
    // Five bursts of 2,000 failed jobs (set-based, through Procrastinate's own triggers), about 300 ms apart.
    for (let burst = 0; burst < 5; burst++) {
      await failJobs(db, 2_000, 'storm', TASKS);
      await new Promise((resolve) => setTimeout(resolve, 300)); // pacing the load generator, not a wait for the bot
    }
    const total = () => tagged(slack, CHANNEL, METADATA_TYPE.failure).reduce((n, m) => n + failuresIn(m), 0);
    await slack.waitFor(() => total() === 10_000, 45_000, 'the alert totals to reach 10,000');
    await until(
      async () => (await db.worker.query(`SELECT pending_hi FROM jobq.alert_cursor WHERE name = 'failures'`)).rows[0].pending_hi === null,
      10_000,
      'the last batch to finish',
    );
    const seconds = (Date.now() - began) / 1000;

    const parents = tagged(slack, CHANNEL, METADATA_TYPE.failure);
    const posted = slack.messages(CHANNEL, { ephemeral: false }); // top-level and thread replies
    const recorded = await db.worker.query<{ failures: string }>(`SELECT coalesce(sum(failures), 0) AS failures FROM jobq.failure_alerts WHERE queue_name = 'storm'`);
    const rateLimited = slack.calls().filter((c) => c.status === 429).length;
    console.log(
      `storm: 10,000 failures -> ${parents.length} alerts, ${posted.length} messages in all, ${slack.calls('chat.update').filter((c) => c.status === 200).length} updates, ${rateLimited} answered 429, ${seconds.toFixed(1)} s`,
    );

    expect(parents).toHaveLength(TASKS.length); // one per queue/task group
    expect(posted.length).toBeLessThanOrEqual(MAX_PER_MINUTE);
    expect(Number(recorded.rows[0]!.failures)).toBe(10_000);
    expect(rateLimited).toBe(3); // each 429 was waited out and retried, none lost
    for (const task of TASKS) {
      const [parent] = tagged(slack, CHANNEL, METADATA_TYPE.failure, (p) => p.task === task);
      expect(failuresIn(parent!)).toBeGreaterThan(3_000);
    }
    // Never more than one post per second in the channel.
    const posts = slack
      .calls('chat.postMessage')
      .filter((c) => c.status === 200)
      .map((c) => c.at);
    for (let i = 1; i < posts.length; i++) expect(posts[i]! - posts[i - 1]!).toBeGreaterThanOrEqual(950);
  });
});

describe('the per-minute cap', () => {
  let db: TestDb;
  let slack: SlackEmulator;
  let alerter: Alerter;

  beforeAll(async () => {
    db = await createTestDb('v3');
    slack = await startEmulator();
    alerter = await startAlerter(db, slack, { JOBQ_ALERT_MAX_PER_MINUTE: '3' });
    await waitForIdle(db);
  });
  afterAll(async () => {
    await alerter?.stop();
    await slack?.close();
    await db?.drop();
  });

  it('shares one message among the smaller groups, then holds new posts while totals keep counting', async () => {
    await failJobs(db, 60, 'cap', ['app.cap.a', 'app.cap.a', 'app.cap.a', 'app.cap.b', 'app.cap.b', 'app.cap.c', 'app.cap.d', 'app.cap.e']);
    // Cap 3: two groups get their own message, the other three share one.
    await slack.waitFor(() => slack.messages(CHANNEL, { thread: false }).length === 3, 5_000, 'three messages');
    const alerts = tagged(slack, CHANNEL, METADATA_TYPE.failure);
    expect(alerts.map((m) => m.metadata!.event_payload.task ?? 'combined').sort()).toEqual(['app.cap.a', 'app.cap.b', 'combined']);
    const combined = alerts.find((m) => m.metadata!.event_payload.combined === true)!;
    expect(combined.text).toBe('21 more failures in 3 queue/task pairs'); // c, d, e: 7 each
    expect(alerts.reduce((n, m) => n + failuresIn(m), 0)).toBe(60);

    // The minute's posts are spent: a burst of a posted group updates its total, without a reply.
    await failJobs(db, 10, 'cap', ['app.cap.a']);
    await slack.waitFor(() => failuresIn(tagged(slack, CHANNEL, METADATA_TYPE.failure, (p) => p.task === 'app.cap.a')[0]!) === 33, 5_000, 'app.cap.a updated from 23 to 33');
    // A new group must wait for the cap: nothing is posted, its failures stay counted for later.
    await failJobs(db, 4, 'cap', ['app.cap.new']);
    await until(
      async () => {
        const t = alerter.alerts.tailState();
        return t?.heldForCap && t.pending === 4;
      },
      5_000,
      'the batch held for the cap',
    );
    expect(slack.messages(CHANNEL, { ephemeral: false })).toHaveLength(3);
    const cursor = await db.worker.query(`SELECT pending_hi FROM jobq.alert_cursor WHERE name = 'failures'`);
    expect(cursor.rows[0].pending_hi).toBeNull(); // nothing half-delivered: the new group is simply not flushed yet
  });
});
