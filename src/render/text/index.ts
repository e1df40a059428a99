import type { AnsweredAt, Outcome, ReadOutcome } from '../../commands/execute.js';
import type { ReadSource } from '../../db/read-routing.js';
import { formatTime, sourceLine } from '../format.js';
import { helpText } from './help.js';
import { doctorText, failedText, jobText, stalledText, statsText, workersText } from './reads.js';
import { bulkPreviewText, pausedText, pauseText, resumeText } from './bulk.js';
import { auditText, cancelText, mutesText, retryText, runNowText } from './writes.js';

export { bulkResultText } from './bulk.js';

/** Any outcome as terminal text: one exhaustive switch, so a new outcome cannot be forgotten here. */
export function outcomeText(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'stats':
    case 'failed':
    case 'job':
    case 'stalled':
    case 'workers':
    case 'doctor':
      return readText(outcome);
    case 'help':
      return helpText(outcome.topic, 'jobq');
    case 'audit':
      return auditText(outcome.result);
    case 'mutes':
      return mutesText(outcome.result);
    case 'mute':
      return `Muted ${outcome.result.target} until ${formatTime(outcome.result.expiresAt)}: matching alerts are counted, not posted.`;
    case 'unmute':
      return outcome.result.map((m) => `Unmuted ${m.target}: ${m.suppressedAlerts} alert(s) suppressed (${m.suppressedFailures} failure(s)).`).join('\n');
    case 'retry':
      return retryText(outcome.result);
    case 'cancel':
      return cancelText(outcome.result);
    case 'run-now':
      return runNowText(outcome.result);
    case 'pause':
      return pauseText(outcome.result);
    case 'resume':
      return resumeText(outcome.result);
    case 'paused':
      return pausedText(outcome.result);
    case 'bulk-preview':
      return bulkPreviewText(outcome);
  }
}

/** Any outcome as the stable JSON documented in the README (bulk changes: see the CLI, which adds the result). */
export function outcomeJson(outcome: Outcome): unknown {
  switch (outcome.kind) {
    case 'stats':
    case 'failed':
    case 'job':
    case 'stalled':
    case 'workers':
    case 'doctor':
      return readJson(outcome);
    case 'help':
      return { help: helpText(outcome.topic, 'jobq') };
    case 'audit':
      return outcome.result;
    case 'mutes':
      return { mutes: outcome.result };
    case 'mute':
      return outcome.result;
    case 'unmute':
      return { ended: outcome.result };
    case 'pause':
    case 'resume':
      return outcome.result;
    case 'paused':
      return { paused: outcome.result };
    case 'retry':
    case 'cancel':
    case 'run-now':
      return outcome.result;
    case 'bulk-preview':
      return { preview: outcome.preview, result: null };
  }
}

/** A read outcome as terminal text. */
export function readText(outcome: ReadOutcome): string {
  switch (outcome.kind) {
    case 'stats':
      return withSource(statsText(outcome.result), outcome.source, outcome.answeredAt);
    case 'failed':
      return withSource(failedText(outcome.result), outcome.source, outcome.answeredAt);
    case 'job':
      return jobText(outcome.result);
    case 'stalled':
      return stalledText(outcome.result);
    case 'workers':
      return workersText(outcome.result);
    case 'doctor':
      return doctorText(outcome.result);
  }
}

/** A read outcome as the stable JSON documented in the README. */
export function readJson(outcome: ReadOutcome): unknown {
  if (outcome.kind === 'doctor') return { features: outcome.result.procrastinate.features, ...outcome.result };
  if (outcome.kind === 'stats' || outcome.kind === 'failed')
    return { ...outcome.result, source: outcome.source, ...(outcome.answeredAt ? { answeredAt: outcome.answeredAt.at } : {}) };
  return outcome.result;
}

function withSource(text: string, source: ReadSource, answeredAt: AnsweredAt | undefined): string {
  const line = sourceLine(source, answeredAt);
  return line ? `${text}\n${line}` : text;
}
