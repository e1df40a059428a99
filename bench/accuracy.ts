import { loadConfig } from '../src/config.js';
import { connectQueue } from '../src/queue/open.js';
import { getStats, type StatsResult } from '../src/queue/stats.js';
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
}

const errorPct = (shown: number, exact: number) => (exact === 0 ? (shown === 0 ? 0 : 100) : (100 * Math.abs(shown - exact)) / exact);

/** stats' per-queue counts against one exact count per queue and status. */
export async function measureAccuracy(url: string): Promise<Accuracy> {
  const ctx = await connectQueue(loadConfig(cliEnv(url)));
  try {
    const stats = await getStats(ctx);
    const exact = new Map<string, number>();
    await ctx.db.transaction(async (tx) => {
      await tx.query('SET LOCAL statement_timeout = 0');
      for (const row of (await tx.query<{ queue_name: string; status: string; count: number }>(EXACT_COUNTS)).rows) exact.set(`${row.queue_name}/${row.status}`, Number(row.count));
    });
    const compare = (status: string): CountError[] =>
      stats.queues.map((q) => {
        const shown = q.counts[status as keyof typeof q.counts] ?? 0;
        const truth = exact.get(`${q.name}/${status}`) ?? 0;
        return { queue: q.name, status, shown, exact: truth, errorPct: errorPct(shown, truth), estimated: q.estimated.includes(status as never) };
      });
    const rare = RARE.flatMap(compare);
    const errors = rare.map((r) => r.errorPct).sort((x, y) => x - y);
    return {
      countMethod: stats.countMethod,
      rare,
      maxErrorPct: errors.at(-1) ?? 0,
      medianErrorPct: errors[Math.floor((errors.length - 1) / 2)] ?? 0,
      liveMismatches: ['todo', 'doing'].flatMap(compare).filter((r) => r.shown !== r.exact),
    };
  } finally {
    await ctx.close();
  }
}
