import { afterAll, describe, expect, it } from 'vitest';
import { detectSchema } from '../src/db/schema.js';
import { JobqError } from '../src/errors.js';
import { createTestDb, type TestDb } from './helpers/db.js';

describe('schema detection', () => {
  const dbs: TestDb[] = [];
  const setup = async (shape: 'v3' | 'v2' | 'empty') => {
    const db = await createTestDb(shape);
    dbs.push(db);
    return db;
  };
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });

  it('names every 3.4+ feature on the latest schema', async () => {
    const db = await setup('v3');
    const schema = await detectSchema(db.pool);
    expect(schema.generation).toBe('3.4+');
    expect(schema.features).toEqual(['v1_functions', 'abort_requested', 'workers', 'batch_defer', 'retry_failed', 'retried_event']);
    expect(schema.serverVersionNum).toBeGreaterThan(100000);
  });

  it('sees a 2.x schema as 2.x with none of the 3.x features', async () => {
    const db = await setup('v2');
    const schema = await detectSchema(db.pool);
    expect(schema.generation).toBe('2.x');
    expect(schema.features).toEqual([]);
  });

  it('tells a 3.0-3.3 schema apart: no retry of failed jobs without procrastinate_retry_job_v2', async () => {
    const db = await setup('v3');
    await db.worker.query('DROP FUNCTION procrastinate_retry_job_v2');
    const schema = await detectSchema(db.pool);
    expect(schema.has('retry_failed')).toBe(false);
    expect(schema.generation).toBe('3.2-3.3');
  });

  it('notices the recommended failed-jobs index', async () => {
    const db = await setup('v3');
    await db.worker.query(`CREATE INDEX jobq_failed_jobs_idx ON procrastinate_jobs (id) WHERE status = 'failed'`);
    expect((await detectSchema(db.pool)).has('failed_index')).toBe(true);
  });

  it('refuses a database without Procrastinate tables with one clear error', async () => {
    const db = await setup('empty');
    const error = await detectSchema(db.pool).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobqError);
    expect((error as JobqError).code).toBe('not_procrastinate');
    expect((error as JobqError).message).toMatch(/not a Procrastinate database/);
  });
});
