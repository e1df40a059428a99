import { escapeIdentifier } from 'pg';
import type { Query } from '../database.js';

/**
 * The one index jobq recommends on Procrastinate's table, and the statements `jobq doctor --apply`
 * runs for it. Both run outside any transaction (CONCURRENTLY refuses one), one at a time.
 */

export const RARE_INDEX_NAME = 'jobq_failed_cancelled_aborted_idx';

/**
 * Every failed, cancelled and aborted job (about 1% of a table that is never purged). Keyed by
 * queue and status, then id: failed listings of one queue walk it newest first, and with
 * task_name included the counts per queue or per task are index-only scans (measured at 1M jobs:
 * 133 pages for either, against 10,600 heap pages for an index on (queue_name, id)).
 * CONCURRENTLY: Procrastinate's workers keep inserting and updating jobs while it builds.
 */
export function jobsRareIndexCreate(): Query {
  return {
    text: `CREATE INDEX CONCURRENTLY ${RARE_INDEX_NAME} ON procrastinate_jobs (queue_name, status, id) INCLUDE (task_name) WHERE status IN ('failed', 'cancelled', 'aborted')`,
  };
}

/** Drops what a failed concurrent build leaves behind: an INVALID index that is still maintained on every write. */
export function jobsIndexDropConcurrently(schema: string, name: string): Query {
  return { text: `DROP INDEX CONCURRENTLY IF EXISTS ${escapeIdentifier(schema)}.${escapeIdentifier(name)}` };
}
