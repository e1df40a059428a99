import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LEADER_LOCK } from '../../src/db/queries/jobq-alerts.js';
import { METADATA_TYPE } from '../../src/alerts/poster.js';
import type { SlackEmulator } from '../../src/emulator/web-api.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { factories, type Factories } from '../helpers/factories.js';
import { failuresIn, FAST, startAlerter, startEmulator, tagged, until, waitForIdle, type Alerter } from './harness.js';

const CHANNEL = 'C_ALERTS';
const CHECK_MS = Number(FAST.JOBQ_LEADER_CHECK_SECONDS) * 1000;
/** Documented bound after a clean stop or a lost connection: one check interval, plus slack for the test machine. */
const FAILOVER_BOUND_MS = 2 * CHECK_MS + 1_000;

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

  it('fails over when the leader loses its database connection, and the old leader steps down at once', async () => {
    await startAll();
    const first = await oneLeader();
    // Kill the session holding the lock, as a network cut or a server restart would.
    const killedAt = Date.now();
    const killed = await db.worker.query(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2 AND objsubid = 2 AND granted`,
      [...LEADER_LOCK],
    );
    expect(killed.rows).toEqual([{ ok: true }]);
    await until(async () => !first.alerts.isLeader(), FAILOVER_BOUND_MS, 'the old leader to step down');
    const next = await oneLeader();
    console.log(`${count} replicas: failover after a lost connection took ${Date.now() - killedAt} ms`);
    expect(leaders()).toEqual([next]);

    await f.job({ queue: 'emails', task: `app.after_kill_${count}`, status: 'failed' });
    await slack.waitFor(() => alertsFor(`app.after_kill_${count}`)[0], 5_000);
    await waitForIdle(db);
    expect(alertsFor(`app.after_kill_${count}`)).toHaveLength(1);
  });
});
