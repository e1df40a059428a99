import type { WebClient } from '@slack/web-api';
import { backoffMs } from '../backoff.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { createDeliveryWatch, type DeliveryWatch, type FailingDelivery } from './delivery-watch.js';
import { type ConfiguredChannel, configuredChannels, preflightAtStart, preflightClient, runSlackPreflight, type PreflightResult, type SlackProblem } from './preflight.js';

/** A Slack error at run time re-runs the preflight, at most this often. */
export const RECHECK_MIN_MS = 180_000;
/** Slack unreachable at start: check again after this, doubling, up to RECHECK_MIN_MS. */
const UNREACHABLE_RETRY_MS = 15_000;

/** What /readyz shows about Slack. */
export interface SlackSnapshot {
  checkedAt: string;
  reachable: boolean;
  problems: SlackProblem[];
  /** Channels whose last post (or history read) failed, with the fix. */
  failing: FailingDelivery[];
}

export interface SlackStatus {
  watch: DeliveryWatch;
  snapshot(): SlackSnapshot;
  /** Re-runs the preflight soon: at once if the last run is old enough, else when it is. */
  recheck(): void;
  stop(): void;
}

export interface SlackStatusOptions {
  config: Config;
  log: Logger;
  client: WebClient;
  /** The preflight run at start. */
  first: PreflightResult;
  /** The channels to check and watch; by default the config's own (one environment). */
  channels?: ConfiguredChannel[];
  minIntervalMs?: number;
}

const keyOf = (p: SlackProblem) => `${p.variable}\u0000${p.code}\u0000${p.message}`;

/** One line per problem: what is wrong, which variable, and the fix. */
export const problemLine = (p: SlackProblem) => `${p.message}. Fix: ${p.fix}.`;

/**
 * The latest preflight, kept for /readyz and doctor-like questions, plus the delivery watch
 * every poster reports to. Each problem is logged once when first seen and once when it clears.
 */
export function createSlackStatus(options: SlackStatusOptions): SlackStatus {
  const { config, log, client } = options;
  const channels = options.channels ?? configuredChannels(config);
  const minIntervalMs = options.minIntervalMs ?? RECHECK_MIN_MS;
  let latest = options.first;
  let lastRunAt = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let unreachableRuns = latest.reachable ? 0 : 1;
  let stopped = false;
  const logged = new Map<string, SlackProblem>();

  function report(result: PreflightResult): void {
    const now = new Map(result.problems.map((p) => [keyOf(p), p]));
    for (const [key, p] of now) {
      if (logged.has(key)) continue;
      logged.set(key, p);
      log.warn({ variable: p.variable, slackError: p.code }, `Slack preflight: ${problemLine(p)}`);
    }
    // An unreachable Slack checked nothing: what was wrong before may still be wrong.
    if (!result.reachable) return;
    for (const [key, p] of logged) {
      if (now.has(key)) continue;
      logged.delete(key);
      log.info({ variable: p.variable, slackError: p.code }, `Slack preflight: resolved: ${p.message}`);
    }
  }

  async function run(): Promise<void> {
    lastRunAt = Date.now();
    try {
      const result = await runSlackPreflight(client, config, channels);
      if (stopped) return;
      // Unreachable now says nothing new about channels: keep the last full answer's problems.
      latest = result.reachable ? result : { ...result, problems: [...latest.problems.filter((p) => p.code !== 'unreachable'), ...result.problems] };
      report(result);
      unreachableRuns = result.reachable ? 0 : unreachableRuns + 1;
    } catch (error) {
      log.warn({ err: error }, 'Slack preflight failed; it runs again after the next Slack error');
    }
  }

  function schedule(delayMs: number): void {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      running = run().finally(() => {
        running = undefined;
        if (again) {
          again = false;
          schedule(Math.max(0, lastRunAt + minIntervalMs - Date.now()));
        } else if (unreachableRuns > 0) {
          schedule(backoffMs(unreachableRuns, UNREACHABLE_RETRY_MS, minIntervalMs));
        }
      });
    }, delayMs);
    timer.unref();
  }

  function recheck(): void {
    if (running) {
      again = true;
      return;
    }
    schedule(Math.max(0, lastRunAt + minIntervalMs - Date.now()));
  }

  const watch = createDeliveryWatch({ log, channels, onChange: recheck });
  report(latest);
  if (!latest.reachable) schedule(backoffMs(1, UNREACHABLE_RETRY_MS, minIntervalMs));

  return {
    watch,
    snapshot: () => ({ checkedAt: latest.checkedAt, reachable: latest.reachable, problems: latest.problems, failing: watch.failing() }),
    recheck,
    stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

/**
 * Runs the preflight before the bot starts (a rejected token throws, see preflightAtStart) and
 * keeps its result. `identity` is the bot's, from auth.test, when Slack answered.
 */
export async function startSlackStatus(
  config: Config,
  log: Logger,
  channels = configuredChannels(config),
): Promise<{ status: SlackStatus; identity: { botId: string; botUserId: string } | undefined }> {
  const client = preflightClient(config, log);
  const first = await preflightAtStart(client, config, channels);
  const status = createSlackStatus({ config, log, client, first, channels });
  const identity = first.botId && first.botUserId ? { botId: first.botId, botUserId: first.botUserId } : undefined;
  return { status, identity };
}
