import type { AnsweredAt, Outcome, ReadOutcome } from '../../commands/execute.js';
import type { ReadSource } from '../../db/read-routing.js';
import { sourceLine } from '../format.js';
import { localTime } from '../time.js';
import { PLAIN, type TextStyle } from './style.js';
import { helpText } from './help.js';
import { doctorText, failedText, jobText, stalledText, statsText, workersText } from './reads.js';
import { bulkPreviewText, pausedText, pauseText, resumeText } from './bulk.js';
import { auditText, cancelText, mutesText, retryText, runNowText } from './writes.js';

export { bulkResultText } from './bulk.js';

/** Any outcome as terminal text: one exhaustive switch, so a new outcome cannot be forgotten here. */
export function outcomeText(outcome: Outcome, style: TextStyle = PLAIN, options: TextOptions = {}): string {
  switch (outcome.kind) {
    case 'stats':
    case 'failed':
    case 'job':
    case 'stalled':
    case 'workers':
    case 'doctor':
      return readText(outcome, style, options);
    case 'help':
      return helpText(outcome.topic, 'jobq');
    case 'audit':
      return auditText(outcome.result, style);
    case 'mutes':
      return mutesText(outcome.result, style);
    case 'mute':
      return `Muted ${outcome.result.target} until ${localTime(outcome.result.expiresAt)}: matching alerts are counted, not posted.${outcome.note ? `\n${outcome.note.replace(/`/g, '')}` : ''}`;
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
      return pausedText(outcome.result, style);
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

/** What text renderings take from the configuration. */
export interface TextOptions {
  logsUrlTemplate?: string | undefined;
}

/** A read outcome as terminal text. */
export function readText(outcome: ReadOutcome, style: TextStyle = PLAIN, options: TextOptions = {}): string {
  switch (outcome.kind) {
    case 'stats':
      return withSource(statsText(outcome.result, style), outcome.source, outcome.answeredAt);
    case 'failed':
      return withSource(
        failedText(outcome.result, style, { total: outcome.total, logsUrlTemplate: options.logsUrlTemplate }) +
          (outcome.note && outcome.result.jobs.length === 0 ? `\n${outcome.note.replace(/`/g, '')}` : ''),
        outcome.source,
        outcome.answeredAt,
      );
    case 'job':
      return jobText(outcome.result, style, options.logsUrlTemplate);
    case 'stalled':
      return stalledText(outcome.result, style);
    case 'workers':
      return workersText(outcome.result, style);
    case 'doctor':
      return doctorText(outcome.result, style);
  }
}

/** A read outcome as the stable JSON documented in the README (fields are only ever added). */
export function readJson(outcome: ReadOutcome): unknown {
  if (outcome.kind === 'doctor') return { features: outcome.result.procrastinate.features, ...outcome.result };
  const answeredAt = 'answeredAt' in outcome && outcome.answeredAt ? { answeredAt: outcome.answeredAt.at } : {};
  if (outcome.kind === 'stats') return { ...outcome.result, source: outcome.source, ...answeredAt };
  if (outcome.kind === 'failed') return { ...outcome.result, source: outcome.source, total: outcome.total ?? null, ...answeredAt };
  return outcome.result;
}

function withSource(text: string, source: ReadSource, answeredAt: AnsweredAt | undefined): string {
  const line = sourceLine(source, answeredAt);
  return line ? `${text}\n${line}` : text;
}
