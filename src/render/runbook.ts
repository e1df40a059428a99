/**
 * Links into docs/runbooks/job-queue.md. Sections are GitHub heading slugs; a test checks that
 * every section jobq can emit is a heading of the runbook.
 */
export const RUNBOOK_SECTIONS = {
  usingJobq: 'using-jobq',
  healthChecks: 'health-checks',
  readingStats: 'reading-the-stats',
  triagingFailed: 'triaging-failed-jobs',
  retrying: 'retrying-jobs-safely',
  cancelling: 'cancelling-and-aborting-jobs',
  runNow: 'running-a-scheduled-job-now',
  stalled: 'stalled-jobs-and-dead-workers',
  backlog: 'backlog-growth',
  purging: 'purging-and-retention',
  connectivity: 'database-connectivity',
  permissions: 'permissions',
  audit: 'audit-trail',
  emergencyStop: 'emergency-stop',
  troubleshooting: 'troubleshooting',
  alertFailures: 'alert-job-failures',
  alertStalled: 'alert-stalled-jobs',
  alertBacklog: 'alert-backlog',
  alertNoWorkers: 'alert-no-live-workers',
  alertDbUnreachable: 'alert-database-unreachable',
  silencing: 'silencing-alerts',
  summaries: 'scheduled-health-summaries',
} as const;

export function runbookUrl(base: string, section: string): string {
  return `${base.replace(/#.*$/, '')}#${section}`;
}
