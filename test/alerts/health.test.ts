import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METADATA_TYPE } from '../../src/alerts/poster.js';
import type { SlackEmulator } from '../../src/emulator/web-api.js';
import type { SlackMessage } from '../../src/emulator/model.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { factories, type Factories } from '../helpers/factories.js';
import { blockText, RUNBOOK } from '../helpers/bot.js';
import { replies, startAlerter, startEmulator, tagged, until, type Alerter } from './harness.js';

const CHANNEL = 'C_ALERTS';
const KEYS = ['stalled', 'no-workers', 'backlog:reports', 'backlog:slow'] as const;
const SLUG: Record<(typeof KEYS)[number], string> = {
  stalled: 'alert-stalled-jobs',
  'no-workers': 'alert-no-live-workers',
  'backlog:reports': 'alert-backlog',
  'backlog:slow': 'alert-backlog',
};

/** Each health alert fires once, repeats in its thread while it lasts, and resolves. */
describe('health alerts', () => {
  let db: TestDb;
  let slack: SlackEmulator;
  let f: Factories;
  let alerter: Alerter;

  beforeAll(async () => {
    db = await createTestDb('v3');
    f = factories(db.worker, 'v3');
    slack = await startEmulator();
    alerter = await startAlerter(db, slack, {
      JOBQ_ALERTS_DISABLED: 'failures',
      JOBQ_ALERT_REPEAT_SECONDS: '1',
      JOBQ_QUEUE_THRESHOLDS: JSON.stringify({ reports: { backlogMaxJobs: 3 }, slow: { backlogMaxAgeSeconds: 60 } }),
    });
  });
  afterAll(async () => {
    await alerter?.stop();
    await slack?.close();
    await db?.drop();
  });

  const alertOf = (key: string) => tagged(slack, CHANNEL, METADATA_TYPE.health, (p) => p.key === key);

  it('fires, repeats and resolves stalled jobs, no live workers and backlog (by count and by age)', async () => {
    // A worker that stopped sending heartbeats two minutes ago, still holding a running job.
    const deadWorker = await f.worker(120);
    const stuck = await f.job({ queue: 'emails', task: 'app.stuck', status: 'doing', workerId: deadWorker });
    // 5 due jobs in "reports" (threshold 3), and one in "slow" waiting for 2 minutes (threshold 60 s).
    const reports = await f.jobs(5, { queue: 'reports', task: 'app.render' });
    const old = await f.job({ queue: 'slow', task: 'app.crawl' });
    await f.age(old, 120);
    // Not a backlog: due later.
    await f.job({ queue: 'later', task: 'app.later', scheduledAt: new Date(Date.now() + 3_600_000) });

    const fired = await slack.waitFor(() => (KEYS.every((k) => alertOf(k).length > 0) ? KEYS.map((k) => alertOf(k)[0]!) : false), 5_000, 'all four alerts');
    const byKey = Object.fromEntries(KEYS.map((k, i) => [k, fired[i]!])) as Record<(typeof KEYS)[number], SlackMessage>;
    expect(blockText(byKey.stalled)).toContain(`#${stuck}`);
    expect(blockText(byKey.stalled)).toContain('heartbeat silent');
    expect(blockText(byKey['no-workers'])).toContain('None of 1 registered workers sent a heartbeat');
    expect(blockText(byKey['backlog:reports'])).toMatch(/\*5\* due \(threshold 3\)/);
    expect(blockText(byKey['backlog:slow'])).toMatch(/Oldest due job waiting \*2m \d+s\* \(threshold 1m 0s\)/);
    for (const key of KEYS) expect(blockText(byKey[key])).toContain(`${RUNBOOK}#${SLUG[key]}`);
    expect(alertOf('backlog:later')).toEqual([]);

    // While it lasts: repeated in the thread at the repeat interval (1 s here), never a new post.
    await slack.waitFor(() => KEYS.every((k) => replies(slack, CHANNEL, byKey[k]).some((m) => m.text.startsWith('Still firing'))), 5_000, 'a repeat of each alert');
    for (const key of KEYS) expect(alertOf(key)).toHaveLength(1);

    // Clear every condition.
    await f.finish(stuck, 'succeeded');
    await f.worker(0);
    await db.worker.query(`UPDATE procrastinate_jobs SET status = 'cancelled' WHERE id = ANY($1::bigint[])`, [[...reports, old]]);

    await slack.waitFor(() => KEYS.every((k) => replies(slack, CHANNEL, alertOf(k)[0]!).some((m) => m.text.startsWith('Resolved after'))), 5_000, 'each alert resolved');
    for (const key of KEYS) {
      const [parent] = alertOf(key);
      expect(parent!.text).toMatch(/^Resolved: /);
      expect(blockText(parent)).toContain(`${RUNBOOK}#${SLUG[key]}`);
      expect(alertOf(key)).toHaveLength(1);
    }
    await until(async () => (await db.worker.query('SELECT key FROM jobq.health_alerts')).rows.length === 0, 2_000, 'no open health alert left');
  });
});
