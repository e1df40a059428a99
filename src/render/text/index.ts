import type { ReadOutcome } from '../../commands/execute.js';
import { doctorText, failedText, jobText, stalledText, statsText, workersText } from './reads.js';

/** A read outcome as terminal text. */
export function readText(outcome: ReadOutcome): string {
  switch (outcome.kind) {
    case 'stats':
      return statsText(outcome.result);
    case 'failed':
      return failedText(outcome.result);
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
  return outcome.result;
}
