import type { RunbookSection } from '../../runbook-sections.js';
import type { Button, KnownBlock, RichTextElement } from '@slack/types';
import { REPORTED_STATUSES } from '../../db/procrastinate.js';
import type { DoctorReport } from '../../queue/doctor.js';
import type { FailedPage, FailedQuery } from '../../queue/failed.js';
import type { FailedTotal } from '../../queue/failed-total.js';
import type { JobAction, JobDetail } from '../../queue/job.js';
import type { StalledResult } from '../../queue/stalled.js';
import type { GroupStats, StatsResult } from '../../queue/stats.js';
import type { WorkersResult } from '../../queue/workers.js';
import { formatAge, formatCount, formatStatusCount } from '../format.js';
import { logsUrl } from '../logs.js';
import { runbookUrl } from '../runbook.js';
import { queueHealth, type Thresholds } from '../status.js';
import { relativeTime, secondsSince } from '../time.js';
import { doctorBasicsLines, doctorGrantLines, doctorSummary, stalledText } from '../text/reads.js';
import { encodeFailedQuery } from './button-values.js';
import { agoToken, dateElement, dateToken } from './dates.js';
import { actions, blockSize, button, code, context, cut, escapeMrkdwn, fields, header, LIMITS, message, section, type SlackMessage } from './kit.js';
import { emoji, link, rawCell, richCell, TABLE_BODY_ROWS, type TableCell, tableBlock, text } from './table.js';

/** Block Kit renderings of the read results. Pure: data in, blocks out. */

export interface RenderOptions {
  runbookBase: string;
  /** The database can pause queues (Procrastinate 3.10+): alerts offer a Pause queue button. */
  pauseButtons?: boolean;
  /** JOBQ_LOGS_URL_TEMPLATE: failed jobs get a Logs link. */
  logsUrlTemplate?: string | undefined;
  /** Backlog thresholds, so a queue over its own stands out in stats and the Home tab. */
  thresholds?: Thresholds | undefined;
}

export function runbookContext(options: RenderOptions, slug: RunbookSection, label: string): KnownBlock {
  return context(`📖 Runbook: <${runbookUrl(options.runbookBase, slug)}|${escapeMrkdwn(label)}>`);
}

/** Preformatted text split into sections that each stay under the section limit. */
export function preformatted(text: string): KnownBlock[] {
  const blocks: KnownBlock[] = [];
  let chunk: string[] = [];
  let size = 0;
  const flush = () => {
    if (chunk.length) blocks.push(section(`\`\`\`${escapeMrkdwn(chunk.join('\n'))}\`\`\``));
    chunk = [];
    size = 0;
  };
  for (const line of text.split('\n')) {
    const cutLine = line.length > 400 ? `${line.slice(0, 399)}…` : line;
    if (size + cutLine.length + 1 > 2_400) flush();
    chunk.push(cutLine);
    size += cutLine.length + 1;
  }
  flush();
  return blocks;
}

const plural = (n: number, one: string, many = `${one}s`) => `${formatCount(n)} ${n === 1 ? one : many}`;

/** Paused queues stand out: workers take nothing from them however long their backlog grows. */
function pausedLine(stats: StatsResult): string {
  const paused = stats.queues.filter((q) => q.paused);
  if (paused.length === 0) return '';
  return `:pause_button: *Paused:* ${paused.map((q) => `${code(q.name)} for ${formatAge(secondsSince(q.paused!.since) ?? 0)}`).join(', ')}`;
}

/** The rows that need a look first, when not all fit: failing, then backed up, then paused. */
function attentionRank(g: GroupStats, options: RenderOptions, byQueue: boolean): number {
  const h = queueHealth(g, options.thresholds, byQueue);
  return (h.failing ? 4 : 0) + (h.backlogOld || h.backlogLarge ? 2 : 0) + (h.paused ? 1 : 0);
}

