import { alertsConfigured, startAlerts, type RunningAlerts } from './alerts/start.js';
import { DEFAULT_RUNBOOK_URL, type Config } from './config.js';
import { migrate } from './db/migrations.js';
import { createQueueHandle } from './queue/handle.js';
import { renderOptionsFrom } from './render/options.js';
import { asJobqError } from './errors.js';
import type { Logger } from './log.js';
import { createQueueCollector, type QueueCollector } from './metrics/collector.js';
import { createMetrics, type Metrics } from './metrics/registry.js';
import { metricsRoute } from './metrics/route.js';
import { startFinalCounts, type RunningFinalCounts } from './schedules/final-counts.js';
import { createSlackApp, type SlackApp } from './slack/app.js';
import { createConfirmations } from './slack/confirmations.js';
import type { SlackDeps } from './slack/deps.js';
import { createPermissions } from './slack/permissions.js';
import { startSlackStatus } from './slack/status.js';

export interface RunningBot {
  slack: SlackApp;
  port: number;
  deps: SlackDeps;
  /** Alerts and summaries, when JOBQ_ALERT_CHANNEL or JOBQ_SUMMARY_SCHEDULES is set. */
  alerts: RunningAlerts | null;
  /** What GET /metrics serves. */
  metrics: Metrics;
  /** Reads the queue metrics in the background; null when JOBQ_METRICS_INTERVAL_SECONDS=0. */
  collector: QueueCollector | null;
  stop(): Promise<void>;
}

/** Wiring only: config -> Slack preflight -> pool -> Slack front. Also used by tests and the sandbox. */
export async function startBot(config: Config, log: Logger): Promise<RunningBot> {
  // Before anything listens: a token Slack rejects ends the start here with one clear line.
  const slackCheck = config.SLACK_BOT_TOKEN ? await startSlackStatus(config, log) : undefined;
  const metrics = createMetrics({ maxQueues: config.JOBQ_METRICS_MAX_QUEUES });
  const queue = createQueueHandle(config, log, { metrics: metrics.bot });
  let migration: Promise<void> | undefined;
  let lastMigrationError = '';
  const migrated = () => {
    migration ??= migrate(queue.db).then(
      (r) => {
        lastMigrationError = '';
        if (r.applied.length) log.info({ applied: r.applied }, 'jobq schema migrated');
      },
      (error: unknown) => {
        migration = undefined;
        const e = asJobqError(error);
        // Logged once per distinct cause: the watcher retries with backoff, changes retry on use.
        if (e.message !== lastMigrationError)
          log.warn({ code: e.code, reason: e.message, hint: e.hint }, 'jobq schema not ready: reads work, changes are refused until this is fixed');
        lastMigrationError = e.message;
        throw e;
      },
    );
    return migration;
  };
  const deps: SlackDeps = {
    config,
    queue,
    permissions: createPermissions(config),
    confirmations: createConfirmations(queue.db, config.JOBQ_CONFIRM_TTL_SECONDS),
    migrated,
    render: renderOptionsFrom(config),
    log,
    metrics: metrics.bot,
    routes: [metricsRoute(metrics.registry, log)],
    ...(slackCheck ? { slackStatus: slackCheck.status } : {}),
  };
  if (config.JOBQ_RUNBOOK_URL === DEFAULT_RUNBOOK_URL) {
    log.warn("JOBQ_RUNBOOK_URL is not set: runbook links point at the upstream copy; set it to your team's copy of docs/runbooks/job-queue.md");
  }
  const slack = createSlackApp(deps, slackCheck?.identity);
  const { port } = await slack.start();
  // Detect and migrate in the background, retrying with backoff: a database that is down,
  // missing or not yet Procrastinate at start does not stop the bot, and a permission problem
  // shows in the log at start rather than at the first click.
  // Once jobq's schema is there, every replica also joins the election for the background
  // counts of final-status jobs (exact stats on tables too large to count on each request).
  let counts: RunningFinalCounts | null = null;
  let stopping = false;
  queue.watch(async () => {
    await migrated();
    if (stopping) return;
    counts ??= startFinalCounts({
      queue,
      log,
      refreshSeconds: config.JOBQ_COUNTS_REFRESH_SECONDS,
      leaderCheckMs: Math.round(config.JOBQ_LEADER_CHECK_SECONDS * 1000),
      migrated,
    });
  });
  // Every replica starts this; the one elected leader posts alerts and summaries.
  const alerts = alertsConfigured(config)
    ? startAlerts({ config, queue, client: slack.app.client, log, migrated, metrics: metrics.bot, ...(slackCheck ? { watch: slackCheck.status.watch } : {}) })
    : null;
  const collector =
    config.JOBQ_METRICS_INTERVAL_SECONDS > 0 ? createQueueCollector({ context: () => queue.get(), metrics, intervalMs: config.JOBQ_METRICS_INTERVAL_SECONDS * 1000, log }) : null;
  collector?.start();
  return {
    slack,
    port,
    deps,
    alerts,
    metrics,
    collector,
    async stop() {
      slackCheck?.status.stop();
      stopping = true;
      await collector?.stop();
      await alerts?.stop().catch((error: unknown) => log.warn({ err: error }, 'alerts did not stop cleanly'));
      await counts?.stop().catch((error: unknown) => log.warn({ err: error }, 'background counts did not stop cleanly'));
      await slack.stop().catch(() => undefined);
      await queue.close();
    },
  };
}

/**
 * Runs the bot until `stop` resolves; returns the exit code. A start that fails (a token Slack
 * rejects, a bad variable) is logged as one line naming what to fix, with no stack trace.
 */
export async function runBot(config: Config, log: Logger, stop: Promise<void>): Promise<number> {
  let bot: RunningBot;
  try {
    bot = await startBot(config, log);
  } catch (error) {
    const e = asJobqError(error);
    log.error({ code: e.code }, e.message);
    return e.exitCode;
  }
  log.info(
    { mode: bot.slack.mode, port: bot.port },
    `jobq is running (${bot.slack.mode === 'socket' ? 'Socket Mode' : 'HTTP'}); health on :${bot.port}/healthz, metrics on :${bot.port}/metrics`,
  );
  await stop;
  log.info('shutting down');
  await bot.stop();
  return 0;
}
