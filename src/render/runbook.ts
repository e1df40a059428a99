import type { RunbookSection } from '../runbook-sections.js';

/**
 * Links into docs/runbooks/job-queue.md (sections: src/runbook-sections.ts).
 */
export function runbookUrl(base: string, section: RunbookSection): string {
  return `${base.replace(/#.*$/, '')}#${section}`;
}

/**
 * Each section's heading, so a link says where it goes ("Retrying jobs safely") instead of
 * "Runbook". test/render/runbook-titles.test.ts checks these against the runbook's headings.
 */
export const RUNBOOK_TITLES: Record<RunbookSection, string> = {
  'using-jobq': 'Using jobq',
  'health-checks': 'Health checks',
  'reading-the-stats': 'Reading the stats',
  'triaging-failed-jobs': 'Triaging failed jobs',
  'retrying-jobs-safely': 'Retrying jobs safely',
  'cancelling-and-aborting-jobs': 'Cancelling and aborting jobs',
  'running-a-scheduled-job-now': 'Running a scheduled job now',
  'stalled-jobs-and-dead-workers': 'Stalled jobs and dead workers',
  'backlog-growth': 'Backlog growth',
  'purging-and-retention': 'Purging and retention',
  'database-connectivity': 'Database connectivity',
  'poolers-replicas-and-schemas': 'Poolers, replicas and schemas',
  'several-databases': 'Several databases',
  'database-tls': 'Database TLS',
  'slack-preflight-warnings': 'Slack preflight warnings',
  permissions: 'Permissions',
  'audit-trail': 'Audit trail',
  'emergency-stop': 'Emergency stop',
  'scaling-workers': 'Scaling workers',
  'monitoring-queries-for-grafana': 'Monitoring queries for Grafana',
  'alert-job-failures': 'Alert: job failures',
  'alert-stalled-jobs': 'Alert: stalled jobs',
  'alert-backlog': 'Alert: backlog',
  'alert-no-live-workers': 'Alert: no live workers',
  'alert-database-unreachable': 'Alert: database unreachable',
  'silencing-alerts': 'Silencing alerts',
  'scheduled-health-summaries': 'Scheduled health summaries',
  troubleshooting: 'Troubleshooting',
};