function statsRow(g: GroupStats, options: RenderOptions, byQueue: boolean): TableCell[] {
  const h = queueHealth(g, options.thresholds, byQueue);
  const status = h.failing ? 'red_circle' : h.backlogOld || h.backlogLarge ? 'warning' : h.paused ? 'pause_button' : 'large_green_circle';
  const attention = h.failing || h.backlogOld || h.backlogLarge;
  const count = (s: (typeof REPORTED_STATUSES)[number]) => formatCount(g.counts[s], g.estimated.includes(s));
  const outcomes = (o: { succeeded: number; failed: number }): RichTextElement[] => [
    text(`${formatCount(o.succeeded)} ✓ / `),
    text(`${formatCount(o.failed)} ✗`, o.failed > 0 ? { bold: true } : undefined),
  ];
  return [
    richCell(emoji(status), text(` ${g.name}`, attention ? { bold: true } : undefined)),
    richCell(text(count('todo'), h.backlogLarge ? { bold: true } : undefined)),
    rawCell(count('doing')),
    richCell(text(count('failed'), h.failing ? { bold: true } : undefined)),
    richCell(...(h.backlogOld ? [emoji('warning'), text(` ${formatAge(g.oldestTodoAgeSeconds)}`, { bold: true })] : [text(formatAge(g.oldestTodoAgeSeconds))])),
    richCell(...outcomes(g.recent.lastHour)),
    richCell(...outcomes(g.recent.last24h)),
  ];
}

export function statsBlocks(stats: StatsResult, options: RenderOptions): SlackMessage {
  const byQueue = stats.groupBy === 'queue';
  const totals = REPORTED_STATUSES.map((s) => `${s} ${formatStatusCount(stats.totals.counts[s], stats.totals.estimated.includes(s), stats.totals.margins[s])}`).join(' · ');
  const worstWait = Math.max(-1, ...stats.queues.map((q) => q.oldestTodoAgeSeconds ?? -1));
  const failing = stats.queues.filter((q) => queueHealth(q, options.thresholds, byQueue).failing);
  const backedUp = stats.queues.filter((q) => {
    const h = queueHealth(q, options.thresholds, byQueue);
    return h.backlogOld || h.backlogLarge;
  });
  const workersLine = stats.workers
    ? `${stats.workers.live === 0 ? ':red_circle: ' : stats.workers.live < stats.workers.total ? ':warning: ' : ''}*Workers:* ${stats.workers.live} live of ${stats.workers.total}`
    : '';
  const summary = [
    `*Totals:* ${totals}`,
    worstWait >= 0 ? `*Oldest waiting job:* ${formatAge(worstWait)}` : '*Nothing waiting.*',
    workersLine,
    failing.length ? `:red_circle: *Failing in the last hour:* ${few(failing.map((q) => `${code(q.name)} (${formatCount(q.recent.lastHour.failed)})`))}` : '',
    backedUp.length ? `:warning: *Backlog over its threshold:* ${few(backedUp.map((q) => code(q.name)))}` : '',
    pausedLine(stats),
  ].filter(Boolean);
  const body: KnownBlock[] = [header(`Queue stats by ${stats.groupBy}`), section(summary.join('\n'))];
  if (stats.queues.length > 0) {
    // One table per message, 99 rows under its header and within the message's budget: the groups
    // that need a look come first when not all fit.
    const byAttention = [...stats.queues].sort((a, b) => attentionRank(b, options, byQueue) - attentionRank(a, options, byQueue) || a.name.localeCompare(b.name));
    const totalRow: TableCell[] = [
      richCell(text(byQueue ? 'All queues' : 'All tasks', { bold: true })),
      ...(['todo', 'doing', 'failed'] as const).map((s) => richCell(text(formatCount(stats.totals.counts[s], stats.totals.estimated.includes(s)), { bold: true }))),
      rawCell(worstWait >= 0 ? formatAge(worstWait) : '-'),
      rawCell(`${formatCount(sum(stats.queues, (q) => q.recent.lastHour.succeeded))} ✓ / ${formatCount(sum(stats.queues, (q) => q.recent.lastHour.failed))} ✗`),
      rawCell(`${formatCount(sum(stats.queues, (q) => q.recent.last24h.succeeded))} ✓ / ${formatCount(sum(stats.queues, (q) => q.recent.last24h.failed))} ✗`),
    ];
    const columns = [
      { header: byQueue ? 'Queue' : 'Task' },
      { header: 'Waiting', align: 'right' as const },
      { header: 'Running', align: 'right' as const },
      { header: 'Failed', align: 'right' as const },
      { header: 'Oldest waiting', align: 'right' as const },
      { header: 'Last hour', align: 'right' as const },
      { header: 'Last 24 h', align: 'right' as const },
    ];
    const build = (count: number) =>
      tableBlock(columns, [
        ...byAttention
          .slice(0, count)
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((g) => statsRow(g, options, byQueue)),
        totalRow,
      ]);
    const reserve = body.reduce((n, b) => n + blockSize(b), 0) + 1_500;
    let shown = Math.min(stats.queues.length, TABLE_BODY_ROWS - 1);
    while (shown > 1 && reserve + blockSize(build(shown)) > LIMITS.messageChars) shown--;
    body.push(build(shown));
    if (shown < stats.queues.length) {
      body.push(context(`${stats.queues.length - shown} more ${byQueue ? 'queues' : 'tasks'} not shown (the failing and backed-up ones are): \`jobq stats\` lists them all.`));
    }
  } else {
    body.push(section('No jobs at all: the queue is empty.'));
  }
  const method =
    stats.countMethod.kind === 'sampled'
      ? `~ estimated from a ${stats.countMethod.samplePercent.toPrecision(2)}% block sample of about ${formatCount(stats.countMethod.estimatedRows)} jobs; waiting and running are exact`
      : 'All counts exact';
  body.push(context(`${method} · as of ${dateToken(stats.generatedAt, '{time_secs}')}${stats.recentEstimated ? ' · last 24 h scaled from the newest events' : ''}`));
  const attention = [
    failing.length ? `failing in the last hour: ${few(failing.map((q) => q.name))}` : '',
    backedUp.length ? `backlog over threshold: ${few(backedUp.map((q) => q.name))}` : '',
  ].filter(Boolean);
  const fallback = [`Queue stats: ${totals}`, ...attention].join('\n');
  return message(fallback, body, [runbookContext(options, 'reading-the-stats', 'Reading the stats')]);
}

