import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serverOwnedTempDir, writeServerFile } from './postgres.js';

export interface PgBouncerOptions {
  /** The PostgreSQL it pools, as a URL (host, port; user and database come from each client). */
  target: string;
  poolMode?: 'session' | 'transaction' | 'statement';
  /** Roles clients may connect as (auth_type trust still wants them listed). */
  users?: string[];
  defaultPoolSize?: number;
  /** Extra `[pgbouncer]` settings, e.g. `{ ignore_startup_parameters: 'extra_float_digits' }`. */
  settings?: Record<string, string | number>;
}

export interface PgBouncer {
  port: number;
  /** A URL through the pooler to `database` on the target. */
  url(database?: string): string;
  stop(): Promise<void>;
}

const PGBOUNCER = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((path) => existsSync(path));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Debian's PgBouncer in front of a PostgreSQL, as teams run it in production: transaction pooling
 * by default and `ignore_startup_parameters` left empty, so a client that sends, say,
 * `statement_timeout` at startup is refused with "unsupported startup parameter".
 * Runs daemonized with a pidfile, as `postgres` when we are root (PgBouncer refuses root).
 */
export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  if (!PGBOUNCER) throw new Error('pgbouncer is not installed: apt-get install pgbouncer (.ci/run installs it)');
  const target = new URL(options.target);
  const dir = serverOwnedTempDir('jobq-pgbouncer-');
  const port = await freePort();
  const pidfile = join(dir, 'pgbouncer.pid');
  const logfile = join(dir, 'pgbouncer.log');
  const users = options.users ?? ['postgres'];
  const settings: Record<string, string | number> = {
    listen_addr: '127.0.0.1',
    listen_port: port,
    unix_socket_dir: '',
    auth_type: 'trust',
    auth_file: join(dir, 'userlist.txt'),
    pool_mode: options.poolMode ?? 'transaction',
    max_client_conn: 200,
    default_pool_size: options.defaultPoolSize ?? 5,
    pidfile,
    logfile,
    admin_users: 'postgres',
    ...options.settings,
  };
  writeServerFile(join(dir, 'userlist.txt'), users.map((user) => `"${user}" ""\n`).join(''));
  writeServerFile(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      // The wildcard entry: any database name is passed through to the target.
      `* = host=${target.hostname} port=${target.port || 5432}`,
      '[pgbouncer]',
      ...Object.entries(settings).map(([key, value]) => `${key} = ${value}`),
      '',
    ].join('\n'),
  );
  const asRoot = process.getuid?.() === 0;
  const args = ['-d', join(dir, 'pgbouncer.ini')];
  const started = asRoot ? spawnSync('runuser', ['-u', 'postgres', '--', PGBOUNCER, ...args], { encoding: 'utf8' }) : spawnSync(PGBOUNCER, args, { encoding: 'utf8' });
  const log = () => (existsSync(logfile) ? readFileSync(logfile, 'utf8').split('\n').slice(-10).join('\n') : '');
  const pid = () => Number(existsSync(pidfile) ? readFileSync(pidfile, 'utf8').trim() : 0);
  try {
    if (started.status !== 0) throw new Error(`pgbouncer did not start: ${started.stderr}${log()}`);
    await until(`pgbouncer on port ${port}\n${log()}`, async () => pid() > 0 && (await accepts(port)));
  } catch (error) {
    if (pid() && alive(pid())) process.kill(pid(), 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const daemon = pid();
  return {
    port,
    url: (database = 'postgres') => `postgres://${users[0]}@127.0.0.1:${port}/${database}`,
    async stop() {
      if (daemon && alive(daemon)) {
        process.kill(daemon, 'SIGTERM');
        await until('pgbouncer to exit', () => !alive(daemon));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
