import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchThrowawayServer, type ThrowawayServer } from './postgres.js';

/** The role a client certificate authenticates as (its CN), on servers from startTlsServer. */
export const CERT_USER = 'jobq_cert';
export const CLIENT_KEY_PASSWORD = 'client-key-secret';

export interface TestCertificates {
  dir: string;
  /** Files under `dir`: the CA that signed the server's and the client's certificates. */
  caFile: string;
  /** A CA that signed nothing here: verification against it must fail. */
  otherCaFile: string;
  serverCert: string;
  serverKey: string;
  /** Client certificate for CERT_USER, its key, and the same key encrypted with CLIENT_KEY_PASSWORD. */
  clientCert: string;
  clientKey: string;
  clientKeyEncrypted: string;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

// P-256 keys: generated in milliseconds, unlike RSA.
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string, cn: string): void {
  openssl(
    [
      'req',
      '-x509',
      ...NEW_KEY,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
}

function makeSigned(dir: string, name: string, cn: string, extensions: string): void {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(['req', ...NEW_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`], dir);
}

/**
 * A CA, a server certificate for `localhost` only (so 127.0.0.1 passes verify-ca but fails
 * verify-full), an unrelated second CA, and a client certificate for CERT_USER.
 */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'jobq-certs-'));
  makeCa(dir, 'ca', 'jobq test CA');
  makeCa(dir, 'other-ca', 'jobq unrelated CA');
  makeSigned(dir, 'server', 'localhost', 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n');
  makeSigned(dir, 'client', CERT_USER, 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  openssl(['pkey', '-in', 'client.key', '-aes256', '-passout', `pass:${CLIENT_KEY_PASSWORD}`, '-out', 'client-encrypted.key'], dir);
  const at = (file: string) => join(dir, file);
  return {
    dir,
    caFile: at('ca.crt'),
    otherCaFile: at('other-ca.crt'),
    serverCert: at('server.crt'),
    serverKey: at('server.key'),
    clientCert: at('client.crt'),
    clientKey: at('client.key'),
    clientKeyEncrypted: at('client-encrypted.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * pg_hba.conf for everyone but CERT_USER: tls-only has `hostssl` lines, tls-or-plain `host` lines
 * (either is accepted), plain-only `hostnossl` lines (the server offers TLS, then refuses it).
 */
export type TlsAccess = 'tls-only' | 'tls-or-plain' | 'plain-only';
const HBA_KIND: Record<TlsAccess, string> = { 'tls-only': 'hostssl', 'tls-or-plain': 'host', 'plain-only': 'hostnossl' };

/**
 * A throwaway PostgreSQL with `ssl = on` and the test certificates. CERT_USER must present a
 * client certificate signed by the CA (`hostssl ... cert`); everyone else is trusted.
 */
export function startTlsServer(certs: TestCertificates, access: TlsAccess): ThrowawayServer {
  const kind = HBA_KIND[access];
  const server = launchThrowawayServer({
    settings: { ssl: 'on', ssl_cert_file: 'server.crt', ssl_key_file: 'server.key', ssl_ca_file: 'root.crt' },
    files: {
      'server.crt': readFileSync(certs.serverCert, 'utf8'),
      'server.key': readFileSync(certs.serverKey, 'utf8'),
      'root.crt': readFileSync(certs.caFile, 'utf8'),
    },
    hba: [
      'local all all trust',
      `hostssl all ${CERT_USER} 127.0.0.1/32 cert`,
      `hostssl all ${CERT_USER} ::1/128 cert`,
      `${kind} all all 127.0.0.1/32 trust`,
      `${kind} all all ::1/128 trust`,
    ],
  });
  try {
    // Over the Unix socket: the `local` line lets the role be made whatever the TCP lines say.
    execFileSync(
      process.getuid?.() === 0 ? 'runuser' : 'psql',
      [
        ...(process.getuid?.() === 0 ? ['-u', 'postgres', '--', 'psql'] : []),
        '-h',
        join(server.dataDir, '..'),
        '-p',
        String(server.port),
        '-U',
        'postgres',
        '-d',
        'postgres',
        '-qAtc',
        `CREATE ROLE ${CERT_USER} LOGIN`,
      ],
      { stdio: 'pipe' },
    );
  } catch (error) {
    server.stop();
    throw error;
  }
  return server;
}
