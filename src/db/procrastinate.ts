/**
 * Procrastinate's vocabulary: states, event types, and the versioned functions jobq calls.
 * Function names live here and nowhere else, keyed by the schema features that provide them.
 */
export const JOB_STATUS = {
  todo: 'todo',
  doing: 'doing',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
  aborting: 'aborting',
  aborted: 'aborted',
} as const;
export type JobStatus = (typeof JOB_STATUS)[keyof typeof JOB_STATUS];

/** The statuses stats report, in display order (`aborting` is folded into `doing`: 2.x only). */
export const REPORTED_STATUSES = ['todo', 'doing', 'succeeded', 'failed', 'cancelled', 'aborted'] as const;
export type ReportedStatus = (typeof REPORTED_STATUSES)[number];

/** Statuses a job never leaves by itself; the only ones purge may delete. */
export const FINAL_STATUSES = ['succeeded', 'failed', 'cancelled', 'aborted'] as const;
export type FinalStatus = (typeof FINAL_STATUSES)[number];

/** Statuses of a job a worker holds (2.x keeps `aborting` as a live state). */
export const RUNNING_STATUSES = ['doing', 'aborting'] as const;

export const EVENT_TYPE = {
  deferred: 'deferred',
  started: 'started',
  deferredForRetry: 'deferred_for_retry',
  failed: 'failed',
  succeeded: 'succeeded',
  cancelled: 'cancelled',
  abortRequested: 'abort_requested',
  aborted: 'aborted',
  scheduled: 'scheduled',
  retried: 'retried',
} as const;
export type EventType = (typeof EVENT_TYPE)[keyof typeof EVENT_TYPE];

/** Capabilities detected from the catalog; see detectSchema. */
export const FEATURES = [
  'v1_functions', // 3.0: functions renamed with _v1
  'abort_requested', // 3.0: abort is a flag, not the `aborting` status
  'workers', // 3.1: procrastinate_workers, jobs.worker_id, heartbeats
  'batch_defer', // 3.2: procrastinate_defer_jobs_v1
  'retry_failed', // 3.4: procrastinate_retry_job_v2 accepts failed jobs
  'retried_event', // 3.4: failed -> todo writes a `retried` event
  'failed_index', // a partial index covering failed jobs exists (jobq's recommended one, or its older failed-only form)
  'rare_index', // jobq's recommended partial index covering failed, cancelled and aborted jobs exists
  'pause_queues', // 3.10: procrastinate_paused_queues, honoured by procrastinate_fetch_job_v3
  'lock_mode', // 3.10: jobs.lock_mode (ordered | mutex)
  'deferred_at', // 3.10: jobs.deferred_at (NULL for jobs deferred before the upgrade)
] as const;
export type Feature = (typeof FEATURES)[number];

/** Procrastinate's function names per schema generation. */
export const FUNCTIONS = {
  retryFailedV2: 'procrastinate_retry_job_v2',
  cancel: { v1: 'procrastinate_cancel_job_v1', legacy: 'procrastinate_cancel_job' },
  /** Retry of a running job: `doing` only (3.0-3.3 `_v1`; 2.x un-suffixed, 2-argument overload). */
  retryDoing: { v1: 'procrastinate_retry_job_v1', legacy: 'procrastinate_retry_job' },
} as const;
