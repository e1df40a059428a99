import { jobsFailedPage, jobsIdBounds, type FailedPageFilter } from '../db/queries/jobs.js';
import { JobqError, asJobqError } from '../errors.js';
import type { QueueContext } from './context.js';
import { safePreview } from './preview.js';

export interface FailedJob {
  id: number;
  queue: string;
  task: string;
  attempts: number;
  failedAt: string | null;
  argsPreview: string;
}

export interface FailedPage {
  jobs: FailedJob[];
  /** Pass back as `cursor` for the next (older) page; null when the oldest job was reached. */
  nextCursor: number | null;
  /** The id range this call examined, so a caller can say how far back it looked. */
  scanned: { fromId: number; toId: number };
}

export interface FailedQuery {
  queue?: string | undefined;
  task?: string | undefined;
  since?: Date | undefined;
  before?: Date | undefined;
  cursor?: number | undefined;
  limit?: number | undefined;
}

export const FAILED_MAX_LIMIT = 100;
const ARGS_PREVIEW_CHARS = 120;
/** Without a failed-jobs index, one call walks at most WINDOW * MAX_WINDOWS primary-key ids. */
const WINDOW = 50_000;
const MAX_WINDOWS = 10;

/** Newest failed jobs first, keyset-paginated by id (never OFFSET), with a hard limit. */
export async function listFailed(ctx: QueueContext, query: FailedQuery = {}): Promise<FailedPage> {
  const limit = query.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > FAILED_MAX_LIMIT) {
    throw new JobqError('usage', `--limit must be between 1 and ${FAILED_MAX_LIMIT}.`);
  }
  const filter: FailedPageFilter = { queue: query.queue ?? null, task: query.task ?? null, since: query.since ?? null, before: query.before ?? null };
  try {
    const bounds = (await ctx.db.query(jobsIdBounds())).rows[0]!;
    if (bounds.max_id === null || bounds.min_id === null) return { jobs: [], nextCursor: null, scanned: { fromId: 0, toId: 0 } };
    const top = Math.min(query.cursor ?? bounds.max_id + 1, bounds.max_id + 1);
    const indexed = ctx.schema.has('failed_index');
    const jobs: FailedJob[] = [];
    let cursor = top;
    let floor = cursor;
    for (let window = 0; window < (indexed ? 1 : MAX_WINDOWS) && jobs.length < limit && cursor > bounds.min_id; window++) {
      floor = indexed ? bounds.min_id : Math.max(bounds.min_id, cursor - WINDOW);
      const page = await ctx.db.query(jobsFailedPage(filter, cursor, floor, limit - jobs.length, ARGS_PREVIEW_CHARS));
      for (const row of page.rows) {
        jobs.push({
          id: row.id,
          queue: row.queue_name,
          task: row.task_name,
          attempts: row.attempts,
          failedAt: row.failed_at ? row.failed_at.toISOString() : null,
          argsPreview: safePreview(row.args_preview, ARGS_PREVIEW_CHARS, row.args_length),
        });
      }
      cursor = jobs.length >= limit ? jobs[jobs.length - 1]!.id : floor;
    }
    const nextCursor = cursor > bounds.min_id ? cursor : null;
    return { jobs, nextCursor, scanned: { fromId: Math.max(floor, bounds.min_id), toId: top - 1 } };
  } catch (error) {
    throw asJobqError(error);
  }
}
