import { REPORTED_STATUSES } from '../../db/procrastinate.js';
import { AUDITED } from '../../queue/capabilities.js';
import type { DoctorReport } from '../../queue/doctor.js';
import type { FailedPage } from '../../queue/failed.js';
import type { FailedTotal } from '../../queue/failed-total.js';
import type { JobDetail } from '../../queue/job.js';
import type { StalledResult } from '../../queue/stalled.js';
import type { StatsResult } from '../../queue/stats.js';
import type { WorkersResult } from '../../queue/workers.js';
import { formatAge, formatCount, formatStatusCount } from '../format.js';
import { logsUrl } from '../logs.js';
import { queueHealth } from '../status.js';
import { relativeTime, secondsSince } from '../time.js';
import { type Cell, type Column, fitTable, PLAIN, paint, type TextStyle, timeCell, timeLine } from './style.js';

/** Terminal renderings of the read results. Pure: data in, text out; `style` says how it is drawn. */

const plural = (n: number, one: string, many = `${one}s`) => `${formatCount(n)} ${n === 1 ? one : many}`;

export function statsText(stats: StatsResult, style: TextStyle = PLAIN): string {
  if (stats.queues.length === 0) return 'No jobs at all: the queue is empty.';
  const byQueue = stats.groupBy === 'queue';
  // The most useful columns last to go: the name, waiting, failed, the oldest wait, the last hour.
  const columns: Column[] = [
    { header: byQueue ? 'QUEUE' : 'TASK', minWidth: 20 },
    { header: 'TODO', align: 'right' },
    { header: 'DOING', align: 'right', drop: 6 },
    { header: 'FAILED', align: 'right' },
    { header: 'OLDEST WAITING', align: 'right', drop: 7 },
    { header: 'OK/FAILED 1H', align: 'right', drop: 8 },
    { header: 'OK/FAILED 24H', align: 'right', drop: 5 },
    { header: 'SUCCEEDED', align: 'right', drop: 3 },
    { header: 'CANCELLED', align: 'right', drop: 1 },
    { header: 'ABORTED', align: 'right', drop: 2 },
  ];
  const rows: Cell[][] = stats.queues.map((g) => {
    const h = queueHealth(g, style.thresholds, byQueue);
    const count = (s: (typeof REPORTED_STATUSES)[number]) => formatStatusCount(g.counts[s], g.estimated.includes(s), g.margins[s]);
    const pausedFor = g.paused ? ` (paused ${formatAge(secondsSince(g.paused.since, style.now))})` : '';
    return [
      { text: `${g.name}${pausedFor}`, paint: [h.failing && 'red', (h.backlogOld || h.backlogLarge) && !h.failing && 'yellow', h.paused && 'cyan'] },
      { text: count('todo'), paint: [h.backlogLarge && 'yellow', h.backlogLarge && 'bold'] },
      count('doing'),
      { text: count('failed'), paint: [g.counts.failed > 0 && 'red', h.failing && 'bold'] },
      { text: formatAge(g.oldestTodoAgeSeconds), paint: [h.backlogOld && 'yellow', h.backlogOld && 'bold'] },
      { text: `${g.recent.lastHour.succeeded}/${g.recent.lastHour.failed}`, paint: [h.failing && 'red'] },
      `${g.recent.last24h.succeeded}/${g.recent.last24h.failed}`,
      count('succeeded'),
      count('cancelled'),
      count('aborted'),
    ];
  });
  const lines = [fitTable(columns, rows, style)];
  const failing = stats.queues.filter((g) => queueHealth(g, style.thresholds, byQueue).failing);
  const backedUp = stats.queues.filter((g) => {
    const h = queueHealth(g, style.thresholds, byQueue);
    return h.backlogOld || h.backlogLarge;
  });
  lines.push('');
  if (failing.length) lines.push(paint(style, `Failing in the last hour: ${failing.map((g) => `${g.name} (${g.recent.lastHour.failed})`).join(', ')}`, 'red'));
  if (backedUp.length) lines.push(paint(style, `Backlog over its threshold: ${backedUp.map((g) => g.name).join(', ')}`, 'yellow'));
  lines.push(...countsNote(stats, style.now));
  if (stats.workers) {
    const line = `Workers: ${stats.workers.live} live of ${stats.workers.total} registered.`;
    lines.push(stats.workers.live === 0 ? paint(style, line, 'red', 'bold') : stats.workers.live < stats.workers.total ? paint(style, line, 'yellow') : line);
  }
  return lines.join('\n');
}

const listed = (statuses: readonly string[]) => statuses.join(', ');

