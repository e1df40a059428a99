import { catalogTableEstimates } from '../db/queries/catalog.js';
import { type GroupColumn, jobsCountByStatus, jobsFinalCountsSampled } from '../db/queries/jobs.js';
import { asJobqError } from '../errors.js';
import type { QueueContext } from './context.js';
import type { FailedPage, FailedQuery } from './failed.js';

/** How many failed jobs match a list's filters, so a page of 20 says "of 1,234". */
export interface FailedTotal {
  count: number;
  /** From a block sample of the table (large tables without jobq's failed-jobs index). */
  estimated: boolean;
}

const SAMPLE_TARGET_ROWS = 20_000;

/**
 * The total behind a failed-jobs page, at the cost stats already pays: exact through the failed-jobs
 * index (per queue) or while the table is small, else estimated from a block sample. A page that
 * holds every match is its own total. Time filters and queue+task together have no cheap count:
 * null, and the page says "more" instead.
 */
export async function failedTotal(ctx: QueueContext, query: FailedQuery, page: FailedPage): Promise<FailedTotal | null> {
  if (query.cursor === undefined && page.nextCursor === null) return { count: page.jobs.length, estimated: false };
  if (query.since || query.before || (query.queue && query.task)) return null;
  const column: GroupColumn = query.task ? 'task_name' : 'queue_name';
  const key = query.task ?? query.queue ?? null;
  const pick = (rows: { key: string; count: number }[]) => rows.filter((r) => key === null || r.key === key).reduce((n, r) => n + r.count, 0);
  try {
    const estimates = await ctx.db.query(catalogTableEstimates());
    const jobRows = estimates.rows.find((r) => r.table_name === 'procrastinate_jobs')?.estimated_rows ?? 0;
    // The failed-jobs index is on (queue_name, id): it counts per queue, not per task.
    if (jobRows <= ctx.settings.exactCountMaxRows || (ctx.schema.has('failed_index') && column === 'queue_name')) {
      return { count: pick((await ctx.db.query(jobsCountByStatus(column, ['failed']))).rows), estimated: false };
    }
    const percent = Math.min(100, Math.max(0.01, (100 * SAMPLE_TARGET_ROWS) / jobRows));
    const sample = (await ctx.db.query(jobsFinalCountsSampled(column, percent))).rows;
    const scale = sample[0] ? jobRows / sample[0].sample_total : 0;
    const count = Math.round(pick(sample.filter((r) => r.status === 'failed')) * scale);
    // A sample can miss a small group; the page itself is a floor.
    return { count: Math.max(count, page.jobs.length), estimated: true };
  } catch (error) {
    throw asJobqError(error);
  }
}
