import type { Query } from '../database.js';

/** Known queue and task names, for "did you mean": each read is bounded whatever the table's size. */

export interface JobsQueueExistsRow {
  exists: boolean;
}

/**
 * Whether any job has this queue: one probe of Procrastinate's (queue_name) index, the same step
 * as the loose index scan of jobsQueueNames. (A bare EXISTS on a queue holding much of the table
 * may be planned as a sequential scan that stops at the first row.)
 */
export function jobsQueueExists(queue: string): Query<JobsQueueExistsRow> {
  return {
    text: 'SELECT coalesce((SELECT queue_name FROM procrastinate_jobs WHERE queue_name >= $1::text ORDER BY queue_name LIMIT 1) = $1::text, false) AS exists',
    values: [queue],
  };
}

export interface JobsRecentTaskNamesRow {
  name: string;
}

/**
 * Task names of the jobs with ids from `$1` up. task_name has no index, so only a primary-key
 * range is read: the caller picks the newest N ids and knows the list is complete only when that
 * range starts at the lowest id.
 */
export function jobsRecentTaskNames(fromId: number, limit: number): Query<JobsRecentTaskNamesRow> {
  return {
    text: 'SELECT DISTINCT task_name AS name FROM procrastinate_jobs WHERE id >= $1::bigint ORDER BY 1 LIMIT $2::int',
    values: [fromId, limit],
  };
}
