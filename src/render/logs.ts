/**
 * JOBQ_LOGS_URL_TEMPLATE: why a job failed is not in Procrastinate's tables, it is in the team's
 * logs or error tracker. The template (e.g. `https://logs.example.com/search?q=job_id%3D{job_id}`)
 * gets `{job_id}`, `{task}`, `{queue}` and `{failed_at}` (ISO 8601 UTC), each URL-encoded.
 */

export const LOGS_PLACEHOLDERS = ['job_id', 'task', 'queue', 'failed_at'] as const;

export interface LoggedJob {
  id: number;
  task: string;
  queue: string;
  failedAt?: string | null | undefined;
}

/** The job's log search, or null without a template. */
export function logsUrl(template: string | undefined, job: LoggedJob): string | null {
  if (!template) return null;
  const values: Record<(typeof LOGS_PLACEHOLDERS)[number], string> = {
    job_id: String(job.id),
    task: job.task,
    queue: job.queue,
    failed_at: job.failedAt ? new Date(job.failedAt).toISOString() : '',
  };
  return template.replace(/\{(job_id|task|queue|failed_at)\}/g, (_m, name: keyof typeof values) => encodeURIComponent(values[name]));
}
