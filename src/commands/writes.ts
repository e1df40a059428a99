import { JobqError } from '../errors.js';
import type { Actor } from '../queue/actor.js';
import { AUDIT_ACTION, AUDIT_OUTCOME, recordAudit, type AuditAction } from '../queue/audit.js';
import { cancelJob, type CancelResult } from '../queue/cancel.js';
import type { QueueContext } from '../queue/context.js';
import type { PurgeOptions } from '../queue/purge.js';
import type { RetryAllFilter } from '../queue/retry-all.js';
import { retryJob, type RetryResult } from '../queue/retry.js';
import { runJobNow, type RunNowResult } from '../queue/run-now.js';
import type { ParsedCommand } from './parse.js';

/** A single-job change's typed result. */
export type JobChangeOutcome =
  | { kind: 'retry'; result: RetryResult }
  | { kind: 'cancel'; result: CancelResult }
  | { kind: 'run-now'; result: RunNowResult };

export type JobChangeCommand = Extract<ParsedCommand, { name: 'retry' | 'cancel' | 'run-now' }>;

export function isJobChange(command: ParsedCommand): command is JobChangeCommand {
  return command.name === 'retry' || command.name === 'cancel' || command.name === 'run-now';
}

export async function executeJobChange(ctx: QueueContext, command: JobChangeCommand, actor: Actor): Promise<JobChangeOutcome> {
  switch (command.name) {
    case 'retry':
      return { kind: 'retry', result: await retryJob(ctx, command.id, actor) };
    case 'cancel':
      return { kind: 'cancel', result: await cancelJob(ctx, command.id, actor) };
    case 'run-now':
      return { kind: 'run-now', result: await runJobNow(ctx, command.id, actor) };
  }
}

export function retryAllFilterOf(command: Extract<ParsedCommand, { name: 'retry-all' }>): RetryAllFilter {
  return { queue: command.queue, task: command.task, failedSince: command.since, failedBefore: command.before };
}

export function purgeOptionsOf(command: Extract<ParsedCommand, { name: 'purge' }>): PurgeOptions {
  return { olderThanDays: command.olderThanDays, queue: command.queue, includeFailed: command.includeFailed };
}

const ACTION_OF: Partial<Record<ParsedCommand['name'], AuditAction>> = {
  retry: AUDIT_ACTION.retry,
  'retry-all': AUDIT_ACTION.retryAll,
  cancel: AUDIT_ACTION.cancel,
  'run-now': AUDIT_ACTION.runNow,
  purge: AUDIT_ACTION.purge,
};

/**
 * The emergency stop (JOB_QUEUE_ENABLED=false): every change is refused, and the refusal is
 * audited, while reads keep working for the people diagnosing the incident.
 */
export async function assertWritesEnabled(ctx: QueueContext, enabled: boolean, command: ParsedCommand, actor: Actor): Promise<void> {
  if (enabled) return;
  const error = new JobqError('disabled', 'Changes are switched off (JOB_QUEUE_ENABLED=false): jobq only reads until an operator turns them back on.', { runbookSection: 'emergency-stop' });
  await refuse(ctx, command, actor, error);
  throw error;
}

/** Records a refusal made before the queue core was asked (permissions, emergency stop). */
export async function refuse(ctx: QueueContext, command: ParsedCommand, actor: Actor, error: JobqError, about?: Record<string, unknown>): Promise<void> {
  const action = ACTION_OF[command.name];
  if (!action) return;
  const { name: _name, ...parsed } = command as Record<string, unknown>;
  const filters = about ?? parsed;
  await recordAudit(ctx.db, { actor, action, filters }, AUDIT_OUTCOME.refused, 0, error.message).catch((auditError: unknown) => {
    ctx.log?.error({ err: auditError }, 'could not audit a refusal');
  });
}
