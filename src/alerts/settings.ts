import type { AlertName, Config, QueueThresholds, SummarySchedule } from '../config.js';

/** Alerting tunables, in milliseconds where they are timers, read once from config. */
export interface AlertSettings {
  channel: string | undefined;
  disabled: ReadonlySet<AlertName>;
  pollMs: number;
  groupWaitMs: number;
  updateWindowSeconds: number;
  maxPerMinute: number;
  postIntervalMs: number;
  repeatMs: number;
  healthCheckMs: number;
  dbUnreachableAfterMs: number;
  backlogMaxAgeSeconds: number;
  backlogMaxJobs: number;
  pauseReminderSeconds: number;
  queueThresholds: QueueThresholds;
  summaries: SummarySchedule[];
  leaderCheckMs: number;
  runbookBase: string;
}

export function alertSettingsFrom(config: Config): AlertSettings {
  return {
    channel: config.JOBQ_ALERT_CHANNEL,
    disabled: new Set(config.JOBQ_ALERTS_DISABLED),
    pollMs: Math.round(config.JOBQ_ALERT_POLL_SECONDS * 1000),
    groupWaitMs: Math.round(config.JOBQ_ALERT_GROUP_WAIT_SECONDS * 1000),
    updateWindowSeconds: config.JOBQ_ALERT_UPDATE_WINDOW_SECONDS,
    maxPerMinute: config.JOBQ_ALERT_MAX_PER_MINUTE,
    postIntervalMs: config.JOBQ_ALERT_POST_INTERVAL_MS,
    repeatMs: Math.round(config.JOBQ_ALERT_REPEAT_SECONDS * 1000),
    healthCheckMs: Math.round(config.JOBQ_HEALTH_CHECK_SECONDS * 1000),
    dbUnreachableAfterMs: Math.round(config.JOBQ_DB_UNREACHABLE_AFTER_SECONDS * 1000),
    backlogMaxAgeSeconds: config.JOBQ_BACKLOG_MAX_AGE_SECONDS,
    backlogMaxJobs: config.JOBQ_BACKLOG_MAX_JOBS,
    pauseReminderSeconds: config.JOBQ_PAUSE_REMINDER_SECONDS,
    queueThresholds: config.JOBQ_QUEUE_THRESHOLDS,
    summaries: config.JOBQ_SUMMARY_SCHEDULES,
    leaderCheckMs: Math.round(config.JOBQ_LEADER_CHECK_SECONDS * 1000),
    runbookBase: config.JOBQ_RUNBOOK_URL,
  };
}

/** The backlog thresholds of one queue: its own from JOBQ_QUEUE_THRESHOLDS, else the defaults. */
export function backlogThresholds(settings: AlertSettings, queue: string): { maxAgeSeconds: number; maxJobs: number } {
  const own = settings.queueThresholds[queue];
  return { maxAgeSeconds: own?.backlogMaxAgeSeconds ?? settings.backlogMaxAgeSeconds, maxJobs: own?.backlogMaxJobs ?? settings.backlogMaxJobs };
}

export function alertEnabled(settings: AlertSettings, name: AlertName): boolean {
  return settings.channel !== undefined && !settings.disabled.has(name);
}
