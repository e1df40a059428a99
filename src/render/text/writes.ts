import type { Mute } from '../../queue/mutes.js';
import type { AuditPage } from '../../queue/audit.js';
import type { CancelResult } from '../../queue/cancel.js';
import type { PurgePreview, PurgeProgress, PurgeResult } from '../../queue/purge.js';
import { describeSkips, skippedTotal } from '../../queue/retry-all-skips.js';
import type { RetryAllPreview, RetryAllProgress, RetryAllResult } from '../../queue/retry-all.js';
import type { PacingSummary } from '../../queue/pacer.js';
import type { RetryResult } from '../../queue/retry.js';
import type { RunNowResult } from '../../queue/run-now.js';
import { auditSentence } from '../audit-sentence.js';
import { table } from '../format.js';
import { localTime } from '../time.js';
import { fitTable, PLAIN, paint, type TextStyle, timeCell } from './style.js';

/** Terminal renderings of changes: previews, progress, outcomes, the audit trail. */

const ordinal = (n: number) => `${n}${n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th')}`;

/**
 * Which run of the job comes next. Procrastinate counts `attempts` up when a run ends failed and
 * again when the job is retried, so after a retry of a failed job `attempts` is the number of the
 * coming run; a stalled job's run never ended, so its next run is one more.
 */
export function nextRun(r: RetryResult): number {
  return r.previousStatus === 'failed' ? Math.max(1, r.attempts) : r.attempts + 1;
}

export function retryText(r: RetryResult): string {
  const how = r.stalled ? ` (it was stalled: ${r.stalled})` : '';
  return r.status === 'todo'
    ? `Job ${r.jobId} (${r.task} on ${r.queue}) is back to todo${how}; its ${ordinal(nextRun(r))} run starts when a worker is free.`
    : `Job ${r.jobId} had an abort request, so Procrastinate marked it failed instead of retrying it.`;
}

export function cancelText(r: CancelResult): string {
  if (r.outcome === 'cancelled') return `Job ${r.jobId} (${r.task} on ${r.queue}) is cancelled: it will not run.`;
  if (r.workerGone) {
    return `Job ${r.jobId} (${r.task} on ${r.queue}) is marked for abort, but no worker will act on it: ${r.workerGone}. It stays \`doing\` (stalled) until retried: \`retry ${r.jobId}\` then closes it as failed (Procrastinate's rule for a job asked to abort), and a second retry runs it again.`;
  }
  return `Job ${r.jobId} (${r.task} on ${r.queue}) is running: its worker was asked to abort it. A task that checks for abort requests stops soon; one that never checks runs to its end.`;
}

export function runNowText(r: RunNowResult, when: (iso: string | null) => string = localTime): string {
  return `Job ${r.jobId} (${r.task} on ${r.queue}) was scheduled for ${when(r.previouslyScheduledAt)}; it is due now.`;
}

export function retryAllPreviewText(p: RetryAllPreview): string {
  if (p.total === 0) return p.exact ? 'No failed jobs match: nothing to retry.' : `No failed jobs found among ids up to ${p.countedToId} (counting stopped at its time budget).`;
  const rows = p.groups.map((g) => [g.queue, g.task, String(g.count)]);
  return [
    `${p.exact ? '' : 'At least '}${p.total} failed job${p.total === 1 ? '' : 's'} would go back to todo:`,
    '',
    table(['QUEUE', 'TASK', 'JOBS'], rows, new Set([2])),
    '',
    `Only jobs up to id ${p.upToId} are touched, and only while they are still in the failure shown here (a job that runs, fails again or is retried meanwhile is left alone and named).`,
  ].join('\n');
}

export function retryAllProgressText(p: RetryAllProgress): string {
  return `retried ${p.retried}${p.total !== null ? ` of ${p.total}` : ''} (${p.batches} batches, ids below ${Math.min(p.nextId, p.upToId + 1)} done)`;
}

export function retryAllResultText(r: RetryAllResult): string {
  const of = r.previewed ? ` of ${r.previewed.exact ? '' : 'at least '}${r.previewed.total} previewed` : '';
  const lines = [
    r.stopped
      ? `Stopped after ${r.retried} jobs${of}: ids below ${r.nextId} were dealt with, running the same command again continues.`
      : `Retried ${r.retried} failed job${r.retried === 1 ? '' : 's'}${of}, in ${r.batches} batch${r.batches === 1 ? '' : 'es'}.`,
    ...describeSkips(r.skipped),
  ];
  if (!r.stopped && r.previewed && r.retried + skippedTotal(r.skipped) < r.previewed.total) {
    lines.push('Previewed jobs not retried and not named here were no longer failed when their batch ran (someone else retried or deleted them).');
  }
  lines.push(pacingText(r.pacing), `Longest batch held its locks ${Math.round(r.lockHold.maxMs)} ms. Audit entry ${r.auditId}.`);
  return lines.join('\n');
}

