import type { Config } from '../config.js';
import type { RenderOptions } from './blocks/reads.js';

/** What every Slack renderer needs from the configuration, read once. */
export function renderOptionsFrom(config: Config): RenderOptions {
  return {
    runbookBase: config.JOBQ_RUNBOOK_URL,
    logsUrlTemplate: config.JOBQ_LOGS_URL_TEMPLATE,
    thresholds: { backlogMaxAgeSeconds: config.JOBQ_BACKLOG_MAX_AGE_SECONDS, backlogMaxJobs: config.JOBQ_BACKLOG_MAX_JOBS, perQueue: config.JOBQ_QUEUE_THRESHOLDS },
  };
}
