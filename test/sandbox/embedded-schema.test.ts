import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/sandbox/embedded-postgres.js';
import { startSimulator } from '../../src/sandbox/simulator.js';
import { testLogger } from '../helpers/log.js';

/** The sandbox's own database is a Procrastinate 3.10 one, after its post-migration. */
describe('the embedded PostgreSQL', () => {
  let embedded: EmbeddedPostgres;
  let client: pg.Client;
  beforeAll(async () => {
    embedded = await startEmbeddedPostgres();
    client = new pg.Client({ connectionString: embedded.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await embedded?.stop();
  });

  it('has the 3.10 schema: paused queues, lock modes, deferred_at, and only the new worker functions', async () => {
    expect(embedded.fresh).toBe(true);
    const catalog = await client.query<{ paused: boolean; lock_mode: boolean; deferred_at: boolean; functions: string[] }>(`
      SELECT to_regclass('procrastinate_paused_queues') IS NOT NULL AS paused,
             EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'procrastinate_jobs' AND column_name = 'lock_mode') AS lock_mode,
             EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'procrastinate_jobs' AND column_name = 'deferred_at') AS deferred_at,
             array(SELECT proname::text FROM pg_proc WHERE proname ~ '^procrastinate_(fetch_job|defer_jobs|defer_periodic_job)_v' ORDER BY 1) AS functions`);
    expect(catalog.rows[0]).toEqual({
      paused: true,
      lock_mode: true,
      deferred_at: true,
      functions: ['procrastinate_defer_jobs_v2', 'procrastinate_defer_periodic_job_v3', 'procrastinate_fetch_job_v3'],
    });
  });

  it('runs the simulator with the 3.10 calls', async () => {
    const simulator = await startSimulator({ url: embedded.url, jobsPerMinute: 6_000, failureRate: 0, chaosEverySeconds: 0, tickMs: 100, log: testLogger().log });
    try {
      expect(simulator.calls).toMatchObject({ defer: 'procrastinate_defer_jobs_v2', fetch: 'procrastinate_fetch_job_v3' });
      await expect.poll(() => simulator.stats().succeeded, { timeout: 20_000 }).toBeGreaterThan(0);
    } finally {
      await simulator.stop();
    }
  });
});