/** `when` formats the cutoff: local time with offset for a terminal; Slack passes UTC (its code blocks show no date tokens). */
export function purgePreviewText(p: PurgePreview, when: (iso: string) => string = localTime): string {
  if (p.total === 0) return `No ${p.statuses.join('/')} jobs whose last event is before ${when(p.cutoff)}: nothing to purge.`;
  const rows = p.statuses.map((s) => [s, String(p.counts[s])]);
  return [
    `${p.exact ? '' : 'At least '}${p.total} job${p.total === 1 ? '' : 's'} whose last event is before ${when(p.cutoff)} would be deleted, with their events:`,
    '',
    table(['STATUS', 'JOBS'], rows, new Set([1])),
  ].join('\n');
}

export function purgeProgressText(p: PurgeProgress): string {
  return `deleted ${p.deleted} (${p.batches} batches, ids below ${Math.min(p.nextId, p.toId + 1)} done)`;
}

export function purgeResultText(r: PurgeResult): string {
  const per = Object.entries(r.deleted)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
  return [
    r.stopped
      ? `Stopped after deleting ${r.total} jobs; running the same command again continues.`
      : `Deleted ${r.total} job${r.total === 1 ? '' : 's'}${per ? ` (${per})` : ''} in ${r.batches} batch${r.batches === 1 ? '' : 'es'}.`,
    pacingText(r.pacing),
    `Longest batch held its locks ${Math.round(r.lockHold.maxMs)} ms (p95 ${Math.round(r.lockHold.p95Ms)} ms). Audit entry ${r.auditId}.`,
  ].join('\n');
}

/** How a bulk change paced itself: batch sizes, and every pause with the signal that caused it. */
export function pacingText(p: PacingSummary): string {
  if (p.batches === 0) return 'Nothing to change: no batch ran.';
  const sizes =
    p.largestRows > p.firstRows
      ? `Batches grew from ${p.firstRows} to ${p.largestRows} rows (cap ${p.maxRows}), ending at ${p.finalRows}`
      : `Batches of up to ${p.largestRows} rows (cap ${p.maxRows})`;
  const slow = p.slowBatches > 0 ? `; ${p.slowBatches} ran over ${p.targetMs} ms and shrank the next` : '';
  const paused = Object.entries(p.pauses)
    .filter(([, x]) => x.count > 0)
    .map(([reason, x]) => `${reason} ×${x.count}, ${seconds(x.ms)}`);
  const pauses = paused.length > 0 ? `Paused ${seconds(p.pausedMs)} in all (${paused.join('; ')}).` : 'No pause: no worker was seen waiting on it or slowed.';
  return `${sizes}${slow}. ${pauses}`;
}

const seconds = (ms: number) => (ms < 1_000 ? `${Math.round(ms)} ms` : `${(ms / 1_000).toFixed(1)} s`);

/** Who did it, for a terminal: a CLI user's name, a Slack user's name if known, else their id. */
function actorName(actor: AuditPage['entries'][number]['actor']): string {
  return actor.kind === 'cli' ? (actor.name ?? actor.id) : `@${actor.name ?? actor.id}`;
}

/** The audit trail as sentences, one line each; `--json` keeps the full record. */
export function auditText(page: AuditPage, style: TextStyle = PLAIN): string {
  if (page.entries.length === 0) return 'No changes recorded yet.';
  const lines = page.entries.map((e) => {
    const s = auditSentence(e);
    const line = `${paint(style, `#${e.id}`, 'dim')}  ${timeCell(e.at, style)}  ${paint(style, actorName(e.actor), 'bold')} ${s.did.replace(/`/g, '')} · ${paint(style, s.outcome, s.bad ? 'red' : 'green')}`;
    return line;
  });
  if (page.nextCursor) lines.push('', `More: --cursor ${page.nextCursor}`);
  return lines.join('\n');
}

export function mutesText(mutes: Mute[], style: TextStyle = PLAIN): string {
  if (mutes.length === 0) return 'No active silences: every alert is posted.';
  const rows = mutes.map((m) => [m.target, timeCell(m.expiresAt, style), m.createdBy, String(m.suppressedAlerts), m.reason ?? '']);
  return fitTable(
    [
      { header: 'TARGET', minWidth: 10 },
      { header: 'UNTIL' },
      { header: 'BY', drop: 2 },
      { header: 'SUPPRESSED', align: 'right', drop: 3 },
      { header: 'REASON', minWidth: 10, drop: 1 },
    ],
    rows,
    style,
  );
}
