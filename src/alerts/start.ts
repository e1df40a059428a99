import type { WebClient } from '@slack/web-api';
import type { Config } from '../config.js';
import { migrate } from '../db/migrations.js';
import type { QueueHandle } from '../queue/handle.js';
import type { Logger } from '../log.js';
import { startSummaries } from './summaries.js';
import { createDeliveryWatch, type DeliveryWatch } from '../slack/delivery-watch.js';
import { configuredChannels } from '../slack/preflight.js';
import { createDbOutageReporter } from './db-outage.js';
import { createFailureTail, type FailureTail, type TailRecorder } from './failures.js';
import { createHealthMonitor, type HealthMonitor } from './health.js';
import { startPruning } from './prune.js';
import type { BackgroundTask } from '../background.js';
import { startLeadership, type LeaderEvent, type LeaderRecorder } from './leadership.js';
import { listMutes, type Mute } from '../queue/mutes.js';
import { createPoster, type PosterRecorder } from './poster.js';
import { alertEnabled, alertSettingsFrom } from './settings.js';
import type { EnvironmentLabel } from '../render/blocks/environment.js';
import { renderOptionsFrom } from '../render/options.js';

export interface AlertsDeps {
  config: Config;
  queue: QueueHandle;
  /** The Bolt app's WebClient (it retries on 429 after Retry-After). */
  client: WebClient;
  log: Logger;
  /** Resolves once jobq's schema is migrated (default: migrate the queue's pool). */
  migrated?: () => Promise<void>;
  /** Where Slack errors are reported (the bot's Slack status; default: a watch that only logs). */
  watch?: DeliveryWatch;
  /** With several environments: the one these alerts are about, named on every post. */
  environment?: EnvironmentLabel | undefined;
  /** Where posts, Slack errors, the tail's lag and leadership are reported. */
  metrics?: (PosterRecorder & TailRecorder & LeaderRecorder) | undefined;
}

export interface RunningAlerts {
  isLeader(): boolean;
  /** The failure tail's position while this replica leads (for logs and tests), else null. */
  tailState(): ReturnType<FailureTail['state']> | null;
  /** Resolves after the first leadership attempt. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/** Whether this config asks for alerts or summaries at all. */
export function alertsConfigured(config: Config): boolean {
  return Boolean(config.JOBQ_ALERT_CHANNEL) || config.JOBQ_SUMMARY_SCHEDULES.length > 0;
}

/**
 * Alerts and scheduled summaries. Every replica runs this; one, elected through a lease in jobq's schema,
 * follows failures, checks health and posts summaries. Slash commands are unaffected.
 */
export function startAlerts(deps: AlertsDeps): RunningAlerts {
  const settings = alertSettingsFrom(deps.config);
  const log = deps.log.child({ component: 'alerts' });
  const render = renderOptionsFrom(deps.config);
  const watch = deps.watch ?? createDeliveryWatch({ log, channels: configuredChannels(deps.config) });
  const poster = createPoster(deps.client, { ...settings, log, watch, metrics: deps.metrics, environment: deps.environment });
  const migrated = deps.migrated ?? (() => migrate(deps.queue.db).then(() => undefined));
  let knownMutes: Mute[] = [];

  let tail: FailureTail | null = null;
  let health: HealthMonitor | null = null;
  let pruning: BackgroundTask | null = null;
  let retry: NodeJS.Timeout | undefined;
  let duties: Promise<void> = Promise.resolve();

  async function startDuties(): Promise<void> {
    if (!leadership.isLeader() || tail || health) return;
    try {
      await migrated();
      pruning ??= startPruning(deps.queue.db, log);
      if (!settings.channel) return;
      knownMutes = await listMutes(deps.queue.db);
      // Failure alerts offer "Pause queue" where the database can pause (Procrastinate 3.10+).
      const withPause = { ...render, pauseButtons: (await deps.queue.get()).schema.has('pause_queues') };
      if (alertEnabled(settings, 'failures')) {
        const t = createFailureTail({ pool: deps.queue.db, poster, settings, log, render: withPause, fence: leadership.fence, metrics: deps.metrics });
        await t.start();
        tail = t;
      }
      const h = createHealthMonitor({ queue: deps.queue, poster, settings, log, render, fence: leadership.fence, onMutes: (m) => (knownMutes = m) });
      h.start();
      health = h;
      if (!leadership.isLeader()) await stopDuties(); // deposed while starting
    } catch (error) {
      log.error({ err: error }, 'alerting could not start; trying again');
      await stopDuties();
      retry = setTimeout(() => {
        duties = duties.then(startDuties);
      }, settings.leaderCheckMs);
      retry.unref();
    }
  }

  async function stopDuties(): Promise<void> {
    clearTimeout(retry);
    const [t, h, p] = [tail, health, pruning];
    tail = null;
    health = null;
    pruning = null;
    await Promise.all([t?.stop(), h?.stop(), p?.stop()]);
  }

  const outage =
    settings.channel && alertEnabled(settings, 'db-unreachable') ? createDbOutageReporter({ pool: deps.queue.db, poster, settings, log, render, mutes: () => knownMutes }) : null;

  const leadership = startLeadership({
    db: deps.queue.db,
    checkMs: settings.leaderCheckMs,
    log,
    metrics: deps.metrics,
    ready: migrated,
    onEvent: async (event: LeaderEvent) => {
      if (event.type === 'elected') duties = duties.then(startDuties);
      // Deposed: stop at once; a batch half delivered stays stored for the next leader.
      if (event.type === 'deposed') {
        tail?.halt();
        health?.halt();
        duties = duties.then(stopDuties);
      }
      await outage?.onEvent(event);
    },
  });

  const summaries = settings.summaries.length
    ? startSummaries({ schedules: settings.summaries, queue: deps.queue, poster, log, render, fence: leadership.fence, retryMs: settings.pollMs })
    : null;

  return {
    isLeader: () => leadership.isLeader(),
    tailState: () => tail?.state() ?? null,
    ready: leadership.ready,
    async stop() {
      await summaries?.stop();
      await leadership.stop();
      await duties;
      await stopDuties();
      await poster.drain();
    },
  };
}
