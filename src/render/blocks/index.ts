import type { ReadOutcome } from '../../commands/execute.js';
import type { SlackMessage } from './kit.js';
import { doctorBlocks, failedBlocks, jobBlocks, stalledBlocks, statsBlocks, workersBlocks, type RenderOptions } from './reads.js';

/** A read outcome as a Slack message. */
export function readBlocks(outcome: ReadOutcome, options: RenderOptions): SlackMessage {
  switch (outcome.kind) {
    case 'stats':
      return statsBlocks(outcome.result, options);
    case 'failed':
      return failedBlocks(outcome.result, outcome.query, options);
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
