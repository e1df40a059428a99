import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions, SecureVersion } from 'node:tls';
import pg from 'pg';
import { JobqError } from '../errors.js';

/**
 * Connection settings with libpq's TLS semantics (https://www.postgresql.org/docs/current/libpq-ssl.html),
 * because a team's database URL was written for libpq (psql, Procrastinate's psycopg), not for
 * node-postgres, whose own reading of `sslmode` differs and prints a SECURITY WARNING.
 */

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** One way to open a connection: `false` is plain, anything else is TLS with these options. */
export type TlsAttempt = false | ConnectionOptions;

export interface TlsPlan {
  mode: SslMode;
  first: TlsAttempt;
  /** What to use when the server refuses `first` (allow: TLS, prefer: plain); null: no second try. */
  fallback: TlsAttempt | null;
  /** What a TLS connection checks: nothing, the CA chain, or the chain and the host name. */
  verify: 'none' | 'chain' | 'full';
  /** Where the trusted CAs come from: a file, `system` (Node's trusted roots), or undefined (none). */
  rootCert: string | undefined;
}

export interface ConnectionSettings {
  /** For pg: host, port, user, password, database and the like; `ssl` is the plan's first attempt. */
  config: pg.ClientConfig;
  tls: TlsPlan;
}

const TLS_VERSIONS: readonly SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

function invalid(message: string, hint: string): JobqError {
  return new JobqError('config_invalid', message, { hint, runbookSection: 'database-tls' });
}

// libpq's `postgres://user@/db?host=/socket/dir`: WHATWG URLs refuse credentials without a host.
const EMPTY_HOST = /^[a-z]+:\/\/[^/?#]*@\//i;

function parseUrl(url: string): { parsed: URL; hostname: string } {
  try {
    const emptyHost = EMPTY_HOST.test(url);
    const parsed = new URL(emptyHost ? url.replace('@/', '@empty-host/') : url);
    if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') throw new Error('not postgres');
    return { parsed, hostname: emptyHost ? '' : decodeURIComponent(parsed.hostname.replace(/^\[(.*)\]$/, '$1')) };
  } catch {
    // The URL itself is never repeated: it may hold a password.
    throw invalid(
      'The database URL cannot be read as postgres://user:password@host:port/database (one host, no list of hosts).',
      'Check JOB_QUEUE_DATABASE_URL; percent-encode special characters in the password.',
    );
  }
}

/** A parameter as libpq finds it: in the URL first, then in its environment variable. */
function setting(url: URL, env: NodeJS.ProcessEnv, name: string, envName: string): { value: string; source: string } | undefined {
  const fromUrl = url.searchParams.get(name);
  if (fromUrl !== null && fromUrl !== '') return { value: fromUrl, source: name };
  const fromEnv = env[envName];
  return fromEnv ? { value: fromEnv, source: envName } : undefined;
}

function readPem(path: string, source: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : ((error as NodeJS.ErrnoException).code ?? 'unreadable');
    throw invalid(`Cannot read ${what} "${path}" named by ${source}: ${reason}.`, `Put the PEM file there (readable by jobq's user), or fix ${source}.`);
  }
}

/** libpq's default location of a file under ~/.postgresql, used only when present, as libpq does. */
function defaultFile(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const path = join(env.HOME ?? homedir(), '.postgresql', name);
  try {
    readFileSync(path);
    return path;
  } catch {
    return undefined;
  }
}

function resolveMode(url: URL, env: NodeJS.ProcessEnv, systemRoots: boolean): SslMode {
  const given = setting(url, env, 'sslmode', 'PGSSLMODE');
  if (given) {
    if (!(SSL_MODES as readonly string[]).includes(given.value)) {
      throw invalid(`${given.source}=${given.value} is not an sslmode.`, `Use one of ${SSL_MODES.join(', ')}.`);
    }
    const mode = given.value as SslMode;
    // As libpq 16+: a public CA pool makes only the host name check meaningful.
    if (systemRoots && mode !== 'verify-full') {
      throw invalid(
        `sslrootcert=system needs sslmode=verify-full, not ${mode}.`,
        'Anyone can get a certificate from a public CA for a name they own: only verify-full (the default with sslrootcert=system) checks the name.',
      );
    }
    return mode;
  }
  if (systemRoots) return 'verify-full';
  // node-postgres' own `ssl` parameter, so URLs written for it keep their meaning.
  const ssl = url.searchParams.get('ssl');
  if (ssl === 'true' || ssl === '1') return 'verify-full';
  if (ssl === 'no-verify') return 'require';
  if (ssl === 'false' || ssl === '0') return 'disable';
  // libpq's default: TLS when the server offers it, unverified, else plain.
  return 'prefer';
}

