import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { METADATA_TYPE } from '../../src/alerts/poster.js';
import type { SlackEmulator } from '../../src/emulator/web-api.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { factories, type Factories } from '../helpers/factories.js';
import { failuresIn, FAST, startAlerter, startEmulator, tagged, until, waitForIdle, type Alerter } from './harness.js';

const CHANNEL = 'C_ALERTS';
const CHECK_MS = Number(FAST.JOBQ_LEADER_CHECK_SECONDS) * 1000;
/** Documented bound after a clean stop (the lease is released): one check interval, plus slack for the test machine. */
const FAILOVER_BOUND_MS = 2 * CHECK_MS + 1_000;
/** After a crash or a cut-off leader the lease must expire first (3 check intervals), then a follower's next try. */
const LOST_LEADER_BOUND_MS = 3 * CHECK_MS + 2 * CHECK_MS + 1_000;

describe.each([2, 3])('%i replicas', (count) => {
  let db: TestDb;
  let slack: SlackEmulator;
  let f: Factories;
  let replicas: Alerter[] = [];

  beforeAll(async () => {
    db = await createTestDb('v3');
    f = factories(db.worker, 'v3');
    slack = await startEmulator();
  });
  afterEach(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    replicas = [];
  });
  afterAll(async () => {
    await slack?.close();
    await db?.drop();
  });

  const startAll = async () => {
    replicas = await Promise.all(Array.from({ length: count }, () => startAlerter(db, slack)));
    await waitForIdle(db);
  };
  const leaders = () => replicas.filter((r) => r.alerts.isLeader());
  const alertsFor = (task: string) => tagged(slack, CHANNEL, METADATA_TYPE.failure, (p) => p.task === task);
  const oneLeader = () => until(async () => (leaders().length === 1 ? leaders()[0] : undefined), FAILOVER_BOUND_MS, 'exactly one leader');

  it('elects exactly one leader and alerts each failure once', async () => {
    await startAll();
    await oneLeader();
    await f.jobs(3, { queue: 'emails', task: `app.once_${count}`, status: 'failed' });
    await f.jobs(2, { queue: 'reports', task: `app.twice_${count}`, status: 'failed' });
    await slack.waitFor(() => alertsFor(`app.once_${count}`).length && alertsFor(`app.twice_${count}`).length, 5_000, 'both alerts');
    await waitForIdle(db);
    expect(alertsFor(`app.once_${count}`).map(failuresIn)).toEqual([3]);
    expect(alertsFor(`app.twice_${count}`).map(failuresIn)).toEqual([2]);
    expect(leaders()).toHaveLength(1);
  });

  it('fails over within the bound when the leader stops, and the new leader carries on without repeats', async () => {
    await startAll();
    const first = await oneLeader();
    await f.job({ queue: 'emails', task: `app.failover_${count}`, status: 'failed' });
    await slack.waitFor(() => alertsFor(`app.failover_${count}`)[0], 5_000);
    await waitForIdle(db);

    const stoppedAt = Date.now();
    await first.stop();
    replicas = replicas.filter((r) => r !== first);
    const second = await oneLeader();
    const took = Date.now() - stoppedAt;
    console.log(`${count} replicas: failover after a clean stop took ${took} ms (check interval ${CHECK_MS} ms)`);
    expect(second).not.toBe(first);

    await f.jobs(2, { queue: 'emails', task: `app.failover_${count}`, status: 'failed' });
    await slack.waitFor(() => failuresIn(alertsFor(`app.failover_${count}`)[0]!) === 3, 5_000, 'the open alert updated by the new leader');
    expect(alertsFor(`app.failover_${count}`)).toHaveLength(1);
  });

  it('fails over when the leader is cut off from the database, never with two leaders at once', async () => {
    // Each replica reaches the database through its own TCP hop, so one can be cut off alone.
    const target = new URL(db.url);
    const proxies: TcpProxy[] = [];
    try {
      replicas = await Promise.all(
        Array.from({ length: count }, async () => {
          const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
          proxies.push(proxy);
          const url = new URL(db.url);
          url.port = String(proxy.port);
          return startAlerter(db, slack, { JOB_QUEUE_DATABASE_URL: url.toString() });
        }),
      );
      await waitForIdle(db);
      const first = await oneLeader();
      const cut = proxies[replicas.indexOf(first)]!;
      const cutAt = Date.now();
      cut.set('refuse');
      cut.cut();
      // Sample leadership while the lease changes hands: never two at once.
      let most = 0;
      const watcher = setInterval(() => (most = Math.max(most, leaders().length)), 5);
      try {
        await until(async () => !first.alerts.isLeader(), 3 * CHECK_MS + 1_000, 'the cut-off leader to step down');
        const steppedDown = Date.now() - cutAt;
        const next = await until(async () => leaders().find((r) => r !== first), LOST_LEADER_BOUND_MS, 'a new leader');
        console.log(
          `${count} replicas: leader cut off; it stepped down after ${steppedDown} ms, failover took ${Date.now() - cutAt} ms (check ${CHECK_MS} ms, lease ${3 * CHECK_MS} ms)`,
        );
        expect(leaders()).toEqual([next]);
      } finally {
        clearInterval(watcher);
      }
      expect(most).toBe(1);

      await f.job({ queue: 'emails', task: `app.after_cut_${count}`, status: 'failed' });
      await slack.waitFor(() => alertsFor(`app.after_cut_${count}`)[0], 5_000);
      await waitForIdle(db);
      expect(alertsFor(`app.after_cut_${count}`)).toHaveLength(1);
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
      replicas = [];
      await Promise.all(proxies.map((p) => p.close()));
    }
  });
});
