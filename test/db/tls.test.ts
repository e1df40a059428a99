import { mkdirSync, mkdtempSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JobqError } from '../../src/errors.js';
import { connectClient, connectionSettings, tlsFailure, TlsNegotiator, tlsNegotiatingClient, type ConnectionSettings } from '../../src/db/tls.js';
import { findPgBin, launchThrowawayServer, type ThrowawayServer } from '../helpers/postgres.js';
import { CERT_USER, CLIENT_KEY_PASSWORD, makeTestCertificates, startTlsServer, type TestCertificates } from '../helpers/tls-server.js';

/**
 * sslmode as libpq means it, against real servers: one that speaks only TLS (pg_hba.conf
 * hostssl), one that takes either, one with TLS on that refuses it (hostnossl), and one without
 * TLS. Each mode is checked through a single client and through a pg.Pool, and nothing about
 * SSL or TLS may be printed on the way.
 */

const SSL_IN_USE = 'SELECT ssl, current_user AS "user" FROM pg_stat_ssl WHERE pid = pg_backend_pid()';
type Session = { ssl: boolean; user: string };

let certs: TestCertificates;
let tlsOnly: ThrowawayServer;
let tlsOrPlain: ThrowawayServer;
let plainOnly: ThrowawayServer;
let noTls: ThrowawayServer;
let home: string;
/** A clean environment: no PGSSL* variables and a HOME without ~/.postgresql. */
let env: NodeJS.ProcessEnv;

function url(server: ThrowawayServer, params: Record<string, string> = {}, host = '127.0.0.1', user = 'postgres'): string {
  const query = new URLSearchParams(params).toString();
  return `postgres://${user}@${host}:${server.port}/postgres${query ? `?${query}` : ''}`;
}

/** The session a single client gets, through connectClient. */
async function viaClient(settings: ConnectionSettings): Promise<Session> {
  const client = await connectClient(settings, { connectionTimeoutMillis: 5_000 });
  try {
    return (await client.query<Session>(SSL_IN_USE)).rows[0]!;
  } finally {
    await client.end();
  }
}

/**
 * The sessions a pool gets: three first uses at once (all may fail on the first choice and must
 * all be retried), then two more connections that must use what the negotiator learned.
 */
async function viaPool(settings: ConnectionSettings): Promise<Session> {
  const negotiator = new TlsNegotiator(settings.tls);
  const pool = new pg.Pool({ ...settings.config, max: 5, connectionTimeoutMillis: 5_000, Client: tlsNegotiatingClient(negotiator) });
  pool.on('error', () => undefined);
  try {
    const first = await Promise.all([1, 2, 3].map(() => negotiator.retrying(() => pool.query<Session>(SSL_IN_USE)))).catch((error: unknown) => {
      throw tlsFailure(error, settings.tls) ?? error;
    });
    const held = await Promise.all([pool.connect(), pool.connect(), pool.connect(), pool.connect()]);
    const later = await Promise.all(held.map((client) => client.query<Session>(SSL_IN_USE)));
    for (const client of held) client.release();
    const sessions = [...first, ...later].map((result) => result.rows[0]!);
    expect(new Set(sessions.map((s) => JSON.stringify(s))).size).toBe(1);
    return sessions[0]!;
  } finally {
    await pool.end();
  }
}

const paths = [
  ['a single client', viaClient],
  ['a pool', viaPool],
] as const;

/** Whatever a failed connection throws, as the user would see it. */
async function failure(attempt: Promise<unknown>): Promise<JobqError> {
  const error = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the connection should have failed').toBeInstanceOf(JobqError);
  return error as JobqError;
}

// Everything Node or pg prints about SSL or TLS, captured for the whole file.
const printed: string[] = [];
const onWarning = (warning: Error) => printed.push(`${warning.name}: ${warning.message}`);
const realStderrWrite = process.stderr.write.bind(process.stderr);

beforeAll(() => {
  process.on('warning', onWarning);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    printed.push(String(chunk));
    return realStderrWrite(chunk, ...rest);
  }) as typeof process.stderr.write;
  certs = makeTestCertificates();
  tlsOnly = startTlsServer(certs, 'tls-only');
  tlsOrPlain = startTlsServer(certs, 'tls-or-plain');
  plainOnly = startTlsServer(certs, 'plain-only');
  noTls = launchThrowawayServer();
  home = mkdtempSync(join(tmpdir(), 'jobq-home-'));
  env = { HOME: home };
});

afterAll(() => {
  process.off('warning', onWarning);
  process.stderr.write = realStderrWrite;
  for (const server of [tlsOnly, tlsOrPlain, plainOnly, noTls]) server?.stop();
  certs?.remove();
  rmSync(home, { recursive: true, force: true });
});

