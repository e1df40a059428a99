import type { ReadSource } from '../db/read-routing.js';
import { JobqError } from '../errors.js';
import { listAudit, type AuditPage } from '../queue/audit.js';
import { heavyRead, type QueueContext } from '../queue/context.js';
import { runDoctor, type DoctorReport } from '../queue/doctor.js';
import { listFailed, type FailedPage, type FailedQuery } from '../queue/failed.js';
import { getJob, type JobDetail } from '../queue/job.js';
import { createMute, endMutes, listMutes, type Mute } from '../queue/mutes.js';
import {
  JOBQ_PAUSE_KEY,
  listPaused,
  pauseQueues,
  previewPauseAll,
  previewResumeKey,
  resumeQueues,
  type PauseAllPreview,
  type PausedQueue,
  type PauseResult,
  type ResumeKeyPreview,
  type ResumeResult,
} from '../queue/pause.js';
import { previewPurge, type PurgeOptions, type PurgePreview } from '../queue/purge.js';
import { previewRetryAll, type RetryAllPreview } from '../queue/retry-all.js';
import { listStalled, type StalledResult } from '../queue/stalled.js';
import { failedTotal, type FailedTotal } from '../queue/failed-total.js';
import { getStats, type StatsResult } from '../queue/stats.js';
import { listWorkers, type WorkersResult } from '../queue/workers.js';
import type { CommandName } from './definitions.js';
import { admitChange } from './admit.js';
import { checkNames } from './names.js';
import type { Caller } from './caller.js';

export type { Caller } from './caller.js';
import { executeJobChange, purgeOptionsOf, retryAllFilterOf, type JobChangeOutcome } from './writes.js';
import type { ParsedCommand } from './parse.js';

/** A read command's typed result, tagged so renderers can pick the right view. */
export type ReadOutcome =
  | { kind: 'stats'; result: StatsResult; source: ReadSource; answeredAt?: AnsweredAt | undefined }
  | { kind: 'failed'; result: FailedPage; query: FailedQuery; source: ReadSource; total?: FailedTotal | null; note?: string | null; answeredAt?: AnsweredAt | undefined }
  | { kind: 'job'; result: JobDetail }
  | { kind: 'stalled'; result: StalledResult }
  | { kind: 'workers'; result: WorkersResult }
  | { kind: 'doctor'; result: DoctorReport };

/** Set when the answer was shared with another asker: when its reads started. */
export interface AnsweredAt {
  at: string;
}

/** What a bulk change would touch, and what runs on Confirm: exactly what was previewed. */
export type BulkPreview =
  | { kind: 'bulk-preview'; bulk: 'retry-all'; preview: RetryAllPreview; params: RetryAllPreview }
  | { kind: 'bulk-preview'; bulk: 'purge'; preview: PurgePreview; params: PurgeOptions }
  | { kind: 'bulk-preview'; bulk: 'pause-all'; preview: PauseAllPreview; params: PauseAllPreview }
  | { kind: 'bulk-preview'; bulk: 'resume-key'; preview: ResumeKeyPreview; params: ResumeKeyPreview };

/** Every command's typed result. The fronts render these; they decide nothing about the queue. */
export type Outcome =
  | ReadOutcome
  | { kind: 'help'; topic: CommandName | null }
  | { kind: 'audit'; result: AuditPage }
  | { kind: 'mutes'; result: Mute[] }
  | { kind: 'mute'; result: Mute; note?: string | null }
  | { kind: 'unmute'; result: Mute[] }
  | { kind: 'pause'; result: PauseResult }
  | { kind: 'resume'; result: ResumeResult }
  | { kind: 'paused'; result: PausedQueue[] }
  | JobChangeOutcome
  | BulkPreview;

/** Outcomes that changed something: announced in the channel and copied to the audit channel. */
const CHANGES = ['mute', 'unmute', 'pause', 'resume', 'retry', 'cancel', 'run-now'] as const;
export type ChangeOutcome = Extract<Outcome, { kind: (typeof CHANGES)[number] }>;

export function isChange(outcome: Outcome): outcome is ChangeOutcome {
  return (CHANGES as readonly string[]).includes(outcome.kind);
}

export type ReadCommand = Extract<ParsedCommand, { name: ReadOutcome['kind'] }>;

export function isReadCommand(command: ParsedCommand): command is ReadCommand {
  return ['stats', 'failed', 'job', 'stalled', 'workers', 'doctor'].includes(command.name);
}

/**
 * The one dispatch both fronts use: a parsed command in, its typed outcome out. Changes pass the
 * emergency stop and the caller's write permission first (a refusal is audited); a bulk change
 * only previews here, and runs through runBulk once the front has its confirmation.
 * `connect` is called only when the command needs the database (`help` does not).
 */
