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

export interface JobsFetchProbeRow {
  id: number;
}

/**
 * A stand-in for a worker's fetch, read-only: the next due job, through the same partial index
 * `(priority DESC, id ASC) WHERE status = 'todo'` Procrastinate's fetch walks. Its latency while a
 * bulk batch is open is what a worker's fetch costs then (a retry-all batch's rows, back to todo
 * but not committed, sit at the front of that index, and every fetch steps over them). With the
 * ORDER BY and LIMIT matching the index, no table size makes the planner prefer a scan.
 */
export function jobsFetchProbe(): Query<JobsFetchProbeRow> {
  return {
    text: `
      SELECT id FROM procrastinate_jobs
      WHERE status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now())
      ORDER BY priority DESC, id ASC
      LIMIT 1`,
  };
}
