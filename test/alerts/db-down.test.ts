import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METADATA_TYPE } from '../../src/alerts/poster.js';
import type { SlackEmulator } from '../../src/emulator/web-api.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { factories } from '../helpers/factories.js';
import { blockText, RUNBOOK } from '../helpers/bot.js';
import { admin, failuresIn, replies, startAlerter, startEmulator, tagged, until, waitForIdle, type Alerter } from './harness.js';

const CHANNEL = 'C_ALERTS';

/**
 * The database really goes away: new connections are refused (ALLOW_CONNECTIONS false) and every
 * session is terminated, as in a failover or a restart of the server; then it comes back.
 */
describe('database unreachable', () => {
  let db: TestDb;
  let slack: SlackEmulator;
  let alerter: Alerter;

  beforeAll(async () => {
    db = await createTestDb('v3');
    // Pools lose their idle connections during the outage; that is expected here.
    db.worker.on('error', () => undefined);
    slack = await startEmulator();
    alerter = await startAlerter(db, slack, { JOBQ_ALERTS_DISABLED: 'stalled,backlog,no-workers', JOBQ_DB_UNREACHABLE_AFTER_SECONDS: '0.3', JOBQ_ALERT_REPEAT_SECONDS: '1' });
    await waitForIdle(db);
  });
  afterAll(async () => {
    await admin((c) => c.query(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`)).catch(() => undefined);
    await alerter?.stop();
    await slack?.close();
    await db?.drop();
  });

  const outage = () => tagged(slack, CHANNEL, METADATA_TYPE.health, (p) => p.key === 'db-unreachable');

  it('alerts once, repeats while down, resolves when back, and alerting resumes under the re-elected leader', async () => {
    await admin(async (c) => {
      await c.query(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
      await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [db.name]);
    });
    const [alert] = await slack.waitFor(() => outage().length > 0 && outage(), 5_000, 'the database unreachable alert');
    expect(alert!.text).toContain('jobq cannot reach its database');
    expect(blockText(alert)).toContain('not currently accepting connections');
    expect(blockText(alert)).toContain(`${RUNBOOK}#alert-database-unreachable`);
    expect(alerter.alerts.isLeader()).toBe(false); // nobody can hold the lock without a connection
    await slack.waitFor(() => replies(slack, CHANNEL, alert!).some((m) => m.text.startsWith('Still firing')), 5_000, 'a repeat while down');

    // Back up. A failure right away is alerted by the re-elected leader, from the stored cursor.
    await admin((c) => c.query(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`));
    await slack.waitFor(() => replies(slack, CHANNEL, alert!).some((m) => m.text.startsWith('Resolved after')), 5_000, 'resolved');
    expect(outage()[0]!.text).toMatch(/^Resolved: jobq cannot reach its database/);
    expect(outage()).toHaveLength(1);

    await until(async () => alerter.alerts.isLeader(), 5_000, 're-election');
    await factories(db.worker, 'v3').jobs(2, { queue: 'emails', task: 'app.after_outage', status: 'failed' });
    const after = await slack.waitFor(() => tagged(slack, CHANNEL, METADATA_TYPE.failure, (p) => p.task === 'app.after_outage')[0], 5_000, 'failure alert after the outage');
    expect(failuresIn(after)).toBe(2);
  });
});
