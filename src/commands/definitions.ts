import type { RunbookSection } from '../runbook-sections.js';
import type { ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** One entry of the grammar both fronts share: names, usage, options, access level. */
export interface CommandDefinition {
  name: CommandName;
  summary: string;
  usage: string;
  access: 'read' | 'write';
  /** Takes a job id as its one positional argument. */
  takesId: boolean;
  options: Options;
  /** What each option does, one line each: `--help` lists them (a test checks none is missing). */
  flags: Record<string, string>;
  /** Lines to try, as typed after `jobq ` (or `/jobq `). */
  examples: string[];
  /** Runbook section (GitHub slug) for this command's replies. */
  runbook: RunbookSection;
}

export const COMMAND_NAMES = [
  'help',
  'stats',
  'failed',
  'job',
  'stalled',
  'workers',
  'doctor',
  'retry',
  'retry-all',
  'cancel',
  'run-now',
  'purge',
  'pause',
  'resume',
  'paused',
  'audit',
  'mute',
  'unmute',
  'mutes',
  'envs',
] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export function isCommandName(text: string): text is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(text);
}

const str = { type: 'string' } as const;
const flag = { type: 'boolean' } as const;

export const DEFINITIONS: Record<CommandName, CommandDefinition> = {
  help: {
    name: 'help',
    summary: "List commands, or show one command's usage",
    usage: 'help [COMMAND]',
    access: 'read',
    takesId: false,
    options: {},
    flags: {},
    examples: ['help', 'help retry-all'],
    runbook: 'using-jobq',
  },
  stats: {
    name: 'stats',
    summary: 'Jobs per queue by status, oldest waiting job, recent outcomes, live workers',
    usage: 'stats [--by queue|task]',
    access: 'read',
    takesId: false,
    options: { by: str },
    flags: { by: 'Group by `queue` (the default) or by `task`.' },
    examples: ['stats', 'stats --by task'],
    runbook: 'reading-the-stats',
  },
  failed: {
    name: 'failed',
    summary: 'Newest failed jobs first',
    usage: 'failed [--queue Q] [--task T] [--since 2h|ISO] [--before 2h|ISO] [--limit N] [--cursor ID]',
    access: 'read',
    takesId: false,
    options: { queue: str, task: str, since: str, before: str, limit: str, cursor: str },
    flags: {
      queue: 'Only jobs of this queue.',
      task: 'Only jobs of this task.',
      since: 'Failed at or after this time: an age (2h, 30m, 7d) or an ISO date.',
      before: 'Failed before this time: an age or an ISO date.',
      limit: 'How many jobs per page, 1-100 (default 20).',
      cursor: 'Continue after this job id (the nextCursor of the previous page).',
    },
    examples: ['failed --queue emails --since 2h', 'failed --task app.send_email --limit 50'],
    runbook: 'triaging-failed-jobs',
  },
  job: {
    name: 'job',
    summary: 'Everything about one job: columns, events, worker, locks, actions',
    usage: 'job ID',
    access: 'read',
    takesId: true,
    options: {},
    flags: {},
    examples: ['job 123'],
    runbook: 'triaging-failed-jobs',
  },
  stalled: {
    name: 'stalled',
    summary: 'Running jobs whose worker is gone or silent, or that run too long',
    usage: 'stalled [--heartbeat 30s] [--running 1h] [--limit N]',
    access: 'read',
    takesId: false,
    options: { heartbeat: str, running: str, limit: str },
    flags: {
      heartbeat: 'A worker silent this long counts as gone (default: JOBQ_STALLED_HEARTBEAT_SECONDS).',
      running: 'A job running this long counts as stalled (default: JOBQ_STALLED_RUNNING_SECONDS).',
      limit: 'How many jobs to list, 1-200.',
    },
    examples: ['stalled', 'stalled --running 30m'],
    runbook: 'stalled-jobs-and-dead-workers',
  },
  workers: {
    name: 'workers',
    summary: 'Workers, their last heartbeat and the jobs they hold (Procrastinate 3.1+)',
    usage: 'workers',
    access: 'read',
    takesId: false,
    options: {},
    flags: {},
    examples: ['workers'],
    runbook: 'stalled-jobs-and-dead-workers',
  },
  doctor: {
    name: 'doctor',
    summary: 'Server, schema features, privileges, indexes, latency; --apply creates the recommended indexes (CLI, after a confirmation)',
    usage: 'doctor [--apply [--yes]]',
    access: 'read',
    takesId: false,
    options: { apply: flag, yes: flag },
    flags: {
      apply: 'Create the missing recommended indexes (CREATE INDEX CONCURRENTLY; workers keep running), after a confirmation. Terminal only.',
      yes: 'With --apply: skip the confirmation (for scripts).',
    },
    examples: ['doctor', 'doctor --json', 'doctor --apply'],
    runbook: 'health-checks',
  },
  retry: {
    name: 'retry',
    summary: 'Put a failed (or stalled) job back to todo',
    usage: 'retry ID',
    access: 'write',
    takesId: true,
    options: {},
    flags: {},
    examples: ['retry 123'],
    runbook: 'retrying-jobs-safely',
  },
  'retry-all': {
    name: 'retry-all',
    summary: 'Retry every failed job matching filters, in batches, after a preview',
    usage: 'retry-all [--queue Q] [--task T] [--since 2h|ISO] [--before 2h|ISO] [--yes] [--dry-run]',
    access: 'write',
    takesId: false,
    options: { queue: str, task: str, since: str, before: str, yes: flag, 'dry-run': flag },
    flags: {
      queue: 'Only failed jobs of this queue.',
      task: 'Only failed jobs of this task.',
      since: 'Only jobs that failed at or after this time: an age (2h) or an ISO date.',
      before: 'Only jobs that failed before this time.',
      yes: 'Go ahead without asking (scripts).',
      'dry-run': 'Only show the preview; change nothing.',
    },
    examples: ['retry-all --queue emails --since 2h', 'retry-all --task app.send_email --dry-run'],
    runbook: 'retrying-jobs-safely',
  },
  cancel: {
    name: 'cancel',
    summary: 'Cancel a todo job, or ask a running job to abort',
    usage: 'cancel ID',
    access: 'write',
    takesId: true,
    options: {},
    flags: {},
    examples: ['cancel 123'],
    runbook: 'cancelling-and-aborting-jobs',
  },
  'run-now': {
    name: 'run-now',
    summary: 'Make a scheduled todo job due now',
    usage: 'run-now ID',
    access: 'write',
    takesId: true,
    options: {},
    flags: {},
    examples: ['run-now 123'],
    runbook: 'running-a-scheduled-job-now',
  },
  purge: {
    name: 'purge',
    summary: 'Delete finished jobs older than an age (30d, 36h), in batches, after a preview',
    usage: 'purge --older-than AGE [--queue Q] [--include-failed] [--yes] [--dry-run]',
    access: 'write',
    takesId: false,
    options: { 'older-than': str, queue: str, 'include-failed': flag, yes: flag, 'dry-run': flag },
    flags: {
      'older-than': 'How long ago a job finished (its last event): 30d, 36h, 90m; a bare number is days.',
      queue: 'Only jobs of this queue.',
      'include-failed': 'Delete failed jobs too (kept by default: they are what people triage).',
      yes: 'Go ahead without asking (scripts).',
      'dry-run': 'Only show the preview; delete nothing.',
    },
    examples: ['purge --older-than 30d', 'purge --older-than 36h --queue emails --dry-run'],
    runbook: 'purging-and-retention',
  },
  pause: {
    name: 'pause',
    summary: 'Stop workers taking jobs from a queue (Procrastinate 3.10+); running jobs finish. --all after a preview',
    usage: 'pause QUEUE|--all [REASON...] [--yes] [--dry-run]',
    access: 'write',
    takesId: false,
    options: { all: flag, yes: flag, 'dry-run': flag },
    flags: { all: 'Every known queue, after a preview.', yes: 'Go ahead without asking (scripts; with --all).', 'dry-run': 'Only show what --all would pause.' },
    examples: ['pause emails deploying the mailer fix', 'pause --all database failover'],
    runbook: 'emergency-stop',
  },
  resume: {
    name: 'resume',
    summary: "Let workers take a paused queue's jobs again (jobq's own pause; --key KEY lifts another's, after a preview)",
    usage: 'resume QUEUE|--all [--key KEY] [--yes] [--dry-run]',
    access: 'write',
    takesId: false,
    options: { all: flag, key: str, yes: flag, 'dry-run': flag },
    flags: {
      all: 'Every queue jobq paused.',
      key: "Lift a pause set under another key (not jobq's), after a preview.",
      yes: 'Go ahead without asking (scripts; with --key).',
      'dry-run': 'Only show what --key would lift.',
    },
    examples: ['resume emails', 'resume emails --key deploy-bot'],
    runbook: 'emergency-stop',
  },
  paused: {
    name: 'paused',
    summary: 'Paused queues: under which key, since when, by whom and why',
    usage: 'paused',
    access: 'read',
    takesId: false,
    options: {},
    flags: {},
    examples: ['paused'],
    runbook: 'emergency-stop',
  },
  envs: {
    name: 'envs',
    summary: 'The environments (databases) jobq serves: schema, health, bound channels, alert channel',
    usage: 'envs',
    access: 'read',
    takesId: false,
    options: {},
    flags: {},
    examples: ['envs', 'stats --env staging'],
    runbook: 'several-databases',
  },
  audit: {
    name: 'audit',
    summary: 'Recent changes made through jobq: who, what, how many, outcome',
    usage: 'audit [--limit N] [--cursor ID]',
    access: 'read',
    takesId: false,
    options: { limit: str, cursor: str },
    flags: { limit: 'How many entries, 1-100 (default 20).', cursor: 'Continue after this entry id (the nextCursor of the previous page).' },
    examples: ['audit', 'audit --limit 50'],
    runbook: 'audit-trail',
  },
  mute: {
    name: 'mute',
    summary: 'Silence alerts about a queue, a task or an alert (failures, stalled, backlog, no-workers, db-unreachable) for a while; they are counted',
    usage: 'mute QUEUE|TASK|ALERT DURATION [REASON...]',
    access: 'write',
    takesId: false,
    options: {},
    flags: {},
    examples: ['mute emails 2h deploying the mailer fix', 'mute alert:backlog 30m', 'mute task:app.new_task 1d not deployed yet'],
    runbook: 'silencing-alerts',
  },
  unmute: {
    name: 'unmute',
    summary: 'End a silence now and show how many alerts it suppressed',
    usage: 'unmute QUEUE|TASK|ALERT',
    access: 'write',
    takesId: false,
    options: {},
    flags: {},
    examples: ['unmute emails'],
    runbook: 'silencing-alerts',
  },
  mutes: {
    name: 'mutes',
    summary: 'Active silences: what, until when, who, why, alerts suppressed so far',
    usage: 'mutes',
    access: 'read',
    takesId: false,
    options: {},
    flags: {},
    examples: ['mutes'],
    runbook: 'silencing-alerts',
  },
};
