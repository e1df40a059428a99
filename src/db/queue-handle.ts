import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { settingsFrom, type QueueContext } from '../queue/context.js';
import { asJobqError } from '../errors.js';
import { openPool } from './connect.js';
import type { Pool } from './pool.js';
import { catalogPing } from './queries/catalog.js';
import { detectSchema, type SchemaInfo } from './schema.js';

/**
 * The queue core for a long-running process: one pool, the schema detected on first use and
 * cached. A database that is down at start does not stop the bot: each use tries again, and the
 * error reaches the user as a clear message.
 */
export interface QueueHandle {
  pool: Pool;
  get(): Promise<QueueContext>;
  /** Database reachable and schema detected (for /readyz). */
  ready(): Promise<{ ok: boolean; detail: string }>;
  close(): Promise<void>;
}

export function createQueueHandle(config: Config, log?: Logger, pool: Pool = openPool(config, log)): QueueHandle {
  let schema: Promise<SchemaInfo> | undefined;
  const settings = settingsFrom(config);
  const detect = () => {
    schema ??= detectSchema(pool).catch((error: unknown) => {
      schema = undefined;
      throw asJobqError(error);
    });
    return schema;
  };
  return {
    pool,
    async get() {
      return { pool, schema: await detect(), settings, log };
    },
    async ready() {
      try {
        const s = await detect();
        await pool.query(catalogPing());
        return { ok: true, detail: `procrastinate ${s.generation}` };
      } catch (error) {
        return { ok: false, detail: asJobqError(error).message };
      }
    },
    close: () => pool.end(),
  };
}