/** A list of names, the first ten and how many more. */
const few = (items: string[]) => items.slice(0, 10).join(', ') + (items.length > 10 ? ` and ${items.length - 10} more` : '');

const sum = <T>(items: T[], of: (item: T) => number) => items.reduce((n, item) => n + of(item), 0);

/** The cell budget of a failed-jobs row: Slack shows the table at full width, so keep cells short. */
const ARGS_CELL = 60;

export interface FailedRenderExtra {
  total?: FailedTotal | null | undefined;
  /** A filter name that may be a typo (a task not among the newest jobs' tasks). */
  note?: string | null | undefined;
}

export function failedBlocks(page: FailedPage, query: FailedQuery, options: RenderOptions, extra: FailedRenderExtra = {}): SlackMessage {
  const filters = [
    query.queue && `queue ${code(query.queue)}`,
    query.task && `task ${code(query.task)}`,
    query.since && `since ${dateToken(query.since.toISOString())}`,
    query.before && `before ${dateToken(query.before.toISOString())}`,
  ]
    .filter(Boolean)
    .join(', ');
  const total = extra.total ?? null;
  const totalText = total ? `${total.estimated ? '~' : ''}${plural(total.count, 'failed job')}` : null;
  const head: KnownBlock[] = [header(totalText ? `Failed jobs: ${total!.estimated ? '~' : ''}${formatCount(total!.count)}` : 'Failed jobs')];
  head.push(context([filters ? `Filters: ${filters}` : 'All queues and tasks', totalText ? `${totalText} in all, newest first` : 'newest first'].join(' · ')));
  if (page.jobs.length === 0) {
    const none = page.nextCursor ? `No failed jobs among ids ${page.scanned.fromId}–${page.scanned.toId}. *Next* looks further back.` : 'No failed jobs.';
    // An all-clear only when nothing in the filters looks mistyped.
    head.push(section(extra.note ? `${none}\n:grey_question: ${mrkdwnWithNames(extra.note)}` : `${none}${page.nextCursor ? '' : ' :tada:'}`));
  }
  const runbook = runbookContext(options, 'triaging-failed-jobs', 'Triaging failed jobs');
  const why = options.logsUrlTemplate
    ? context('Why a job failed is in your logs, not in Procrastinate: each row links to its log search.')
    : context('Why a job failed is not stored by Procrastinate: search your logs for the job id (set `JOBQ_LOGS_URL_TEMPLATE` for a Logs link on each row).');
  const retryButton = button({
    text: 'Retry these…',
    actionId: 'failed_retry',
    value: encodeFailedQuery({ ...query, cursor: undefined }),
    style: 'primary',
  });
  const nextButton = (cursor: number) => button({ text: 'Next ›', actionId: 'failed_next', value: encodeFailedQuery({ ...query, cursor }) });

  // Rows go into one table as far as the message budget allows; Next continues after the last shown.
  const rows = page.jobs.map((job) => failedRow(job, options));
  const detailButtons = (jobs: FailedPage['jobs']) =>
    chunks(jobs.slice(0, 2 * LIMITS.actionsElements), LIMITS.actionsElements).map((c) => actions(...c.map((j) => detailsButton(j.id))));
  const reserve = [...head, why, runbook, actions(retryButton, nextButton(1)), ...detailButtons(page.jobs), context('x'.repeat(120))].reduce((n, b) => n + blockSize(b), 0);
  let shown = Math.min(rows.length, TABLE_BODY_ROWS);
  const columns = failedColumns(options);
  while (shown > 1 && reserve + blockSize(tableBlock(columns, rows.slice(0, shown))) > LIMITS.messageChars - 400) shown--;
  const jobs = page.jobs.slice(0, shown);
  const cursor = shown < page.jobs.length ? (jobs[jobs.length - 1]?.id ?? page.nextCursor) : page.nextCursor;
  const body = [...head];
  if (jobs.length) body.push(tableBlock(columns, rows.slice(0, shown)));
  const tail: KnownBlock[] = [];
  if (jobs.length) {
    // A table cell cannot hold a button: each shown row gets its Details button here, in row order.
    tail.push(...detailButtons(jobs));
    if (jobs.length > 2 * LIMITS.actionsElements) tail.push(context(`Details of the others: \`/jobq job ID\`.`));
  }
  if (shown < page.jobs.length) tail.push(context(`Showing ${shown} of ${page.jobs.length}: *Next* continues after #${jobs[jobs.length - 1]?.id}.`));
  const buttons = [...(jobs.length ? [retryButton] : []), ...(cursor ? [nextButton(cursor)] : [])];
  if (buttons.length) tail.push(actions(...buttons));
  if (jobs.length) tail.push(why);
  tail.push(runbook);
  const text = jobs.length ? `${totalText ? `${totalText}; ` : ''}${jobs.length} shown, newest first: ${jobs.map((j) => `#${j.id}`).join(', ')}` : 'No failed jobs found.';
  return message(text, body, tail);
}

