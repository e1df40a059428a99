import type { RunbookSection } from '../../runbook-sections.js';
import { encodeFailureButton } from './button-values.js';
import type { KnownBlock } from '@slack/types';
import type { AlertName } from '../../config.js';
import type { Mute } from '../../queue/mutes.js';
import { formatAge, formatCount } from '../format.js';
import { logsUrl } from '../logs.js';
import { utcShort } from '../time.js';
import { agoToken, dateToken } from './dates.js';
import { runbookUrl } from '../runbook.js';
import { actions, button, code, context, escapeMrkdwn, message, runbookButton, section, type SlackMessage } from './kit.js';
import { mrkdwnWithNames, runbookContext, type RenderOptions } from './reads.js';

/** Block Kit for alerts, silences and their notes. Pure: data in, blocks out. */

/** The runbook section each alert links to. */
export const ALERT_RUNBOOK: Record<AlertName, RunbookSection> = {
  failures: 'alert-job-failures',
  stalled: 'alert-stalled-jobs',
  backlog: 'alert-backlog',
  'no-workers': 'alert-no-live-workers',
  'db-unreachable': 'alert-database-unreachable',
  paused: 'emergency-stop',
};

const ALERT_TITLE: Record<AlertName, string> = {
  failures: 'Alert: job failures',
  stalled: 'Alert: stalled jobs',
  backlog: 'Alert: backlog',
  'no-workers': 'Alert: no live workers',
  'db-unreachable': 'Alert: database unreachable',
  paused: 'Emergency stop',
};

/** A time Slack shows in each reader's own time zone, with a UTC fallback. */
export function slackTime(iso: string): string {
  return dateToken(iso, '{date_short_pretty} {time_secs}');
}

const plural = (n: number, word: string) => `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;
const jobList = (ids: number[], total: number) => ids.map((id) => `#${id}`).join(', ') + (total > ids.length ? ` and ${formatCount(total - ids.length)} more` : '');

export interface FailureGroupView {
  queue: string;
  task: string;
  /** Failures counted in this message so far. */
  total: number;
  firstFailedAt: string;
  lastFailedAt: string;
  /** A few job ids, oldest first. */
  sampleJobIds: number[];
}

export function failureAlertBlocks(v: FailureGroupView, options: RenderOptions): SlackMessage {
  const value = encodeFailureButton({ q: v.queue, t: v.task, s: v.firstFailedAt });
  // With JOBQ_LOGS_URL_TEMPLATE each job id links to its log search, and Logs opens the latest one's.
  const logsOf = (id: number, i: number) => logsUrl(options.logsUrlTemplate, { id, task: v.task, queue: v.queue, failedAt: i === 0 ? v.firstFailedAt : v.lastFailedAt });
  const ids = v.sampleJobIds.map((id, i) => {
    const url = logsOf(id, i);
    return url ? `<${url}|#${id}>` : `#${id}`;
  });
  const jobs = ids.join(', ') + (v.total > ids.length ? ` and ${formatCount(v.total - ids.length)} more` : '');
  const latest = v.sampleJobIds.length ? logsOf(v.sampleJobIds[v.sampleJobIds.length - 1]!, v.sampleJobIds.length - 1) : null;
  const body: KnownBlock[] = [
    section(`:rotating_light: *${plural(v.total, 'failure')}* of ${code(v.task)} in queue ${code(v.queue)}`),
    context(`Jobs ${jobs} · first ${slackTime(v.firstFailedAt)} (${agoToken(v.firstFailedAt)})${v.total > 1 ? ` · last ${slackTime(v.lastFailedAt)}` : ''}`),
  ];
  const tail: KnownBlock[] = [
    actions(
      button({ text: 'Retry these', actionId: 'alert_retry', value, style: 'primary' }),
      button({ text: 'Show them', actionId: 'alert_show', value }),
      ...(options.pauseButtons
        ? [
            button({
              text: 'Pause queue',
              actionId: 'alert_pause',
              value: v.queue,
              style: 'danger',
              confirm: { title: `Pause ${v.queue}?`, text: 'Workers stop taking its jobs until it is resumed; running jobs finish.', confirm: 'Pause it', deny: 'Not now' },
            }),
          ]
        : []),
      ...(latest ? [button({ text: '📄 Logs', actionId: 'logs_link', url: latest })] : []),
      runbookButton(runbookUrl(options.runbookBase, 'alert-job-failures'), 'Alert: job failures'),
    ),
    context(
      `${latest ? 'Why they failed: each job id links to its logs.' : "Why they failed is in your app's logs: search for the job ids."} Expected? \`/jobq mute ${escapeMrkdwn(v.task)} 2h reason\``,
    ),
  ];
  return message(`${plural(v.total, 'failure')} of ${escapeMrkdwn(v.task)} in queue ${escapeMrkdwn(v.queue)}`, body, tail);
}

