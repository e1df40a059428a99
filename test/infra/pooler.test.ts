import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METADATA_TYPE } from '../../src/alerts/poster.js';
import { main } from '../../src/cli.js';
import type { SlackEmulator } from '../../src/emulator/web-api.js';
import { failuresIn, startAlerter, startEmulator, tagged, until, type Alerter } from '../alerts/harness.js';
import { startTestBot, type BotBundle } from '../helpers/bot.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { factories, type Factories } from '../helpers/factories.js';
import { startPgBouncer, type PgBouncer } from '../helpers/pgbouncer.js';
import { finalAnswer, rawCommand } from '../helpers/slack-requests.js';

/**
 * jobq through a real PgBouncer in transaction mode, where consecutive transactions may run on
 * different server connections and startup parameters are refused: reads, changes with their
 * lock timeout holding, the alert tail, and several replicas electing one leader.
 */
describe('through PgBouncer in transaction mode', () => {
  let db: TestDb;
  let f: Factories;
  let bouncer: PgBouncer;
  let url: string;

  beforeAll(async () => {
    db = await createTestDb('v3');
    f = factories(db.worker, 'v3');
    // A small server pool: transactions of different clients share the same two server connections.
    bouncer = await startPgBouncer({ target: db.url, poolMode: 'transaction', defaultPoolSize: 2 });
    url = bouncer.url(db.name);
  });
  afterAll(async () => {
    await bouncer?.stop();
    await db?.drop();
  });

  const cli = async (argv: string[], env: Record<string, string> = {}) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, {
      out: (t) => out.push(t),
      err: (t) => err.push(t),
      env: { JOB_QUEUE_DATABASE_URL: url, JOBQ_LOCK_TIMEOUT_MS: '500', ...env },
      interactive: false,
      ask: async () => '',
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it('reads and changes from the CLI', async () => {
    const failed = await f.job({ queue: 'pooled', status: 'failed' });
    const stats = await cli(['stats', '--json']);
    expect(stats.err).toBe('');
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.out).queues.map((q: { name: string }) => q.name)).toContain('pooled');
    const retried = await cli(['retry', String(failed)]);
    expect(retried.code).toBe(0);
    expect(await f.status(failed)).toBe('todo');
    const doctor = await cli(['doctor', '--json']);
    const report = JSON.parse(doctor.out);
    expect(report.connection.pooler).toMatch(new RegExp(`port ${bouncer.port} while the server listens on`));
  });

  it('refuses a change to a row a worker holds within the lock timeout: SET LOCAL holds through the pooler', async () => {
    const id = await f.job({ queue: 'pooled', status: 'failed' });
    const worker = await db.worker.connect();
    try {
      await worker.query('BEGIN');
      await worker.query('SELECT id FROM procrastinate_jobs WHERE id = $1 FOR UPDATE', [id]);
      const started = Date.now();
      const result = await cli(['retry', String(id)]);
      const took = Date.now() - started;
      expect(result.code).toBe(1);
      expect(result.err).toMatch(/waited too long for a lock|locked/);
      // 500 ms of lock timeout, and never the 5 s statement timeout or an endless wait.
      expect(took).toBeLessThan(3_000);
    } finally {
      await worker.query('ROLLBACK');
      worker.release();
    }
    expect(await f.status(id)).toBe('failed');
  });

  it('answers slash commands and clicks through the pooler', async () => {
    const b: BotBundle = await startTestBot({ url } as TestDb);
    try {
      await f.job({ queue: 'pooled-slack', status: 'failed' });
      const request = rawCommand(b.slack, 'failed --queue pooled-slack');
      await b.slack.sendRaw(request.body, request.headers);
      expect(await finalAnswer(b.slack, request.responseUrl!)).toContain('pooled-slack');
      const mute = rawCommand(b.slack, 'mute pooled-slack 1h pooler test');
      await b.slack.sendRaw(mute.body, mute.headers);
      expect(await finalAnswer(b.slack, mute.responseUrl!)).toMatch(/[Mm]uted/);
    } finally {
      await b.close();
    }
  });

  describe.each([2, 3])('%i replicas', (count) => {
    let slack: SlackEmulator;
    let replicas: Alerter[] = [];
    beforeAll(async () => {
      slack = await startEmulator();
    });
    afterAll(async () => {
      await Promise.all(replicas.map((r) => r.stop()));
      await slack?.close();
    });
    const leaders = () => replicas.filter((r) => r.alerts.isLeader());

    it('elect exactly one leader that alerts each failure once, and fail over when it stops', async () => {
      replicas = await Promise.all(Array.from({ length: count }, () => startAlerter(db, slack, { JOB_QUEUE_DATABASE_URL: url })));
      const first = await until(async () => (leaders().length === 1 ? leaders()[0] : undefined), 5_000, 'exactly one leader');
      // Sample leadership for a while: through the pooler a session lock would let every replica lead.
      for (let i = 0; i < 20; i++) {
        expect(leaders().length).toBeLessThanOrEqual(1);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const task = `app.pooled_${count}`;
      await f.jobs(3, { queue: 'emails', task, status: 'failed' });
      const alertsFor = () => tagged(slack, 'C_ALERTS', METADATA_TYPE.failure, (p) => p.task === task);
      await slack.waitFor(() => alertsFor().length === 1 && failuresIn(alertsFor()[0]!) === 3, 10_000, 'one alert with 3 failures');

      const stoppedAt = Date.now();
      await first.stop();
      replicas = replicas.filter((r) => r !== first);
      const next = await until(async () => (leaders().length === 1 ? leaders()[0] : undefined), 5_000, 'a new leader');
      console.log(`through PgBouncer, ${count} replicas: failover after a clean stop took ${Date.now() - stoppedAt} ms`);
      expect(next).not.toBe(first);
      await f.job({ queue: 'emails', task, status: 'failed' });
      await slack.waitFor(() => failuresIn(alertsFor()[0]!) === 4, 10_000, 'the alert updated by the new leader');
      expect(alertsFor()).toHaveLength(1);
    });
  });
});
