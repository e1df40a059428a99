import type { Query } from '../database.js';

/**
 * Health reads on procrastinate_jobs for the backlog alert. `status = 'todo'` is a literal so the
 * planner can use Procrastinate's partial indexes on waiting jobs: the cost follows the backlog,
 * not the table.
 */

export interface JobsTodoPerQueueRow {
  queue_name: string;
  todo: number;
  due: number;
}

/** Waiting jobs per queue: all of them, and those already due (not scheduled for later). */
export function jobsTodoPerQueue(): Query<JobsTodoPerQueueRow> {
  return {
    text: `
      SELECT queue_name, count(*)::bigint AS todo,
             count(*) FILTER (WHERE scheduled_at IS NULL OR scheduled_at <= now())::bigint AS due
      FROM procrastinate_jobs
      WHERE status = 'todo'
      GROUP BY 1`,
    // Procrastinate's partial indexes on live jobs serve this; at 10M rows the planner would scan the table.
    planner: { enable_seqscan: 'off' },
  };
}
