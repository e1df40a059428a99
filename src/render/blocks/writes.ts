import type { KnownBlock } from '@slack/types';
import type { JobChangeOutcome } from '../../commands/writes.js';
import { COMMAND_NAMES, type CommandName, DEFINITIONS } from '../../commands/definitions.js';
import type { JobqError } from '../../errors.js';
import type { AuditPage } from '../../queue/audit.js';
import type { BulkPreview } from '../../commands/execute.js';
import type { BulkKind, BulkProgress, BulkResult } from '../../commands/writes.js';
import type { PausedQueue, PauseResult, ResumeResult } from '../../queue/pause.js';
import type { RunbookSection } from '../../runbook-sections.js';
import { BULK_NAME, bulkPreviewText, bulkProgressText, bulkQuestion, bulkResultText, pausedText, pauseText, resumeText } from '../text/bulk.js';
import { auditSentence } from '../audit-sentence.js';
import { utcShort } from '../time.js';
import { SLACK_CODE } from '../text/style.js';
import { RUNBOOK_TITLES } from '../runbook.js';
import { cancelText, retryText, runNowText } from '../text/writes.js';
import { agoToken, dateToken } from './dates.js';
import { actions, button, code, context, escapeMrkdwn, escapeMrkdwnKeepMentions, header, message, section, type SlackMessage } from './kit.js';
import { mrkdwnWithNames, preformatted, runbookContext, type RenderOptions } from './reads.js';

/** Block Kit renderings of changes, refusals and errors. Pure: data in, blocks out. */

const RUNBOOK: Record<BulkKind, [RunbookSection, string]> = {
  'retry-all': ['retrying-jobs-safely', 'Retrying jobs safely'],
  purge: ['purging-and-retention', 'Purging and retention'],
  'pause-all': ['emergency-stop', 'Emergency stop'],
  'resume-key': ['emergency-stop', 'Emergency stop'],
};

/** Announcement of a single-job change, posted in the channel so the team sees who did what. */
export function jobChangeBlocks(outcome: JobChangeOutcome, userId: string, options: RenderOptions): SlackMessage {
  const text = changeText(outcome);
  const verb = verbOf(outcome);
  const slug = outcome.kind === 'retry' ? 'retrying-jobs-safely' : outcome.kind === 'cancel' ? 'cancelling-and-aborting-jobs' : 'running-a-scheduled-job-now';
  return message(
    `<@${userId}> ${verb} job ${outcome.result.jobId}: ${escapeMrkdwn(text)}`,
    [
      section(
        `:arrows_counterclockwise: <@${userId}> ${verb} job *#${outcome.result.jobId}* (${code(outcome.result.task)} on ${code(outcome.result.queue)})\n${escapeMrkdwn(text)}`,
      ),
    ],
    [actions(button({ text: 'Show job', actionId: 'job_details', value: String(outcome.result.jobId) })), runbookContext(options, slug, 'What this does')],
  );
}

function changeText(outcome: JobChangeOutcome): string {
  switch (outcome.kind) {
    case 'retry':
      return retryText(outcome.result);
    case 'cancel':
      return cancelText(outcome.result);
    case 'run-now':
      // The bot's time zone is nobody's: UTC in a sentence that is escaped (no date token).
      return runNowText(outcome.result, (iso) => (iso ? utcShort(iso) : '-'));
  }
}

function verbOf(outcome: JobChangeOutcome): string {
  switch (outcome.kind) {
    case 'retry':
      return 'retried';
    case 'cancel':
      return outcome.result.outcome === 'cancelled' ? 'cancelled' : outcome.result.workerGone ? 'marked for abort' : 'asked to abort';
    case 'run-now':
      return 'ran now';
  }
}

export interface PendingBulk {
  confirmationId: string;
  requestedBy: string;
  expiresAt: string;
}

