import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate } from '../../src/db/migrations.js';
import { dbFromUrl } from '../../src/db/connect.js';
import { JobqError } from '../../src/errors.js';
import { admin, createTestDb, type TestDb } from '../helpers/db.js';

describe('jobq schema migrations', () => {
  const dbs: TestDb[] = [];
  const roles: string[] = [];
  const setup = async () => {
    const db = await createTestDb('v3');
    dbs.push(db);
    return db;
  };
  afterAll(async () => {
    for (const db of dbs) await db.drop();
    await admin(async (c) => {
      for (const role of roles) await c.query(`DROP ROLE IF EXISTS ${role}`);
    });
  });

  /** A login role with no privilege beyond what PUBLIC has (no CREATE on the database). */
  const restrictedRole = async (db: TestDb) => {
    const role = `jobq_restricted_${randomBytes(4).toString('hex')}`;
    roles.push(role);
    await db.worker.query(`CREATE ROLE ${role} LOGIN`);
    await db.worker.query(`GRANT SELECT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`);
    const url = new URL(db.url);
    url.username = role;
    const pool = dbFromUrl({ url: url.toString(), statementTimeoutMs: 5_000, lockTimeoutMs: 1_000, max: 2 });
    return { role, pool };
  };

  const procrastinateCatalog = async (db: TestDb) =>
    (
      await db.worker.query<{ d: string }>(
        `SELECT string_agg(c.relname || ':' || a.attname || ':' || format_type(a.atttypid, a.atttypmod), ',' ORDER BY c.relname, a.attnum) AS d
         FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         WHERE c.relname LIKE 'procrastinate%'`,
      )
    ).rows[0]!.d;

  it('creates the jobq schema once; a second run applies nothing', async () => {
    const db = await setup();
    const before = await procrastinateCatalog(db);
    const first = await migrate(db.pool);
    expect(first.applied).toEqual(MIGRATIONS.map((m) => m.version));
    const second = await migrate(db.pool);
    expect(second).toEqual({ applied: [], current: first.current });
    const versions = await db.worker.query<{ version: number }>('SELECT version FROM jobq.schema_migrations ORDER BY version');
    expect(versions.rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await procrastinateCatalog(db)).toBe(before);
  });

  it('two instances migrating at once both succeed and apply each migration once', async () => {
    const db = await setup();
    const other = dbFromUrl({ url: db.url, statementTimeoutMs: 5_000, lockTimeoutMs: 1_000, max: 2 });
    try {
      const [a, b] = await Promise.all([migrate(db.pool), migrate(other)]);
      expect([...a.applied, ...b.applied].sort()).toEqual(MIGRATIONS.map((m) => m.version));
      expect(a.current).toBe(b.current);
      const count = await db.worker.query<{ n: number }>('SELECT count(*)::int AS n FROM jobq.schema_migrations');
      expect(count.rows[0]!.n).toBe(MIGRATIONS.length);
    } finally {
      await other.end();
    }
  });

  it('tells a role without CREATE on the database what to grant', async () => {
    const db = await setup();
    const { role, pool } = await restrictedRole(db);
    try {
      const error = await migrate(pool).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JobqError);
      const err = error as JobqError;
      expect(err.code).toBe('db_permission');
      expect(err.message).toContain(`role ${role} may not create jobq's own schema`);
      expect(err.hint).toContain(`GRANT CREATE ON DATABASE ${db.name} TO ${role};`);
      expect(err.hint).toContain(`CREATE SCHEMA jobq AUTHORIZATION ${role}`);
      const schema = await db.worker.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'jobq'`);
      expect(schema.rowCount).toBe(0);
    } finally {
      await pool.end();
    }
  });

  it('works for that role once an admin created the schema for it, and needs no CREATE afterwards', async () => {
    const db = await setup();
    const { role, pool } = await restrictedRole(db);
    try {
      await db.worker.query(`CREATE SCHEMA jobq AUTHORIZATION ${role}`);
      expect((await migrate(pool)).applied).toEqual(MIGRATIONS.map((m) => m.version));
      expect((await migrate(pool)).applied).toEqual([]);
    } finally {
      await pool.end();
    }
  });

  it('says which grant is missing when the schema exists but belongs to someone else', async () => {
    const db = await setup();
    const { role, pool } = await restrictedRole(db);
    try {
      await db.worker.query('CREATE SCHEMA jobq');
      const error = (await migrate(pool).catch((e: unknown) => e)) as JobqError;
      expect(error.code).toBe('db_permission');
      expect(error.hint).toContain(`GRANT USAGE, CREATE ON SCHEMA jobq TO ${role};`);
    } finally {
      await pool.end();
    }
  });
});
