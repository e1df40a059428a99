import type { Config } from '../config.js';
import { openQueueDatabases } from '../db/connect.js';
import { detectSchema } from '../db/schema.js';
import { asJobqError } from '../errors.js';
import type { Logger } from '../log.js';
import { settingsFrom, type QueueContext } from './context.js';

/** Db + detected schema + settings: the queue core, ready. Closes the handle if detection fails. */
export async function connectQueue(config: Config, log?: Logger): Promise<QueueContext & { close(): Promise<void> }> {
  const { db, replica, reader, close } = openQueueDatabases(config, log);
  try {
    const schema = await detectSchema(db, { configured: config.JOB_QUEUE_SCHEMA });
    replica?.useSchema(schema.schema);
    log?.debug({ generation: schema.generation, features: schema.features }, 'procrastinate schema detected');
    return { db, reader, schema, settings: settingsFrom(config), log, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw asJobqError(error);
  }
}
