// Runs PGlite (PostgreSQL compiled to WebAssembly) in its own worker thread, served over the
// Postgres wire protocol: PGlite blocks the thread it runs on, so the bot, the emulator and the
// simulator stay responsive on the main thread while queries run here. Plain JS so the worker
// starts without a TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const { dataDir, schemaSql, port, host } = workerData;

try {
  const db = await PGlite.create(dataDir ? { dataDir } : undefined);
  const present = await db.query(`SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present`);
  const fresh = !present.rows[0].present;
  if (fresh) await db.exec(schemaSql);
  // Several connections share PGlite's single session; the server queues their queries and keeps
  // a transaction on one connection whole before serving another.
  const server = new PGLiteSocketServer({ db, port, host, maxConnections: 16 });
  await server.start();
  parentPort.postMessage({ type: 'ready', conn: server.getServerConn(), fresh });
  parentPort.on('message', async (message) => {
    if (message?.type !== 'stop') return;
    await server.stop().catch(() => undefined);
    await db.close().catch(() => undefined);
    parentPort.postMessage({ type: 'stopped' });
  });
} catch (error) {
  parentPort.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) });
}
