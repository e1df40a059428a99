import type { KnownBlock } from '@slack/types';
import type { JobChangeOutcome } from '../../commands/writes.js';
import { COMMAND_NAMES, type CommandName, DEFINITIONS } from '../../commands/definitions.js';
import type { JobqError } from '../../errors.js';
import type { AuditPage } from '../../queue/audit.js';
import type { PurgePreview, PurgeProgress, PurgeResult } from '../../queue/purge.js';
import type { RetryAllPreview, RetryAllProgress, RetryAllResult } from '../../queue/retry-all.js';
import { formatTime } from '../format.js';
import { cancelText, purgePreviewText, purgeProgressText, purgeResultText, retryAllPreviewText, retryAllProgressText, retryAllResultText, retryText, runNowText, auditText } from '../text/writes.js';
import { actions, button, code, context, escapeMrkdwn, escapeMrkdwnKeepMentions, header, message, section, type SlackMessage } from './kit.js';
import { preformatted, runbookContext, type RenderOptions } from './reads.js';

/** Block Kit renderings of changes, refusals and errors. Pure: data in, blocks out. */

import type { BulkKind } from '../../commands/writes.js';
import type { RunbookSection } from '../../runbook-sections.js';
const RUNBOOK: Record<BulkKind, [RunbookSection, string]> = {
  'retry-all': ['retrying-jobs-safely', 'Retrying jobs safely'],
  purge: ['purging-and-retention', 'Purging and retention'],
};

/** Announcement of a single-job change, posted in the channel so the team sees who did what. */
export function jobChangeBlocks(outcome: JobChangeOutcome, userId: string, options: RenderOptions): SlackMessage {
  const text = outcome.kind === 'retry' ? retryText(outcome.result) : outcome.kind === 'cancel' ? cancelText(outcome.result) : runNowText(outcome.result);
  const verb = outcome.kind === 'retry' ? 'retried' : outcome.kind === 'cancel' ? (outcome.result.outcome === 'cancelled' ? 'cancelled' : 'asked to abort') : 'ran now';
  const slug = outcome.kind === 'retry' ? 'retrying-jobs-safely' : outcome.kind === 'cancel' ? 'cancelling-and-aborting-jobs' : 'running-a-scheduled-job-now';
  return message(
    `<@${userId}> ${verb} job ${outcome.result.jobId}: ${escapeMrkdwn(text)}`,
    [section(`:arrows_counterclockwise: <@${userId}> ${verb} job *#${outcome.result.jobId}* (${code(outcome.result.task)} on ${code(outcome.result.queue)})\n${escapeMrkdwn(text)}`)],
    [actions(button({ text: 'Show job', actionId: 'job_details', value: String(outcome.result.jobId) })), runbookContext(options, slug, 'What this does')],
  );
}

export interface PendingBulk {
  confirmationId: string;
  requestedBy: string;
  expiresAt: string;
}

export function bulkPreviewBlocks(kind: BulkKind, preview: RetryAllPreview | PurgePreview, pending: PendingBulk, options: RenderOptions): SlackMessage {
  const total = preview.total;
  const what = kind === 'retry-all' ? `Retry ${preview.exact ? '' : 'at least '}${total} failed job${total === 1 ? '' : 's'}?` : `Purge ${preview.exact ? '' : 'at least '}${total} old job${total === 1 ? '' : 's'}?`;
  const text = kind === 'retry-all' ? retryAllPreviewText(preview as RetryAllPreview) : purgePreviewText(preview as PurgePreview);
  const [slug, label] = RUNBOOK[kind];
  return message(
    `<@${pending.requestedBy}> asks: ${what}`,
    [header(what), section(`Requested by <@${pending.requestedBy}>. Confirm before ${formatTime(pending.expiresAt)}, or the preview expires.`), ...preformatted(text)],
    [
      actions(
        button({
          text: kind === 'retry-all' ? `Retry ${total}` : `Delete ${total}`,
          actionId: 'bulk_confirm',
          value: pending.confirmationId,
          style: kind === 'purge' ? 'danger' : 'primary',
          confirm: { title: what, text: kind === 'purge' ? 'Deleted jobs and their events cannot be brought back.' : 'The jobs go back to todo in batches and run again.', confirm: 'Go ahead', deny: 'Not now' },
        }),
        button({ text: 'Cancel', actionId: 'bulk_cancel', value: pending.confirmationId }),
      ),
      runbookContext(options, slug, label),
    ],
  );
}