function tlsVersion(url: URL, env: NodeJS.ProcessEnv, name: string, envName: string): SecureVersion | undefined {
  const given = setting(url, env, name, envName);
  if (!given) return undefined;
  if (!(TLS_VERSIONS as readonly string[]).includes(given.value)) {
    throw invalid(`${given.source}=${given.value} is not a TLS version.`, `Use one of ${TLS_VERSIONS.join(', ')}.`);
  }
  return given.value as SecureVersion;
}

/**
 * The client key, decrypted here with sslpassword: a wrong password is then a configuration error
 * at start, not a failure of every connection, and no passphrase has to travel with the options.
 */
function clientKey(pem: string, path: string, password: string | null): string {
  try {
    return createPrivateKey(password ? { key: pem, passphrase: password } : pem)
      .export({ type: 'pkcs8', format: 'pem' })
      .toString();
  } catch {
    throw invalid(
      password
        ? `The client key "${path}" (sslkey) could not be decrypted with sslpassword.`
        : `The client key "${path}" (sslkey) cannot be read: it is encrypted, or not a PEM private key.`,
      password ? 'Check sslpassword in the database URL.' : 'Add sslpassword=... to the database URL for an encrypted key.',
    );
  }
}

const DEFAULT_SOURCE = "~/.postgresql (libpq's default)";

/**
 * sslcert and sslkey (PGSSLCERT, PGSSLKEY), else ~/.postgresql/postgresql.{crt,key} when present,
 * as libpq. A file named explicitly must be readable: a clearer failure than libpq's silent skip.
 */
function addClientCertificate(options: ConnectionOptions, url: URL, env: NodeJS.ProcessEnv): void {
  const certGiven = setting(url, env, 'sslcert', 'PGSSLCERT');
  const keyGiven = setting(url, env, 'sslkey', 'PGSSLKEY');
  const certPath = certGiven?.value ?? defaultFile(env, 'postgresql.crt');
  if (!certPath) {
    if (keyGiven) throw invalid(`A client key is given (${keyGiven.source}) but no certificate.`, 'Add sslcert=/path/to/client.crt (or PGSSLCERT).');
    return;
  }
  const keyPath = keyGiven?.value ?? defaultFile(env, 'postgresql.key');
  if (!keyPath) throw invalid(`A client certificate is given (${certGiven?.source ?? certPath}) but no key.`, 'Add sslkey=/path/to/client.key (or PGSSLKEY).');
  options.cert = readPem(certPath, certGiven?.source ?? DEFAULT_SOURCE, 'the client certificate');
  const pem = readPem(keyPath, keyGiven?.source ?? DEFAULT_SOURCE, 'the client key');
  // Not enumerable: out of anything that prints or spreads the options (pg reads it by name).
  Object.defineProperty(options, 'key', { value: clientKey(pem, keyPath, url.searchParams.get('sslpassword')), enumerable: false, writable: true, configurable: true });
}

/** sslrootcert (PGSSLROOTCERT), else ~/.postgresql/root.crt when present; returns its path. */
function addRootCertificate(options: ConnectionOptions, given: { value: string; source: string } | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const path = given?.value ?? defaultFile(env, 'root.crt');
  if (path) options.ca = readPem(path, given?.source ?? DEFAULT_SOURCE, 'the root certificate');
  return path;
}