/** How the counts were made, in words: no number is left to pass for exact when it is not. */
export function countsNote(stats: StatsResult, now?: number): string[] {
  const method = stats.countMethod;
  const others = (shown: readonly string[]) => REPORTED_STATUSES.filter((s) => !shown.includes(s));
  switch (method.kind) {
    case 'exact':
      return ['All counts exact.'];
    case 'counted': {
      const counted = stats.totals.counted;
      return [
        `${listed(counted)}: exact as of ${formatAge(secondsSince(method.asOf, now))} ago (counted in the background up to job ${method.countedToId}; newer jobs counted now). ${listed(others(counted))}: exact now.`,
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

export function failedText(page: FailedPage, style: TextStyle = PLAIN, extra: { total?: FailedTotal | null | undefined; logsUrlTemplate?: string | undefined } = {}): string {
  if (page.jobs.length === 0) {
    return page.nextCursor ? `No failed jobs among ids ${page.scanned.fromId}-${page.scanned.toId}. Older ones: --cursor ${page.nextCursor}` : 'No failed jobs.';
  }
  const columns: Column[] = [
    { header: 'ID', align: 'right' },
    { header: 'QUEUE', minWidth: 12, drop: 3 },
    { header: 'TASK', minWidth: 24 },
    { header: 'RUNS', align: 'right', drop: 2 },
    { header: 'FAILED', minWidth: 10 },
    { header: 'ARGS', minWidth: 16, drop: 1 },
  ];
  const rows: Cell[][] = page.jobs.map((j) => [{ text: String(j.id), paint: ['bold'] }, j.queue, j.task, String(j.attempts), timeCell(j.failedAt, style), j.argsPreview]);
  const lines = [fitTable(columns, rows, style)];
  const total = extra.total;
  lines.push('');
  lines.push(total ? `Shown: ${page.jobs.length} of ${total.estimated ? '~' : ''}${plural(total.count, 'failed job')}.` : `Shown: ${page.jobs.length}.`);
  if (page.nextCursor) lines.push(`More: --cursor ${page.nextCursor}`);
  const logs = logsUrl(extra.logsUrlTemplate, page.jobs[0]!);
  lines.push(
    logs
      ? `Logs of #${page.jobs[0]!.id}: ${logs}  (each job: jobq job ID)`
      : paint(style, 'Why a job failed is in your logs, not in Procrastinate: jobq job ID shows one; JOBQ_LOGS_URL_TEMPLATE adds a link.', 'dim'),
  );
  return lines.join('\n');
}

export function jobText(detail: JobDetail, style: TextStyle = PLAIN, logsUrlTemplate?: string): string {
  const j = detail.job;
  const status = paint(style, j.status, j.status === 'failed' ? 'red' : j.status === 'succeeded' ? 'green' : undefined, 'bold');
  const lines = [
    `Job ${j.id}: ${status}${detail.stalled ? paint(style, ' (stalled)', 'yellow') : ''}`,
    `  task      ${j.task}`,
    `  queue     ${j.queue}`,
    `  runs      ${j.attempts}`,
    `  priority  ${j.priority}`,
    `  scheduled ${timeLine(j.scheduledAt, style)}`,
    `  lock      ${j.lock ?? '-'}${j.lockMode ? ` (${j.lockMode})` : ''}`,
    `  queueing  ${j.queueingLock ?? '-'}`,
  ];
  if (j.deferredAt) lines.push(`  deferred  ${timeLine(j.deferredAt, style)}`);
  if (j.abortRequested !== null) lines.push(`  abort requested ${j.abortRequested ? 'yes' : 'no'}`);
  if (j.workerId !== null || detail.worker) {
    lines.push(
      detail.worker
        ? `  worker    ${detail.worker.id}, last heartbeat ${relativeTime(detail.worker.lastHeartbeat, style.now)}${detail.worker.alive ? '' : paint(style, ' (stale)', 'red')}`
        : `  worker    ${j.workerId} ${paint(style, '(gone)', 'red')}`,
    );
  }
  lines.push(`  args      ${JSON.stringify(j.args)}`);
  if (j.status === 'failed') {
    const failedAt = [...detail.events].reverse().find((e) => e.type === 'failed')?.at ?? null;
    const logs = logsUrl(logsUrlTemplate, { ...j, failedAt });
    lines.push(`  logs      ${logs ?? paint(style, `not in Procrastinate: search your logs for job ${j.id} (JOBQ_LOGS_URL_TEMPLATE adds a link)`, 'dim')}`);
  }
  if (detail.waiting.length) lines.push('', 'Not running yet because:', ...detail.waiting.map((w) => `  ${w}`));
  if (detail.sharingLocks.length) {
    lines.push('', 'Sharing a lock:', ...detail.sharingLocks.map((s) => `  job ${s.id} (${s.status}) via ${s.via}`));
  }
  lines.push('', 'Events:', ...detail.events.map((e) => `  ${timeLine(e.at, style)}  ${e.type === 'failed' ? paint(style, e.type, 'red') : e.type}`));
  if (detail.eventsTruncated) lines.push('  … (more events not shown)');
  lines.push('', detail.actions.length ? `Actions: ${detail.actions.map((a) => `jobq ${a === 'abort' ? 'cancel' : a} ${j.id}`).join(', ')}` : 'No actions apply in this status.');
  return lines.join('\n');
}

const REASONS: Record<string, string> = { worker_missing: 'worker gone', heartbeat_stale: 'heartbeat stale', running_too_long: 'running too long' };

export function stalledText(result: StalledResult, style: TextStyle = PLAIN): string {
  if (result.jobs.length === 0) {
    return `No stalled jobs (heartbeat older than ${result.thresholds.heartbeatSeconds ?? '-'}s, or running longer than ${formatAge(result.thresholds.runningSeconds)}).`;
  }
  const rows: Cell[][] = result.jobs.map((j) => [
    { text: String(j.id), paint: ['bold'] },
    j.queue,
    j.task,
    formatAge(j.runningSeconds),
    j.workerId === null ? '-' : String(j.workerId),
    { text: j.reasons.map((r) => REASONS[r]).join(', '), paint: ['yellow'] },
  ]);
  const columns: Column[] = [
    { header: 'ID', align: 'right' },
    { header: 'QUEUE', minWidth: 12, drop: 2 },
    { header: 'TASK', minWidth: 24 },
    { header: 'RUNNING' },
    { header: 'WORKER', drop: 1 },
    { header: 'WHY', minWidth: 12 },
  ];
  const lines = [fitTable(columns, rows, style)];
  if (result.truncated) lines.push(`(first ${result.limit} shown)`);
  return lines.join('\n');
}

export function workersText(result: WorkersResult, style: TextStyle = PLAIN): string {
  if (result.workers.length === 0) return paint(style, 'No workers registered: nothing runs the jobs.', 'red');
  const rows: Cell[][] = result.workers.map((w) => [
    String(w.id),
    timeCell(w.lastHeartbeat, style),
    { text: w.alive ? 'live' : 'stale', paint: [w.alive ? 'green' : 'red', !w.alive && 'bold'] },
    String(w.jobs),
  ]);
  return [
    fitTable([{ header: 'ID', align: 'right' }, { header: 'LAST HEARTBEAT' }, { header: 'STATE' }, { header: 'JOBS', align: 'right' }], rows, style),
    '',
    `${result.live} live, ${result.stale} stale (no heartbeat for ${result.staleAfterSeconds}s).`,
  ].join('\n');
}

/** The one line that sums a doctor report up: problems first, then warnings; "no problems" only when there is nothing at all. */
export function doctorSummary(report: DoctorReport): string {
  const problems = report.problems.length;
  const warnings = report.warnings.length;
  if (problems === 0 && warnings === 0) return 'No problems found.';
  const parts = [problems ? plural(problems, 'problem') : 'no problems', warnings ? plural(warnings, 'warning') : ''].filter(Boolean);
  const sentence = parts.join(', ');
  return `${sentence[0]!.toUpperCase()}${sentence.slice(1)}.`;
}

export function doctorText(report: DoctorReport, style: TextStyle = PLAIN): string {
  const lines = doctorBasicsLines(report);
  if (report.capabilities.length) lines.push('', ...capabilitiesLines(report));
  if (report.grants.length) lines.push('', 'To grant what is missing, run as the owner of these objects or a superuser:', ...doctorGrantLines(report).map((l) => `  ${l}`));
  if (report.warnings.length) {
    lines.push('', paint(style, 'Warnings:', 'yellow', 'bold'));
    for (const w of report.warnings) lines.push(`  - ${paint(style, w.message, 'yellow')}`, ...(w.hint ? [`    ${w.hint}`] : []));
  }
  if (report.problems.length) lines.push('', paint(style, 'Problems:', 'red', 'bold'), ...report.problems.map((p) => `  - ${paint(style, p, 'red')}`));
  const summary = doctorSummary(report);
  lines.push('', report.problems.length ? paint(style, summary, 'red', 'bold') : report.warnings.length ? paint(style, summary, 'yellow', 'bold') : paint(style, summary, 'green'));
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
