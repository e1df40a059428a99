import { backgroundTask } from '../background.js';
import { asJobqError } from '../errors.js';
import type { Logger } from '../log.js';
import type { QueueContext } from '../queue/context.js';
import { EventTally, type EventTallyOptions } from './event-tally.js';
import { readQueueSnapshot } from './queue-snapshot.js';
import type { Metrics } from './registry.js';

export interface QueueCollectorDeps {
  /** The queue for each collection (the handle's: schema detected once, retried while the database is down). */
  context: () => Promise<QueueContext>;
  metrics: Metrics;
  intervalMs: number;
  log: Logger;
  tally?: EventTallyOptions;
}

export interface QueueCollector {
  start(): void;
  stop(): Promise<void>;
  /** One collection now, after any in progress (tests and benchmarks; the loop runs its own). */
  collect(): Promise<void>;
  readonly tally: EventTally;
}

/**
 * The background half of /metrics: every interval it reads the queue with the same bounded
 * statements as `stats` and replaces the gauges, then counts the events written since the last
 * collection by event id. Collections never overlap (one event counted twice would be a lie
 * that never goes away), and a scrape only reads what the last one left.
 */
export function createQueueCollector(deps: QueueCollectorDeps): QueueCollector {
  const { metrics } = deps;
  const tally = new EventTally(deps.tally);
  let chain: Promise<void> = Promise.resolve();

  async function collectOnce(): Promise<void> {
    const started = performance.now();
    let ok = false;
    try {
      const ctx = await deps.context();
      // Events first: the first collection takes its starting position as early as it can.
      await tally.read(ctx.db, (events) => metrics.queue.count(events));
      metrics.queue.apply(await readQueueSnapshot(ctx));
      metrics.bot.databaseReachable(true);
      ok = true;
    } catch (error) {
      const e = asJobqError(error);
      if (e.code === 'db_unreachable') metrics.bot.databaseReachable(false);
      throw e;
    } finally {
      metrics.bot.collected({ ok, seconds: (performance.now() - started) / 1000, eventsBehind: tally.behind });
    }
  }

  const collect = () => {
    const next = chain.then(collectOnce);
    chain = next.catch(() => undefined);
    return next;
  };

  const task = backgroundTask({ name: 'metrics collection', log: deps.log, intervalMs: deps.intervalMs, round: collect });
  return { start: () => task.start(), stop: () => task.stop(), collect, tally };
}
