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
  /** Inside a batch, once its work is done and before it commits: who waits on its locks, and what a fetch costs now. */
  whileHolding(batch: Queryable): Promise<Pick<Pressure, 'lockWaiters' | 'probeMs'>>;
  /** Between batches: how far the standby is behind, when one is configured. */
  replicaLag(): Promise<number | null>;
}

const IDLE_SAMPLES = 3;
/**
 * How long a batch keeps its locks waiting for the probe. A probe still running then is slow
 * enough to count as what it measured so far; one still waiting for a pool connection measured
 * nothing.
 */
const PROBE_WAIT_MS = 50;

export function pressureGauge(ctx: QueueContext): PressureGauge {
  /**
   * One probe on its own connection. Only the statement is timed (not taking the connection,
   * nor BEGIN), and the answer comes as soon as it returns: a batch does not hold its locks
   * while the probe's read-only transaction commits.
   */
  function probe(waitMs: number | null): Promise<number | null> {
    let startedAt: number | null = null;
    const measured = new Promise<number | null>((resolve) => {
      ctx.db
        .transaction(
          async (tx) => {
            const t0 = performance.now();
            startedAt = t0;
            await tx.query(jobsFetchProbe());
            resolve(performance.now() - t0);
          },
          { readOnly: true },
        )
        .catch((error: unknown) => {
          ctx.log?.debug({ err: error }, 'the pacing probe failed; this batch is paced without it');
          resolve(null);
        });
    });
    if (waitMs === null) return measured;
    let timer: NodeJS.Timeout | undefined;
    const cutoff = new Promise<number | null>((resolve) => {
      timer = setTimeout(() => resolve(startedAt === null ? null : performance.now() - startedAt), waitMs);
    });
    return Promise.race([measured, cutoff]).finally(() => clearTimeout(timer));
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

    async whileHolding(batch) {
      const [waiters, probeMs] = await Promise.all([batch.query(catalogLockWaiters()), probe(PROBE_WAIT_MS)]);
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
