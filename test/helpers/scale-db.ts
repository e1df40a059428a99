import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { dbFromUrl } from '../../src/db/connect.js';
import { admin, type TestDb, urlFor } from './db.js';
import { templateName } from './fixtures.js';
import { generateJobs } from './generate.js';

/**
 * A 3.x database holding `jobs` generated jobs (test/helpers/generate.ts), for the scale suites.
 * The table is generated once per run, by whichever test file asks first (the others wait on an
 * advisory lock), into a template; each file then gets its own copy, since some of them change
 * it (purges). A copy is a file copy of the template: seconds, where generating 1M jobs takes a
 * minute or more on this machine.
 */
export async function createScaleDb(jobs: number): Promise<TestDb & { generatedMs: number | null }> {
  const runId = inject('runId');
  const template = templateName('v3', runId).replace('jobq_template_v3_', `jobq_template_scale${jobs}_`);
  let generatedMs: number | null = null;
  await admin(async (c) => {
    await c.query('SELECT pg_advisory_lock(hashtext($1))', [template]);
    try {
      if ((await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [template])).rowCount) return;
      const building = `${template}_building`;
      await c.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
      await c.query(`CREATE DATABASE ${building} TEMPLATE ${templateName('v3', runId)}`);
      const pool = new pg.Pool({ connectionString: urlFor(building), max: 4 });
      const started = performance.now();
      try {
        await generateJobs(pool, { jobs });
      } finally {
        await pool.end();
      }
      generatedMs = Math.round(performance.now() - started);
      await c.query(`ALTER DATABASE ${building} RENAME TO ${template}`);
    } finally {
      await c.query('SELECT pg_advisory_unlock(hashtext($1))', [template]);
    }
  });
  const name = `jobq_test_scale_${randomBytes(5).toString('hex')}`;
  // FILE_COPY: copy the files and checkpoint, instead of writing every page of a large database to WAL.
  await admin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template} STRATEGY FILE_COPY`));
  const url = urlFor(name);
  const pool = dbFromUrl({ url, statementTimeoutMs: 10_000, lockTimeoutMs: 1_000, max: 5 });
  const worker = new pg.Pool({ connectionString: url, max: 8, application_name: 'procrastinate-test-worker' });
  worker.on('error', () => undefined);
  return {
    name,
    url,
    pool,
    worker,
    generatedMs,
    async drop() {
      await pool.end();
      await worker.end();
      if (!process.env.JOBQ_KEEP_TEST_DBS) await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