function failedColumns(options: RenderOptions) {
  return [
    { header: 'Job', align: 'right' as const },
    { header: 'Task' },
    { header: 'Queue' },
    { header: 'Runs', align: 'right' as const },
    { header: 'Failed' },
    { header: 'Args' },
    ...(options.logsUrlTemplate ? [{ header: 'Logs' }] : []),
  ];
}

function failedRow(job: FailedPage['jobs'][number], options: RenderOptions): TableCell[] {
  const url = logsUrl(options.logsUrlTemplate, job);
  return [
    richCell(text(`#${job.id}`, { bold: true })),
    rawCell(job.task),
    rawCell(job.queue),
    rawCell(String(job.attempts)),
    job.failedAt ? richCell(dateElement(job.failedAt), text(` (${relativeTime(job.failedAt)})`)) : rawCell('-'),
    rawCell(cut(job.argsPreview, ARGS_CELL)),
    ...(url ? [richCell(link(url, 'Logs'))] : []),
  ];
}

/** Text whose names are in backticks (from the queue core's notes): names as code, the rest escaped. */
export function mrkdwnWithNames(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part) => (part.length > 1 && part.startsWith('`') && part.endsWith('`') ? code(part.slice(1, -1)) : escapeMrkdwn(part)))
    .join('');
}

