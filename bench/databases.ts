import { escapeIdentifier } from 'pg';
import pg from 'pg';
import { type FixtureShape, fixtureSql } from '../test/helpers/fixtures.js';
import { DEFAULT_ADMIN_URL } from '../test/helpers/postgres.js';

/** The server the benchmark creates its databases on: a role that may CREATE DATABASE. */
let adminUrl = process.env.TEST_DATABASE_URL ?? DEFAULT_ADMIN_URL;

/** Points the benchmark at another server (the test suite's, which may be a throwaway one). */
export function useServer(url: string): void {
  adminUrl = url;
}

export function urlFor(database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const admin = <T>(fn: (client: pg.Client) => Promise<T>) => withClient(adminUrl, fn);

export async function databaseExists(name: string): Promise<boolean> {
  return admin(async (c) => (await c.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name])).rowCount === 1);
}

/** An empty database with Procrastinate's schema of `shape`, as the test fixtures build it. */
export async function createFromFixture(name: string, shape: FixtureShape): Promise<void> {
  await admin((c) => c.query(`CREATE DATABASE ${escapeIdentifier(name)}`));
  await withClient(urlFor(name), (c) => c.query(fixtureSql(shape)));
}

/**
 * An identical copy, file by file: both sides of a comparison start from the same pages. The
 * template must have no open connection.
 */
export async function cloneDatabase(template: string, name: string): Promise<void> {
  // FILE_COPY costs a checkpoint, WAL_LOG writes the whole copy to the WAL: the first for big databases.
  const strategy = (await databaseSize(template)).bytes > 1024 ** 3 ? 'FILE_COPY' : 'WAL_LOG';
  await admin((c) => c.query(`CREATE DATABASE ${escapeIdentifier(name)} TEMPLATE ${escapeIdentifier(template)} STRATEGY ${strategy}`));
}

export async function dropDatabase(name: string): Promise<void> {
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`));
}

export async function databaseSize(name: string): Promise<{ bytes: number; pretty: string }> {
  return admin(async (c) => {
    const row = (await c.query<{ bytes: string; pretty: string }>(`SELECT pg_database_size($1) AS bytes, pg_size_pretty(pg_database_size($1)) AS pretty`, [name])).rows[0]!;
    return { bytes: Number(row.bytes), pretty: row.pretty };
  });
}

/** What the server runs with: the settings a reader needs to compare two runs. */
export async function serverSettings(): Promise<Record<string, string>> {
  return admin(async (c) => {
    const names = [
      'server_version',
      'shared_buffers',
      'work_mem',
      'effective_cache_size',
      'random_page_cost',
      'max_parallel_workers_per_gather',
      'max_wal_size',
      'max_connections',
    ];
    const rows = await c.query<{ name: string; setting: string }>(`SELECT name, current_setting(name) AS setting FROM unnest($1::text[]) AS name`, [names]);
    return Object.fromEntries(rows.rows.map((r) => [r.name, r.setting]));
  });
}
