import { existsSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPgBouncer, type PgBouncer } from '../helpers/pgbouncer.js';
import { findPgBin, launchThrowawayServer, startStandby, type ThrowawayServer } from '../helpers/postgres.js';
import { makeTestCertificates, startTlsServer, type TestCertificates } from '../helpers/tls-server.js';

/**
 * The infrastructure other tests stand on: a PgBouncer in transaction mode, a streaming standby
 * and a PostgreSQL with TLS, each from this machine's binaries. If these break, the tests that
 * use them would fail for the wrong reason; here they fail for the right one.
 */
const hasPostgres = findPgBin() !== undefined;

async function query<T extends pg.QueryResultRow>(config: string | pg.ClientConfig, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client(typeof config === 'string' ? { connectionString: config } : config);
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

async function eventually<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(!hasPostgres)('throwaway infrastructure', () => {
  let primary: ThrowawayServer;
  beforeAll(() => {
    primary = launchThrowawayServer();
  });
  afterAll(() => primary?.stop());

  describe('pgbouncer in transaction mode', () => {
    let bouncer: PgBouncer;
    beforeAll(async () => {
      bouncer = await startPgBouncer({ target: primary.url, poolMode: 'transaction' });
    });
    afterAll(() => bouncer?.stop());

    it('answers queries, and pools in transaction mode', async () => {
      const rows = await query<{ answer: number }>(bouncer.url(), 'SELECT 41 + 1 AS answer');
      expect(rows).toEqual([{ answer: 42 }]);
      const admin = await query<{ key: string; value: string }>(bouncer.url('pgbouncer'), 'SHOW CONFIG');
      expect(admin.find((row) => row.key === 'pool_mode')?.value).toBe('transaction');
    });

    it('refuses a client that sends statement_timeout as a startup parameter', async () => {
      const client = new pg.Client({ connectionString: bouncer.url(), statement_timeout: 5_000 });
      await expect(client.connect()).rejects.toThrow(/unsupported startup parameter: statement_timeout/);
      await client.end().catch(() => undefined);
    });

    it('stops, and then nothing answers on its port', async () => {
      const other = await startPgBouncer({ target: primary.url });
      expect(await query(other.url(), 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
      await other.stop();
      await expect(query(other.url(), 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
    });
  });

  describe('a streaming standby', () => {
    let standby: ThrowawayServer;
    beforeAll(() => {
      standby = startStandby(primary);
    });
    afterAll(() => standby?.stop());

    it('is in recovery and follows the primary', async () => {
      expect(await query(standby.url, 'SELECT pg_is_in_recovery() AS recovering')).toEqual([{ recovering: true }]);
      expect(await query(primary.url, 'SELECT pg_is_in_recovery() AS recovering')).toEqual([{ recovering: false }]);
      const marker = `row-${Date.now()}`;
      await query(primary.url, 'CREATE TABLE IF NOT EXISTS harness_marks (mark text)');
      await query(primary.url, 'INSERT INTO harness_marks VALUES ($1)', [marker]);
      const seen = await eventually(
        'the row on the standby',
        () =>
          query<{ n: number }>(standby.url, `SELECT count(*)::int AS n FROM pg_class WHERE relname = 'harness_marks'`).then(async ([row]) =>
            row!.n === 0 ? [] : query<{ mark: string }>(standby.url, 'SELECT mark FROM harness_marks'),
          ),
        (rows) => rows.length > 0,
      );
      expect(seen).toEqual([{ mark: marker }]);
      const replicas = await query<{ state: string }>(primary.url, 'SELECT state FROM pg_stat_replication');
      expect(replicas).toEqual([{ state: 'streaming' }]);
    });

    it('refuses writes', async () => {
      await expect(query(standby.url, 'CREATE TABLE nope (x int)')).rejects.toThrow(/read-only transaction/);
    });
  });

  describe('a PostgreSQL with TLS', () => {
    let certs: TestCertificates;
    let server: ThrowawayServer;
    beforeAll(() => {
      certs = makeTestCertificates();
      server = startTlsServer(certs, 'tls-only');
    });
    afterAll(() => {
      server?.stop();
      certs?.remove();
    });

    it('made its certificate files', () => {
      for (const file of [certs.caFile, certs.otherCaFile, certs.serverCert, certs.clientCert, certs.clientKey, certs.clientKeyEncrypted]) {
        expect(existsSync(file)).toBe(true);
      }
    });

    it('speaks TLS and refuses plain connections', async () => {
      const rows = await query<{ ssl: boolean }>(
        { host: '127.0.0.1', port: server.port, user: 'postgres', database: 'postgres', ssl: { rejectUnauthorized: false } },
        'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      );
      expect(rows).toEqual([{ ssl: true }]);
      await expect(query({ host: '127.0.0.1', port: server.port, user: 'postgres', database: 'postgres', ssl: false }, 'SELECT 1')).rejects.toThrow(
        /no pg_hba.conf entry .* no encryption/,
      );
    });
  });
});
