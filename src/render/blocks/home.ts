import type { HomeView, KnownBlock } from '@slack/types';
import type { JobqError } from '../../errors.js';
import type { GroupStats } from '../../queue/stats.js';
import type { Overview } from '../../queue/overview.js';
import { formatAge, formatCount, sourceLine } from '../format.js';
import { RUNBOOK_TITLES, runbookUrl } from '../runbook.js';
import { queueHealth } from '../status.js';
import { agoToken, dateToken } from './dates.js';
import { actions, button, code, context, cut, divider, escapeMrkdwn, escapeMrkdwnKeepMentions, header, LIMITS, section } from './kit.js';
import { mrkdwnWithNames, type RenderOptions } from './reads.js';

/**
 * The App Home: every queue at a glance, what is firing, what is silenced, and buttons for the
 * common next steps. Slack shows no table block in a Home tab, so queues are sections with fields.
 * Buttons carry `home_…` action ids: they come back without a response_url (listeners/home.ts).
 */

export const HOME_BLOCKS = 100;

export interface HomeViewer {
  /** May change the queue (JOBQ_WRITE_USERS / JOBQ_WRITE_GROUPS): the change buttons are shown. */
  canWrite: boolean;
}

/** Queues that need a look first: failing, backed up, stalled, paused; then by name. */
function rank(g: GroupStats, overview: Overview, options: RenderOptions): number {
  const h = queueHealth(g, options.thresholds);
  return (h.failing ? 8 : 0) + ((overview.stalled.byQueue[g.name] ?? 0) > 0 ? 4 : 0) + (h.backlogOld || h.backlogLarge ? 2 : 0) + (h.paused ? 1 : 0);
}

function queueBlocks(g: GroupStats, overview: Overview, viewer: HomeViewer, options: RenderOptions): KnownBlock[] {
  const h = queueHealth(g, options.thresholds);
  const stalled = overview.stalled.byQueue[g.name] ?? 0;
  const icon = h.failing || stalled > 0 ? ':red_circle:' : h.backlogOld || h.backlogLarge ? ':warning:' : h.paused ? ':pause_button:' : ':large_green_circle:';
  const notes = [
    h.failing ? `*${formatCount(g.recent.lastHour.failed)} failed in the last hour*` : '',
    stalled > 0 ? `*${formatCount(stalled)} stalled*` : '',
    h.backlogOld || h.backlogLarge ? '*backlog over its threshold*' : '',
    g.paused ? `paused since ${agoToken(g.paused.since)}` : '',
  ].filter(Boolean);
  const warn = (on: boolean, text: string) => (on ? `:warning: *${text}*` : text);
  const block: KnownBlock = {
    type: 'section',
    text: { type: 'mrkdwn', text: cut(`${icon} *${escapeMrkdwn(g.name)}*${notes.length ? ` · ${notes.join(' · ')}` : ''}`, LIMITS.sectionText) },
    fields: [
      { type: 'mrkdwn', text: `*Backlog*\n${warn(h.backlogLarge, `${formatCount(g.counts.todo, g.estimated.includes('todo'))} waiting`)}` },
      { type: 'mrkdwn', text: `*Oldest waiting*\n${g.oldestTodoAgeSeconds === null ? 'nothing waiting' : warn(h.backlogOld, formatAge(g.oldestTodoAgeSeconds))}` },
      {
        type: 'mrkdwn',
        text: `*Failed, last hour*\n${h.failing ? `*${formatCount(g.recent.lastHour.failed)}*` : formatCount(g.recent.lastHour.failed)} (${formatCount(g.recent.last24h.failed)} in 24 h)`,
      },
      { type: 'mrkdwn', text: `*Stalled*\n${stalled > 0 ? `*${formatCount(stalled)}${overview.stalled.truncated ? '+' : ''}*` : '0'}` },
    ],
    ...(g.counts.failed > 0 ? { accessory: button({ text: 'Failed jobs', actionId: 'home_failed', value: g.name }) } : {}),
  };
  const changes = viewer.canWrite
    ? [
        ...(h.failing ? [button({ text: 'Retry last hour’s failures…', actionId: 'home_retry', value: g.name, style: 'primary' })] : []),
        ...(overview.canPause && !g.paused && (h.failing || stalled > 0)
          ? [
              button({
                text: 'Pause queue',
                actionId: 'home_pause',
                value: g.name,
                style: 'danger',
                confirm: { title: `Pause ${g.name}?`, text: 'Workers stop taking its jobs until it is resumed; running jobs finish.', confirm: 'Pause it', deny: 'Not now' },
              }),
            ]
          : []),
      ]
    : [];
  return changes.length ? [block, actions(...changes)] : [block];
}

