import type { Actor } from '../queue/actor.js';
import { cancelJob, type CancelResult } from '../queue/cancel.js';
import type { QueueContext } from '../queue/context.js';
import { purge, type PurgeOptions, type PurgeProgress, type PurgeResult } from '../queue/purge.js';
import { retryAll, type RetryAllFilter, type RetryAllPreview, type RetryAllProgress, type RetryAllResult } from '../queue/retry-all.js';
import { retryJob, type RetryResult } from '../queue/retry.js';
import { runJobNow, type RunNowResult } from '../queue/run-now.js';
import type { ParsedCommand } from './parse.js';
import type { BulkPreview } from './execute.js';
import { pauseQueues, resumeQueues, type PauseAllPreview, type PauseResult, type ResumeKeyPreview, type ResumeResult } from '../queue/pause.js';

/** A single-job change's typed result. */
export type JobChangeOutcome = { kind: 'retry'; result: RetryResult } | { kind: 'cancel'; result: CancelResult } | { kind: 'run-now'; result: RunNowResult };

export type JobChangeCommand = Extract<ParsedCommand, { name: 'retry' | 'cancel' | 'run-now' }>;

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
  const seconds = command.olderThanSeconds;
  // Whole days keep olderThanDays too: audit records (and their JSON) have always carried it.
  return { ...(seconds % 86_400 === 0 ? { olderThanDays: seconds / 86_400 } : {}), olderThanSeconds: seconds, queue: command.queue, includeFailed: command.includeFailed };
}

/** What a confirmed bulk change runs: the stored preview (retry-all) or options (purge). */
export type BulkPlan =
  | { bulk: 'retry-all'; params: RetryAllPreview }
  | { bulk: 'purge'; params: PurgeOptions }
  | { bulk: 'pause-all'; params: PauseAllPreview }
  | { bulk: 'resume-key'; params: ResumeKeyPreview };
export type BulkKind = BulkPlan['bulk'];
export type BulkResult =
  | { bulk: 'retry-all'; result: RetryAllResult }
  | { bulk: 'purge'; result: PurgeResult }
  | { bulk: 'pause-all'; result: PauseResult }
  | { bulk: 'resume-key'; result: ResumeResult };
export type BulkProgress = { bulk: 'retry-all'; progress: RetryAllProgress } | { bulk: 'purge'; progress: PurgeProgress };

/** Runs a confirmed bulk change in batches; the signal stops it between batches. */
export async function runBulk(
  ctx: QueueContext,
  plan: BulkPlan,
  actor: Actor,
  options: { signal?: AbortSignal; onProgress?: (progress: BulkProgress) => void } = {},
): Promise<BulkResult> {
  try {
    return await runPlan(ctx, plan, actor, options);
  } finally {
    // Answers read before or during the change are not reused after it.
    ctx.shared?.forget();
  }
}

async function runPlan(ctx: QueueContext, plan: BulkPlan, actor: Actor, options: { signal?: AbortSignal; onProgress?: (progress: BulkProgress) => void }): Promise<BulkResult> {
  if (plan.bulk === 'pause-all') return { bulk: 'pause-all', result: await pauseQueues(ctx, plan.params.queues, plan.params.reason, actor) };
  if (plan.bulk === 'resume-key') return { bulk: 'resume-key', result: await resumeQueues(ctx, [plan.params.queue], actor, plan.params.key) };
  if (plan.bulk === 'retry-all') {
    const onProgress = (progress: RetryAllProgress) => options.onProgress?.({ bulk: 'retry-all', progress });
    return { bulk: 'retry-all', result: await retryAll(ctx, plan.params, actor, { signal: options.signal, onProgress }) };
  }
  const onProgress = (progress: PurgeProgress) => options.onProgress?.({ bulk: 'purge', progress });
  return { bulk: 'purge', result: await purge(ctx, plan.params, actor, { signal: options.signal, onProgress }) };
}

/** What a confirmed preview runs: exactly what was previewed. */
export function planOf(preview: BulkPreview): BulkPlan {
  switch (preview.bulk) {
    case 'retry-all':
      return { bulk: 'retry-all', params: preview.params };
    case 'purge':
      return { bulk: 'purge', params: preview.params };
    case 'pause-all':
      return { bulk: 'pause-all', params: preview.params };
    case 'resume-key':
      return { bulk: 'resume-key', params: preview.params };
  }
}
