import { jobsIdBounds, jobsQueueNames } from '../db/queries/jobs.js';
import { jobsQueueExists, jobsRecentTaskNames } from '../db/queries/jobs-names.js';
import { asJobqError } from '../errors.js';
import type { QueueContext } from './context.js';

/** Names the queue knows of, and whether the list is all of them. */
export interface KnownNames {
  names: string[];
  /** Every name is in `names`: a name not there does not exist. */
  complete: boolean;
  /** For task names: how many of the newest job ids were read. */
  examinedJobs?: number;
}

const QUEUES_MAX = 500;
/** The newest jobs whose task names are read (a primary-key range: ~a few hundred pages at most). */
export const TASK_NAMES_RECENT_JOBS = 5_000;
const TASKS_MAX = 1_000;

/** Whether a queue has any job: exact, through Procrastinate's (queue_name) index. */
export async function queueExists(ctx: QueueContext, queue: string): Promise<boolean> {
  try {
    return (await ctx.db.query(jobsQueueExists(queue))).rows[0]?.exists === true;
  } catch (error) {
    throw asJobqError(error);
  }
}

/** Queue names by a loose index scan (cost grows with the number of queues, not jobs). */
export async function knownQueues(ctx: QueueContext): Promise<KnownNames> {
  try {
    const rows = (await ctx.db.query(jobsQueueNames(QUEUES_MAX + 1))).rows;
    return { names: rows.slice(0, QUEUES_MAX).map((r) => r.name), complete: rows.length <= QUEUES_MAX };
  } catch (error) {
    throw asJobqError(error);
  }
}

/**
 * Task names of the newest jobs. task_name has no index, so the list is complete only when the
 * table holds no more than TASK_NAMES_RECENT_JOBS ids; beyond that an absent name may be an older one.
 */
export async function knownTasks(ctx: QueueContext): Promise<KnownNames> {
  try {
    const bounds = (await ctx.db.query(jobsIdBounds())).rows[0];
    if (!bounds || bounds.max_id === null || bounds.min_id === null) return { names: [], complete: true, examinedJobs: 0 };
    const fromId = Math.max(bounds.min_id, bounds.max_id - TASK_NAMES_RECENT_JOBS + 1);
    const rows = (await ctx.db.query(jobsRecentTaskNames(fromId, TASKS_MAX + 1))).rows;
    return { names: rows.slice(0, TASKS_MAX).map((r) => r.name), complete: fromId === bounds.min_id && rows.length <= TASKS_MAX, examinedJobs: bounds.max_id - fromId + 1 };
  } catch (error) {
    throw asJobqError(error);
  }
}
