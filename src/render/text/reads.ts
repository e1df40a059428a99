import { REPORTED_STATUSES } from '../../db/procrastinate.js';
import { AUDITED } from '../../queue/capabilities.js';
import type { DoctorReport } from '../../queue/doctor.js';
import type { FailedPage } from '../../queue/failed.js';
import type { JobDetail } from '../../queue/job.js';
import type { StalledResult } from '../../queue/stalled.js';
import type { GroupStats, StatsResult } from '../../queue/stats.js';
import type { WorkersResult } from '../../queue/workers.js';
import { formatAge, formatCount, formatStatusCount, formatTime, table } from '../format.js';

/** Terminal renderings of the read results. Pure: data in, text out. */

const ageOf = (iso: string) => Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));

export function statsText(stats: StatsResult): string {
  const label = stats.groupBy === 'queue' ? 'QUEUE' : 'TASK';
  const headers = [label, ...REPORTED_STATUSES.map((s) => s.toUpperCase()), 'OLDEST WAITING', 'OK/FAILED 1H', 'OK/FAILED 24H'];
  const row = (name: string, g: GroupStats) => [
    name,
    ...REPORTED_STATUSES.map((s) => formatStatusCount(g.counts[s], g.estimated.includes(s), g.margins[s])),
    formatAge(g.oldestTodoAgeSeconds),
    `${g.recent.lastHour.succeeded}/${g.recent.lastHour.failed}`,
    `${g.recent.last24h.succeeded}/${g.recent.last24h.failed}`,
  ];
  const rows = stats.queues.map((g) => row(g.paused ? `${g.name} (paused ${formatAge(ageOf(g.paused.since))})` : g.name, g));
  if (stats.queues.length === 0) return 'No jobs at all: the queue is empty.';
  const lines = [table(headers, rows, new Set([1, 2, 3, 4, 5, 6])), '', ...countsNote(stats)];
  if (stats.workers) lines.push(`Workers: ${stats.workers.live} live of ${stats.workers.total} registered.`);
  return lines.join('\n');
}

const listed = (statuses: readonly string[]) => statuses.join(', ');

/** How the counts were made, in words: no number is left to pass for exact when it is not. */
export function countsNote(stats: StatsResult): string[] {
  const method = stats.countMethod;
  const others = (shown: readonly string[]) => REPORTED_STATUSES.filter((s) => !shown.includes(s));
  switch (method.kind) {
    case 'exact':
      return ['All counts exact.'];
    case 'counted': {
      const counted = stats.totals.counted;
      return [
        `${listed(counted)}: exact as of ${formatAge(ageOf(method.asOf))} ago (counted in the background up to job ${method.countedToId}; newer jobs counted now). ${listed(others(counted))}: exact now.`,
      ];
    }
    case 'sampled': {
      const estimated = stats.totals.estimated;
      const why = {
        no_count: 'No background count to use yet (the running bot counts these exactly in the background once the table is this large).',
        count_too_old: `The background count is ${formatAge(method.countAgeSeconds)} old, too old to show: is the bot running?`,
        count_behind: 'The background count is too far behind the newest jobs; the next one replaces it.',
      }[method.fallback];
      return [
        `~ approximate: ${listed(estimated)} estimated from a ${method.samplePercent.toPrecision(2)}% block sample of about ${formatCount(method.estimatedRows)} jobs; ± is a rough 95% bound. ${listed(others(estimated))}: exact.`,
        why,
      ];
    }
  }
}

export function failedText(page: FailedPage): string {
  if (page.jobs.length === 0) {
    return page.nextCursor ? `No failed jobs among ids ${page.scanned.fromId}-${page.scanned.toId}. Older ones: --cursor ${page.nextCursor}` : 'No failed jobs.';
  }
  const rows = page.jobs.map((j) => [String(j.id), j.queue, j.task, String(j.attempts), formatTime(j.failedAt), j.argsPreview]);
  const lines = [table(['ID', 'QUEUE', 'TASK', 'ATTEMPTS', 'FAILED AT', 'ARGS'], rows, new Set([0, 3]))];
  if (page.nextCursor) lines.push('', `More: --cursor ${page.nextCursor}`);
  return lines.join('\n');
}