function tlsPlan(url: URL, host: string | undefined, env: NodeJS.ProcessEnv): TlsPlan {
  const rootGiven = setting(url, env, 'sslrootcert', 'PGSSLROOTCERT');
  const systemRoots = rootGiven?.value === 'system';
  const mode = resolveMode(url, env, systemRoots);
  // libpq never uses TLS over a Unix socket, whatever sslmode says.
  if (mode === 'disable' || host?.startsWith('/')) return { mode, first: false, fallback: null, verify: 'none', rootCert: undefined };

  const options: ConnectionOptions = {};
  // SNI for names only: Node refuses an IP address as servername (RFC 6066).
  if (host && isIP(host) === 0 && url.searchParams.get('sslsni') !== '0' && env.PGSSLSNI !== '0') options.servername = host;
  const minVersion = tlsVersion(url, env, 'ssl_min_protocol_version', 'PGSSLMINPROTOCOLVERSION');
  const maxVersion = tlsVersion(url, env, 'ssl_max_protocol_version', 'PGSSLMAXPROTOCOLVERSION');
  if (minVersion) options.minVersion = minVersion;
  if (maxVersion) options.maxVersion = maxVersion;

  addClientCertificate(options, url, env);
  // verify-full without any CA file: libpq would stop; Node's trusted roots are the safe reading
  // of "check everything", as with sslrootcert=system.
  const rootCert = systemRoots ? 'system' : (addRootCertificate(options, rootGiven, env) ?? (mode === 'verify-full' ? 'system' : undefined));

  // libpq checks the chain whenever it has a root certificate, in every mode that uses TLS:
  // "require" with a CA file is verify-ca. Only verify-full also checks the host name.
  let verify: TlsPlan['verify'];
  if (mode === 'verify-full') {
    verify = 'full';
  } else if (rootCert) {
    verify = 'chain';
    options.checkServerIdentity = () => undefined;
  } else if (mode === 'verify-ca') {
    throw invalid(
      "sslmode=verify-ca needs the CA certificate that signed the server's certificate, and none is given.",
      'Add sslrootcert=/path/to/ca.pem to the URL (or set PGSSLROOTCERT), or use sslmode=verify-full&sslrootcert=system for a server with a public certificate.',
    );
  } else {
    verify = 'none';
    options.rejectUnauthorized = false;
  }

  switch (mode) {
    case 'allow':
      return { mode, first: false, fallback: options, verify, rootCert };
    case 'prefer':
      return { mode, first: options, fallback: false, verify, rootCert };
    default:
      return { mode, first: options, fallback: null, verify, rootCert };
  }
}

/**
 * Reads a postgres:// URL into pg settings and a TLS plan with libpq's meaning of sslmode
 * (default `prefer`, as libpq), sslrootcert (`system` included), sslcert, sslkey, sslpassword
 * and their PG* variables. Of the other parameters it reads host, port, user, password, dbname,
 * application_name, fallback_application_name, options, client_encoding and connect_timeout, and
 * ignores the rest. A certificate file that cannot be read is a config_invalid JobqError naming it.
 */
export function connectionSettings(url: string, env: NodeJS.ProcessEnv = process.env): ConnectionSettings {
  const { parsed, hostname } = parseUrl(url);
  const params = parsed.searchParams;
  const config: pg.ClientConfig = {};
  const host = params.get('host') ?? (hostname || undefined);
  if (host) config.host = host;
  const port = params.get('port') ?? parsed.port;
  if (port) {
    if (!/^\d+$/.test(port)) throw invalid(`The database URL's port "${port}" is not a number.`, 'Check JOB_QUEUE_DATABASE_URL.');
    config.port = Number(port);
  }
  const user = params.get('user') ?? decodeURIComponent(parsed.username);
  if (user) config.user = user;
  const password = params.get('password') ?? decodeURIComponent(parsed.password);
  if (password) config.password = password;
  const database = params.get('dbname') ?? decodeURIComponent(parsed.pathname.slice(1));
  if (database) config.database = database;
  for (const name of ['application_name', 'fallback_application_name', 'options', 'client_encoding'] as const) {
    const value = params.get(name);
    if (value !== null) config[name] = value;
  }
  const connectTimeout = params.get('connect_timeout');
  // libpq: seconds, 0 means wait forever.
  if (connectTimeout && Number(connectTimeout) > 0) config.connectionTimeoutMillis = Number(connectTimeout) * 1000;
  const tls = tlsPlan(parsed, host ?? env.PGHOST, env);
  // Always set: with `ssl` unset, pg would read PGSSLMODE with its own meaning.
  config.ssl = tls.first;
  return { config, tls };
}