export function homeView(overview: Overview, viewer: HomeViewer, options: RenderOptions): HomeView {
  const { stats } = overview;
  const w = stats.workers;
  const workers = w
    ? `${w.live === 0 ? ':red_circle:' : w.live < w.total ? ':warning:' : ':large_green_circle:'} *Workers:* ${w.live} live of ${w.total}`
    : '*Workers:* not tracked before Procrastinate 3.1';
  const source = sourceLine(overview.source);
  const top: KnownBlock[] = [
    header('Job queues'),
    context(
      `As of ${dateToken(stats.generatedAt, '{time_secs}')} · ${formatCount(stats.queues.length)} queue${stats.queues.length === 1 ? '' : 's'}${source ? ` · ${escapeMrkdwn(source)}` : ''}`,
    ),
    section(
      [
        workers,
        `*Stalled jobs:* ${overview.stalled.total > 0 ? `:red_circle: *${overview.stalled.total}${overview.stalled.truncated ? '+' : ''}*` : '0'}`,
        `*Failed in the last hour:* ${formatCount(stats.queues.reduce((n, q) => n + q.recent.lastHour.failed, 0))}`,
      ].join('   '),
    ),
    actions(
      button({ text: '🔄 Refresh', actionId: 'home_refresh', value: 'refresh' }),
      button({ text: 'Failed jobs', actionId: 'home_failed', value: '' }),
      button({ text: 'Stalled jobs', actionId: 'home_stalled', value: 'stalled' }),
      ...(w ? [button({ text: 'Workers', actionId: 'home_workers', value: 'workers' })] : []),
      button({ text: 'Queue stats', actionId: 'home_stats', value: 'stats' }),
    ),
    divider(),
  ];
  const alertLines = overview.alerts.slice(0, 20).map((a) => `:warning: ${mrkdwnWithNames(a.summary)} · since ${agoToken(a.startedAt)}`);
  if (overview.alerts.length > 20) alertLines.push(`… and ${overview.alerts.length - 20} more`);
  top.push(section(cut(`*Open alerts*\n${alertLines.length ? alertLines.join('\n') : ':white_check_mark: Nothing is firing.'}`, LIMITS.sectionText)));
  const muteLines = overview.mutes
    .slice(0, 20)
    .map(
      (m) =>
        `:no_bell: ${code(m.target)} until ${dateToken(m.expiresAt)} by ${/^[UW][A-Z0-9_]{2,}$/.test(m.createdBy) ? `<@${m.createdBy}>` : code(m.createdBy)}${m.reason ? `: ${escapeMrkdwn(cut(m.reason, 120))}` : ''} · ${formatCount(m.suppressedAlerts)} suppressed`,
    );
  top.push(section(cut(`*Silences*\n${muteLines.length ? muteLines.join('\n') : 'None: every alert is posted.'}`, LIMITS.sectionText)), divider());

  const tail: KnownBlock[] = [
    context(
      `\`/jobq stats\` for the full table · 📖 <${runbookUrl(options.runbookBase, 'reading-the-stats')}|${RUNBOOK_TITLES['reading-the-stats']}> · <${runbookUrl(options.runbookBase, 'triaging-failed-jobs')}|${RUNBOOK_TITLES['triaging-failed-jobs']}>`,
    ),
  ];
  const queues = [...stats.queues].sort((a, b) => rank(b, overview, options) - rank(a, overview, options) || a.name.localeCompare(b.name));
  const body: KnownBlock[] = [];
  let shown = 0;
  if (queues.length === 0) body.push(section('No jobs at all yet: queues appear here once jobs are deferred.'));
  for (const g of queues) {
    const blocks = queueBlocks(g, overview, viewer, options);
    // Room for the note below and the tail: a Home tab holds 100 blocks.
    if (top.length + body.length + blocks.length + tail.length + 1 > HOME_BLOCKS) break;
    body.push(...blocks);
    shown++;
  }
  if (shown < queues.length) body.push(context(`${queues.length - shown} more queues, all healthy or less urgent: \`/jobq stats\` lists every queue.`));
  return { type: 'home', callback_id: 'jobq_home', blocks: [...top, ...body, ...tail] };
}

/** The Home tab for someone jobq does not answer (JOBQ_READ_CHANNELS), or when the database is down. */
export function homeErrorView(error: JobqError, options: RenderOptions): HomeView {
  const slug = error.runbookSection ?? 'troubleshooting';
  return {
    type: 'home',
    callback_id: 'jobq_home',
    blocks: [
      header('Job queues'),
      section(`${error.code === 'forbidden' ? ':lock:' : ':warning:'} ${escapeMrkdwnKeepMentions(error.message)}`),
      ...(error.hint ? [context(escapeMrkdwn(error.hint))] : []),
      actions(button({ text: '🔄 Try again', actionId: 'home_refresh', value: 'refresh' })),
      context(`📖 Runbook: <${runbookUrl(options.runbookBase, slug)}|${escapeMrkdwn(RUNBOOK_TITLES[slug])}>`),
    ],
  };
}
