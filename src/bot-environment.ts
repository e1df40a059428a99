import type { WebClient } from '@slack/web-api';
import { alertsConfigured, startAlerts, type RunningAlerts } from './alerts/start.js';
import { migrate } from './db/migrations.js';
import type { Environment } from './environments/config-file.js';
import { asJobqError } from './errors.js';
import type { Logger } from './log.js';
import { createQueueCollector, type QueueCollector } from './metrics/collector.js';
import type { Metrics } from './metrics/registry.js';
import { createQueueHandle } from './queue/handle.js';
import { renderOptionsFrom } from './render/options.js';
import { startFinalCounts, type RunningFinalCounts } from './schedules/final-counts.js';
import { createConfirmations } from './slack/confirmations.js';
import type { SlackDeps } from './slack/deps.js';
import { createPermissions } from './slack/permissions.js';
import type { SlackStatus } from './slack/status.js';

/** One environment of the bot: its database and everything that follows it, isolated from the others. */
export interface RunningEnvironment {
  name: string;
  deps: SlackDeps;
  alerts: RunningAlerts | null;
  collector: QueueCollector | null;
  /** Starts what needs Slack's client: alerts, summaries, metrics, the background counts. */
  start(client: WebClient): void;
  stop(): Promise<void>;
}

interface Shared {
  log: Logger;
  metrics: Metrics;
  /** True when jobq serves more than one environment: replies and alerts then name theirs. */
  shown: boolean;
  slackStatus?: SlackStatus | undefined;
}

/**
 * Opens one environment: its own pool and schema detection, jobq schema (in its own database),
 * leadership leases, alert tail, health checks, summaries and metrics. Nothing here waits on the
 * database: one that is down, slow or misconfigured affects this environment's answers only.
 */
export function openEnvironment(env: Environment, shared: Shared): RunningEnvironment {
  const { config } = env;
  const log = shared.shown ? shared.log.child({ env: env.name }) : shared.log;
  // With several environments each has its metrics apart, labelled env="NAME".
  const metrics = shared.shown ? shared.metrics.environment(env.name) : shared.metrics;
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
    environment: { name: env.name, shown: shared.shown, channels: env.channels },
    metrics: metrics.bot,
    ...(shared.slackStatus ? { slackStatus: shared.slackStatus } : {}),
  };

  let counts: RunningFinalCounts | null = null;
  let stopping = false;
  const running: RunningEnvironment = {
    name: env.name,
    deps,
    alerts: null,
    collector: null,
    start(client) {
      // Detect and migrate in the background, retrying with backoff: a database that is down,
      // missing or not yet Procrastinate at start does not stop the bot, and a permission problem
      // shows in the log at start rather than at the first click. Once jobq's schema is there,
      // every replica also joins the election for the background counts of final-status jobs.
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
      running.alerts = alertsConfigured(config)
        ? startAlerts({
            config,
            queue,
            client,
            log,
            migrated,
            metrics: metrics.bot,
            environment: deps.environment,
            ...(shared.slackStatus ? { watch: shared.slackStatus.watch } : {}),
          })
        : null;
      running.collector =
        config.JOBQ_METRICS_INTERVAL_SECONDS > 0
          ? createQueueCollector({ context: () => queue.get(), metrics, intervalMs: config.JOBQ_METRICS_INTERVAL_SECONDS * 1000, log })
          : null;
      running.collector?.start();
    },
    async stop() {
      stopping = true;
      await running.collector?.stop();
      await running.alerts?.stop().catch((error: unknown) => log.warn({ err: error }, 'alerts did not stop cleanly'));
      await counts?.stop().catch((error: unknown) => log.warn({ err: error }, 'background counts did not stop cleanly'));
      await queue.close();
    },
  };
  return running;
}