export function bulkPreviewBlocks(preview: BulkPreview, pending: PendingBulk, options: RenderOptions): SlackMessage {
  const { question, confirm, danger, consequence } = bulkQuestion(preview);
  const [slug, label] = RUNBOOK[preview.bulk];
  return message(
    `<@${pending.requestedBy}> asks: ${question}`,
    [
      header(question),
      section(`Requested by <@${pending.requestedBy}>. Confirm before ${dateToken(pending.expiresAt, '{time}')} (${agoToken(pending.expiresAt)}), or the preview expires.`),
      ...preformatted(bulkPreviewText(preview, utcShort)),
    ],
    [
      actions(
        button({
          text: confirm,
          actionId: 'bulk_confirm',
          value: pending.confirmationId,
          style: danger ? 'danger' : 'primary',
          confirm: { title: question, text: consequence, confirm: 'Go ahead', deny: 'Not now' },
        }),
        button({ text: 'Cancel', actionId: 'bulk_cancel', value: pending.confirmationId }),
      ),
      runbookContext(options, slug, label),
    ],
  );
}

export function bulkProgressBlocks(kind: BulkKind, progress: BulkProgress | null, by: string, options: RenderOptions): SlackMessage {
  const line = progress === null ? 'starting…' : bulkProgressText(progress);
  const [slug, label] = RUNBOOK[kind];
  return message(
    `${BULK_NAME[kind]} running: ${line}`,
    [section(`:hourglass_flowing_sand: *${BULK_NAME[kind]}* confirmed by <@${by}>, running: ${escapeMrkdwn(line)}`)],
    [runbookContext(options, slug, label)],
  );
}

export function bulkResultBlocks(result: BulkResult, by: string, options: RenderOptions): SlackMessage {
  const text = bulkResultText(result);
  const stopped = 'stopped' in result.result && result.result.stopped;
  const [slug, label] = RUNBOOK[result.bulk];
  return message(
    `${BULK_NAME[result.bulk]} confirmed by <@${by}>: ${text}`,
    [section(`${stopped ? ':octagonal_sign:' : ':white_check_mark:'} *${BULK_NAME[result.bulk]}* confirmed by <@${by}>\n${escapeMrkdwn(text)}`)],
    [runbookContext(options, slug, label)],
  );
}

export function bulkClosedBlocks(kind: BulkKind, why: string, options: RenderOptions): SlackMessage {
  const [slug, label] = RUNBOOK[kind];
  return message(`${BULK_NAME[kind]}: ${why}`, [section(`:no_entry_sign: *${BULK_NAME[kind]}*: ${escapeMrkdwnKeepMentions(why)}`)], [runbookContext(options, slug, label)]);
}

/** A queue paused or resumed, announced in the channel. */
export function pauseChangeBlocks(change: { kind: 'pause'; result: PauseResult } | { kind: 'resume'; result: ResumeResult }, userId: string, options: RenderOptions): SlackMessage {
  const text = change.kind === 'pause' ? pauseText(change.result) : resumeText(change.result);
  const icon = change.kind === 'pause' ? ':double_vertical_bar:' : ':arrow_forward:';
  const queues = change.kind === 'pause' ? change.result.paused : change.result.resumed.map((r) => r.queue);
  return message(
    `<@${userId}> ${change.kind === 'pause' ? 'paused' : 'resumed'} ${queues.join(', ') || 'nothing'}: ${escapeMrkdwn(text)}`,
    [section(`${icon} <@${userId}> ${change.kind === 'pause' ? 'paused' : 'resumed'} ${queues.map((q) => code(q)).join(', ') || 'nothing'}\n${escapeMrkdwn(text)}`)],
    [runbookContext(options, 'emergency-stop', 'Emergency stop')],
  );
}

export function pausedListBlocks(paused: PausedQueue[], options: RenderOptions): SlackMessage {
  return message(
    paused.length ? `${paused.length} pause(s)` : 'No queue is paused.',
    [header('Paused queues'), ...preformatted(pausedText(paused, SLACK_CODE))],
    [runbookContext(options, 'emergency-stop', 'Emergency stop')],
  );
}

