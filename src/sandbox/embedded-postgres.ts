import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { JobqError } from '../errors.js';

export interface EmbeddedPostgres {
  url: string;
  /** True when the Procrastinate schema was just created (a new, empty database). */
  fresh: boolean;
  dataDir: string | null;
  stop(): Promise<void>;
}

/** Procrastinate 3.10: the 3.x schema, then the 3.10 pre- and post-migrations, in this order. */
const SCHEMA = ['procrastinate-3.sql', 'procrastinate-3.10-pre.sql', 'procrastinate-3.10-post.sql'].map((file) => new URL(`../../fixtures/${file}`, import.meta.url));
const WORKER = new URL('./pglite-worker.mjs', import.meta.url);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One process at a time per data directory: PGlite's files must not be opened twice. */
function takeLock(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const lock = join(dataDir, 'jobq-sandbox.lock');
  if (existsSync(lock)) {
    const pid = Number(readFileSync(lock, 'utf8').trim());
    if (pid && pid !== process.pid && isAlive(pid)) {
      throw new JobqError('conflict', `The sandbox data directory ${dataDir} is in use by process ${pid}. Stop it first, or choose another JOBQ_SANDBOX_DATA_DIR.`);
    }
    rmSync(lock, { force: true }); // left by a process that is gone
  }
  const fd = openSync(lock, 'wx');
  writeFileSync(fd, String(process.pid));
  closeSync(fd);
  return () => rmSync(lock, { force: true });
}

/**
 * PGlite in a worker thread, served on 127.0.0.1 over the Postgres wire protocol so jobq uses
 * `pg` exactly as in production. In memory unless a data directory is given. Loaded with the
 * Procrastinate 3.10 schema on first start (a data directory from an older sandbox keeps its shape).
 */
export async function startEmbeddedPostgres(options: { dataDir?: string | undefined; port?: number } = {}): Promise<EmbeddedPostgres> {
  const dataDir = options.dataDir ?? null;
  const unlock = dataDir ? takeLock(dataDir) : () => undefined;
  const worker = new Worker(WORKER, {
    workerData: { dataDir: dataDir ?? undefined, schemaSql: SCHEMA.map((file) => readFileSync(file, 'utf8')).join('\n'), port: options.port ?? 0, host: '127.0.0.1' },
  });
  try {
    const ready = await new Promise<{ conn: string; fresh: boolean }>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`embedded PostgreSQL exited with code ${code}`)));
      worker.on('message', (message: { type: string; conn?: string; fresh?: boolean; message?: string }) => {
        if (message.type === 'ready') resolve({ conn: message.conn!, fresh: message.fresh! });
        if (message.type === 'error') reject(new Error(message.message));
      });
    });
    const port = Number(ready.conn.split(':').at(-1));
    let stopped = false;
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`,
      fresh: ready.fresh,
      dataDir,
      async stop() {
        if (stopped) return;
        stopped = true;
        const done = new Promise<void>((resolve) => {
          worker.on('message', (m: { type: string }) => m.type === 'stopped' && resolve());
          worker.once('exit', () => resolve());
        });
        worker.postMessage({ type: 'stop' });
        await Promise.race([done, new Promise((r) => setTimeout(r, 3_000))]);
        await worker.terminate();
        unlock();
      },
    };
  } catch (error) {
    await worker.terminate();
    unlock();
    throw new JobqError('internal', `Could not start the embedded PostgreSQL: ${(error as Error).message}`, { cause: error });
  }
}
