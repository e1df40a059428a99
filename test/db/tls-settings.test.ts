import { mkdirSync, mkdtempSync, rmSync, copyFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobqError } from '../../src/errors.js';
import { connectionSettings, SSL_MODES } from '../../src/db/tls.js';
import { CLIENT_KEY_PASSWORD, makeTestCertificates, type TestCertificates } from '../helpers/tls-server.js';

/** How a URL and the PG* variables become pg settings and a TLS plan; no server needed. */

let certs: TestCertificates;
let home: string;
let env: NodeJS.ProcessEnv;
beforeAll(() => {
  certs = makeTestCertificates();
  home = mkdtempSync(join(tmpdir(), 'jobq-home-'));
  env = { HOME: home };
});
afterAll(() => {
  certs?.remove();
  rmSync(home, { recursive: true, force: true });
});

function configError(fn: () => unknown): JobqError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(JobqError);
    expect((error as JobqError).code).toBe('config_invalid');
    return error as JobqError;
  }
  throw new Error('expected a config_invalid JobqError');
}

describe('connectionSettings', () => {
  it('reads host, port, user, password, database and libpq options from the URL, and no ssl* parameter reaches pg', () => {
    const { config } = connectionSettings(
      'postgresql://app%40corp:p%40ss%2Fword@db.example.com:6543/my%20db?sslmode=disable&application_name=jobq-test&options=-c%20search_path%3Dqueue&connect_timeout=3&sslcert=/nope',
      env,
    );
    expect(config).toEqual({
      host: 'db.example.com',
      port: 6543,
      user: 'app@corp',
      password: 'p@ss/word',
      database: 'my db',
      application_name: 'jobq-test',
      options: '-c search_path=queue',
      connectionTimeoutMillis: 3_000,
      ssl: false,
    });
    expect(config).not.toHaveProperty('connectionString');
  });

  it('takes host and dbname from query parameters too (a Unix socket directory), and never uses TLS over a socket', () => {
    const settings = connectionSettings('postgres://postgres@/app?host=/var/run/postgresql&sslmode=require', env);
    expect(settings.config).toMatchObject({ host: '/var/run/postgresql', database: 'app', user: 'postgres' });
    expect(settings.tls).toMatchObject({ mode: 'require', first: false, fallback: null });
    expect(connectionSettings('postgresql://%2Fvar%2Flib%2Fpostgresql/app', env).config).toMatchObject({ host: '/var/lib/postgresql', database: 'app' });
    expect(connectionSettings('postgres://u@[::1]:5433/app', env).config).toMatchObject({ host: '::1', port: 5433 });
  });

  it('defaults to prefer, as libpq: TLS first without verification, plain as the fallback', () => {
    const { tls, config } = connectionSettings('postgres://u@db.example.com/app', env);
    expect(tls).toMatchObject({ mode: 'prefer', verify: 'none', fallback: false, rootCert: undefined });
    expect(tls.first).toMatchObject({ rejectUnauthorized: false, servername: 'db.example.com' });
    expect(config.ssl).toBe(tls.first);
  });

  it('plans each mode as libpq does', () => {
    const plan = (mode: string, extra = '') => connectionSettings(`postgres://u@127.0.0.1/app?sslmode=${mode}${extra}`, env).tls;
    expect(plan('disable')).toMatchObject({ first: false, fallback: null });
    expect(plan('allow')).toMatchObject({ first: false, fallback: { rejectUnauthorized: false } });
    expect(plan('prefer')).toMatchObject({ first: { rejectUnauthorized: false }, fallback: false });
    expect(plan('require')).toMatchObject({ first: { rejectUnauthorized: false }, fallback: null, verify: 'none' });
    const requireWithCa = plan('require', `&sslrootcert=${certs.caFile}`);
    expect(requireWithCa).toMatchObject({ verify: 'chain', rootCert: certs.caFile });
    expect(requireWithCa.first).not.toHaveProperty('rejectUnauthorized');
    const verifyCa = plan('verify-ca', `&sslrootcert=${certs.caFile}`);
    expect(verifyCa).toMatchObject({ verify: 'chain', fallback: null });
    expect((verifyCa.first as { checkServerIdentity: () => unknown }).checkServerIdentity()).toBeUndefined();
    const verifyFull = plan('verify-full', `&sslrootcert=${certs.caFile}`);
    expect(verifyFull).toMatchObject({ verify: 'full', rootCert: certs.caFile });
    expect(verifyFull.first).not.toHaveProperty('checkServerIdentity');
    expect(verifyFull.first).not.toHaveProperty('rejectUnauthorized');
    // No SNI for an IP address: Node warns about it (RFC 6066).
    expect(verifyFull.first).not.toHaveProperty('servername');
  });

  it('verify-full without a CA file trusts the public CAs (as sslrootcert=system); verify-ca without one is an error', () => {
    expect(connectionSettings('postgres://u@db.example.com/app?sslmode=verify-full', env).tls).toMatchObject({ verify: 'full', rootCert: 'system' });
    const error = configError(() => connectionSettings('postgres://u@db.example.com/app?sslmode=verify-ca', env));
    expect(error.message).toMatch(/verify-ca needs the CA certificate/);
    expect(error.hint).toMatch(/sslrootcert=/);
  });

  it('sslrootcert=system means verify-full, and refuses weaker modes (libpq 16)', () => {
    const { tls } = connectionSettings('postgres://u@db.example.com/app?sslrootcert=system', env);
    expect(tls).toMatchObject({ mode: 'verify-full', verify: 'full', rootCert: 'system' });
    expect(tls.first).not.toHaveProperty('ca');
    expect(configError(() => connectionSettings('postgres://u@db.example.com/app?sslrootcert=system&sslmode=require', env)).message).toBe(
      'sslrootcert=system needs sslmode=verify-full, not require.',
    );
  });

  it('reads PGSSLMODE, PGSSLROOTCERT, PGSSLCERT and PGSSLKEY when the URL does not say; the URL wins', () => {
    const fromEnv = { ...env, PGSSLMODE: 'verify-ca', PGSSLROOTCERT: certs.caFile, PGSSLCERT: certs.clientCert, PGSSLKEY: certs.clientKey };
    const { tls } = connectionSettings('postgres://u@db.example.com/app', fromEnv);
    expect(tls).toMatchObject({ mode: 'verify-ca', rootCert: certs.caFile });
    expect(tls.first).toHaveProperty('cert');
    expect(connectionSettings('postgres://u@db.example.com/app?sslmode=disable', fromEnv).tls.mode).toBe('disable');
  });

  it("keeps node-postgres' own ssl parameter meaning what it meant", () => {
    expect(connectionSettings('postgres://u@h/app?ssl=true', env).tls.mode).toBe('verify-full');
    expect(connectionSettings('postgres://u@h/app?ssl=no-verify', env).tls.mode).toBe('require');
    expect(connectionSettings('postgres://u@h/app?ssl=false', env).tls.mode).toBe('disable');
  });

  it('uses ~/.postgresql/postgresql.crt and .key when present, as libpq does', () => {
    const other = mkdtempSync(join(tmpdir(), 'jobq-home-'));
    try {
      mkdirSync(join(other, '.postgresql'));
      copyFileSync(certs.clientCert, join(other, '.postgresql', 'postgresql.crt'));
      copyFileSync(certs.clientKey, join(other, '.postgresql', 'postgresql.key'));
      expect(connectionSettings('postgres://u@h/app?sslmode=require', { HOME: other }).tls.first).toHaveProperty('cert');
      expect(connectionSettings('postgres://u@h/app?sslmode=require', env).tls.first).not.toHaveProperty('cert');
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('decrypts an encrypted client key with sslpassword, and keeps key and password out of anything printed', () => {
    const { tls } = connectionSettings(`postgres://u@h/app?sslmode=require&sslcert=${certs.clientCert}&sslkey=${certs.clientKeyEncrypted}&sslpassword=${CLIENT_KEY_PASSWORD}`, env);
    const first = tls.first as { key?: string; cert?: string };
    expect(first.key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const printed = JSON.stringify(tls);
    expect(printed).toContain('BEGIN CERTIFICATE');
    expect(printed).not.toContain('PRIVATE KEY');
    expect(printed).not.toContain(CLIENT_KEY_PASSWORD);
  });

  it('names the parameter and the path of a certificate file it cannot read, never the password', () => {
    const missing = configError(() => connectionSettings('postgres://u:hunter2@h/app?sslmode=verify-full&sslrootcert=/no/such/ca.pem', env));
    expect(missing.message).toBe('Cannot read the root certificate "/no/such/ca.pem" named by sslrootcert: no such file.');
    const fromEnv = configError(() => connectionSettings('postgres://u:hunter2@h/app', { ...env, PGSSLROOTCERT: '/no/such/env-ca.pem' }));
    expect(fromEnv.message).toBe('Cannot read the root certificate "/no/such/env-ca.pem" named by PGSSLROOTCERT: no such file.');
    const unreadable = join(home, 'unreadable.pem');
    copyFileSync(certs.caFile, unreadable);
    chmodSync(unreadable, 0o000);
    if (process.getuid?.() !== 0) {
      expect(configError(() => connectionSettings(`postgres://u@h/app?sslrootcert=${unreadable}`, env)).message).toMatch(/EACCES/);
    }
    const key = configError(() => connectionSettings(`postgres://u@h/app?sslcert=${certs.clientCert}&sslkey=/no/key.pem`, env));
    expect(key.message).toBe('Cannot read the client key "/no/key.pem" named by sslkey: no such file.');
    const wrongPassword = configError(() =>
      connectionSettings(`postgres://u:hunter2@h/app?sslcert=${certs.clientCert}&sslkey=${certs.clientKeyEncrypted}&sslpassword=not-it`, env),
    );
    expect(wrongPassword.message).toBe(`The client key "${certs.clientKeyEncrypted}" (sslkey) could not be decrypted with sslpassword.`);
    const noPassword = configError(() => connectionSettings(`postgres://u@h/app?sslcert=${certs.clientCert}&sslkey=${certs.clientKeyEncrypted}`, env));
    expect(noPassword.hint).toMatch(/sslpassword=/);
    for (const error of [missing, fromEnv, key, wrongPassword]) expect(`${error.message} ${error.hint}`).not.toMatch(/hunter2|not-it/);
    expect(configError(() => connectionSettings(`postgres://u@h/app?sslkey=${certs.clientKey}`, env)).message).toMatch(/client key is given \(sslkey\) but no certificate/);
  });

  it('refuses what libpq refuses: an unknown sslmode or TLS version, a URL it cannot read', () => {
    expect(configError(() => connectionSettings('postgres://u@h/app?sslmode=no-verify', env)).message).toBe('sslmode=no-verify is not an sslmode.');
    expect(configError(() => connectionSettings('postgres://u@h/app', { ...env, PGSSLMODE: 'on' })).message).toBe('PGSSLMODE=on is not an sslmode.');
    expect(configError(() => connectionSettings('postgres://u@h/app?ssl_min_protocol_version=TLSv9', env)).message).toMatch(/not a TLS version/);
    expect(connectionSettings('postgres://u@h/app?sslmode=require&ssl_min_protocol_version=TLSv1.3', env).tls.first).toMatchObject({ minVersion: 'TLSv1.3' });
    const list = configError(() => connectionSettings('postgres://u:hunter2@h1:5432,h2:5432/app', env));
    expect(list.message).not.toContain('hunter2');
    configError(() => connectionSettings('mysql://u@h/app', env));
  });

  it('builds every mode without a warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      for (const mode of SSL_MODES) connectionSettings(`postgres://u@localhost/app?sslmode=${mode}&sslrootcert=${certs.caFile}`, env);
      await new Promise((resolve) => setImmediate(resolve)); // process.emitWarning fires on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });
});
