import { type Config, requireDatabaseUrl } from '../config.js';
import type { Logger } from '../log.js';
import { settingsFrom, type QueueContext } from '../queue/context.js';
import { asJobqError } from '../errors.js';
import { createPool, poolOptionsFrom, type Pool } from './pool.js';
import { detectSchema } from './schema.js';

/** A pool on the configured database, not yet checked for Procrastinate. */
export function openPool(config: Config, log?: Logger): Pool {
  return createPool(poolOptionsFrom(config, requireDatabaseUrl(config)), log);
}

/** Pool + detected schema + settings: the queue core, ready. Closes the pool if detection fails. */
export async function connectQueue(config: Config, log?: Logger): Promise<QueueContext & { close(): Promise<void> }> {
  const pool = openPool(config, log);
  try {
    const schema = await detectSchema(pool);
    log?.debug({ generation: schema.generation, features: schema.features }, 'procrastinate schema detected');
    return { pool, schema, settings: settingsFrom(config), log, close: () => pool.end() };
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw asJobqError(error);
  }
}
