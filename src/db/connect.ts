import { type Config, requireDatabaseUrl } from '../config.js';
import type { Logger } from '../log.js';
import { openDb, type Db } from './database.js';
import { createReadRouter, type ReadRouter } from './read-routing.js';
import { connectionSettings, tlsFailure, tlsNegotiatingClient, TlsNegotiator } from './tls.js';

export interface DbUrlOptions {
  url: string;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
  max: number;
  /** How long a request waits for a connection when all are in use (then: "busy, try again"). */
  queueWaitMs?: number;
  applicationName?: string;
}

/**
 * A database handle on a postgres:// URL, with TLS as libpq would do it for that URL (sslmode,
 * sslrootcert and the PGSSL* variables) and no parameter a pooler would refuse.
 */
export function dbFromUrl(options: DbUrlOptions, log?: Logger): Db {
  const settings = connectionSettings(options.url);
  const negotiator = new TlsNegotiator(settings.tls);
  return openDb(
    {
      connection: settings.config,
      Client: tlsNegotiatingClient(negotiator),
      connecting: (connect) => negotiator.retrying(connect),
      explain: (error) => tlsFailure(error, settings.tls),
      statementTimeoutMs: options.statementTimeoutMs,
      lockTimeoutMs: options.lockTimeoutMs,
      max: options.max,
      ...(options.queueWaitMs ? { queueWaitMs: options.queueWaitMs } : {}),
      ...(options.applicationName ? { applicationName: options.applicationName } : {}),
    },
    log,
  );
}

/** The configured database, not yet checked for Procrastinate. */
export function dbFromConfig(config: Config, log?: Logger): Db {
  return dbFromUrl(
    {
      url: requireDatabaseUrl(config),
      statementTimeoutMs: config.JOBQ_STATEMENT_TIMEOUT_MS,
      lockTimeoutMs: config.JOBQ_LOCK_TIMEOUT_MS,
      max: config.JOBQ_POOL_MAX,
      queueWaitMs: config.JOBQ_POOL_WAIT_MS,
    },
    log,
  );
}

export interface QueueDatabases {
  db: Db;
  /** The hot standby for heavy reads, when JOB_QUEUE_READ_DATABASE_URL is set. */
  replica: Db | null;
  reader: ReadRouter;
  /** The port in the primary's URL (a different server port means a pooler in between). */
  urlPort: number;
  close(): Promise<void>;
}

/** The primary, the optional read replica, and the router between them, from config. */
export function openQueueDatabases(config: Config, log?: Logger): QueueDatabases {
  const db = dbFromConfig(config, log);
  const replica = config.JOB_QUEUE_READ_DATABASE_URL
    ? dbFromUrl(
        {
          url: config.JOB_QUEUE_READ_DATABASE_URL,
          statementTimeoutMs: config.JOBQ_STATEMENT_TIMEOUT_MS,
          lockTimeoutMs: config.JOBQ_LOCK_TIMEOUT_MS,
          max: config.JOBQ_POOL_MAX,
          queueWaitMs: config.JOBQ_POOL_WAIT_MS,
          applicationName: 'jobq-reads',
        },
        log,
      )
    : null;
  return {
    db,
    replica,
    reader: createReadRouter(db, replica, config.JOBQ_READ_MAX_LAG_SECONDS, log),
    urlPort: Number(new URL(requireDatabaseUrl(config)).port || 5432),
    close: async () => {
      await Promise.all([db.end(), replica?.end()]);
    },
  };
}
