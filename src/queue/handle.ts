import { backgroundTask } from '../background.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { settingsFrom, type QueueContext } from './context.js';
import { SharedReads } from './shared-reads.js';
import { asJobqError, type JobqError } from '../errors.js';
import { openQueueDatabases } from '../db/connect.js';
import type { ReadRouter } from '../db/read-routing.js';
import type { Db } from '../db/database.js';
import { catalogPing } from '../db/queries/catalog.js';
import { detectSchema, type SchemaInfo } from '../db/schema.js';

/**
 * The queue core for a long-running process: one pool, the schema detected on first use and
 * cached. A database that is down, missing or not yet Procrastinate at start does not stop the
 * bot: every use tries again and answers with a clear error, and a watcher retries in the
 * background with backoff so the bot is ready again by itself when the database is.
 */
export interface QueueHandle {
  db: Db;
  /** Where heavy reads go: a hot standby (JOB_QUEUE_READ_DATABASE_URL) while it is current, else the primary. */
  reader: ReadRouter;
  get(): Promise<QueueContext>;
  /** Database reachable and schema detected (for /readyz). */
  ready(): Promise<{ ok: boolean; detail: string }>;
  /** Starts watching for the database in the background until it is ready (idempotent). */
  watch(onReady?: () => Promise<void>): void;
  close(): Promise<void>;
}

/** Where the handle reports whether the database answered (jobq's metrics). */
export interface ReachabilityRecorder {
  databaseReachable(up: boolean): void;
}

const BACKOFF_FIRST_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;

export function createQueueHandle(config: Config, log: Logger, hooks: { metrics?: ReachabilityRecorder | undefined } = {}): QueueHandle {
  const { db, replica, reader, close } = openQueueDatabases(config, log);
  /** Reports whether the database answered (a database that answers "not Procrastinate" is reachable). */
  const reached = (error?: JobqError) => hooks.metrics?.databaseReachable(error?.code !== 'db_unreachable');
  let schema: Promise<SchemaInfo> | undefined;
  let down: JobqError | null = null;
  let closed = false;
  let readyHook: (() => Promise<void>) | undefined;
  const settings = settingsFrom(config);
  const shared = new SharedReads(config.JOBQ_READ_CACHE_SECONDS * 1000);

  const detect = () => {
    schema ??= detectSchema(db, { configured: config.JOB_QUEUE_SCHEMA }).then(
      (s) => {
        replica?.useSchema(s.schema);
        if (down) log.info({ generation: s.generation }, 'database reachable again; Procrastinate schema detected');
        down = null;
        reached();
        return s;
      },
      (error: unknown) => {
        schema = undefined;
        const e = asJobqError(error);
        if (!down || down.message !== e.message) log.warn({ code: e.code, reason: e.message }, 'database not ready; commands answer with the reason until it is');
        down = e;
        reached(e);
        handle.watch();
        throw e;
      },
    );
    return schema;
  };

  // Until the database is ready (and jobq's schema migrated): 1 s, doubling to 30 s; then it ends.
  // detect() says what is wrong, once per distinct reason, so the loop's own report stays at debug.
  const watcher = backgroundTask({
    name: 'waiting for the database',
    log,
    intervalMs: BACKOFF_FIRST_MS,
    maxBackoffMs: BACKOFF_MAX_MS,
    failureLevel: 'debug',
    round: async () => {
      await detect();
      await readyHook?.();
      return 'done';
    },
  });

  const handle: QueueHandle = {
    db,
    reader,
    async get() {
      return { db, reader, schema: await detect(), settings, log, shared };
    },
    async ready() {
      try {
        const s = await detect();
        await db.query(catalogPing());
        reached();
        return { ok: true, detail: `procrastinate ${s.generation}` };
      } catch (error) {
        const e = asJobqError(error);
        reached(e);
        return { ok: false, detail: e.message };
      }
    },
    watch(onReady) {
      if (onReady) readyHook = onReady;
      if (!closed) watcher.start(onReady ? 0 : BACKOFF_FIRST_MS);
    },
    async close() {
      closed = true;
      await watcher.stop();
      await close();
    },
  };
  return handle;
}
