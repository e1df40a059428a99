import type { RunbookSection } from '../../runbook-sections.js';
import type { Button, KnownBlock } from '@slack/types';
import { REPORTED_STATUSES } from '../../db/procrastinate.js';
import type { DoctorReport } from '../../queue/doctor.js';
import type { FailedPage, FailedQuery } from '../../queue/failed.js';
import type { JobAction, JobDetail } from '../../queue/job.js';
import type { StalledResult } from '../../queue/stalled.js';
import type { StatsResult } from '../../queue/stats.js';
import type { WorkersResult } from '../../queue/workers.js';
import { formatAge, formatStatusCount, formatTime } from '../format.js';
import { runbookUrl } from '../runbook.js';
import { doctorBasicsLines, doctorGrantLines, stalledText, statsText, workersText } from '../text/reads.js';
import { encodeFailedQuery } from './button-values.js';
import { actions, button, code, context, cut, escapeMrkdwn, fields, fittingCount, header, message, section, type SlackMessage } from './kit.js';

/** Block Kit renderings of the read results. Pure: data in, blocks out. */

export interface RenderOptions {
  runbookBase: string;
  /** The database can pause queues (Procrastinate 3.10+): alerts offer a Pause queue button. */
  pauseButtons?: boolean;
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

/** Paused queues stand out: workers take nothing from them however long their backlog grows. */
function pausedLine(stats: StatsResult): string {
  const paused = stats.queues.filter((q) => q.paused);
  if (paused.length === 0) return '';
  return `:double_vertical_bar: *Paused:* ${paused.map((q) => `${code(q.name)} for ${formatAge(Math.max(0, Math.round((Date.now() - Date.parse(q.paused!.since)) / 1000)))}`).join(', ')}`;
}

export function statsBlocks(stats: StatsResult, options: RenderOptions): SlackMessage {
  const totals = REPORTED_STATUSES.map((s) => `${s} ${formatStatusCount(stats.totals.counts[s], stats.totals.estimated.includes(s), stats.totals.margins[s])}`).join(' · ');
  const worstWait = Math.max(-1, ...stats.queues.map((q) => q.oldestTodoAgeSeconds ?? -1));
  const summary = [
    `*Totals:* ${totals}`,
    worstWait >= 0 ? `*Oldest waiting job:* ${formatAge(worstWait)}` : '*Nothing waiting.*',
    stats.workers ? `*Workers:* ${stats.workers.live} live of ${stats.workers.total}` : '',
    pausedLine(stats),
  ].filter(Boolean);
  return message(
    `Queue stats: ${totals}`,
    [header(`Queue stats by ${stats.groupBy}`), section(summary.join('\n')), ...preformatted(statsText(stats))],
    [runbookContext(options, 'reading-the-stats', 'Reading the stats')],
  );
}

export function failedBlocks(page: FailedPage, query: FailedQuery, options: RenderOptions): SlackMessage {
  const filters = [query.queue && `queue ${code(query.queue)}`, query.task && `task ${code(query.task)}`, query.since && `since ${formatTime(query.since.toISOString())}`]
    .filter(Boolean)
    .join(', ');
  const head: KnownBlock[] = [header('Failed jobs'), ...(filters ? [context(`Filters: ${filters}`)] : [])];
  if (page.jobs.length === 0) {
    head.push(section(page.nextCursor ? `No failed jobs among ids ${page.scanned.fromId}–${page.scanned.toId}. *Next* looks further back.` : 'No failed jobs. :tada:'));
  }
  const rows = page.jobs.map((job) =>
    section(
      `*#${job.id}* ${code(job.task)} in ${code(job.queue)} · ${job.attempts} attempt${job.attempts === 1 ? '' : 's'} · failed ${formatTime(job.failedAt)}\n${code(cut(job.argsPreview, 300))}`,
      button({ text: 'Details', actionId: 'job_details', value: String(job.id) }),
    ),
  );
  const runbook = runbookContext(options, 'triaging-failed-jobs', 'Triaging failed jobs');
  const nextButton = (cursor: number) => actions(button({ text: 'Next ›', actionId: 'failed_next', value: encodeFailedQuery({ ...query, cursor }) }));
  // Show only what fits, and page on from the last job shown, so Next never skips a job.
  const shown = fittingCount(rows, [...head, nextButton(1), runbook, context('note')]);
  const jobs = page.jobs.slice(0, shown);
  const cursor = shown < page.jobs.length ? (jobs[jobs.length - 1]?.id ?? page.nextCursor) : page.nextCursor;
  const body = [...head, ...rows.slice(0, shown)];
  if (shown < page.jobs.length) body.push(context(`Showing ${shown} of ${page.jobs.length}: *Next* continues after #${jobs[jobs.length - 1]?.id}.`));
  const tail: KnownBlock[] = [...(cursor ? [nextButton(cursor)] : []), runbook];
  const text = jobs.length ? `${jobs.length} failed jobs, newest first: ${jobs.map((j) => `#${j.id}`).join(', ')}` : 'No failed jobs found.';
  return message(text, body, tail);
}

export function jobBlocks(detail: JobDetail, options: RenderOptions): SlackMessage {
  const j = detail.job;
  const info = [
    `*Task*\n${code(j.task)}`,
    `*Queue*\n${code(j.queue)}`,
    `*Attempts*\n${j.attempts}`,
    `*Priority*\n${j.priority}`,
    `*Scheduled*\n${formatTime(j.scheduledAt)}`,
    `*Lock*\n${j.lock ? code(j.lock) : '-'}`,
  ];
  if (j.queueingLock) info.push(`*Queueing lock*\n${code(j.queueingLock)}`);
  if (detail.worker) info.push(`*Worker*\n${detail.worker.id}: heartbeat ${formatAge(detail.worker.heartbeatAgeSeconds)} ago${detail.worker.alive ? '' : ' (stale)'}`);
  else if (j.workerId !== null) info.push(`*Worker*\n${j.workerId} (gone)`);
  if (j.abortRequested) info.push('*Abort*\nrequested');
  const timeline = detail.events.map((e) => `${formatTime(e.at)}  ${e.type}`).join('\n') + (detail.eventsTruncated ? '\n…' : '');
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
        confirm: { title: `Abort job ${j.id}?`, text: 'The worker is asked to stop it.', confirm: 'Abort', deny: 'Keep' },
      }),
  };
  const buttons = detail.actions.map((action) => buttonFor[action]());
  const body: KnownBlock[] = [
    header(`Job ${j.id} · ${j.status}${detail.stalled ? ' (stalled)' : ''}`),
    fields(info),
    section(`*Args*\n\`\`\`${cut(escapeMrkdwn(JSON.stringify(j.args, null, 1)), 2_500)}\`\`\``),
    ...(detail.waiting.length ? [section(`*Not running yet because*\n${detail.waiting.map((w) => `• ${escapeMrkdwn(w)}`).join('\n')}`)] : []),
    ...(detail.sharingLocks.length
      ? [context(`Sharing a lock${j.lockMode ? ` (${j.lockMode})` : ''}: ${detail.sharingLocks.map((s) => `#${s.id} (${s.status}, ${s.via})`).join(', ')}`)]
      : []),
    section(`*Timeline*\n\`\`\`${cut(escapeMrkdwn(timeline || 'no events'), 2_700)}\`\`\``),
  ];
  const slug = j.status === 'failed' ? 'triaging-failed-jobs' : detail.stalled ? 'stalled-jobs-and-dead-workers' : 'reading-the-stats';
  const tail: KnownBlock[] = [
    ...(buttons.length ? [actions(...buttons)] : []),
    ...(j.status === 'failed' ? [context(`Why it failed is not stored by Procrastinate: search your logs or error tracker for job ${j.id} and task ${code(j.task)}.`)] : []),
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
  return message(
    `${result.live} live workers, ${result.stale} stale`,
    [header(`Workers: ${result.live} live, ${result.stale} stale`), ...preformatted(workersText(result))],
    [runbookContext(options, 'stalled-jobs-and-dead-workers', 'Stalled jobs and dead workers')],
  );
}

export function doctorBlocks(report: DoctorReport, options: RenderOptions): SlackMessage {
  const warned = report.warnings.length ? `, ${report.warnings.length} warning(s)` : '';
  const body: KnownBlock[] = [header(report.ok ? 'Doctor: all good' : 'Doctor: problems found')];
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
  return message(report.ok ? `jobq doctor: no problems found${warned}` : `jobq doctor: ${report.problems.length} problem(s)${warned}`, body, [
    runbookContext(options, 'health-checks', 'Health checks'),
  ]);
}
