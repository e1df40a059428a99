import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { METADATA_TYPE } from '../../src/alerts/poster.js';
import type { SlackEmulator } from '../../src/emulator/web-api.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { factories, type Factories } from '../helpers/factories.js';
import { blockText, RUNBOOK } from '../helpers/bot.js';
import { failuresIn, FAST, replies, startAlerter, startEmulator, tagged, until, waitForIdle, type Alerter } from './harness.js';

const CHANNEL = 'C_ALERTS';
const POLL_MS = Number(FAST.JOBQ_ALERT_POLL_SECONDS) * 1000;
const GROUP_WAIT_MS = Number(FAST.JOBQ_ALERT_GROUP_WAIT_SECONDS) * 1000;

/** Failure alerts against a real database and the emulated Slack Web API over HTTP. */
describe('failure alerts', () => {
  let db: TestDb;
  let slack: SlackEmulator;
  let f: Factories;
  let alerter: Alerter | undefined;

  beforeAll(async () => {
    db = await createTestDb('v3');
    f = factories(db.worker, 'v3');
    slack = await startEmulator();
  });
  afterEach(async () => {
    await alerter?.stop();
    alerter = undefined;
  });
  afterAll(async () => {
    await slack?.close();
    await db?.drop();
  });

  const alertsFor = (task: string) => tagged(slack, CHANNEL, METADATA_TYPE.failure, (p) => p.task === task);
  const start = async (env: Record<string, string> = {}) => {
    alerter = await startAlerter(db, slack, env);
    await waitForIdle(db);
    return alerter;
  };

  it('posts one alert for a failure within the poll interval plus the group wait, with buttons and the runbook', async () => {
    await start();
    const began = Date.now();
    const id = await f.job({ queue: 'emails', task: 'app.send_welcome', status: 'failed' });
    const [alert] = await slack.waitFor(() => alertsFor('app.send_welcome').length > 0 && alertsFor('app.send_welcome'), 5_000, 'a failure alert');
    const latency = Date.now() - began;
    console.log(`failure alert latency: ${latency} ms (poll ${POLL_MS} ms + group wait ${GROUP_WAIT_MS} ms)`);
    expect(latency).toBeLessThan(POLL_MS + GROUP_WAIT_MS + 600); // + query and HTTP time
    const text = blockText(alert);
    expect(alert!.text).toBe('1 failure of app.send_welcome in queue emails');
    expect(text).toContain(`#${id}`);
    expect(text).toContain('alert_retry');
    expect(text).toContain('alert_show');
    expect(text).toContain(`${RUNBOOK}#alert-job-failures`);
    expect(alert!.metadata?.event_payload).toMatchObject({ queue: 'emails', task: 'app.send_welcome', failures: 1 });
  });

  it('groups a burst per queue and task, then updates the message and replies in its thread for the next burst', async () => {
    await start();
    await f.jobs(3, { queue: 'emails', task: 'app.digest', status: 'failed' });
    await f.jobs(2, { queue: 'reports', task: 'app.render', status: 'failed' });
    const first = await slack.waitFor(() => alertsFor('app.digest')[0], 5_000, 'the digest alert');
    await slack.waitFor(() => alertsFor('app.render')[0], 5_000, 'the render alert');
    expect(failuresIn(first)).toBe(3);
    expect(failuresIn(alertsFor('app.render')[0]!)).toBe(2);

    const updatesBefore = slack.calls('chat.update').length;
    await f.jobs(4, { queue: 'emails', task: 'app.digest', status: 'failed' });
    await slack.waitFor(() => failuresIn(alertsFor('app.digest')[0]!) === 7, 5_000, 'the digest alert updated to 7');
    expect(alertsFor('app.digest')).toHaveLength(1); // no new top-level post
    const thread = await slack.waitFor(() => replies(slack, CHANNEL, first).length > 0 && replies(slack, CHANNEL, first), 5_000, 'a thread reply');
    expect(thread).toHaveLength(1);
    expect(thread[0]!.text).toContain('+4 more failures (7 in all)');
    expect(slack.calls('chat.update').length).toBe(updatesBefore + 1);
    expect(alertsFor('app.render')).toHaveLength(1);
  });

  it('posts anew when someone deleted the open alert in Slack', async () => {
    await start();
    await f.job({ queue: 'emails', task: 'app.deleted', status: 'failed' });
    const first = await slack.waitFor(() => alertsFor('app.deleted')[0], 5_000);
    slack.state.delete(CHANNEL, first.ts);
    await f.jobs(2, { queue: 'emails', task: 'app.deleted', status: 'failed' });
    const second = await slack.waitFor(() => alertsFor('app.deleted')[0], 5_000, 'a new alert');
    expect(second.ts).not.toBe(first.ts);
    expect(failuresIn(second)).toBe(2);
    await waitForIdle(db);
  });

  it('misses nothing while stopped: a restart resumes from the stored cursor', async () => {
    await start();
    await f.job({ queue: 'emails', task: 'app.restart', status: 'failed' });
    await slack.waitFor(() => alertsFor('app.restart')[0], 5_000);
    await alerter!.stop();

    await f.jobs(4, { queue: 'emails', task: 'app.while_down', status: 'failed' });
    await f.jobs(2, { queue: 'emails', task: 'app.restart', status: 'failed' });
    await start();
    const down = await slack.waitFor(() => alertsFor('app.while_down')[0], 5_000, 'the failures made while stopped');
    expect(failuresIn(down)).toBe(4);
    // The earlier group's message is still open: counted into it.
    await slack.waitFor(() => failuresIn(alertsFor('app.restart')[0]!) === 3, 5_000, 'the restart group updated to 3');
    expect(alertsFor('app.restart')).toHaveLength(1);
  });

  it('recognises a message posted just before a crash (post done, record not saved) and does not post it again', async () => {
    await start();
    // Hold the table the bot records posted alerts in: the post succeeds, the record cannot be written.
    const locker = await db.worker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE jobq.failure_alerts IN EXCLUSIVE MODE');
    try {
      await f.jobs(2, { queue: 'emails', task: 'app.crash', status: 'failed' });
      await slack.waitFor(() => alertsFor('app.crash')[0], 5_000, 'the alert posted before the "crash"');
      await alerter!.stop(); // the process "dies" with the record unwritten
    } finally {
      await locker.query('COMMIT');
      locker.release();
    }
    const stored = await db.worker.query(`SELECT pending_hi FROM jobq.alert_cursor WHERE name = 'failures'`);
    expect(stored.rows[0].pending_hi).not.toBeNull(); // the batch is still pending: the cursor did not move

    const historyBefore = slack.calls('conversations.history').length;
    await start();
    await until(
      async () => (await db.worker.query(`SELECT pending_hi FROM jobq.alert_cursor WHERE name = 'failures'`)).rows[0].pending_hi === null,
      5_000,
      'the batch to complete',
    );
    expect(alertsFor('app.crash')).toHaveLength(1); // recognised by its metadata, not repeated
    expect(slack.calls('conversations.history').length).toBeGreaterThan(historyBefore);
    const recorded = await db.worker.query(`SELECT kind, parent_ts FROM jobq.failure_alerts WHERE task_name = 'app.crash'`);
    expect(recorded.rows).toEqual([{ kind: 'post', parent_ts: alertsFor('app.crash')[0]!.ts }]);

    // The recovered message is the group's open alert: the next failure updates it.
    await f.job({ queue: 'emails', task: 'app.crash', status: 'failed' });
    await slack.waitFor(() => failuresIn(alertsFor('app.crash')[0]!) === 3, 5_000, 'the recovered alert updated');
    expect(alertsFor('app.crash')).toHaveLength(1);
  });
});
