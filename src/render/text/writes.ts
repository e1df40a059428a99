import type { Mute } from '../../queue/mutes.js';
import type { AuditPage } from '../../queue/audit.js';
import type { CancelResult } from '../../queue/cancel.js';
import type { PurgePreview, PurgeProgress, PurgeResult } from '../../queue/purge.js';
import { describeSkips, skippedTotal } from '../../queue/retry-all-skips.js';
import type { RetryAllPreview, RetryAllProgress, RetryAllResult } from '../../queue/retry-all.js';
import type { PacingSummary } from '../../queue/pacer.js';
import type { RetryResult } from '../../queue/retry.js';
import type { RunNowResult } from '../../queue/run-now.js';
import { formatTime, table } from '../format.js';

/** Terminal renderings of changes: previews, progress, outcomes, the audit trail. */

export function retryText(r: RetryResult): string {
  const how = r.stalled ? ` (it was stalled: ${r.stalled})` : '';
  return r.status === 'todo'
    ? `Job ${r.jobId} (${r.task} on ${r.queue}) is back to todo${how}; attempt ${r.attempts + 1} runs when a worker is free.`
    : `Job ${r.jobId} had an abort request, so Procrastinate marked it failed instead of retrying it.`;
}

export function cancelText(r: CancelResult): string {
  return r.outcome === 'cancelled'
    ? `Job ${r.jobId} (${r.task} on ${r.queue}) is cancelled: it will not run.`
    : `Job ${r.jobId} (${r.task} on ${r.queue}) is running: its worker was asked to abort it.`;
}

export function runNowText(r: RunNowResult): string {
  return `Job ${r.jobId} (${r.task} on ${r.queue}) was scheduled for ${formatTime(r.previouslyScheduledAt)}; it is due now.`;
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

export function purgePreviewText(p: PurgePreview): string {
  if (p.total === 0) return `No ${p.statuses.join('/')} jobs older than ${formatTime(p.cutoff)}: nothing to purge.`;
  const rows = p.statuses.map((s) => [s, String(p.counts[s])]);
  return [
    `${p.exact ? '' : 'At least '}${p.total} job${p.total === 1 ? '' : 's'} whose last event is before ${formatTime(p.cutoff)} would be deleted, with their events:`,
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

export function auditText(page: AuditPage): string {
  if (page.entries.length === 0) return 'No changes recorded yet.';
  const rows = page.entries.map((e) => [
    String(e.id),
    formatTime(e.at),
    `${e.actor.kind}:${e.actor.name ?? e.actor.id}`,
    e.action,
    JSON.stringify(e.filters),
    String(e.jobCount),
    e.outcome,
    e.message ?? '',
  ]);
  const lines = [table(['ID', 'AT', 'WHO', 'ACTION', 'FILTERS', 'JOBS', 'OUTCOME', 'MESSAGE'], rows, new Set([0, 5]))];
  if (page.nextCursor) lines.push('', `More: --cursor ${page.nextCursor}`);
  return lines.join('\n');
}

export function mutesText(mutes: Mute[]): string {
  if (mutes.length === 0) return 'No active silences: every alert is posted.';
  const rows = mutes.map((m) => [m.target, formatTime(m.expiresAt), m.createdBy, String(m.suppressedAlerts), m.reason ?? '']);
  return table(['TARGET', 'UNTIL', 'BY', 'SUPPRESSED', 'REASON'], rows, new Set([3]));
}
