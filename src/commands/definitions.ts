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
] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export function isCommandName(text: string): text is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(text);
}

const str = { type: 'string' } as const;
const flag = { type: 'boolean' } as const;

export const DEFINITIONS: Record<CommandName, CommandDefinition> = {
  help: { name: 'help', summary: "List commands, or show one command's usage", usage: 'help [COMMAND]', access: 'read', takesId: false, options: {}, runbook: 'using-jobq' },
  stats: {
    name: 'stats',
    summary: 'Jobs per queue by status, oldest waiting job, recent outcomes, live workers',
    usage: 'stats [--by queue|task]',
    access: 'read',
    takesId: false,
    options: { by: str },
    runbook: 'reading-the-stats',
  },
  failed: {
    name: 'failed',
    summary: 'Newest failed jobs first',
    usage: 'failed [--queue Q] [--task T] [--since 2h|ISO] [--before 2h|ISO] [--limit N] [--cursor ID]',
    access: 'read',
    takesId: false,
    options: { queue: str, task: str, since: str, before: str, limit: str, cursor: str },
    runbook: 'triaging-failed-jobs',
  },
  job: {
    name: 'job',
    summary: 'Everything about one job: columns, events, worker, locks, actions',
    usage: 'job ID',
    access: 'read',
    takesId: true,
    options: {},
    runbook: 'triaging-failed-jobs',
  },
  stalled: {
    name: 'stalled',
    summary: 'Running jobs whose worker is gone or silent, or that run too long',
    usage: 'stalled [--heartbeat 30s] [--running 1h] [--limit N]',
    access: 'read',
    takesId: false,
    options: { heartbeat: str, running: str, limit: str },
    runbook: 'stalled-jobs-and-dead-workers',
  },
  workers: {
    name: 'workers',
    summary: 'Workers, their last heartbeat and the jobs they hold (Procrastinate 3.1+)',
    usage: 'workers',
    access: 'read',
    takesId: false,
    options: {},
    runbook: 'stalled-jobs-and-dead-workers',
  },
  doctor: {
    name: 'doctor',
    summary: 'Server, schema features, privileges, indexes, latency; --apply creates the recommended indexes (CLI, after a confirmation)',
    usage: 'doctor [--apply [--yes]]',
    access: 'read',
    takesId: false,
    options: { apply: flag, yes: flag },
    runbook: 'health-checks',
  },
  retry: { name: 'retry', summary: 'Put a failed (or stalled) job back to todo', usage: 'retry ID', access: 'write', takesId: true, options: {}, runbook: 'retrying-jobs-safely' },
  'retry-all': {
    name: 'retry-all',
    summary: 'Retry every failed job matching filters, in batches, after a preview',
    usage: 'retry-all [--queue Q] [--task T] [--since 2h|ISO] [--before 2h|ISO] [--yes] [--dry-run]',
    access: 'write',
    takesId: false,
    options: { queue: str, task: str, since: str, before: str, yes: flag, 'dry-run': flag },
    runbook: 'retrying-jobs-safely',
  },
  cancel: {
    name: 'cancel',
    summary: 'Cancel a todo job, or ask a running job to abort',
    usage: 'cancel ID',
    access: 'write',
    takesId: true,
    options: {},
    runbook: 'cancelling-and-aborting-jobs',
  },
  'run-now': {
    name: 'run-now',
    summary: 'Make a scheduled todo job due now',
    usage: 'run-now ID',
    access: 'write',
    takesId: true,
    options: {},
    runbook: 'running-a-scheduled-job-now',
  },
  purge: {
    name: 'purge',
    summary: 'Delete finished jobs older than N days, in batches, after a preview',
    usage: 'purge --older-than DAYS [--queue Q] [--include-failed] [--yes] [--dry-run]',
    access: 'write',
    takesId: false,
    options: { 'older-than': str, queue: str, 'include-failed': flag, yes: flag, 'dry-run': flag },
    runbook: 'purging-and-retention',
  },
  pause: {
    name: 'pause',
    summary: 'Stop workers taking jobs from a queue (Procrastinate 3.10+); running jobs finish. --all after a preview',
    usage: 'pause QUEUE|--all [REASON...] [--yes] [--dry-run]',
    access: 'write',
    takesId: false,
    options: { all: flag, yes: flag, 'dry-run': flag },
    runbook: 'emergency-stop',
  },
  resume: {
    name: 'resume',
    summary: "Let workers take a paused queue's jobs again (jobq's own pause; --key KEY lifts another's, after a preview)",
    usage: 'resume QUEUE|--all [--key KEY] [--yes] [--dry-run]',
    access: 'write',
    takesId: false,
    options: { all: flag, key: str, yes: flag, 'dry-run': flag },
    runbook: 'emergency-stop',
  },
  paused: {
    name: 'paused',
    summary: 'Paused queues: under which key, since when, by whom and why',
    usage: 'paused',
    access: 'read',
    takesId: false,
    options: {},
    runbook: 'emergency-stop',
  },
  audit: {
    name: 'audit',
    summary: 'Recent changes made through jobq: who, what, how many, outcome',
    usage: 'audit [--limit N] [--cursor ID]',
    access: 'read',
    takesId: false,
    options: { limit: str, cursor: str },
    runbook: 'audit-trail',
  },
  mute: {
    name: 'mute',
    summary: 'Silence alerts about a queue, a task or an alert (failures, stalled, backlog, no-workers, db-unreachable) for a while; they are counted',
    usage: 'mute QUEUE|TASK|ALERT DURATION [REASON...]',
    access: 'write',
    takesId: false,
    options: {},
    runbook: 'silencing-alerts',
  },
  unmute: {
    name: 'unmute',
    summary: 'End a silence now and show how many alerts it suppressed',
    usage: 'unmute QUEUE|TASK|ALERT',
    access: 'write',
    takesId: false,
    options: {},
    runbook: 'silencing-alerts',
  },
  mutes: {
    name: 'mutes',
    summary: 'Active silences: what, until when, who, why, alerts suppressed so far',
    usage: 'mutes',
    access: 'read',
    takesId: false,
    options: {},
    runbook: 'silencing-alerts',
  },
};
