/**
 * Failed jobs a retry-all left failed, by reason, and the one wording of what to do about them.
 * The wording lives here, not in a renderer, because the audit entry must say the same thing
 * as the Slack message and the terminal.
 */

/** Ids kept per reason: enough to act on, bounded however many jobs were skipped. */
export const SKIPPED_IDS_KEPT = 20;

export interface SkippedJobs {
  count: number;
  /** The first SKIPPED_IDS_KEPT, lowest first. */
  ids: number[];
}

export interface RetryAllSkipped {
  /** Another session held the row (a worker, another operator's batch, a purge), also at the run's second try. */
  locked: SkippedJobs;
  /** The job has an event after the preview's snapshot: it failed again, ran, or was retried by someone else. */
  changed: SkippedJobs;
  /** Another job with the same queueing lock is waiting. */
  queueingLock: SkippedJobs;
}

export const noSkips = (): RetryAllSkipped => ({ locked: { count: 0, ids: [] }, changed: { count: 0, ids: [] }, queueingLock: { count: 0, ids: [] } });

export function addSkipped(into: SkippedJobs, id: number): void {
  into.count += 1;
  if (into.ids.length < SKIPPED_IDS_KEPT) into.ids.push(id);
}

export const skippedTotal = (s: RetryAllSkipped) => s.locked.count + s.changed.count + s.queueingLock.count;

/** One sentence per reason that skipped something: which jobs, why, and what to do. */
export function describeSkips(s: RetryAllSkipped): string[] {
  const lines: string[] = [];
  if (s.locked.count > 0) {
    lines.push(
      s.locked.count === 1
        ? `Skipped ${listIds(s.locked)}: another session held it each time this run came to it (a worker or another operator). If it is still failed, run \`retry ${s.locked.ids[0]}\` in a moment.`
        : `Skipped ${listIds(s.locked)}: another session held them each time this run came to them (a worker or another operator). Retry those still failed with \`retry <id>\` in a moment, or preview again.`,
    );
  }
  if (s.changed.count > 0) {
    lines.push(
      `Skipped ${listIds(s.changed)}: ${s.changed.count === 1 ? 'it' : 'they'} failed again, ran or ${s.changed.count === 1 ? 'was' : 'were'} retried after the preview. Preview again to include ${s.changed.count === 1 ? 'it' : 'them'}.`,
    );
  }
  if (s.queueingLock.count > 0) {
    lines.push(`Left ${listIds(s.queueingLock)} failed: another job with the same queueing lock is waiting.`);
  }
  return lines;
}

function listIds(jobs: SkippedJobs): string {
  const named = jobs.ids.map((id) => `#${id}`).join(', ');
  const more = jobs.count - jobs.ids.length;
  if (jobs.count === 1) return named;
  return `${jobs.count} jobs (${named}${more > 0 ? ` and ${more} more` : ''})`;
}
