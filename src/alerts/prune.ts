import { backgroundTask, type BackgroundTask } from '../background.js';
import type { Db } from '../db/database.js';
import { failureAlertsPrune, summaryTicksPrune } from '../db/queries/jobq-alerts.js';
import type { Logger } from '../log.js';

const PRUNE_EVERY_MS = 3_600_000;
/** Past the update window, a failure alert's record only serves a crash recovery long over. */
const FAILURE_ALERTS_KEPT_DAYS = 7;
/** Ticks older than a month no longer decide a summary's period. */
const SUMMARY_TICKS_KEPT_DAYS = 30;

/**
 * Keeps jobq's own alerting tables small: the leader deletes the records nobody will read again,
 * hourly. Each delete is bounded by its age condition; Procrastinate's tables are never touched.
 */
export function startPruning(db: Db, log: Logger): BackgroundTask {
  const task = backgroundTask({
    name: "pruning jobq's alert records",
    log,
    intervalMs: PRUNE_EVERY_MS,
    round: async () => {
      await db.query(failureAlertsPrune(FAILURE_ALERTS_KEPT_DAYS));
      await db.query(summaryTicksPrune(SUMMARY_TICKS_KEPT_DAYS));
    },
  });
  task.start();
  return task;
}
