import { type Config, requireDatabaseUrl } from '../config.js';
import type { Logger } from '../log.js';
import { settingsFrom, type QueueContext } from '../queue/context.js';
import { asJobqError } from '../errors.js';
import { openDb, type Db } from './database.js';
import { detectSchema } from './schema.js';
import { connectionSettings, tlsFailure, tlsNegotiatingClient, TlsNegotiator } from './tls.js';

export interface DbUrlOptions {
  url: string;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
  max: number;
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
      ...(options.applicationName ? { applicationName: options.applicationName } : {}),
    },
    log,
  );
}

/** The configured database, not yet checked for Procrastinate. */
export function dbFromConfig(config: Config, log?: Logger): Db {
  return dbFromUrl({ url: requireDatabaseUrl(config), statementTimeoutMs: config.JOBQ_STATEMENT_TIMEOUT_MS, lockTimeoutMs: config.JOBQ_LOCK_TIMEOUT_MS, max: config.JOBQ_POOL_MAX }, log);
}

/** Db + detected schema + settings: the queue core, ready. Closes the handle if detection fails. */
export async function connectQueue(config: Config, log?: Logger): Promise<QueueContext & { close(): Promise<void> }> {
  const db = dbFromConfig(config, log);
  try {
    const schema = await detectSchema(db, { configured: config.JOB_QUEUE_SCHEMA });
    log?.debug({ generation: schema.generation, features: schema.features }, 'procrastinate schema detected');
    return { db, schema, settings: settingsFrom(config), log, close: () => db.end() };
  } catch (error) {
    await db.end().catch(() => undefined);
    throw asJobqError(error);
  }
}