/** Any refusal or failure: what happened, what to do, and the runbook section. */
export function errorBlocks(error: JobqError, options: RenderOptions): SlackMessage {
  const icon = error.code === 'forbidden' ? ':lock:' : error.code === 'usage' ? ':grey_question:' : ':warning:';
  const slug = error.runbookSection ?? 'troubleshooting';
  // Messages may carry user/channel mentions built by jobq (who confirmed, where jobq answers).
  const body = escapeMrkdwnKeepMentions(error.message);
  return message(
    body,
    [
      section(`${icon} ${body.replace(/\nUsage: (.*)$/s, (_m, usage: string) => `\n*Usage:* \`/jobq ${escapeMrkdwn(usage.replace(/^jobq /, ''))}\``)}`),
      ...(error.hint ? [context(escapeMrkdwn(error.hint))] : []),
    ],
    [runbookContext(options, slug, RUNBOOK_TITLES[slug])],
  );
}

export function helpBlocks(topic: CommandName | null, options: RenderOptions): SlackMessage {
  if (topic) {
    const d = DEFINITIONS[topic];
    const flags = Object.keys(d.options).map((name) => `\`--${name}\` ${escapeMrkdwn(d.flags[name] ?? '')}`);
    return message(
      `/jobq ${d.usage}: ${d.summary}`,
      [
        section(`\`/jobq ${escapeMrkdwn(d.usage)}\`\n${escapeMrkdwn(d.summary)}${d.access === 'write' ? ' _(changes the queue)_' : ''}`),
        ...(flags.length ? [section(`*Options*\n${flags.join('\n')}`)] : []),
        section(`*Examples*\n${d.examples.map((e) => `\`/jobq ${escapeMrkdwn(e)}\``).join('\n')}`),
      ],
      [runbookContext(options, d.runbook, RUNBOOK_TITLES[d.runbook])],
    );
  }
  const lines = COMMAND_NAMES.map(
    (n) => `\`/jobq ${escapeMrkdwn(DEFINITIONS[n].usage)}\`\n${escapeMrkdwn(DEFINITIONS[n].summary)}${DEFINITIONS[n].access === 'write' ? ' _(changes the queue)_' : ''}`,
  );
  const body: KnownBlock[] = [header('jobq commands')];
  for (let i = 0; i < lines.length; i += 5) body.push(section(lines.slice(i, i + 5).join('\n')));
  return message(`jobq commands: ${COMMAND_NAMES.join(', ')}`, body, [runbookContext(options, 'using-jobq', 'Using jobq')]);
}

/** A Slack user id as a mention; a terminal user (a CLI change) by name. */
const actorMention = (actor: AuditPage['entries'][number]['actor']) =>
  actor.kind === 'slack' && /^[UW][A-Z0-9_]{2,}$/.test(actor.id) ? `<@${actor.id}>` : code(actor.name ?? actor.id);

/** The audit trail as sentences: who did what to which jobs, when, how it ended. `audit --json` keeps the full record. */
export function auditBlocks(page: AuditPage, options: RenderOptions): SlackMessage {
  if (page.entries.length === 0) return message('No changes recorded yet.', [section('No changes recorded yet.')], [runbookContext(options, 'audit-trail', 'Audit trail')]);
  const lines = page.entries.map((e) => {
    const s = auditSentence(e);
    // The sentence quotes names in backticks; everything else in it is escaped here.
    const did = mrkdwnWithNames(s.did);
    const outcome = s.bad ? `*${escapeMrkdwn(s.outcome)}*` : escapeMrkdwn(s.outcome);
    return `${s.bad ? ':warning:' : ':white_check_mark:'} ${actorMention(e.actor)} ${did} · ${agoToken(e.at)} · ${outcome}`;
  });
  const body: KnownBlock[] = [header('Recent changes')];
  for (let i = 0; i < lines.length; i += 10) body.push(section(lines.slice(i, i + 10).join('\n')));
  if (page.nextCursor) body.push(context(`Older entries: \`/jobq audit --cursor ${page.nextCursor}\` · the full record: \`jobq audit --json\``));
  return message(`${page.entries.length} recent changes`, body, [runbookContext(options, 'audit-trail', 'Audit trail')]);
}

export function progressPlaceholder(command: string): SlackMessage {
  return { text: `Working on ${command}…`, blocks: [context(`:hourglass_flowing_sand: Working on \`${escapeMrkdwn(command)}\`…`)] };
}
