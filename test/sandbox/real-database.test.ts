import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { testLogger } from '../helpers/log.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/run.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { blockText } from '../helpers/bot.js';

/** With JOB_QUEUE_DATABASE_URL set, the sandbox uses that database, and simulates only when asked. */
describe('the sandbox on your own database', () => {
  let db: TestDb;
  const sandboxes: Sandbox[] = [];
  beforeAll(async () => {
    db = await createTestDb('v3');
  });
  afterAll(async () => {
    for (const s of sandboxes) await s.stop();
    await db?.drop();
  });

  it('uses it instead of the embedded one, without simulating workers', async () => {
    const sandbox = await startSandbox(loadConfig({ JOB_QUEUE_DATABASE_URL: db.url }), testLogger().log, { port: 0 });
    sandboxes.push(sandbox);
    expect(sandbox.embedded).toBe(false);
    expect(sandbox.simulator).toBeNull();
    await db.worker.query(`INSERT INTO procrastinate_jobs (queue_name, task_name) VALUES ('mine', 'app.mine')`);
    await sandbox.emulator.slashCommand({ text: 'stats', userId: 'U_OPERATOR', channelId: 'C_OPS' });
    const reply = await sandbox.emulator.waitFor(() => sandbox.emulator.messages('C_OPS', { visibleTo: 'U_OPERATOR' }).find((m) => blockText(m).includes('Queue stats')), 10_000);
    expect(blockText(reply)).toContain('mine');
    await sandbox.stop();
  });

  it('simulates Procrastinate workers on it when JOBQ_SANDBOX_SIMULATE=true', async () => {
    const sandbox = await startSandbox(
      loadConfig({ JOB_QUEUE_DATABASE_URL: db.url, JOBQ_SANDBOX_SIMULATE: 'true', JOBQ_SANDBOX_JOBS_PER_MINUTE: '1200', JOBQ_SANDBOX_FAILURE_RATE: '0.5' }),
      testLogger().log,
      { port: 0 },
    );
    sandboxes.push(sandbox);
    expect(sandbox.simulator).not.toBeNull();
    await expect.poll(async () => Math.min(sandbox.simulator!.stats().failed, sandbox.simulator!.stats().succeeded), { timeout: 20_000 }).toBeGreaterThan(0);
    const events = await db.worker.query<{ type: string }>(`SELECT DISTINCT type::text AS type FROM procrastinate_events`);
    expect(events.rows.map((r) => r.type)).toEqual(expect.arrayContaining(['deferred', 'started', 'succeeded', 'failed']));
    const workers = await db.worker.query<{ n: string }>(`SELECT count(*) AS n FROM procrastinate_workers`);
    expect(Number(workers.rows[0]!.n)).toBeGreaterThanOrEqual(3);
    await sandbox.stop();
  });
});