export async function executeCommand(connect: () => Promise<QueueContext>, command: ParsedCommand, caller: Caller): Promise<Outcome> {
  if (command.name === 'help') return { kind: 'help', topic: command.topic };
  // `envs` is about every environment, which only the fronts hold (they answer it themselves).
  if (command.name === 'envs') throw new JobqError('internal', 'envs is answered by the front, not for one environment.', { runbookSection: 'several-databases' });
  const ctx = await connect();
  // A misspelt queue or task name is said as such, before it can read as "nothing found".
  const note = await checkNames(ctx, command);
  if (isReadCommand(command)) {
    const outcome = await executeRead(ctx, command);
    return outcome.kind === 'failed' && note ? { ...outcome, note } : outcome;
  }
  await caller.migrated();
  switch (command.name) {
    case 'audit':
      return { kind: 'audit', result: await listAudit(ctx, command) };
    case 'mutes':
      return { kind: 'mutes', result: await listMutes(ctx.db) };
    case 'paused':
      return { kind: 'paused', result: await listPaused(ctx) };
  }
  await admitChange(ctx, command, caller);
  // Whoever changes something sees its effect: no answer from before the change is reused.
  ctx.shared?.forget();
  switch (command.name) {
    case 'mute':
      return { kind: 'mute', result: await createMute(ctx, { target: command.target, seconds: command.durationSeconds, reason: command.reason }, caller.actor), note };
    case 'unmute':
      return { kind: 'unmute', result: await endMutes(ctx, command.target, caller.actor) };
    case 'retry':
    case 'cancel':
    case 'run-now':
      return executeJobChange(ctx, command, caller.actor);
    case 'retry-all': {
      const preview = await previewRetryAll(ctx, retryAllFilterOf(command));
      return { kind: 'bulk-preview', bulk: 'retry-all', preview, params: preview };
    }
    case 'purge': {
      const options = purgeOptionsOf(command);
      return { kind: 'bulk-preview', bulk: 'purge', preview: await previewPurge(ctx, options), params: options };
    }
    case 'pause': {
      if (command.queue !== null) return { kind: 'pause', result: await pauseQueues(ctx, [command.queue], command.reason, caller.actor) };
      const preview = await previewPauseAll(ctx, command.reason);
      return { kind: 'bulk-preview', bulk: 'pause-all', preview, params: preview };
    }
    case 'resume': {
      // Lifting a pause someone else set is a decision of its own: previewed, then confirmed.
      if (command.key !== null && command.key !== JOBQ_PAUSE_KEY) {
        const preview = await previewResumeKey(ctx, command.queue!, command.key);
        return { kind: 'bulk-preview', bulk: 'resume-key', preview, params: preview };
      }
      return { kind: 'resume', result: await resumeQueues(ctx, command.queue === null ? null : [command.queue], caller.actor) };
    }
  }
}

/** A heavy read, joined with the same question in flight or just answered (which then says its age). */
async function shareRead<O extends Extract<ReadOutcome, { kind: 'stats' | 'failed' }>>(ctx: QueueContext, command: ReadCommand, load: () => Promise<O>): Promise<O> {
  if (!ctx.shared) return load();
  const shared = await ctx.shared.get(JSON.stringify(command), load);
  return shared.reused ? { ...shared.value, answeredAt: { at: new Date(shared.at).toISOString() } } : shared.value;
}

/** Runs a read command against the queue core. */
export async function executeRead(ctx: QueueContext, command: ReadCommand): Promise<ReadOutcome> {
  switch (command.name) {
    case 'stats':
      return shareRead(ctx, command, async () => {
        const { heavy, source } = await heavyRead(ctx);
        return { kind: 'stats', result: await getStats(heavy, { groupBy: command.groupBy }), source };
      });
    case 'failed': {
      const { name: _name, ...query } = command;
      return shareRead(ctx, command, async () => {
        const { heavy, source } = await heavyRead(ctx);
        const result = await listFailed(heavy, query);
        return { kind: 'failed', result, query, source, total: await failedTotal(heavy, query, result) };
      });
    }
    case 'job':
      return { kind: 'job', result: await getJob(ctx, command.id) };
    case 'stalled':
      return { kind: 'stalled', result: await listStalled(ctx, command) };
    case 'workers':
      return { kind: 'workers', result: await listWorkers(ctx) };
    case 'doctor':
      // Building an index takes minutes and needs the table owner's role: a terminal's job.
      if (command.apply) {
        throw new JobqError(
          'unsupported',
          'Creating the recommended indexes is done from a terminal: run `jobq doctor --apply` there (it shows what it will create and asks first).',
          {
            runbookSection: 'database-connectivity',
          },
        );
      }
      return { kind: 'doctor', result: await runDoctor(ctx.db, { settings: ctx.settings, schema: ctx.schema.schema, replica: (await ctx.reader?.status()) ?? null }) };
  }
}
