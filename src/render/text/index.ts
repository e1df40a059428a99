import type { ReadOutcome } from '../../commands/execute.js';
import type { ReadSource } from '../../db/read-routing.js';
import { sourceLine } from '../format.js';
import { doctorText, failedText, jobText, stalledText, statsText, workersText } from './reads.js';

/** A read outcome as terminal text. */
export function readText(outcome: ReadOutcome): string {
  switch (outcome.kind) {
    case 'stats':
      return withSource(statsText(outcome.result), outcome.source);
    case 'failed':
      return withSource(failedText(outcome.result), outcome.source);
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
  if (outcome.kind === 'stats' || outcome.kind === 'failed') return { ...outcome.result, source: outcome.source };
  return outcome.result;
}

function withSource(text: string, source: ReadSource): string {
  const line = sourceLine(source);
  return line ? `${text}\n${line}` : text;
}
