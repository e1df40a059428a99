import { validate as isCronExpression } from 'node-cron';
import { z } from 'zod';
import { JobqError } from './errors.js';

/** postgres:// and postgresql:// URLs, including socket forms like postgres:///app. */
export function isPostgresUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'postgres:' || url.protocol === 'postgresql:';
  } catch {
    return false;
  }
}

const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const csv = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => ['true', '1', 'yes'].includes(v));
/** Seconds that may be fractional (tests run alert loops at 0.1 s). */
const duration = (fallback: number, max = 86_400) => z.coerce.number().positive().max(max).default(fallback);
/** A variable holding JSON, checked against a schema; the issue path starts with the variable name. */
const json = <T extends z.ZodType>(schema: T, fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

const isTimeZone = (zone: string) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};

/** Names of the alerts jobq can post (also what `/jobq mute` accepts as an alert name). */
export const ALERT_NAMES = ['failures', 'stalled', 'backlog', 'no-workers', 'db-unreachable', 'paused'] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

/** Per-queue backlog thresholds: JOBQ_QUEUE_THRESHOLDS='{"emails":{"backlogMaxAgeSeconds":60,"backlogMaxJobs":1000}}'. */
export const queueThresholdsSchema = z.record(
  z.string().min(1).max(128),
  z.strictObject({ backlogMaxAgeSeconds: z.number().positive().optional(), backlogMaxJobs: z.number().int().positive().optional() }),
);
export type QueueThresholds = z.infer<typeof queueThresholdsSchema>;

/** JOBQ_SUMMARY_SCHEDULES='[{"cron":"0 9 * * 1-5","timezone":"Europe/Berlin","channel":"C123"}]'. */
export const summarySchedulesSchema = z
  .array(
    z.strictObject({
      cron: z.string().refine((c) => isCronExpression(c), 'is not a valid cron expression (e.g. "0 9 * * 1-5")'),
      timezone: z.string().default('UTC').refine(isTimeZone, 'is not an IANA time zone (e.g. "Europe/Berlin")'),
      channel: z.string().min(1, 'needs a Slack channel ID'),
    }),
  )
  .max(20);
export type SummarySchedule = z.infer<typeof summarySchedulesSchema>[number];

/** Where runbook links point unless a team sets its own copy (its Git host, its wiki). */
export const DEFAULT_RUNBOOK_URL = 'https://github.com/jobq-dev/jobq/blob/main/docs/runbooks/job-queue.md';