export function bulkProgressBlocks(kind: BulkKind, progress: RetryAllProgress | PurgeProgress | null, by: string, options: RenderOptions): SlackMessage {
  const line = progress === null ? 'starting…' : kind === 'retry-all' ? retryAllProgressText(progress as RetryAllProgress) : purgeProgressText(progress as PurgeProgress);
  const [slug, label] = RUNBOOK[kind];
  return message(`${kind} running: ${line}`, [section(`:hourglass_flowing_sand: *${kind}* confirmed by <@${by}>, running in batches: ${escapeMrkdwn(line)}`)], [runbookContext(options, slug, label)]);
}

export function bulkResultBlocks(kind: BulkKind, result: RetryAllResult | PurgeResult, by: string, options: RenderOptions): SlackMessage {
  const text = kind === 'retry-all' ? retryAllResultText(result as RetryAllResult) : purgeResultText(result as PurgeResult);
  const [slug, label] = RUNBOOK[kind];
  return message(`${kind} confirmed by <@${by}>: ${text}`, [section(`${result.stopped ? ':octagonal_sign:' : ':white_check_mark:'} *${kind}* confirmed by <@${by}>\n${escapeMrkdwn(text)}`)], [runbookContext(options, slug, label)]);
}

export function bulkClosedBlocks(kind: BulkKind, why: string, options: RenderOptions): SlackMessage {
  const [slug, label] = RUNBOOK[kind];
  return message(`${kind}: ${why}`, [section(`:no_entry_sign: *${kind}*: ${escapeMrkdwn(why)}`)], [runbookContext(options, slug, label)]);
}

/** Any refusal or failure: what happened, what to do, and the runbook section. */
export function errorBlocks(error: JobqError, options: RenderOptions): SlackMessage {
  const icon = error.code === 'forbidden' ? ':lock:' : error.code === 'usage' ? ':grey_question:' : ':warning:';
  const slug = error.runbookSection ?? 'troubleshooting';
  // Messages may carry user/channel mentions built by jobq (who confirmed, where jobq answers).
  const body = escapeMrkdwnKeepMentions(error.message);
  return message(
    body,
    [section(`${icon} ${body.replace(/\nUsage: (.*)$/s, (_m, usage: string) => `\n*Usage:* \`/jobq ${escapeMrkdwn(usage.replace(/^jobq /, ''))}\``)}`), ...(error.hint ? [context(escapeMrkdwn(error.hint))] : [])],
    [runbookContext(options, slug, 'Runbook')],
  );
}

export function helpBlocks(topic: CommandName | null, options: RenderOptions): SlackMessage {
  if (topic) {
    const d = DEFINITIONS[topic];
    return message(`/jobq ${d.usage}: ${d.summary}`, [section(`\`/jobq ${escapeMrkdwn(d.usage)}\`\n${escapeMrkdwn(d.summary)}`)], [runbookContext(options, d.runbook, 'Runbook')]);
  }
  const lines = COMMAND_NAMES.map((n) => `\`/jobq ${escapeMrkdwn(DEFINITIONS[n].usage)}\`\n${escapeMrkdwn(DEFINITIONS[n].summary)}${DEFINITIONS[n].access === 'write' ? ' _(changes the queue)_' : ''}`);
  const body: KnownBlock[] = [header('jobq commands')];
  for (let i = 0; i < lines.length; i += 5) body.push(section(lines.slice(i, i + 5).join('\n')));
  return message('jobq commands: ' + COMMAND_NAMES.join(', '), body, [runbookContext(options, 'using-jobq', 'Using jobq')]);
}

export function auditBlocks(page: AuditPage, options: RenderOptions): SlackMessage {
  return message(`${page.entries.length} recent changes`, [header('Recent changes'), ...preformatted(auditText(page))], [runbookContext(options, 'audit-trail', 'Audit trail')]);
}

export function progressPlaceholder(command: string): SlackMessage {
  return { text: `Working on ${command}…`, blocks: [context(`:hourglass_flowing_sand: Working on \`${escapeMrkdwn(command)}\`…`)] };
}
