import { createHash } from 'node:crypto';
import { createTask, type ScheduledTask } from 'node-cron';
import type { SummarySchedule } from '../config.js';
import { summaryTicksClaim, summaryTicksPosted, summaryTicksPrevious } from '../db/queries/jobq-alerts.js';
import type { QueueHandle } from '../db/queue-handle.js';
import type { Logger } from '../log.js';
import { getHealthSummary } from '../queue/summary.js';
import type { RenderOptions } from '../render/blocks/reads.js';
import { summaryBlocks } from '../render/blocks/summary.js';
import { METADATA_TYPE, type Poster } from '../alerts/poster.js';

/** A first summary (no earlier tick recorded) covers the last day; no summary covers more than a week. */
const DEFAULT_PERIOD_MS = 86_400_000;
const MAX_PERIOD_MS = 7 * DEFAULT_PERIOD_MS;

/** Stable across replicas and restarts: the same schedule on every replica has the same key. */
export function scheduleKey(schedule: SummarySchedule): string {
  return createHash('sha256').update(JSON.stringify([schedule.cron, schedule.timezone, schedule.channel])).digest('hex').slice(0, 16);
}

export interface SummaryDeps {
  schedules: SummarySchedule[];
  queue: QueueHandle;
  poster: Poster;
  log: Logger;
  render: RenderOptions;
  /** Only the alerting leader posts; the others let the tick pass. */
  isLeader: () => boolean;
}

/**
 * Cron-scheduled health summaries on every replica; at each tick only the leader acts, and it
 * posts only after inserting the (schedule, tick) row, so even two leaders at once post once.
 */
export function startSummaries(deps: SummaryDeps): { stop(): Promise<void>; runTick(schedule: SummarySchedule, tickAt: Date): Promise<boolean> } {
  const { log } = deps;
  const inFlight = new Set<Promise<unknown>>();

  async function runTick(schedule: SummarySchedule, tickAt: Date): Promise<boolean> {
    if (!deps.isLeader()) return false;
    const key = scheduleKey(schedule);
    const ctx = await deps.queue.get();
    const claimed = await ctx.pool.query(summaryTicksClaim(key, tickAt, schedule.channel));
    if (!claimed.rows[0]) return false;
    const previous = (await ctx.pool.query<{ tick_at: Date | null }>(summaryTicksPrevious(key, tickAt))).rows[0]?.tick_at ?? null;
    const from = previous && tickAt.getTime() - previous.getTime() <= MAX_PERIOD_MS ? previous : new Date(tickAt.getTime() - (previous ? MAX_PERIOD_MS : DEFAULT_PERIOD_MS));
    const summary = await getHealthSummary(ctx, { from, to: tickAt });
    const ts = await deps.poster.post(schedule.channel, summaryBlocks(summary, deps.render), {
      metadata: { event_type: METADATA_TYPE.summary, event_payload: { schedule: key, tick: tickAt.toISOString() } },
    });
    await ctx.pool.query(summaryTicksPosted(key, tickAt, ts));
    log.info({ schedule: key, tick: tickAt.toISOString(), channel: schedule.channel }, 'health summary posted');
    return true;
  }

  const tasks: ScheduledTask[] = deps.schedules.map((schedule, index) =>
    createTask(
      schedule.cron,
      (context) => {
        const run = runTick(schedule, context.date).catch((error: unknown) => log.error({ err: error, schedule: index }, 'health summary failed'));
        inFlight.add(run);
        return run.finally(() => inFlight.delete(run));
      },
      { timezone: schedule.timezone, name: `jobq-summary-${index}-${scheduleKey(schedule)}`, noOverlap: true, unref: true },
    ),
  );
  for (const task of tasks) void task.start();

  return {
    runTick,
    async stop() {
      await Promise.all(tasks.map((t) => t.destroy()));
      await Promise.allSettled([...inFlight]);
    },
  };
}
