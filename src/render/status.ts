import type { GroupStats } from '../queue/stats.js';

/**
 * What makes a row stand out, decided once for Slack, the Home tab and the terminal: failures in
 * the last hour, a backlog over its threshold (the same thresholds the backlog alert uses), a
 * paused queue.
 */

export interface Thresholds {
  backlogMaxAgeSeconds: number;
  backlogMaxJobs: number;
  /** JOBQ_QUEUE_THRESHOLDS: a queue's own limits. */
  perQueue?: Record<string, { backlogMaxAgeSeconds?: number | undefined; backlogMaxJobs?: number | undefined }> | undefined;
}

export const DEFAULT_THRESHOLDS: Thresholds = { backlogMaxAgeSeconds: 600, backlogMaxJobs: 10_000 };

export interface QueueHealth {
  /** Jobs failed in the last hour and failed jobs are still there (not all retried or purged since). */
  failing: boolean;
  /** The oldest waiting job is older than the queue's threshold. */
  backlogOld: boolean;
  /** More jobs wait than the queue's threshold. */
  backlogLarge: boolean;
  paused: boolean;
}

export function thresholdsOf(thresholds: Thresholds, queue: string): { maxAgeSeconds: number; maxJobs: number } {
  const own = thresholds.perQueue?.[queue];
  return { maxAgeSeconds: own?.backlogMaxAgeSeconds ?? thresholds.backlogMaxAgeSeconds, maxJobs: own?.backlogMaxJobs ?? thresholds.backlogMaxJobs };
}

/** `byQueue`: the group is a queue (task groups have no backlog thresholds of their own). */
export function queueHealth(g: GroupStats, thresholds: Thresholds = DEFAULT_THRESHOLDS, byQueue = true): QueueHealth {
  const limits = byQueue ? thresholdsOf(thresholds, g.name) : { maxAgeSeconds: thresholds.backlogMaxAgeSeconds, maxJobs: thresholds.backlogMaxJobs };
  return {
    failing: g.recent.lastHour.failed > 0 && g.counts.failed > 0,
    backlogOld: g.oldestTodoAgeSeconds !== null && g.oldestTodoAgeSeconds > limits.maxAgeSeconds,
    backlogLarge: g.counts.todo > limits.maxJobs,
    paused: g.paused !== null,
  };
}
