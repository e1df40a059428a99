import type { RunningAlerts } from './alerts/start.js';
import { openEnvironment, type RunningEnvironment } from './bot-environment.js';
import { DEFAULT_RUNBOOK_URL, type Config } from './config.js';
import { DEFAULT_ENVIRONMENT, type Environments } from './environments/config-file.js';
import { asJobqError } from './errors.js';
import type { Logger } from './log.js';
import type { QueueCollector } from './metrics/collector.js';
import { createMetrics, type Metrics } from './metrics/registry.js';
import { metricsRoute } from './metrics/route.js';
import { renderOptionsFrom } from './render/options.js';
import { createSlackApp, type SlackApp } from './slack/app.js';
import type { BotDeps, SlackDeps } from './slack/deps.js';
import { configuredChannels } from './slack/preflight.js';
import { startSlackStatus } from './slack/status.js';

export interface RunningBot {
  slack: SlackApp;
  port: number;
  /** Every environment, in the configured order. */
  environments: RunningEnvironment[];
  /** The first environment's part (the only one without JOBQ_CONFIG). */
  deps: SlackDeps;
  /** The first environment's alerts and summaries, when its alert channel or schedules are set. */
  alerts: RunningAlerts | null;
  /** What GET /metrics serves. */
  metrics: Metrics;
  /** The first environment's queue metrics collector; null when JOBQ_METRICS_INTERVAL_SECONDS=0. */
  collector: QueueCollector | null;
  stop(): Promise<void>;
}

/**
 * Wiring only: config -> Slack preflight -> one part per environment (pool, alerts, metrics) ->
 * the Slack front over all of them. A Config alone is the single-database setup, as environment
 * `default`. Also used by tests and the sandbox.
 */
export async function startBot(setup: Config | Environments, log: Logger): Promise<RunningBot> {
  const environments: Environments = 'list' in setup ? setup : { list: [{ name: DEFAULT_ENVIRONMENT, config: setup, channels: [] }], file: null };
  // Slack, the port and the log are process-wide: the same variables in every environment.
  const config = environments.list[0]!.config;
  const shown = environments.list.length > 1;
  // Every environment's alert, audit and summary channels are checked and watched, each named
  // with its environment so a warning points at the entry to fix.
  const channels = environments.list.flatMap((env) => configuredChannels(env.config, shown ? env.name : undefined));
  // Before anything listens: a token Slack rejects ends the start here with one clear line.
  const slackCheck = config.SLACK_BOT_TOKEN ? await startSlackStatus(config, log, channels) : undefined;
  const metrics = createMetrics({ maxQueues: config.JOBQ_METRICS_MAX_QUEUES, perEnvironment: shown });
  const parts = environments.list.map((env) => openEnvironment(env, { log, metrics, shown, slackStatus: slackCheck?.status }));
  const bot: BotDeps = {
    environments: parts.map((p) => p.deps),
    config,
    log,
    render: renderOptionsFrom(config),
    metrics: metrics.bot,
    routes: [metricsRoute(metrics, log)],
    ...(slackCheck ? { slackStatus: slackCheck.status } : {}),
  };
  for (const env of environments.list) {
    if (env.config.JOBQ_RUNBOOK_URL === DEFAULT_RUNBOOK_URL) {
      log.warn("JOBQ_RUNBOOK_URL is not set: runbook links point at the upstream copy; set it to your team's copy of docs/runbooks/job-queue.md");
      break;
    }
  }
  const slack = createSlackApp(bot, slackCheck?.identity);
  const { port } = await slack.start();
  for (const part of parts) part.start(slack.app.client);
  const first = parts[0]!;
  return {
    slack,
    port,
    environments: parts,
    deps: first.deps,
    get alerts() {
      return first.alerts;
    },
    metrics,
    get collector() {
      return first.collector;
    },
    async stop() {
      slackCheck?.status.stop();
      await Promise.all(parts.map((p) => p.stop()));
      await slack.stop().catch(() => undefined);
    },
  };
}

/**
 * Runs the bot until `stop` resolves; returns the exit code. A start that fails (a token Slack
 * rejects, a bad variable) is logged as one line naming what to fix, with no stack trace.
 */
export async function runBot(setup: Config | Environments, log: Logger, stop: Promise<void>): Promise<number> {
  let bot: RunningBot;
  try {
    bot = await startBot(setup, log);
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