/** The one schema for the environment. Every variable jobq reads is named here. */
export const envSchema = z.object({
  // Checked below: only the one jobq uses must be a PostgreSQL URL (DATABASE_URL may belong to another app).
  /** A YAML or JSON file listing several environments (databases); see the README, "Several databases". */
  JOBQ_CONFIG: z.string().trim().optional(),
  JOB_QUEUE_DATABASE_URL: z.string().trim().optional(),
  DATABASE_URL: z.string().trim().optional(),
  /** Procrastinate's schema, when not found through the search_path or in public. */
  JOB_QUEUE_SCHEMA: z.string().trim().min(1).max(63).optional(),
  /** A hot standby for the heavy reads (stats, failed, summaries); changes and leadership stay on the primary. */
  JOB_QUEUE_READ_DATABASE_URL: z.string().trim().optional(),
  JOBQ_READ_MAX_LAG_SECONDS: z.coerce.number().positive().max(86_400).default(30),
  JOBQ_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  JOBQ_LOCK_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(1_000),
  JOBQ_POOL_MAX: z.coerce.number().int().min(1).max(50).default(5),
  /** How long a request waits for a connection when all JOBQ_POOL_MAX are in use; then it is told jobq is busy. */
  JOBQ_POOL_WAIT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  /** Identical heavy reads (stats, failed) within this many seconds share one answer, which says its age; 0: only reads still running are joined. */
  JOBQ_READ_CACHE_SECONDS: z.coerce.number().min(0).max(60).default(5),
  /** Below this many rows (planner estimate), final-status counts are exact; above, sampled. */
  JOBQ_EXACT_COUNT_MAX_ROWS: z.coerce.number().int().min(0).default(500_000),
  /** Above that size, how often the leader recounts final statuses exactly in the background. */
  JOBQ_COUNTS_REFRESH_SECONDS: duration(600, 7 * 86_400),
  JOBQ_STALLED_HEARTBEAT_SECONDS: seconds(30),
  JOBQ_STALLED_RUNNING_SECONDS: seconds(3_600),
  /** Caps of the pacing of bulk changes (src/queue/pacer.ts): the largest batch, the longest back-off. */
  JOBQ_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(5_000),
  JOBQ_BATCH_PAUSE_MS: z.coerce.number().int().min(0).max(60_000).default(2_000),
  JOBQ_RUNBOOK_URL: z.string().url().default(DEFAULT_RUNBOOK_URL),
  /** A link to the team's log search for one job: {job_id}, {task}, {queue}, {failed_at} are filled in, URL-encoded. */
  JOBQ_LOGS_URL_TEMPLATE: z
    .string()
    .url()
    .refine((v) => /^https?:\/\//.test(v) && /\{(job_id|task|queue|failed_at)\}/.test(v), 'must be an http(s) URL with at least one of {job_id}, {task}, {queue}, {failed_at}')
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Slack front
  SLACK_BOT_TOKEN: z.string().startsWith('xoxb-', 'must start with xoxb-').optional(),
  SLACK_SIGNING_SECRET: z.string().min(8).optional(),
  SLACK_APP_TOKEN: z.string().startsWith('xapp-', 'must start with xapp-').optional(),
  SLACK_API_URL: z.string().url().optional(),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  JOBQ_READ_CHANNELS: csv,
  JOBQ_WRITE_USERS: csv,
  JOBQ_WRITE_GROUPS: csv,
  JOBQ_AUDIT_CHANNEL: z.string().optional(),
  JOBQ_CONFIRM_TTL_SECONDS: seconds(600),
  JOB_QUEUE_ENABLED: bool(true),
  // Alerts, silences, scheduled summaries (one elected replica posts them)
  JOBQ_ALERT_CHANNEL: z.string().optional(),
  JOBQ_ALERTS_DISABLED: csv.pipe(z.array(z.enum(ALERT_NAMES))),
  JOBQ_ALERT_POLL_SECONDS: duration(5, 300),
  JOBQ_ALERT_GROUP_WAIT_SECONDS: duration(10, 600),
  JOBQ_ALERT_UPDATE_WINDOW_SECONDS: duration(900),
  JOBQ_ALERT_MAX_PER_MINUTE: z.coerce.number().int().min(1).max(60).default(10),
  JOBQ_ALERT_POST_INTERVAL_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
  JOBQ_ALERT_REPEAT_SECONDS: duration(3_600),
  JOBQ_HEALTH_CHECK_SECONDS: duration(30, 3_600),
  JOBQ_DB_UNREACHABLE_AFTER_SECONDS: z.coerce.number().min(0).max(3_600).default(30),
  JOBQ_BACKLOG_MAX_AGE_SECONDS: duration(600),
  JOBQ_BACKLOG_MAX_JOBS: z.coerce.number().int().positive().default(10_000),
  JOBQ_QUEUE_THRESHOLDS: json(queueThresholdsSchema, '{}'),
  JOBQ_SUMMARY_SCHEDULES: json(summarySchedulesSchema, '[]'),
  JOBQ_LEADER_CHECK_SECONDS: duration(2, 300),
  /** Procrastinate 3.10+: a queue paused longer than this gets a reminder in the alert channel. */
  JOBQ_PAUSE_REMINDER_SECONDS: duration(3_600, 7 * 86_400),
  // Metrics (GET /metrics on PORT)
  /** How often the queue metrics are read in the background (scrapes are served from memory); 0 turns the queue metrics off. */
  JOBQ_METRICS_INTERVAL_SECONDS: z.coerce.number().min(0).max(3_600).default(30),
  /** Queues named in metric labels; later ones are reported together as queue="_other". */
  JOBQ_METRICS_MAX_QUEUES: z.coerce.number().int().min(1).max(500).default(50),
  // Sandbox (`npm start` without Slack credentials)
  JOBQ_SANDBOX_PORT: z.coerce.number().int().min(0).max(65_535).default(3030),
  JOBQ_SANDBOX_DATA_DIR: z.string().optional(),
  JOBQ_SANDBOX_SIMULATE: z.enum(['true', 'false']).optional(),
  JOBQ_SANDBOX_JOBS_PER_MINUTE: z.coerce.number().min(0).max(60_000).default(120),
  JOBQ_SANDBOX_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0.08),
  JOBQ_SANDBOX_CHAOS_SECONDS: z.coerce.number().int().min(0).default(120),
  /** Sandbox: how many environments (embedded databases) to serve, to try several databases behind one bot. */
  JOBQ_SANDBOX_ENVIRONMENTS: z.coerce.number().int().min(1).max(3).default(1),
});

export type Config = z.infer<typeof envSchema> & { databaseUrl: string | undefined };

/** Validates the environment once; a bad variable is named, its value (maybe a secret) never shown. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new JobqError('config_invalid', `Invalid configuration: ${problems.join('; ')}`, {
      hint: 'Fix the variable named above and start again.',
      runbookSection: 'database-connectivity',
    });
  }
  const [name, databaseUrl] =
    parsed.data.JOB_QUEUE_DATABASE_URL !== undefined ? ['JOB_QUEUE_DATABASE_URL', parsed.data.JOB_QUEUE_DATABASE_URL] : ['DATABASE_URL', parsed.data.DATABASE_URL];
  if (databaseUrl !== undefined && !isPostgresUrl(databaseUrl)) {
    // The value is never echoed: it may hold a password.
    throw new JobqError('config_invalid', `Invalid configuration: ${name} must be a postgres:// or postgresql:// URL.`, {
      hint: 'Give the URL of the database your Procrastinate app uses.',
      runbookSection: 'database-connectivity',
    });
  }
  const readUrl = parsed.data.JOB_QUEUE_READ_DATABASE_URL;
  if (readUrl !== undefined && !isPostgresUrl(readUrl)) {
    throw new JobqError('config_invalid', 'Invalid configuration: JOB_QUEUE_READ_DATABASE_URL must be a postgres:// or postgresql:// URL (a hot standby of the primary).', {
      hint: 'Give the URL of a read replica of the database your Procrastinate app uses, or unset it.',
      runbookSection: 'database-connectivity',
    });
  }
  return { ...parsed.data, databaseUrl };
}

/** The database URL, or a clear error naming both variables jobq reads. */
export function requireDatabaseUrl(config: Config): string {
  if (!config.databaseUrl) {
    throw new JobqError('config_missing', 'No database configured: set JOB_QUEUE_DATABASE_URL (or DATABASE_URL) to your Procrastinate database.', {
      hint: 'Example: JOB_QUEUE_DATABASE_URL=postgres://user:password@localhost:5432/app',
      runbookSection: 'database-connectivity',
    });
  }
  return config.databaseUrl;
}
