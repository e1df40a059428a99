import type { AnsweredAt, Outcome, ReadOutcome } from '../../commands/execute.js';
import type { ReadSource } from '../../db/read-routing.js';
import { sourceLine } from '../format.js';
import { context, type SlackMessage } from './kit.js';
import { doctorBlocks, failedBlocks, jobBlocks, stalledBlocks, statsBlocks, workersBlocks, type RenderOptions } from './reads.js';
import { muteCreatedBlocks, mutesListBlocks, unmuteBlocks } from './alerts.js';
import { auditBlocks, bulkPreviewBlocks, helpBlocks, jobChangeBlocks, pauseChangeBlocks, pausedListBlocks, type PendingBulk } from './writes.js';

/**
 * Any outcome as a Slack message: one exhaustive switch. `by` is who asked (changes name them);
 * a bulk preview needs its pending confirmation, which only the Slack front can make.
 */
export function outcomeBlocks(outcome: Outcome, by: { userId: string; pending?: PendingBulk }, options: RenderOptions): SlackMessage {
  switch (outcome.kind) {
    case 'stats':
    case 'failed':
    case 'job':
    case 'stalled':
    case 'workers':
    case 'doctor':
      return readBlocks(outcome, options);
    case 'help':
      return helpBlocks(outcome.topic, options);
    case 'audit':
      return auditBlocks(outcome.result, options);
    case 'mutes':
      return mutesListBlocks(outcome.result, options);
    case 'mute':
      return muteCreatedBlocks(outcome.result, by.userId, options, outcome.note ?? null);
    case 'unmute':
      return unmuteBlocks(outcome.result, by.userId, options);
    case 'retry':
    case 'cancel':
    case 'run-now':
      return jobChangeBlocks(outcome, by.userId, options);
    case 'pause':
    case 'resume':
      return pauseChangeBlocks(outcome, by.userId, options);
    case 'paused':
      return pausedListBlocks(outcome.result, options);
    case 'bulk-preview':
      if (!by.pending) throw new Error('A bulk preview renders with its pending confirmation.');
      return bulkPreviewBlocks(outcome, by.pending, options);
  }
}

/** A read outcome as a Slack message. */
export function readBlocks(outcome: ReadOutcome, options: RenderOptions): SlackMessage {
  switch (outcome.kind) {
    case 'stats':
      return withSource(statsBlocks(outcome.result, options), outcome.source, outcome.answeredAt);
    case 'failed':
      return withSource(failedBlocks(outcome.result, outcome.query, options, { total: outcome.total, note: outcome.note }), outcome.source, outcome.answeredAt);
    case 'job':
      return jobBlocks(outcome.result, options);
    case 'stalled':
      return stalledBlocks(outcome.result, options);
    case 'workers':
      return workersBlocks(outcome.result, options);
    case 'doctor':
      return doctorBlocks(outcome.result, options);
  }
}

/** Says where a heavy read came from when it was not simply the primary: a reader sees how fresh it is. */
function withSource(message: SlackMessage, source: ReadSource, answeredAt: AnsweredAt | undefined): SlackMessage {
  const line = sourceLine(source, answeredAt);
  if (!line) return message;
  // Just before the trailing links, and only if the message has room (it is built to leave some).
  const blocks = [...message.blocks];
  blocks.splice(Math.max(0, blocks.length - 1), 0, context(`:card_index_dividers: ${line}`));
  return blocks.length <= 50 ? { text: `${message.text}\n${line}`, blocks } : message;
}