// Failures that mean "this server wants the other kind of connection", and nothing else: a
// negotiator switches for good on them, so a passing fault must never look like one.
const NO_SSL = 'The server does not support SSL connections';
const CERT_ERRORS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REJECTED',
  'INVALID_CA',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function errorParts(error: unknown): { code: string; message: string } {
  const e = error as { code?: unknown; message?: unknown } | undefined;
  return { code: typeof e?.code === 'string' ? e.code : '', message: typeof e?.message === 'string' ? e.message : String(error) };
}

function isTlsHandshakeFailure(code: string): boolean {
  return CERT_ERRORS.has(code) || /^ERR_(SSL|TLS|OSSL)_/.test(code);
}

// pg_hba.conf found no line for this kind of connection (PostgreSQL 14+ wording, then older).
const hbaRefusedPlain = (code: string, message: string) => code === '28000' && /no encryption|SSL off/.test(message);
const hbaRefusedTls = (code: string, message: string) => code === '28000' && /SSL encryption|SSL on/.test(message);

function refusedFirst(plan: TlsPlan, error: unknown): boolean {
  const { code, message } = errorParts(error);
  if (plan.mode === 'allow') return hbaRefusedPlain(code, message);
  if (plan.mode === 'prefer') return message === NO_SSL || hbaRefusedTls(code, message) || isTlsHandshakeFailure(code);
  return false;
}

/**
 * Decides plain or TLS for each new connection of one database, as libpq's allow and prefer do:
 * try the plan's first choice; when the server refuses it for what it is (no TLS on the server,
 * or pg_hba.conf without a line for it), use the fallback for this and every later connection.
 * The switch is for good: a server does not change its mind, and one failed attempt per process
 * costs less than one per connection. The caller retries the failed attempt once (`retrying`).
 */
export class TlsNegotiator {
  readonly plan: TlsPlan;
  #onFallback = false;
  readonly #retryable = new WeakSet<object>();

  constructor(plan: TlsPlan) {
    this.plan = plan;
  }

  /** The `ssl` option for the next connection. */
  get ssl(): TlsAttempt {
    return this.#onFallback && this.plan.fallback !== null ? this.plan.fallback : this.plan.first;
  }

  get usingFallback(): boolean {
    return this.#onFallback;
  }

  /** Learns from a failed connection attempt that used `used`. */
  observe(error: unknown, used: TlsAttempt): void {
    if (this.plan.fallback === null || used !== this.plan.first || !refusedFirst(this.plan, error)) return;
    this.#onFallback = true;
    if (typeof error === 'object' && error !== null) this.#retryable.add(error);
  }

  /** True when `error` came from a first-choice attempt that the fallback may succeed where it failed. */
  shouldRetry(error: unknown): boolean {
    return typeof error === 'object' && error !== null && this.#retryable.has(error);
  }

  /** Runs `attempt`, and once more if it failed because the server refused the first choice. */
  async retrying<T>(attempt: () => Promise<T>): Promise<T> {
    try {
      return await attempt();
    } catch (error) {
      if (!this.shouldRetry(error)) throw error;
      return attempt();
    }
  }
}

/**
 * A pg.Client class whose connections follow the negotiator, for pg.Pool's `Client` option:
 * `new pg.Pool({ ...settings.config, Client: tlsNegotiatingClient(negotiator) })`. Each new
 * connection reads the negotiator's current choice and reports its failure back; wrap the
 * pool's first use in `negotiator.retrying(...)` so the attempt that taught it is retried.
 */
export function tlsNegotiatingClient(negotiator: TlsNegotiator): typeof pg.Client {
  return class TlsNegotiatingClient extends pg.Client {
    readonly tlsAttempt: TlsAttempt;

    constructor(config?: string | pg.ClientConfig) {
      if (typeof config === 'string') throw new Error('tlsNegotiatingClient takes the config from connectionSettings(), not a URL');
      const ssl = negotiator.ssl;
      super({ ...config, ssl });
      this.tlsAttempt = ssl;
    }

    override connect(): Promise<pg.Client>;
    override connect(callback: (err: Error) => void): void;
    // biome-ignore lint/suspicious/noConfusingVoidType: pg's own signature: a promise without a callback, nothing with one
    override connect(callback?: (err: Error) => void): Promise<pg.Client> | void {
      if (callback) {
        super.connect((err: Error) => {
          if (err) negotiator.observe(err, this.tlsAttempt);
          callback(err);
        });
        return;
      }
      return super.connect().catch((err: unknown) => {
        negotiator.observe(err, this.tlsAttempt);
        throw err;
      });
    }
  };
}

