import { assertActor, type Actor } from './actor.js';
import { type AUDIT_ACTION, auditFailures, type AuditInput } from './audit.js';
import type { QueueContext } from './context.js';
import { jobNotFound, readJobState, validJobId, type JobState } from './job-state.js';

/** The single-job changes: each one job by id, read first, then changed under a guard. */
export type JobChangeAction = typeof AUDIT_ACTION.retry | typeof AUDIT_ACTION.cancel | typeof AUDIT_ACTION.runNow;

/**
 * What retry, cancel and run-now do before deciding anything: from here on a refusal or a failure
 * is audited; the actor and the id are checked; the job is read as it is now, or is not found.
 * `change` gets that state and the audit input, for the entry it records with the change itself.
 */
export async function changeJob<T>(ctx: QueueContext, action: JobChangeAction, jobId: number, actor: Actor, change: (job: JobState, audit: AuditInput) => Promise<T>): Promise<T> {
  const audit: AuditInput = { actor, action, filters: { jobId } };
  return auditFailures(ctx, audit, async () => {
    assertActor(actor);
    validJobId(jobId);
    const job = await readJobState(ctx, jobId);
    if (!job) throw jobNotFound(jobId);
    return change(job, audit);
  });
}