export function jobText(detail: JobDetail): string {
  const j = detail.job;
  const lines = [
    `Job ${j.id}: ${j.status}${detail.stalled ? ' (stalled)' : ''}`,
    `  task      ${j.task}`,
    `  queue     ${j.queue}`,
    `  attempts  ${j.attempts}`,
    `  priority  ${j.priority}`,
    `  scheduled ${formatTime(j.scheduledAt)}`,
    `  lock      ${j.lock ?? '-'}${j.lockMode ? ` (${j.lockMode})` : ''}`,
    `  queueing  ${j.queueingLock ?? '-'}`,
  ];
  if (j.deferredAt) lines.push(`  deferred  ${formatTime(j.deferredAt)}`);
  if (j.abortRequested !== null) lines.push(`  abort requested ${j.abortRequested ? 'yes' : 'no'}`);
  if (j.workerId !== null || detail.worker) {
    lines.push(
      detail.worker
        ? `  worker    ${detail.worker.id}, last heartbeat ${formatAge(detail.worker.heartbeatAgeSeconds)} ago${detail.worker.alive ? '' : ' (stale)'}`
        : `  worker    ${j.workerId} (gone)`,
    );
  }
  lines.push(`  args      ${JSON.stringify(j.args)}`);
  if (detail.waiting.length) lines.push('', 'Not running yet because:', ...detail.waiting.map((w) => `  ${w}`));
  if (detail.sharingLocks.length) {
    lines.push('', 'Sharing a lock:', ...detail.sharingLocks.map((s) => `  job ${s.id} (${s.status}) via ${s.via}`));
  }
  lines.push('', 'Events:', ...detail.events.map((e) => `  ${formatTime(e.at)}  ${e.type}`));
  if (detail.eventsTruncated) lines.push('  … (more events not shown)');
  lines.push('', detail.actions.length ? `Actions: ${detail.actions.map((a) => `jobq ${a === 'abort' ? 'cancel' : a} ${j.id}`).join(', ')}` : 'No actions apply in this status.');
  return lines.join('\n');
}

const REASONS: Record<string, string> = { worker_missing: 'worker gone', heartbeat_stale: 'heartbeat stale', running_too_long: 'running too long' };

export function stalledText(result: StalledResult): string {
  if (result.jobs.length === 0) {
    return `No stalled jobs (heartbeat older than ${result.thresholds.heartbeatSeconds ?? '-'}s, or running longer than ${formatAge(result.thresholds.runningSeconds)}).`;
  }
  const rows = result.jobs.map((j) => [
    String(j.id),
    j.queue,
    j.task,
    formatAge(j.runningSeconds),
    j.workerId === null ? '-' : String(j.workerId),
    j.reasons.map((r) => REASONS[r]).join(', '),
  ]);
  const lines = [table(['ID', 'QUEUE', 'TASK', 'RUNNING', 'WORKER', 'WHY'], rows, new Set([0]))];
  if (result.truncated) lines.push(`(first ${result.limit} shown)`);
  return lines.join('\n');
}

export function workersText(result: WorkersResult): string {
  if (result.workers.length === 0) return 'No workers registered.';
  const rows = result.workers.map((w) => [String(w.id), `${formatAge(w.heartbeatAgeSeconds)} ago`, w.alive ? 'live' : 'stale', String(w.jobs)]);
  return [
    table(['ID', 'LAST HEARTBEAT', 'STATE', 'JOBS'], rows, new Set([0, 3])),
    '',
    `${result.live} live, ${result.stale} stale (no heartbeat for ${result.staleAfterSeconds}s).`,
  ].join('\n');
}