const detailsButton = (id: number) => button({ text: `#${id}`, actionId: 'job_details', value: String(id) });

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function jobBlocks(detail: JobDetail, options: RenderOptions): SlackMessage {
  const j = detail.job;
  const info = [
    `*Task*\n${code(j.task)}`,
    `*Queue*\n${code(j.queue)}`,
    `*Runs*\n${j.attempts}`,
    `*Priority*\n${j.priority}`,
    `*Scheduled*\n${j.scheduledAt ? dateToken(j.scheduledAt) : '-'}`,
    `*Lock*\n${j.lock ? code(j.lock) : '-'}`,
  ];
  if (j.queueingLock) info.push(`*Queueing lock*\n${code(j.queueingLock)}`);
  if (detail.worker) {
    info.push(`*Worker*\n${detail.worker.id}: heartbeat ${agoToken(detail.worker.lastHeartbeat)}${detail.worker.alive ? '' : ' :red_circle: (stale)'}`);
  } else if (j.workerId !== null) info.push(`*Worker*\n${j.workerId} :red_circle: (gone)`);
  if (j.abortRequested) info.push('*Abort*\nrequested');
  const events = detail.events.slice(-40);
  const timeline = events.map((e) => `• ${dateToken(e.at, '{date_short_pretty} {time_secs}')} \`${e.type}\``).join('\n');
  const elided = detail.events.length - events.length + (detail.eventsTruncated ? 1 : 0);
  const buttonFor: Record<JobAction, () => Button> = {
    retry: () =>
      button({
        text: 'Retry',
        actionId: 'job_retry',
        value: String(j.id),
        style: 'primary',
        confirm: { title: `Retry job ${j.id}?`, text: `Job ${j.id} goes back to todo and will run again.`, confirm: 'Retry', deny: 'Keep' },
      }),
    'run-now': () =>
      button({
        text: 'Run now',
        actionId: 'job_run_now',
        value: String(j.id),
        confirm: { title: `Run job ${j.id} now?`, text: 'Its scheduled time is moved to now.', confirm: 'Run now', deny: 'Keep' },
      }),
    cancel: () =>
      button({
        text: 'Cancel',
        actionId: 'job_cancel',
        value: String(j.id),
        style: 'danger',
        confirm: { title: `Cancel job ${j.id}?`, text: 'The job will not run.', confirm: 'Cancel job', deny: 'Keep' },
      }),
    abort: () =>
      button({
        text: 'Abort',
        actionId: 'job_cancel',
        value: String(j.id),
        style: 'danger',
        confirm: {
          title: `Abort job ${j.id}?`,
          text: detail.stalled
            ? 'Its worker is gone or silent: nothing will act on the request. Retry it instead to run it again.'
            : 'Its worker is asked to stop it; a task that never checks runs to its end.',
          confirm: 'Abort',
          deny: 'Keep',
        },
      }),
  };
  const failedAt = j.status === 'failed' ? ([...detail.events].reverse().find((e) => e.type === 'failed')?.at ?? null) : null;
  const logs = j.status === 'failed' ? logsUrl(options.logsUrlTemplate, { ...j, failedAt }) : null;
  const buttons = [...detail.actions.map((action) => buttonFor[action]()), ...(logs ? [button({ text: '📄 Logs', actionId: 'logs_link', url: logs })] : [])];
  const body: KnownBlock[] = [
    header(`Job ${j.id} · ${j.status}${detail.stalled ? ' (stalled)' : ''}`),
    fields(info),
    section(`*Args*\n\`\`\`${cut(escapeMrkdwn(JSON.stringify(j.args, null, 1)), 2_500)}\`\`\``),
    ...(detail.waiting.length ? [section(`*Not running yet because*\n${detail.waiting.map((w) => `• ${escapeMrkdwn(w)}`).join('\n')}`)] : []),
    ...(detail.sharingLocks.length
      ? [context(`Sharing a lock${j.lockMode ? ` (${j.lockMode})` : ''}: ${detail.sharingLocks.map((s) => `#${s.id} (${s.status}, ${s.via})`).join(', ')}`)]
      : []),
    section(cut(`*Timeline*${elided > 0 ? ` (latest ${events.length})` : ''}\n${timeline || 'no events'}`, LIMITS.sectionText)),
  ];
  const slug = j.status === 'failed' ? 'triaging-failed-jobs' : detail.stalled ? 'stalled-jobs-and-dead-workers' : 'reading-the-stats';
  const why = logs
    ? 'Why it failed is in your logs: *Logs* opens the search for this job.'
    : `Why it failed is not stored by Procrastinate: search your logs or error tracker for job ${j.id} and task ${code(j.task)}.`;
  const tail: KnownBlock[] = [
    ...(buttons.length ? [actions(...buttons)] : []),
    ...(j.status === 'failed' ? [context(why)] : []),
    runbookContext(options, slug, 'What to do with this job'),
  ];
  return message(`Job ${j.id} (${escapeMrkdwn(j.task)} on ${escapeMrkdwn(j.queue)}) is ${j.status}`, body, tail);
}

export function stalledBlocks(result: StalledResult, options: RenderOptions): SlackMessage {
  const body: KnownBlock[] = [header(`Stalled jobs: ${result.jobs.length}${result.truncated ? '+' : ''}`), ...preformatted(stalledText(result))];
  return message(result.jobs.length ? `${result.jobs.length} stalled jobs: ${result.jobs.map((j) => `#${j.id}`).join(', ')}` : 'No stalled jobs.', body, [
    runbookContext(options, 'stalled-jobs-and-dead-workers', 'Stalled jobs and dead workers'),
  ]);
}

export function workersBlocks(result: WorkersResult, options: RenderOptions): SlackMessage {
  const body: KnownBlock[] = [header(`Workers: ${result.live} live, ${result.stale} stale`)];
  if (result.workers.length === 0) body.push(section(':red_circle: No workers registered: nothing runs the jobs.'));
  else {
    const workers = result.workers.slice(0, TABLE_BODY_ROWS);
    body.push(
      tableBlock(
        [{ header: 'Worker', align: 'right' }, { header: 'State' }, { header: 'Last heartbeat' }, { header: 'Jobs held', align: 'right' }],
        workers.map((w) => [
          rawCell(String(w.id)),
          w.alive ? richCell(emoji('large_green_circle'), text(' live')) : richCell(emoji('red_circle'), text(' stale', { bold: true })),
          richCell(dateElement(w.lastHeartbeat, '{time_secs}'), text(` (${relativeTime(w.lastHeartbeat)})`, w.alive ? undefined : { bold: true })),
          rawCell(String(w.jobs)),
        ]),
      ),
    );
    if (workers.length < result.workers.length || result.truncated) body.push(context('More workers than one table holds: `jobq workers` lists them all.'));
  }
  const stale = result.stale > 0 ? ` Stale workers' running jobs are stalled: \`/jobq stalled\`.` : '';
  body.push(context(`Stale: no heartbeat for ${formatAge(result.staleAfterSeconds)}.${stale}`));
  return message(`${result.live} live workers, ${result.stale} stale`, body, [runbookContext(options, 'stalled-jobs-and-dead-workers', 'Stalled jobs and dead workers')]);
}

export function doctorBlocks(report: DoctorReport, options: RenderOptions): SlackMessage {
  const body: KnownBlock[] = [header(report.ok ? (report.warnings.length ? 'Doctor: working, with warnings' : 'Doctor: all good') : 'Doctor: problems found')];
  if (report.capabilities.length) {
    body.push(
      fields(
        report.capabilities.map((c) => (c.ok ? `✅ *${c.name}*` : `❌ *${c.name}*: missing\n${c.missing.map((m) => `${m.privilege} on ${m.kind} ${code(m.object)}`).join('\n')}`)),
      ),
    );
  }
  if (report.grants.length) {
    body.push(section('*To grant what is missing*, run as the owner of these objects or a superuser:'), ...preformatted(doctorGrantLines(report).join('\n')));
  }
  if (report.warnings.length) {
    body.push(section(report.warnings.map((w) => `⚠️ ${escapeMrkdwn(w.message)}${w.hint ? `\n      _${escapeMrkdwn(w.hint)}_` : ''}`).join('\n')));
  }
  if (report.problems.length) body.push(section(`*Problems*\n${report.problems.map((p) => `• ${escapeMrkdwn(p)}`).join('\n')}`));
  body.push(...preformatted(doctorBasicsLines(report).join('\n')));
  return message(`jobq doctor: ${doctorSummary(report)}`, body, [runbookContext(options, 'health-checks', 'Health checks')]);
}
