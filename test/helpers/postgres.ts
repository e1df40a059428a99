import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function findPgBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const bin = join(root, v, 'bin');
    if (existsSync(join(bin, 'initdb'))) return bin;
  }
  return undefined;
}

export interface ThrowawayOptions {
  /** Lines appended to postgresql.conf, e.g. `{ ssl: 'on', ssl_cert_file: 'server.crt' }`. */
  settings?: Record<string, string | number>;
  /** Replaces pg_hba.conf with these lines (keep a `host replication ...` line for a standby). */
  hba?: string[];
  /** Files written into the data directory (owned by the server's user, mode 0600: keys need it). */
  files?: Record<string, string>;
}

export interface ThrowawayServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  port: number;
  dataDir: string;
  stop: () => void;
}

/** Runs a PostgreSQL binary, as `postgres` when we are root (the server refuses to run as root). */
function pgRunner(bin: string) {
  const asRoot = process.getuid?.() === 0;
  return (cmd: string, args: string[]) => {
    const full = asRoot ? ['-u', 'postgres', '--', join(bin, cmd), ...args] : args;
    return spawnSync(asRoot ? 'runuser' : join(bin, cmd), full, { stdio: 'pipe', encoding: 'utf8' });
  };
}

/** A temp directory the server's user owns. */
export function serverOwnedTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres', dir]);
  return dir;
}

/** Writes a file the server's user owns, readable by nobody else. */
export function writeServerFile(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres', path]);
}

function appendSettings(dataDir: string, settings: Record<string, string | number>): void {
  const lines = Object.entries(settings).map(([k, v]) => `${k} = ${typeof v === 'number' ? v : `'${v.replace(/'/g, "''")}'`}\n`);
  if (lines.length > 0) appendFileSync(join(dataDir, 'postgresql.conf'), lines.join(''));
}

function logTail(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').slice(-15).join('\n') : '(no server log)';
}

/**
 * Starts `pg_ctl` on a random free-looking port, trying another port when that one is taken
 * (the check would race anyway; the server's own bind is the test that counts).
 */
function startOnSomePort(bin: string, dir: string, dataDir: string): number {
  const run = pgRunner(bin);
  const log = join(dir, 'log');
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const port = 54000 + Math.floor(Math.random() * 1000);
    const start = run('pg_ctl', ['-D', dataDir, '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, '-w', '-t', '60', 'start', '-l', log]);
    if (start.status === 0) return port;
    lastError = `${start.stderr}\n${logTail(log)}`;
    if (!/could not bind|already in use/i.test(lastError)) break;
  }
  throw new Error(`The throwaway PostgreSQL did not start:\n${lastError}`);
}

function stopper(bin: string, dir: string, dataDir: string): () => void {
  return () => {
    pgRunner(bin)('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  };
}

function requirePgBin(): string {
  const bin = findPgBin();
  if (!bin) throw new Error('No PostgreSQL binaries under /usr/lib/postgresql: apt-get install postgresql');
  return bin;
}

/**
 * A throwaway server from the PostgreSQL binaries on this machine, on a free port, with the given
 * settings, pg_hba.conf and files. Throws with the server's log when it cannot start.
 */
export function launchThrowawayServer(options: ThrowawayOptions = {}): ThrowawayServer {
  const bin = requirePgBin();
  const dir = serverOwnedTempDir('jobq-pg-');
  const dataDir = join(dir, 'data');
  try {
    const init = pgRunner(bin)('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
    for (const [name, content] of Object.entries(options.files ?? {})) writeServerFile(join(dataDir, name), content);
    if (options.hba) writeServerFile(join(dataDir, 'pg_hba.conf'), `${options.hba.join('\n')}\n`);
    appendSettings(dataDir, options.settings ?? {});
    const port = startOnSomePort(bin, dir, dataDir);
    return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, dataDir, stop: stopper(bin, dir, dataDir) };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Starts a throwaway server (see launchThrowawayServer) for a fresh machine where none answers.
 * Undefined where that is impossible, so the caller can say what to do instead.
 */
export function startThrowawayServer(options: ThrowawayOptions = {}): ThrowawayServer | undefined {
  try {
    return launchThrowawayServer(options);
  } catch {
    return undefined;
  }
}

/**
 * A streaming standby of a running throwaway primary: `pg_basebackup -R` writes
 * `standby.signal` and `primary_conninfo`, so the copy starts in recovery and follows the
 * primary's WAL. The primary's pg_hba.conf must allow `replication` from 127.0.0.1 (initdb's
 * default one does).
 */
export function startStandby(primary: ThrowawayServer, settings: Record<string, string | number> = {}): ThrowawayServer {
  const bin = requirePgBin();
  const dir = serverOwnedTempDir('jobq-standby-');
  const dataDir = join(dir, 'data');
  try {
    const backup = pgRunner(bin)('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', dataDir, '-R', '-X', 'stream', '-c', 'fast']);
    if (backup.status !== 0) throw new Error(`pg_basebackup failed: ${backup.stderr}`);
    appendSettings(dataDir, settings);
    const port = startOnSomePort(bin, dir, dataDir);
    return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, dataDir, stop: stopper(bin, dir, dataDir) };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
