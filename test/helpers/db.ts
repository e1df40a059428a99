import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, inject } from 'vitest';
import { dbFromUrl } from '../../src/db/connect.js';
import type { Db } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrations.js';
import { detectSchema, type SchemaInfo } from '../../src/db/schema.js';
import { DEFAULT_SETTINGS, type QueueContext, type QueueSettings } from '../../src/queue/context.js';
import { factories } from './factories.js';
import { testLogger } from './log.js';
import { type FixtureShape, templateName } from './fixtures.js';

export interface TestDb {
  name: string;
  url: string;
  /** The database as jobq opens its own (every statement in a transaction with jobq's limits). */
  pool: Db;
  /** A separate plain pool playing Procrastinate's side (workers, fixtures). */
  worker: pg.Pool;
  drop(): Promise<void>;
}

export function adminUrl(): string {
  return inject('adminUrl');
}

export function urlFor(database: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${database}`;
  return url.toString();
}

/** Runs `fn` on a short-lived connection to the server's admin database (CREATE/DROP DATABASE, roles). */
export async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh database cloned from a fixture template (or empty, for "not Procrastinate" tests). */
export async function createTestDb(shape: FixtureShape | 'empty', options: { statementTimeoutMs?: number } = {}): Promise<TestDb> {
  const name = `jobq_test_${shape}_${randomBytes(5).toString('hex')}`;
  await admin((c) => c.query(shape === 'empty' ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} TEMPLATE ${templateName(shape, inject('runId'))}`));
  const url = urlFor(name);
  const pool = dbFromUrl({ url: url, statementTimeoutMs: options.statementTimeoutMs ?? 10_000, lockTimeoutMs: 1_000, max: 5 });
  const worker = new pg.Pool({ connectionString: url, max: 8, application_name: 'procrastinate-test-worker' });
  // DROP DATABASE ... WITH (FORCE) ends connections still closing; that is expected, not a failure.
  worker.on('error', () => undefined);
  return {
    name,
    url,
    pool,
    worker,
    async drop() {
      await pool.end();
      await worker.end();
      // Keep a failed test's database for inspection: set JOBQ_KEEP_TEST_DBS=1.
      if (!process.env.JOBQ_KEEP_TEST_DBS) await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** A queue context over a test database, with the schema detected as in production. */
export async function queueContext(db: TestDb, settings: Partial<QueueSettings> = {}): Promise<QueueContext & { schema: SchemaInfo }> {
  const schema = await detectSchema(db.pool);
  return { db: db.pool, schema, settings: { ...DEFAULT_SETTINGS, ...settings }, log: testLogger().log };
}

/** Polls (with a deadline) until one of jobq's statements waits for a row lock held elsewhere. */
export async function jobqWaitsForLock(db: TestDb): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const row = await db.worker.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'jobq' AND wait_event_type = 'Lock'`,
    );
    if (row.rows[0]!.n > 0) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('jobq never waited for the row lock');
}

/**
 * One fresh database of `shape` per test: call the returned `setup()` at the start of a test for
 * the database, its factories and a queue context; it is dropped after the test.
 */
export function useFixtureDb(shape: FixtureShape) {
  let db: TestDb | undefined;
  afterEach(async () => {
    await db?.drop();
    db = undefined;
  });
  return async () => {
    db = await createTestDb(shape);
    return { db, f: factories(db.worker, shape), ctx: await queueContext(db) };
  };
}

/**
 * Fresh databases of `shape` with jobq's own schema migrated, for the tests that change the queue:
 * `setup()` gives one, with its factories and a queue context over `defaults` then `settings`
 * (`{ migrated: false }` leaves jobq's schema out); all are dropped after the block's tests.
 */
export function useMigratedDbs(shape: FixtureShape, defaults: Partial<QueueSettings> = {}) {
  const dbs: TestDb[] = [];
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });
  return async (settings: Partial<QueueSettings> = {}, options: { migrated?: boolean } = {}) => {
    const db = await createTestDb(shape);
    dbs.push(db);
    if (options.migrated ?? true) await migrate(db.pool);
    return { db, ctx: await queueContext(db, { ...defaults, ...settings }), f: factories(db.worker, shape) };
  };
}
