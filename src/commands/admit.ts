import { asJobqError, JobqError } from '../errors.js';
import type { Actor } from '../queue/actor.js';
import { AUDIT_ACTION, AUDIT_OUTCOME, recordAudit, type AuditAction } from '../queue/audit.js';
import type { QueueContext } from '../queue/context.js';
import type { Caller } from './caller.js';
import type { ParsedCommand } from './parse.js';

const ACTION_OF: Partial<Record<ParsedCommand['name'], AuditAction>> = {
  retry: AUDIT_ACTION.retry,
  'retry-all': AUDIT_ACTION.retryAll,
  cancel: AUDIT_ACTION.cancel,
  'run-now': AUDIT_ACTION.runNow,
  purge: AUDIT_ACTION.purge,
  mute: AUDIT_ACTION.mute,
  unmute: AUDIT_ACTION.unmute,
  pause: AUDIT_ACTION.pause,
  resume: AUDIT_ACTION.resume,
};

/**
 * The checks every change passes before the queue core is asked: the emergency stop
 * (JOB_QUEUE_ENABLED=false refuses every change while reads keep working for the people
 * diagnosing the incident) and the caller's right to change the queue. A refusal is audited.
 */
export async function admitChange(ctx: QueueContext, command: ParsedCommand, caller: Caller, about?: Record<string, unknown>): Promise<void> {
  if (!caller.writesEnabled) {
    const error = new JobqError('disabled', 'Changes are switched off (JOB_QUEUE_ENABLED=false): jobq only reads until an operator turns them back on.', {
      runbookSection: 'emergency-stop',
    });
    await refuse(ctx, command, caller.actor, error, about);
    throw error;
  }
  try {
    await caller.assertMayWrite();
  } catch (error) {
    const e = asJobqError(error);
    await refuse(ctx, command, caller.actor, e, about);
    ctx.log?.warn({ user: caller.actor.id, command: command.name, code: e.code }, 'change refused');
    throw e;
  }
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
