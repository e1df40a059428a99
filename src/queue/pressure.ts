import type { Queryable } from '../db/database.js';
import { catalogLockWaiters } from '../db/queries/catalog.js';
import { jobsFetchProbe } from '../db/queries/jobs-health.js';
import type { QueueContext } from './context.js';
import type { Pressure } from './pacer.js';

/**
 * How a bulk change measures whether Procrastinate's workers feel it: the inputs of the pacer.
 * Every measurement is cheap (a catalog read, a one-row index read, a cached replica lag) and
 * none may fail the change: what cannot be measured is reported as unknown.
 */
export interface PressureGauge {
  /** The probe's latency with nothing of this run open: the median of a few reads. */
  idleProbe(): Promise<number | null>;
  /**
   * Inside a batch, once its work is done and before it commits: who waits on its locks, and
   * what a fetch costs now. The probe is waited for at most `slowMs` (then it is slow, and how
   * slow matters less than the locks held meanwhile); null: no probe.
   */
  whileHolding(batch: Queryable, slowMs: number | null): Promise<Pick<Pressure, 'lockWaiters' | 'probeMs'>>;
  /** Between batches: how far the standby is behind, when one is configured. */
  replicaLag(): Promise<number | null>;
}

const IDLE_SAMPLES = 3;
/** How long a batch waits for its probe to get a connection and begin; past it, no measurement. */
const PROBE_START_MS = 50;

export function pressureGauge(ctx: QueueContext): PressureGauge {
  /**
   * One probe on its own connection. Only the statement is timed (not taking the connection,
   * nor BEGIN), and the answer comes as soon as it returns: a batch does not hold its locks
   * while the probe's read-only transaction commits. With `slowMs`, the answer comes at the
   * latest that long after the statement started (then it is what it measured so far).
   */
  function probe(slowMs: number | null): Promise<number | null> {
    // Requests already queue for a connection: a probe would queue behind them and time the pool, not the database.
    if (ctx.db.stats.waiting > 0) return Promise.resolve(null);
    let answer!: (ms: number | null) => void;
    const answered = new Promise<number | null>((resolve) => {
      answer = resolve;
    });
    let timer = slowMs === null ? undefined : setTimeout(() => answer(null), PROBE_START_MS);
    ctx.db
      .transaction(
        async (tx) => {
          const startedAt = performance.now();
          clearTimeout(timer);
          if (slowMs !== null) timer = setTimeout(() => answer(performance.now() - startedAt), slowMs);
          await tx.query(jobsFetchProbe());
          answer(performance.now() - startedAt);
        },
        { readOnly: true },
      )
      .catch((error: unknown) => {
        ctx.log?.debug({ err: error }, 'the pacing probe failed; this batch is paced without it');
        answer(null);
      });
    return answered.finally(() => clearTimeout(timer));
  }

  return {
    async idleProbe() {
      const samples: number[] = [];
      for (let i = 0; i < IDLE_SAMPLES; i++) {
        const ms = await probe(null);
        if (ms !== null) samples.push(ms);
      }
      if (samples.length === 0) return null;
      samples.sort((a, b) => a - b);
      return samples[Math.floor(samples.length / 2)]!;
    },

    async whileHolding(batch, slowMs) {
      const [waiters, probeMs] = await Promise.all([batch.query(catalogLockWaiters()), slowMs === null ? null : probe(Math.ceil(slowMs) + 1)]);
      return { lockWaiters: waiters.rows[0]?.waiters ?? 0, probeMs };
    },

    async replicaLag() {
      if (!ctx.reader) return null;
      try {
        const status = await ctx.reader.status();
        return status?.reachable && status.inRecovery ? status.lagSeconds : null;
      } catch (error) {
        ctx.log?.debug({ err: error }, 'the replica lag could not be read; this batch is paced without it');
        return null;
      }
    },
  };
}
