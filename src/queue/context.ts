import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { ReadRouter, ReadSource } from '../db/read-routing.js';
import type { SchemaInfo } from '../db/schema.js';
import type { Logger } from '../log.js';
import type { PacerTuning } from './pacer.js';
import type { SharedReads } from './shared-reads.js';

/** Tunables of the queue core, from config. */
export interface QueueSettings {
  exactCountMaxRows: number;
  /** How often the leader recounts final statuses in the background; a count 3 times as old is not used. */
  countsRefreshSeconds: number;
  stalledHeartbeatSeconds: number;
  stalledRunningSeconds: number;
  /** The largest batch a bulk change may grow to (JOBQ_BATCH_SIZE). */
  batchSize: number;
  /** The longest pause a bulk change backs off for when workers feel it (JOBQ_BATCH_PAUSE_MS). */
  batchPauseMs: number;
  /** The pacer's other knobs (target lock hold, thresholds), for benchmarks and tests; not from the environment. */
  pacing?: Partial<Omit<PacerTuning, 'maxRows' | 'maxPauseMs' | 'span'>>;
}

/** Everything a queue operation needs: a pool, the detected schema, settings. No Slack, no text. */
export interface QueueContext {
  db: Db;
  /** Where heavy reads go (a hot standby when configured); absent: the primary. */
  reader?: ReadRouter | undefined;
  schema: SchemaInfo;
  settings: QueueSettings;
  log?: Logger | undefined;
  /** Identical heavy reads in flight or just answered, shared (absent: every read runs). */
  shared?: SharedReads | undefined;
}

export function settingsFrom(config: Config): QueueSettings {
  return {
    exactCountMaxRows: config.JOBQ_EXACT_COUNT_MAX_ROWS,
    countsRefreshSeconds: config.JOBQ_COUNTS_REFRESH_SECONDS,
    stalledHeartbeatSeconds: config.JOBQ_STALLED_HEARTBEAT_SECONDS,
    stalledRunningSeconds: config.JOBQ_STALLED_RUNNING_SECONDS,
    batchSize: config.JOBQ_BATCH_SIZE,
    batchPauseMs: config.JOBQ_BATCH_PAUSE_MS,
  };
}

export const DEFAULT_SETTINGS: QueueSettings = {
  exactCountMaxRows: 500_000,
  countsRefreshSeconds: 600,
  stalledHeartbeatSeconds: 30,
  stalledRunningSeconds: 3_600,
  batchSize: 5_000,
  batchPauseMs: 2_000,
};

/**
 * The context for a heavy read: on the hot standby while it is current, else the primary.
 * Single-job reads, stalled jobs and workers stay on the primary: they decide what to do next.
 */
export async function heavyRead(ctx: QueueContext): Promise<{ heavy: QueueContext; source: ReadSource }> {
  if (!ctx.reader) return { heavy: ctx, source: { kind: 'primary' } };
  const route = await ctx.reader.route();
  return { heavy: { ...ctx, db: route.db }, source: route.source };
}
