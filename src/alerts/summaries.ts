import { heavyRead } from '../queue/context.js';
import type { Fence } from '../db/queries/jobq-leases.js';
import { createHash } from 'node:crypto';
import { createTask, type ScheduledTask } from 'node-cron';
import { backoffMs } from '../backoff.js';
import type { SummarySchedule } from '../config.js';
import { summaryTicksClaim, summaryTicksPosted, summaryTicksPrevious } from '../db/queries/jobq-alerts.js';
import type { QueueHandle } from '../queue/handle.js';
import type { Logger } from '../log.js';
import { getHealthSummary } from '../queue/summary.js';
import type { RenderOptions } from '../render/blocks/reads.js';
import { summaryBlocks } from '../render/blocks/summary.js';
import { METADATA_TYPE, type Poster } from './poster.js';
import { classifySlackError } from '../slack/errors.js';

/** A first summary (no earlier tick recorded) covers the last day; no summary covers more than a week. */
const DEFAULT_PERIOD_MS = 86_400_000;
const MAX_PERIOD_MS = 7 * DEFAULT_PERIOD_MS;

/** Stable across replicas and restarts: the same schedule on every replica has the same key. */
export function scheduleKey(schedule: SummarySchedule): string {
  return createHash('sha256')
    .update(JSON.stringify([schedule.cron, schedule.timezone, schedule.channel]))
    .digest('hex')
    .slice(0, 16);
}

export interface SummaryDeps {
  schedules: SummarySchedule[];
  queue: QueueHandle;
  poster: Poster;
  log: Logger;
  render: RenderOptions;
  /** Only the alerting leader posts; the others let the tick pass. */
  fence: () => Fence | null;
  /** First wait before retrying a summary Slack refused (doubles per attempt, capped at a minute; default 5 s). */
  retryMs?: number;
}

/** A claimed tick not yet in Slack: its period grows to cover the ticks that come while it waits. */
interface PendingSummary {
  schedule: SummarySchedule;
  key: string;
  from: Date;
  ticks: Date[];
  attempts: number;
  timer?: NodeJS.Timeout;
}

/**
 * Cron-scheduled health summaries on every replica; at each tick only the leader acts, and it
 * posts only after inserting the (schedule, tick) row, so even two leaders at once post once.
 * A summary Slack refuses (bot not in the channel, Slack down) is kept and retried with backoff;
 * ticks that pass meanwhile join it, so the one summary posted at last covers the whole period.
 */
export function startSummaries(deps: SummaryDeps): { stop(): Promise<void>; runTick(schedule: SummarySchedule, tickAt: Date): Promise<boolean> } {
  const { log } = deps;
  const inFlight = new Set<Promise<unknown>>();
  const pending = new Map<string, PendingSummary>();
  let stopped = false;

  const track = (run: Promise<unknown>) => {
    inFlight.add(run);
    void run.finally(() => inFlight.delete(run));
    return run;
  };

  async function runTick(schedule: SummarySchedule, tickAt: Date): Promise<boolean> {
    const fence = deps.fence();
    if (!fence) return false;
    const key = scheduleKey(schedule);
    const ctx = await deps.queue.get();
    const claimed = await ctx.db.query(summaryTicksClaim(key, tickAt, schedule.channel, fence));
    if (!claimed.rows[0]) return false;
    const waiting = pending.get(key);
    if (waiting) {
      waiting.ticks.push(tickAt);
      log.info({ schedule: key, tick: tickAt.toISOString(), waiting: waiting.ticks.length }, 'health summary tick joins a summary still waiting for Slack');
      return true;
    }
    const previous = (await ctx.db.query(summaryTicksPrevious(key, tickAt))).rows[0]?.tick_at ?? null;
    const from = previous && tickAt.getTime() - previous.getTime() <= MAX_PERIOD_MS ? previous : new Date(tickAt.getTime() - (previous ? MAX_PERIOD_MS : DEFAULT_PERIOD_MS));
    const summary: PendingSummary = { schedule, key, from, ticks: [tickAt], attempts: 0 };
    pending.set(key, summary);
    await deliver(summary);
    return true;
  }

  async function deliver(p: PendingSummary): Promise<void> {
    const to = p.ticks.at(-1)!;
    try {
      if (!deps.fence()) {
        pending.delete(p.key);
        log.warn({ schedule: p.key, ticks: p.ticks.map((t) => t.toISOString()) }, 'health summary not posted: this replica no longer leads');
        return;
      }
      const ctx = await deps.queue.get();
      const from = to.getTime() - p.from.getTime() > MAX_PERIOD_MS ? new Date(to.getTime() - MAX_PERIOD_MS) : p.from;
      const { heavy } = await heavyRead(ctx);
      const summary = await getHealthSummary(heavy, { from, to });
      const ts = await deps.poster.post(p.schedule.channel, summaryBlocks(summary, deps.render), {
        metadata: { event_type: METADATA_TYPE.summary, event_payload: { schedule: p.key, tick: to.toISOString(), ...(p.ticks.length > 1 ? { ticks: p.ticks.length } : {}) } },
      });
      pending.delete(p.key);
      // Posted: a failure to record it must not post it again.
      for (const tick of p.ticks)
        await ctx.db.query(summaryTicksPosted(p.key, tick, ts)).catch((error: unknown) => log.warn({ err: error, schedule: p.key }, 'health summary posted but not recorded'));
      log.info({ schedule: p.key, tick: to.toISOString(), ticks: p.ticks.length, channel: p.schedule.channel }, 'health summary posted');
    } catch (error) {
      if (stopped) return;
      p.attempts++;
      const delayMs = backoffMs(p.attempts, deps.retryMs ?? 5_000);
      // A Slack error was already reported once (channel, variable, fix) by the poster's watch.
      const fields = { err: error, schedule: p.key, attempts: p.attempts, retryInMs: delayMs };
      if (classifySlackError(error)) log.debug(fields, 'health summary not posted; kept and retried');
      else log.error(fields, 'health summary failed; retrying');
      p.timer = setTimeout(() => void track(deliver(p)), delayMs);
      p.timer.unref();
    }
  }

  const tasks: ScheduledTask[] = deps.schedules.map((schedule, index) =>
    createTask(schedule.cron, (context) => track(runTick(schedule, context.date).catch((error: unknown) => log.error({ err: error, schedule: index }, 'health summary failed'))), {
      timezone: schedule.timezone,
      name: `jobq-summary-${index}-${scheduleKey(schedule)}`,
      noOverlap: true,
      unref: true,
    }),
  );
  for (const task of tasks) void task.start();

  return {
    runTick,
    async stop() {
      stopped = true;
      for (const p of pending.values()) clearTimeout(p.timer);
      await Promise.all(tasks.map((t) => t.destroy()));
      await Promise.allSettled([...inFlight]);
    },
  };
}