export function doctorText(report: DoctorReport): string {
  const lines = doctorBasicsLines(report);
  if (report.capabilities.length) lines.push('', ...capabilitiesLines(report));
  if (report.grants.length) lines.push('', 'To grant what is missing, run as the owner of these objects or a superuser:', ...doctorGrantLines(report).map((l) => `  ${l}`));
  if (report.warnings.length) {
    lines.push('', 'Warnings:');
    for (const w of report.warnings) lines.push(`  - ${w.message}`, ...(w.hint ? [`    ${w.hint}`] : []));
  }
  lines.push('', report.problems.length ? `Problems:\n${report.problems.map((p) => `  - ${p}`).join('\n')}` : 'No problems found.');
  return lines.join('\n');
}

/** Connection, server, schema, role, tables and indexes: the part of the report that is not about privileges. */
export function doctorBasicsLines(report: DoctorReport): string[] {
  const p = report.procrastinate;
  const lines = [
    `Connection   ok, latency min ${report.connection.latencyMs.min} ms / median ${report.connection.latencyMs.median} ms`,
    `Server       PostgreSQL ${report.connection.serverVersion ?? '?'}, ${report.connection.tls.ssl ? `TLS ${report.connection.tls.version ?? ''}`.trim() : 'no TLS'} on this connection`,
    ...(report.connection.pooler ? [`Pooler       ${report.connection.pooler}`] : []),
    ...(report.connection.replica ? [`Replica      ${replicaLine(report.connection.replica)}`] : []),
    `Procrastinate ${p.found ? `${p.generation} in schema ${p.schema ?? '?'}${p.foundBy ? ` (found by ${p.foundBy})` : ''} (features: ${p.features.join(', ') || 'none beyond 2.x'})` : 'NOT FOUND'}`,
  ];
  if (report.privileges) lines.push(`Role         ${report.privileges.role} on database ${report.privileges.database}`);
  for (const t of report.tables) lines.push(`Table        ${t.name}: about ${formatCount(t.estimatedRows)} rows`);
  for (const i of report.indexes.reliedOn) lines.push(`Index        ${i.present ? 'ok     ' : 'MISSING'} ${i.purpose}${i.name ? ` (${i.name})` : ''}`);
  for (const i of report.indexes.recommended) {
    lines.push(`Recommended  ${i.present ? 'present' : 'missing'} ${i.purpose}${i.name ? ` (${i.name})` : ''}`);
    if (i.create) lines.push(`             ${i.create}`);
  }
  return lines;
}

function replicaLine(r: NonNullable<DoctorReport['connection']['replica']>): string {
  if (r.usable) return `in use for heavy reads, ${r.lagSeconds !== null && r.lagSeconds >= 1 ? `${Math.round(r.lagSeconds)} s` : 'less than a second'} behind`;
  return `NOT USED: ${r.reason ?? 'unknown'}`;
}

/** The statements that grant everything missing; jobq's schema with the alternative an admin may prefer. */
export function doctorGrantLines(report: DoctorReport): string[] {
  const alternatives = report.capabilities.flatMap((c) => c.alternatives);
  return report.grants.map((statement) => (statement.startsWith('CREATE SCHEMA') && alternatives.length ? `${statement}   -- or: ${alternatives.join(' ')}` : statement));
}

/** Each capability OK or what it lacks, and why. */
function capabilitiesLines(report: DoctorReport): string[] {
  const width = Math.max(...report.capabilities.map((c) => c.name.length));
  const lines = ['Capabilities:'];
  for (const c of report.capabilities) {
    lines.push(`  ${c.name.padEnd(width)}  ${c.ok ? 'ok     ' : 'MISSING'}  ${c.summary}`);
    for (const m of c.missing) lines.push(`  ${''.padEnd(width)}           ${m.privilege} on ${m.kind} ${m.object}: ${m.why}`);
  }
  lines.push(`  (${AUDITED.join(', ')} write jobq's audit log: they also need jobq-state.)`);
  return lines;
}
