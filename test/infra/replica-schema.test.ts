import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { startTestBot, type BotBundle } from '../helpers/bot.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { factories } from '../helpers/factories.js';
import { fixtureSql } from '../helpers/fixtures.js';
import { startPgBouncer, type PgBouncer } from '../helpers/pgbouncer.js';
import { launchThrowawayServer, startStandby, type ThrowawayServer } from '../helpers/postgres.js';
import { finalAnswer, rawCommand } from '../helpers/slack-requests.js';

async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

const withDatabase = (url: string, database: string) => {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
};

async function cli(argv: string[], env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t), env, interactive: false, ask: async () => '' });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Heavy reads on a real streaming standby: routed there while it is current, back to the primary when it is not. */
describe('reads from a hot standby', () => {
  let primary: ThrowawayServer;
  let standby: ThrowawayServer;
  let primaryUrl: string;
  let standbyUrl: string;

  beforeAll(async () => {
    primary = launchThrowawayServer();
    await sql(primary.url, 'CREATE DATABASE app');
    primaryUrl = withDatabase(primary.url, 'app');
    await sql(primaryUrl, fixtureSql('v3'));
    const writer = new pg.Pool({ connectionString: primaryUrl, max: 2 });
    await factories(writer, 'v3').jobs(2, { queue: 'replicated', status: 'failed' });
    standby = startStandby(primary);
    // One more after the standby started, so it has replayed a transaction and can tell its lag.
    await factories(writer, 'v3').job({ queue: 'replicated', status: 'failed' });
    await writer.end();
    standbyUrl = withDatabase(standby.url, 'app');
    // The standby has the jobs once it replayed them.
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const rows = await sql<{ n: number }>(standbyUrl, `SELECT count(*)::int AS n FROM procrastinate_jobs`).catch(() => [{ n: 0 }]);
      if (rows[0]!.n === 3) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 60_000);
  afterAll(() => {
    standby?.stop();
    primary?.stop();
  });

  const env = () => ({ JOB_QUEUE_DATABASE_URL: primaryUrl, JOB_QUEUE_READ_DATABASE_URL: standbyUrl, JOBQ_READ_MAX_LAG_SECONDS: '2' });

  it('serves stats and failed from the replica, says so with its lag, and doctor reports it', async () => {
    const stats = await cli(['stats', '--json'], env());
    expect(stats.code).toBe(0);
    const json = JSON.parse(stats.out);
    expect(json.source.kind).toBe('replica');
    expect(json.source.lagSeconds).toBeLessThan(2);
    const text = await cli(['failed'], env());
    expect(text.out).toMatch(/Read from the replica, .* behind the primary\./);
    const doctor = JSON.parse((await cli(['doctor', '--json'], env())).out);
    expect(doctor.connection.replica).toMatchObject({ reachable: true, inRecovery: true, usable: true });
    // Changes never go to the replica.
    const id = (await sql<{ id: number }>(primaryUrl, `SELECT id FROM procrastinate_jobs WHERE status = 'failed' LIMIT 1`))[0]!.id;
    expect((await cli(['retry', String(id)], env())).code).toBe(0);
    expect((await sql<{ status: string }>(primaryUrl, 'SELECT status::text FROM procrastinate_jobs WHERE id = $1', [id]))[0]!.status).toBe('todo');
  });

  it('falls back to the primary when the replica is too far behind, and says why', async () => {
    await sql(standbyUrl, 'SELECT pg_wal_replay_pause()');
    try {
      // The primary moves on; the paused standby's last replayed transaction gets older.
      await sql(primaryUrl, `INSERT INTO procrastinate_jobs (queue_name, task_name) VALUES ('replicated', 'later')`);
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const stats = JSON.parse((await cli(['stats', '--json'], env())).out);
      expect(stats.source.kind).toBe('primary');
      expect(stats.source.fallback).toMatch(/behind \(JOBQ_READ_MAX_LAG_SECONDS=2\)/);
      expect(stats.queues.find((q: { name: string }) => q.name === 'replicated').counts.todo).toBeGreaterThanOrEqual(1);
    } finally {
      await sql(standbyUrl, 'SELECT pg_wal_replay_resume()');
    }
    const deadline = Date.now() + 10_000;
    let kind = 'primary';
    while (kind !== 'replica' && Date.now() < deadline) {
      kind = JSON.parse((await cli(['stats', '--json'], env())).out).source.kind;
      if (kind !== 'replica') await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(kind).toBe('replica');
  });

  it('falls back to the primary when the replica is down', async () => {
    const stats = JSON.parse((await cli(['stats', '--json'], { ...env(), JOB_QUEUE_READ_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/app' })).out);
    expect(stats.source).toMatchObject({ kind: 'primary' });
    expect(stats.source.fallback).toMatch(/cannot be reached/);
  });

  it('refuses a standby given as the primary: changes need the primary', async () => {
    const doctor = await cli(['doctor', '--json'], { JOB_QUEUE_DATABASE_URL: standbyUrl });
    expect(doctor.code).toBe(1);
    expect(JSON.parse(doctor.out).problems.join(' ')).toContain('points at a hot standby');
  });
});

/** Procrastinate in its own schema, reached by name through a pooler that drops any search_path in the URL. */
describe('Procrastinate in schema `jobs`', () => {
  let db: TestDb;
  let bouncer: PgBouncer;
  let url: string;
  let b: BotBundle | undefined;

  beforeAll(async () => {
    db = await createTestDb('empty');
    await db.worker.query('CREATE SCHEMA jobs');
    await db.worker.query(`SET search_path = jobs; ${fixtureSql('v3')}; SET search_path = "$user", public`);
    bouncer = await startPgBouncer({ target: db.url, poolMode: 'transaction' });
    url = bouncer.url(db.name);
  });
  afterAll(async () => {
    await b?.close();
    await bouncer?.stop();
    await db?.drop();
  });

  it('is not found without JOB_QUEUE_SCHEMA, and the error says what to set', async () => {
    const result = await cli(['stats'], { JOB_QUEUE_DATABASE_URL: url });
    expect(result.code).toBe(1);
    expect(result.err).toContain('procrastinate_jobs exists in: jobs');
    expect(result.err).toContain('JOB_QUEUE_SCHEMA=jobs');
  });

  it("works with JOB_QUEUE_SCHEMA=jobs: reads, Procrastinate's own functions and triggers, doctor", async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 2, options: '-c search_path=jobs' });
    try {
      const id = await factories(pool, 'v3').job({ queue: 'in-jobs', status: 'failed' });
      const env = { JOB_QUEUE_DATABASE_URL: url, JOB_QUEUE_SCHEMA: 'jobs' };
      const stats = await cli(['stats', '--json'], env);
      expect(stats.code).toBe(0);
      expect(JSON.parse(stats.out).queues.map((q: { name: string }) => q.name)).toEqual(['in-jobs']);
      // retry calls procrastinate_retry_job_v2, whose body and triggers name tables unqualified.
      expect((await cli(['retry', String(id)], env)).code).toBe(0);
      const events = await pool.query<{ type: string }>('SELECT type::text FROM procrastinate_events WHERE job_id = $1 ORDER BY id', [id]);
      expect(events.rows.map((r) => r.type).at(-1)).toBe('retried');
      const doctor = JSON.parse((await cli(['doctor', '--json'], env)).out);
      expect(doctor.procrastinate).toMatchObject({ found: true, schema: 'jobs', foundBy: 'JOB_QUEUE_SCHEMA' });

      b = await startTestBot({ url } as TestDb, { JOB_QUEUE_SCHEMA: 'jobs' });
      const request = rawCommand(b.slack, 'stats');
      await b.slack.sendRaw(request.body, request.headers);
      expect(await finalAnswer(b.slack, request.responseUrl!)).toContain('in-jobs');
    } finally {
      await pool.end();
    }
  });

  it('names the schema when JOB_QUEUE_SCHEMA is wrong', async () => {
    const result = await cli(['stats'], { JOB_QUEUE_DATABASE_URL: url, JOB_QUEUE_SCHEMA: 'nope' });
    expect(result.code).toBe(1);
    expect(result.err).toContain('JOB_QUEUE_SCHEMA=nope, but that schema has no Procrastinate tables');
  });
});