export function failureReplyBlocks(v: { added: number; total: number; sampleJobIds: number[]; lastFailedAt: string }): SlackMessage {
  const text = `+${formatCount(v.added)} more (${formatCount(v.total)} in all): ${jobList(v.sampleJobIds, v.added)}, last ${slackTime(v.lastFailedAt)}`;
  return { text: `+${plural(v.added, 'more failure')} (${formatCount(v.total)} in all)`, blocks: [section(text)] };
}

export interface CombinedGroupView {
  queue: string;
  task: string;
  failures: number;
}

/** One message for the smaller groups of a storm, so the channel gets a handful of posts. */
export function combinedFailuresBlocks(groups: CombinedGroupView[], options: RenderOptions): SlackMessage {
  const total = groups.reduce((n, g) => n + g.failures, 0);
  const lines = groups.slice(0, 25).map((g) => `• ${formatCount(g.failures)} × ${code(g.task)} in ${code(g.queue)}`);
  if (groups.length > 25) lines.push(`• … and ${groups.length - 25} more queue/task pairs`);
  const body: KnownBlock[] = [section(`:rotating_light: *${plural(total, 'more failure')}* in ${groups.length} other queue/task pairs`), section(lines.join('\n'))];
  return message(`${plural(total, 'more failure')} in ${groups.length} queue/task pairs`, body, [
    actions(
      button({ text: 'Show failed jobs', actionId: 'alert_show', value: JSON.stringify({}) }),
      runbookButton(runbookUrl(options.runbookBase, 'alert-job-failures'), 'Alert: job failures'),
    ),
  ]);
}

export interface HealthAlertView {
  alert: AlertName;
  /** One line: what is wrong, e.g. "Backlog in queue `emails`". */
  title: string;
  /** What was measured against which threshold (mrkdwn, already escaped). */
  detail: string;
  startedAt: string;
  /** How to mute it, e.g. "emails" or "stalled". */
  muteTarget: string;
  /** Read commands that help, e.g. ["stats", "workers"]. */
  commands: string[];
}

export function healthAlertBlocks(v: HealthAlertView, repeatSeconds: number, options: RenderOptions): SlackMessage {
  const slug = ALERT_RUNBOOK[v.alert];
  return message(
    `${ALERT_TITLE[v.alert]}: ${v.title.replace(/`/g, '')}`,
    [
      section(`:warning: *${v.title}*\n${v.detail}`),
      context(
        `Firing since ${slackTime(v.startedAt)} · repeats every ${formatAge(Math.round(repeatSeconds))} while it lasts · ${v.commands.map((c) => `\`/jobq ${c}\``).join(' ')} · mute: \`/jobq mute ${escapeMrkdwn(v.muteTarget)} 1h reason\``,
      ),
    ],
    [runbookContext(options, slug, ALERT_TITLE[v.alert])],
  );
}

export function healthRepeatBlocks(v: HealthAlertView): SlackMessage {
  const lasting = formatAge(Math.round((Date.now() - Date.parse(v.startedAt)) / 1000));
  return { text: `Still firing after ${lasting}: ${v.title.replace(/`/g, '')}`, blocks: [section(`:warning: Still firing after ${lasting}: ${v.detail}`)] };
}

export function healthResolvedBlocks(v: Pick<HealthAlertView, 'alert' | 'title' | 'startedAt'>, options: RenderOptions): { parent: SlackMessage; reply: SlackMessage } {
  const lasted = formatAge(Math.round((Date.now() - Date.parse(v.startedAt)) / 1000));
  const slug = ALERT_RUNBOOK[v.alert];
  return {
    parent: message(
      `Resolved: ${v.title.replace(/`/g, '')}`,
      [section(`:white_check_mark: *Resolved:* ~${v.title}~\nFired ${slackTime(v.startedAt)}, lasted ${lasted}.`)],
      [runbookContext(options, slug, ALERT_TITLE[v.alert])],
    ),
    reply: { text: `Resolved after ${lasted}`, blocks: [section(`:white_check_mark: Resolved after ${lasted}.`)] },
  };
}