let printedBefore = 0;
beforeEach(() => {
  printedBefore = printed.length;
});
afterEach(() => {
  expect(printed.slice(printedBefore).filter((line) => /ssl|tls|security|certificate/i.test(line))).toEqual([]);
});

describe.skipIf(!findPgBin())('sslmode with libpq semantics', () => {
  describe.each(paths)('through %s', (_name, connect) => {
    it('disable: plain; a hostssl-only server refuses it with a readable error', async () => {
      expect(await connect(connectionSettings(url(tlsOrPlain, { sslmode: 'disable' }), env))).toEqual({ ssl: false, user: 'postgres' });
      const error = await failure(connect(connectionSettings(url(tlsOnly, { sslmode: 'disable' }), env)));
      expect(error.message).toBe('The server accepts only TLS connections from here (pg_hba.conf hostssl), and sslmode=disable connected without TLS.');
      expect(error.hint).toMatch(/sslmode=verify-full/);
      expect(error.runbookSection).toBe('database-tls');
    });

    it('allow: plain where the server takes it, TLS where pg_hba.conf wants it', async () => {
      expect(await connect(connectionSettings(url(tlsOrPlain, { sslmode: 'allow' }), env))).toEqual({ ssl: false, user: 'postgres' });
      expect(await connect(connectionSettings(url(tlsOnly, { sslmode: 'allow' }), env))).toEqual({ ssl: true, user: 'postgres' });
    });

    it('prefer (and no sslmode at all): TLS where offered, plain from a server without TLS or refusing it', async () => {
      expect(await connect(connectionSettings(url(tlsOnly, { sslmode: 'prefer' }), env))).toEqual({ ssl: true, user: 'postgres' });
      expect(await connect(connectionSettings(url(tlsOrPlain), env))).toEqual({ ssl: true, user: 'postgres' });
      expect(await connect(connectionSettings(url(noTls, { sslmode: 'prefer' }), env))).toEqual({ ssl: false, user: 'postgres' });
      expect(await connect(connectionSettings(url(noTls), env))).toEqual({ ssl: false, user: 'postgres' });
      expect(await connect(connectionSettings(url(plainOnly), env))).toEqual({ ssl: false, user: 'postgres' });
    });

    it('require: TLS without a CA; fails on a server without TLS', async () => {
      expect(await connect(connectionSettings(url(tlsOnly, { sslmode: 'require' }), env))).toEqual({ ssl: true, user: 'postgres' });
      const error = await failure(connect(connectionSettings(url(noTls, { sslmode: 'require' }), env)));
      expect(error.message).toBe('The server does not accept TLS connections, and sslmode=require needs TLS.');
    });

    it('require with a root certificate verifies the chain, as libpq does', async () => {
      expect(await connect(connectionSettings(url(tlsOnly, { sslmode: 'require', sslrootcert: certs.caFile }), env))).toEqual({ ssl: true, user: 'postgres' });
      const error = await failure(connect(connectionSettings(url(tlsOnly, { sslmode: 'require', sslrootcert: certs.otherCaFile }), env)));
      expect(error.message).toBe(
        `The server's certificate could not be verified (sslmode=require, sslrootcert=${certs.otherCaFile}): ` +
          'self-signed certificate in certificate chain. With a root certificate given, sslmode=require verifies it, as libpq does.',
      );
    });

    it('verify-ca: the right CA passes on 127.0.0.1 (no host name check), another CA fails', async () => {
      expect(await connect(connectionSettings(url(tlsOnly, { sslmode: 'verify-ca', sslrootcert: certs.caFile }), env))).toEqual({ ssl: true, user: 'postgres' });
      const error = await failure(connect(connectionSettings(url(tlsOnly, { sslmode: 'verify-ca', sslrootcert: certs.otherCaFile }), env)));
      expect(error.message).toBe(
        `The server's certificate could not be verified (sslmode=verify-ca, sslrootcert=${certs.otherCaFile}): self-signed certificate in certificate chain.`,
      );
    });

    it('verify-full: the host name must be on the certificate (localhost, not 127.0.0.1)', async () => {
      const error = await failure(connect(connectionSettings(url(tlsOnly, { sslmode: 'verify-full', sslrootcert: certs.caFile }), env)));
      expect(error.message).toBe(
        "The server's certificate is not for the host name jobq connected to (sslmode=verify-full checks it): " +
          "Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list.",
      );
      expect(error.hint).toMatch(/verify-ca/);
      expect(await connect(connectionSettings(url(tlsOnly, { sslmode: 'verify-full', sslrootcert: certs.caFile }, 'localhost'), env))).toEqual({ ssl: true, user: 'postgres' });
      await failure(connect(connectionSettings(url(tlsOnly, { sslmode: 'verify-full', sslrootcert: certs.otherCaFile }, 'localhost'), env)));
    });

    it("verify-full with sslrootcert=system trusts only public CAs, so a private CA's server fails", async () => {
      const error = await failure(connect(connectionSettings(url(tlsOnly, { sslrootcert: 'system' }, 'localhost'), env)));
      expect(error.message).toMatch(/^The server's certificate could not be verified \(sslmode=verify-full, sslrootcert=system\): /);
    });

    it('a client certificate is accepted by a `hostssl ... cert` line, with or without a key password', async () => {
      const cert = { sslmode: 'verify-ca', sslrootcert: certs.caFile, sslcert: certs.clientCert };
      expect(await connect(connectionSettings(url(tlsOnly, { ...cert, sslkey: certs.clientKey }, '127.0.0.1', CERT_USER), env))).toEqual({ ssl: true, user: CERT_USER });
      expect(await connect(connectionSettings(url(tlsOnly, { ...cert, sslkey: certs.clientKeyEncrypted, sslpassword: CLIENT_KEY_PASSWORD }, '127.0.0.1', CERT_USER), env))).toEqual(
        { ssl: true, user: CERT_USER },
      );
      const none = await failure(connect(connectionSettings(url(tlsOnly, { sslmode: 'require' }, '127.0.0.1', CERT_USER), env)));
      expect(none.message).toMatch(/requires a client certificate for this role/);
    });
  });

  it('PGSSLMODE and PGSSLROOTCERT apply when the URL does not say, and the URL wins when it does', async () => {
    const fromEnv = { ...env, PGSSLMODE: 'verify-ca', PGSSLROOTCERT: certs.caFile };
    expect(await viaClient(connectionSettings(url(tlsOnly), fromEnv))).toEqual({ ssl: true, user: 'postgres' });
    const wrongCa = { ...env, PGSSLMODE: 'verify-ca', PGSSLROOTCERT: certs.otherCaFile };
    await failure(viaClient(connectionSettings(url(tlsOnly), wrongCa)));
    expect(await viaClient(connectionSettings(url(tlsOrPlain, { sslmode: 'disable' }), fromEnv))).toEqual({ ssl: false, user: 'postgres' });
  });

  it("~/.postgresql/root.crt counts as libpq's default root certificate", async () => {
    const other = mkdtempSync(join(tmpdir(), 'jobq-home-'));
    try {
      mkdirSync(join(other, '.postgresql'));
      copyFileSync(certs.otherCaFile, join(other, '.postgresql', 'root.crt'));
      const settings = connectionSettings(url(tlsOnly, { sslmode: 'require' }), { HOME: other });
      expect(settings.tls).toMatchObject({ mode: 'require', verify: 'chain', rootCert: join(other, '.postgresql', 'root.crt') });
      await failure(viaClient(settings));
      // prefer gives up on TLS it cannot verify, as libpq does: the tls-or-plain server takes plain.
      expect(await viaClient(connectionSettings(url(tlsOrPlain), { HOME: other }))).toEqual({ ssl: false, user: 'postgres' });
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('a pool learns once: after the first refusal, new connections use the fallback without failing', async () => {
    const settings = connectionSettings(url(noTls), env);
    const negotiator = new TlsNegotiator(settings.tls);
    let failures = 0;
    const pool = new pg.Pool({ ...settings.config, max: 3, Client: tlsNegotiatingClient(negotiator) });
    try {
      expect(negotiator.usingFallback).toBe(false);
      await negotiator.retrying(() =>
        pool.query('SELECT 1').catch((error: unknown) => {
          failures += 1;
          throw error;
        }),
      );
      expect(negotiator.usingFallback).toBe(true);
      const clients = await Promise.all([pool.connect(), pool.connect(), pool.connect()]);
      for (const client of clients) client.release();
      expect(failures).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('a passing fault does not switch the negotiator (only a refusal of TLS or of plain does)', async () => {
    const settings = connectionSettings(url(tlsOnly, { sslmode: 'prefer' }, '127.0.0.1'), env);
    const negotiator = new TlsNegotiator(settings.tls);
    const pool = new pg.Pool({ ...settings.config, port: 1, max: 1, Client: tlsNegotiatingClient(negotiator) });
    try {
      await expect(negotiator.retrying(() => pool.query('SELECT 1'))).rejects.toThrow(/ECONNREFUSED/);
      expect(negotiator.usingFallback).toBe(false);
    } finally {
      await pool.end();
    }
  });

  it("the warning capture works: pg's own parser of sslmode is what prints the SECURITY WARNING", () => {
    // Last in this file on purpose: pg warns once per process, so nothing above could have hidden it.
    const before = printed.length;
    new pg.Client({ connectionString: `${url(tlsOnly)}?sslmode=require` });
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      expect(printed.slice(before).join('\n')).toMatch(/SECURITY WARNING: The SSL modes 'prefer', 'require', and 'verify-ca' are treated as aliases/);
      printedBefore = printed.length; // this one was asked for
    });
  });
});