/**
 * Connects one client (a CLI command, a probe, a listener) with the settings' TLS plan: a
 * refusal of the first choice is retried with the fallback, as libpq does, and a TLS failure
 * comes out as a JobqError that names the mode and the fix. Pass the pool's negotiator to teach
 * it too. `extra` adds pg options (timeouts) on top of the settings.
 */
export async function connectClient(settings: ConnectionSettings, extra: pg.ClientConfig = {}, negotiator = new TlsNegotiator(settings.tls)): Promise<pg.Client> {
  const Client = tlsNegotiatingClient(negotiator);
  try {
    return await negotiator.retrying(async () => {
      const client = new Client({ ...settings.config, ...extra });
      await client.connect();
      return client;
    });
  } catch (error) {
    throw tlsFailure(error, settings.tls) ?? error;
  }
}

/** Node's message without its trailing separator ("...is not in the cert's list: "). */
function reason(message: string): string {
  return message.replace(/[\s:.]+$/, '');
}

/**
 * A readable JobqError for a connection failure caused by TLS (the mode, the certificates, or
 * pg_hba.conf's hostssl/hostnossl lines), undefined for any other failure.
 */
export function tlsFailure(error: unknown, plan: TlsPlan): JobqError | undefined {
  const { code, message } = errorParts(error);
  const fail = (text: string, hint: string) => new JobqError('db_unreachable', text, { hint, runbookSection: 'database-tls', cause: error });
  if (message === NO_SSL) {
    return fail(
      `The server does not accept TLS connections, and sslmode=${plan.mode} needs TLS.`,
      'Turn on ssl on the server, or use sslmode=prefer if an unencrypted connection is acceptable on this network.',
    );
  }
  if (hbaRefusedPlain(code, message)) {
    return fail(
      `The server accepts only TLS connections from here (pg_hba.conf hostssl), and sslmode=${plan.mode} connected without TLS.`,
      'Use sslmode=verify-full with sslrootcert=/path/to/ca.pem (or sslmode=require) in the database URL.',
    );
  }
  if (hbaRefusedTls(code, message)) {
    return fail(
      `The server refuses TLS connections from here (pg_hba.conf has no hostssl or host line for them), and sslmode=${plan.mode} needs TLS.`,
      'Ask the DBA for a hostssl line in pg_hba.conf for this host, role and database.',
    );
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH') {
    return fail(
      `The server's certificate is not for the host name jobq connected to (sslmode=verify-full checks it): ${reason(message)}.`,
      'Connect with a host name the certificate lists (not an IP address or an alias), or use sslmode=verify-ca to check the CA only.',
    );
  }
  if (CERT_ERRORS.has(code)) {
    const requireNote = plan.mode === 'require' ? ' With a root certificate given, sslmode=require verifies it, as libpq does.' : '';
    return fail(
      `The server's certificate could not be verified (sslmode=${plan.mode}, sslrootcert=${plan.rootCert ?? 'none'}): ${reason(message)}.${requireNote}`,
      "Set sslrootcert (or PGSSLROOTCERT) to the CA bundle that signed the server's certificate, e.g. your provider's published bundle.",
    );
  }
  if (code === '28000' && /requires a valid client certificate/.test(message)) {
    return fail(
      'The server requires a client certificate for this role (pg_hba.conf cert or clientcert), and none was sent.',
      'Give sslcert=/path/to/client.crt and sslkey=/path/to/client.key (or PGSSLCERT and PGSSLKEY).',
    );
  }
  if (code === '28000' && /certificate authentication failed/.test(message)) {
    return fail(
      `The server rejected the client certificate for this role: ${reason(message)}.`,
      "The certificate's common name (CN) must be the role name, unless pg_ident.conf maps it.",
    );
  }
  return undefined;
}