// --- silences ---

/** Slack user ids as mentions; a terminal user's name (a CLI silence) as plain code. */
const who = (id: string | null) => (id && /^[UW][A-Z0-9_]{2,}$/.test(id) ? `<@${id}>` : code(id ?? 'someone'));

const suppressedText = (m: Mute) =>
  m.suppressedAlerts === 0
    ? 'no alerts were suppressed'
    : `${plural(m.suppressedAlerts, 'alert')} suppressed${m.suppressedFailures > 0 ? ` (${plural(m.suppressedFailures, 'failure')})` : ''}`;

function muteLine(m: Mute): string {
  return `${code(m.target)} until ${slackTime(m.expiresAt)} by ${who(m.createdBy)}${m.reason ? `: ${escapeMrkdwn(m.reason)}` : ''} · ${suppressedText(m)} so far`;
}

export function muteCreatedBlocks(m: Mute, userId: string, options: RenderOptions, note: string | null = null): SlackMessage {
  return message(
    `${who(userId)} muted ${escapeMrkdwn(m.target)} until ${utcShort(m.expiresAt)}`,
    [
      section(
        `:no_bell: ${who(userId)} muted ${code(m.target)} until ${slackTime(m.expiresAt)}${m.reason ? `: ${escapeMrkdwn(m.reason)}` : ''}\nMatching alerts are counted, not posted; the count is posted when the silence ends.`,
      ),
      ...(note ? [context(`:grey_question: ${mrkdwnWithNames(note)}`)] : []),
    ],
    [runbookContext(options, 'silencing-alerts', 'Silencing alerts')],
  );
}

export function unmuteBlocks(ended: Mute[], userId: string, options: RenderOptions): SlackMessage {
  const alerts = ended.reduce((n, m) => n + m.suppressedAlerts, 0);
  const failures = ended.reduce((n, m) => n + m.suppressedFailures, 0);
  const target = ended[0]?.target ?? '';
  const counted = alerts === 0 ? 'no alerts were suppressed' : `${plural(alerts, 'alert')} had been suppressed${failures ? ` (${plural(failures, 'failure')})` : ''}`;
  return message(
    `${who(userId)} unmuted ${escapeMrkdwn(target)}: ${counted}`,
    [section(`:bell: ${who(userId)} unmuted ${code(target)}: ${counted}.`)],
    [runbookContext(options, 'silencing-alerts', 'Silencing alerts')],
  );
}

export function mutesListBlocks(mutes: Mute[], options: RenderOptions): SlackMessage {
  const body: KnownBlock[] = mutes.length
    ? [section(`*Active silences (${mutes.length})*`), ...mutes.map((m) => section(`:no_bell: ${muteLine(m)}`))]
    : [section('No active silences: every alert is posted.')];
  return message(mutes.length ? `${mutes.length} active silences` : 'No active silences', body, [runbookContext(options, 'silencing-alerts', 'Silencing alerts')]);
}

/** Posted in the alert channel when a silence expires or is removed. */
export function muteEndedNoteBlocks(m: Mute, options: RenderOptions): SlackMessage {
  const how = m.endReason === 'unmuted' ? `was removed by ${who(m.endedBy)}` : 'expired';
  return message(
    `Silence on ${escapeMrkdwn(m.target)} ${m.endReason === 'unmuted' ? 'removed' : 'expired'}: ${suppressedText(m)}`,
    [section(`:bell: The silence on ${code(m.target)} ${how}: ${suppressedText(m)} while it lasted (set by ${who(m.createdBy)}${m.reason ? `: ${escapeMrkdwn(m.reason)}` : ''}).`)],
    [runbookContext(options, 'silencing-alerts', 'Silencing alerts')],
  );
}
