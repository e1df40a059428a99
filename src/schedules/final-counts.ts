import { backgroundTask } from '../background.js';
import { startLeadership, type LeaderEvent } from '../alerts/leadership.js';
import type { Logger } from '../log.js';
import { countFinalStatuses, readCountState } from '../queue/final-counts.js';
import type { QueueHandle } from '../queue/handle.js';

/** Its own lease: the count runs whether or not alerts are configured, on one replica. */
export const FINAL_COUNTS_LEASE = 'final-counts';

export interface FinalCountsDeps {
  queue: QueueHandle;
  log: Logger;
  /** JOBQ_COUNTS_REFRESH_SECONDS. */
  refreshSeconds: number;
  /** JOBQ_LEADER_CHECK_SECONDS, in ms. */
  leaderCheckMs: number;
  /** jobq's schema must be migrated before its lease and count tables can be used. */
  migrated: () => Promise<void>;
}

export interface RunningFinalCounts {
  isLeader(): boolean;
  /** Resolves once the first leadership attempt is done. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Every replica starts this; the one holding the `final-counts` lease recounts the final-status
 * jobs every refresh interval while the table is above JOBQ_EXACT_COUNT_MAX_ROWS (below it,
 * stats counts exactly by itself and a round costs one catalog read). A new leader does not
 * recount a count younger than the interval, and a deposed one stops between two windows.
 */
export function startFinalCounts(deps: FinalCountsDeps): RunningFinalCounts {
  const log = deps.log.child({ component: 'final-counts' });
  const refreshMs = deps.refreshSeconds * 1000;
  let pass: AbortController | null = null;

  const task = backgroundTask({
    name: 'counting final-status jobs',
    log,
    intervalMs: refreshMs,
    round: async () => {
      if (!leadership.isLeader()) return 'done';
      const ctx = await deps.queue.get();
      const last = await readCountState(ctx.db, ctx.schema.schema);
      if (last && last.ageSeconds * 1000 < refreshMs) return refreshMs - last.ageSeconds * 1000;
      pass = new AbortController();
      try {
        const result = await countFinalStatuses(ctx, { fence: leadership.fence, signal: pass.signal });
        if (result.kind === 'counted') log.info(result, 'final-status jobs counted');
        else log.debug(result, 'final-status count not made');
      } finally {
        pass = null;
      }
      return refreshMs;
    },
  });

  const leadership = startLeadership({
    db: deps.queue.db,
    name: FINAL_COUNTS_LEASE,
    checkMs: deps.leaderCheckMs,
    log,
    ready: deps.migrated,
    onEvent: (event: LeaderEvent) => {
      if (event.type === 'elected') task.start();
      if (event.type === 'deposed') {
        task.halt();
        pass?.abort();
      }
    },
  });

  return {
    isLeader: () => leadership.isLeader(),
    ready: leadership.ready,
    async stop() {
      pass?.abort();
      await task.stop();
      await leadership.stop();
    },
  };
}
