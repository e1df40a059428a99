import { loadConfig } from '../src/config.js';
import { migrate } from '../src/db/migrations.js';
import { finalCountsForget } from '../src/db/queries/jobq-final-counts.js';
import { createLogger } from '../src/log.js';
import { readCountState } from '../src/queue/final-counts.js';
import { createQueueHandle } from '../src/queue/handle.js';
import { connectQueue } from '../src/queue/open.js';
import { getStats, type StatsResult } from '../src/queue/stats.js';
import { startFinalCounts } from '../src/schedules/final-counts.js';
import { withClient } from './databases.js';
import { EXACT_COUNTS } from './naive.js';
import { cliEnv } from './reads.js';

/** The statuses a team looks for in stats and that are too rare to sample well. */
export const RARE = ['failed', 'cancelled', 'aborted'] as const;

export interface CountError {
  queue: string;
  status: string;
  shown: number;
  exact: number;
  /** |shown - exact| / exact, in percent (0 when both are 0; 100 when exact is 0 and shown is not). */
  errorPct: number;
  estimated: boolean;
}

export interface Accuracy {
  countMethod: StatsResult['countMethod'];
  rare: CountError[];
  maxErrorPct: number;
  medianErrorPct: number;
  /** todo and doing must be exact: queues whose figure differs. */
  liveMismatches: CountError[];
  /**
   * What stats shows before the bot's first background count (a bot that just started, or one
   * whose count went stale): the block sample, with its printed bounds. Null when stats counts
   * exactly by itself (a small table).
   */
  beforeCount: { countMethod: StatsResult['countMethod']; maxErrorPct: number; medianErrorPct: number; outsideBounds: number; rare: CountError[] } | null;
  /** How long the bot's first background count took (its windows paced as in production), in ms. */
  countMs: number | null;
}

const errorPct = (shown: number, exact: number) => (exact === 0 ? (shown === 0 ? 0 : 100) : (100 * Math.abs(shown - exact)) / exact);

/**
 * stats' per-queue counts against one exact count per queue and status, twice: as a bot that just
 * started shows them (no background count yet: the sample), and once the bot's background count
 * has run, through the same startFinalCounts a running bot starts (its lease, windows and pacing).
 */
export async function measureAccuracy(url: string): Promise<Accuracy> {
  const config = loadConfig(cliEnv(url));
  const ctx = await connectQueue(config);
  try {
    await migrate(ctx.db);
    // A count left by an earlier run would hide the sample; the bot below makes a fresh one.
    await ctx.db.query(finalCountsForget(ctx.schema.schema));
    const exact = new Map<string, number>();
    // The truth, on a plain connection without jobq's timeouts: a whole-table count takes its time at 10M.
    await withClient(url, async (client) => {
      if (ctx.schema.schema) await client.query(`SET search_path = ${client.escapeIdentifier(ctx.schema.schema)}, pg_temp`);
      for (const row of (await client.query<{ queue_name: string; status: string; count: number }>(EXACT_COUNTS)).rows)
        exact.set(`${row.queue_name}/${row.status}`, Number(row.count));
    });
    const compare = (stats: StatsResult, status: string): CountError[] =>
      stats.queues.map((q) => {
        const shown = q.counts[status as keyof typeof q.counts] ?? 0;
        const truth = exact.get(`${q.name}/${status}`) ?? 0;
        return { queue: q.name, status, shown, exact: truth, errorPct: errorPct(shown, truth), estimated: q.estimated.includes(status as never) };
      });
    const summary = (stats: StatsResult) => {
      const rare = RARE.flatMap((status) => compare(stats, status));
      const errors = rare.map((r) => r.errorPct).sort((x, y) => x - y);
      return { rare, maxErrorPct: errors.at(-1) ?? 0, medianErrorPct: errors[Math.floor((errors.length - 1) / 2)] ?? 0 };
    };

    const sampled = await getStats(ctx);
    let beforeCount: Accuracy['beforeCount'] = null;
    let countMs: number | null = null;
    if (sampled.countMethod.kind !== 'exact') {
      const s = summary(sampled);
      // A figure is inside its printed bound when |shown - exact| <= margin.
      const outsideBounds = sampled.queues.reduce(
        (n, q) =>
          n +
          RARE.filter((status) => {
            const margin = q.margins?.[status as keyof NonNullable<typeof q.margins>];
            return margin !== undefined && Math.abs((q.counts[status as keyof typeof q.counts] ?? 0) - (exact.get(`${q.name}/${status}`) ?? 0)) > margin;
          }).length,
        0,
      );
      beforeCount = { countMethod: sampled.countMethod, ...s, outsideBounds };

      const started = performance.now();
      const queue = createQueueHandle(config, createLogger('warn'));
      const counts = startFinalCounts({
        queue,
        log: createLogger('warn'),
        refreshSeconds: config.JOBQ_COUNTS_REFRESH_SECONDS,
        leaderCheckMs: 1000,
        migrated: async () => undefined,
      });
      try {
        while (!(await readCountState(ctx.db, ctx.schema.schema))) {
          if (performance.now() - started > 30 * 60_000) throw new Error('the background count did not finish in 30 minutes');
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        countMs = performance.now() - started;
      } finally {
        await counts.stop();
        await queue.close();
      }
    }

    const stats = await getStats(ctx);
    return {
      countMethod: stats.countMethod,
      ...summary(stats),
      liveMismatches: ['todo', 'doing'].flatMap((status) => compare(stats, status)).filter((r) => r.shown !== r.exact),
      beforeCount,
      countMs,
    };
  } finally {
    await ctx.close();
  }
}
