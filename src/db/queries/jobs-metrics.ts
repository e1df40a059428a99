import type { Query } from '../database.js';

export interface JobsQueuesRow {
  id: number;
  queue_name: string;
}

/** The queue of each job among `ids`, by primary key (the metrics collector's event counter labels events by queue). */
export function jobsQueues(ids: number[]): Query<JobsQueuesRow> {
  return { text: 'SELECT id, queue_name FROM procrastinate_jobs WHERE id = ANY($1::bigint[])', values: [ids] };
}
