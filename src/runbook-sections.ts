/**
 * The sections of docs/runbooks/job-queue.md, by GitHub heading slug: every link jobq emits names
 * one of these, so a misspelled section fails to compile, and a test checks this list against the
 * runbook's headings both ways.
 */
export const RUNBOOK_SECTIONS = [
  'using-jobq',
  'health-checks',
  'reading-the-stats',
  'triaging-failed-jobs',
  'retrying-jobs-safely',
  'cancelling-and-aborting-jobs',
  'running-a-scheduled-job-now',
  'stalled-jobs-and-dead-workers',
  'backlog-growth',
  'purging-and-retention',
  'database-connectivity',
  'poolers-replicas-and-schemas',
  'several-databases',
  'database-tls',
  'slack-preflight-warnings',
  'permissions',
  'audit-trail',
  'emergency-stop',
  'scaling-workers',
  'monitoring-queries-for-grafana',
  'alert-job-failures',
  'alert-stalled-jobs',
  'alert-backlog',
  'alert-no-live-workers',
  'alert-database-unreachable',
  'silencing-alerts',
  'scheduled-health-summaries',
  'troubleshooting',
] as const;

export type RunbookSection = (typeof RUNBOOK_SECTIONS)[number];
