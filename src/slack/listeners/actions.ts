import type { App, BlockAction, ButtonAction, RespondArguments, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { executeRead } from '../../commands/execute.js';
import { assertWritesEnabled, executeJobChange, refuse, retryAllFilterOf, type JobChangeCommand } from '../../commands/writes.js';
import type { ParsedCommand } from '../../commands/parse.js';
import { asJobqError, JobqError } from '../../errors.js';
import { slackActor } from '../../queue/actor.js';
import { parseJobId } from '../../queue/job.js';
import { purge, type PurgeOptions, type PurgeProgress } from '../../queue/purge.js';
import { previewRetryAll, retryAll, type RetryAllPreview, type RetryAllProgress } from '../../queue/retry-all.js';
import type { FailureButtonValue } from '../../render/blocks/alerts.js';
import { readBlocks } from '../../render/blocks/index.js';
import type { SlackMessage } from '../../render/blocks/kit.js';
import { decodeFailedQuery } from '../../render/blocks/reads.js';
import { bulkClosedBlocks, bulkPreviewBlocks, bulkProgressBlocks, bulkResultBlocks, errorBlocks, jobChangeBlocks, type BulkKind } from '../../render/blocks/writes.js';
import { postToAuditChannel } from '../audit-channel.js';
import type { SlackDeps } from '../deps.js';

type Click = { body: BlockAction; action: ButtonAction; respond: RespondFn; client: WebClient };

/** A response URL takes 5 posts: one "running", at most 3 progress updates, one outcome. */
const PROGRESS_UPDATES = 3;
const PROGRESS_EVERY_MS = 2_000;

/** Button clicks: ack at once, check the clicker's rights again, then act and reply. */
export function register(app: App, deps: SlackDeps): void {
  const on = (actionId: string, handler: (click: Click) => Promise<void>) => {
    app.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action, respond, client }) => {
      await ack();
      try {
        await handler({ body, action, respond, client });
      } catch (error) {
        const e = asJobqError(error);
        if (e.code === 'internal') deps.log.error({ err: error, actionId }, 'button action failed');
        await respond({ response_type: 'ephemeral', replace_original: false, ...errorBlocks(e, deps.render) } as RespondArguments).catch(() => undefined);
      }
    });
  };
  const channelOf = (body: BlockAction) => body.channel?.id ?? body.container?.channel_id ?? '';
  const ephemeral = (respond: RespondFn, message: SlackMessage, replace: boolean) => respond({ response_type: 'ephemeral', replace_original: replace, ...message } as RespondArguments);

  // Pure link buttons (runbook) still send a click; nothing to do.
  on('runbook_link', async () => undefined);

  on('job_details', async ({ body, action, respond }) => {
    deps.permissions.assertCanRead(body.user.id, channelOf(body));
    const ctx = await deps.queue.get();
    await ephemeral(respond, readBlocks(await executeRead(ctx, { name: 'job', id: parseJobId(action.value) }), deps.render), false);
  });

  on('failed_next', async ({ body, action, respond }) => {
    deps.permissions.assertCanRead(body.user.id, channelOf(body));
    const ctx = await deps.queue.get();
    const query = decodeFailedQuery(action.value ?? '{}');
    await ephemeral(respond, readBlocks(await executeRead(ctx, { name: 'failed', ...query } as ParsedCommand & { name: 'failed' }), deps.render), true);
  });

  // Failure alert buttons. "Show them": the failed jobs of the alert's queue and task.
  const alertValue = (value: string | undefined): Partial<FailureButtonValue> => {
    try {
      return JSON.parse(value ?? '{}') as Partial<FailureButtonValue>;
    } catch {
      throw new JobqError('usage', 'This button carries no readable alert: run `/jobq failed` instead.', { runbookSection: 'alert-job-failures' });
    }
  };
  on('alert_show', async ({ body, action, respond }) => {
    deps.permissions.assertCanRead(body.user.id, channelOf(body));
    const v = alertValue(action.value);
    const ctx = await deps.queue.get();
    const command = { name: 'failed' as const, ...(v.q ? { queue: v.q } : {}), ...(v.t ? { task: v.t } : {}) };
    await ephemeral(respond, readBlocks(await executeRead(ctx, command), deps.render), false);
  });

  // "Retry these": the same preview and Confirm as `/jobq retry-all --queue Q --task T --since <first failure>`.
  on('alert_retry', async ({ body, action, respond, client }) => {
    const v = alertValue(action.value);
    const ctx = await deps.queue.get();
    await deps.migrated();
    const actor = slackActor(body.user.id, body.user.name);
    const command = { name: 'retry-all' as const, queue: v.q, task: v.t, since: v.s ? new Date(v.s) : undefined, yes: false, dryRun: false };
    await assertWritesEnabled(ctx, deps.config.JOB_QUEUE_ENABLED, command, actor);
    await assertWriter(deps, client, ctx, command, actor);
    const preview = await previewRetryAll(ctx, retryAllFilterOf(command));
    if (preview.total === 0 && preview.exact) throw new JobqError('not_found', 'None of these jobs is still failed: nothing to retry.', { runbookSection: 'retrying-jobs-safely' });
    const pending = await deps.confirmations.create('retry-all', preview, body.user.id, channelOf(body));
    const message = bulkPreviewBlocks('retry-all', preview, { confirmationId: pending.id, requestedBy: body.user.id, expiresAt: pending.expiresAt }, deps.render);
    await respond({ response_type: 'in_channel', replace_original: false, ...message } as RespondArguments);
  });

  const jobChange = (name: JobChangeCommand['name']) => async ({ body, action, respond, client }: Click) => {
    const command: JobChangeCommand = { name, id: parseJobId(action.value) };
    const ctx = await deps.queue.get();
    await deps.migrated();
    const actor = slackActor(body.user.id, body.user.name);
    await assertWritesEnabled(ctx, deps.config.JOB_QUEUE_ENABLED, command, actor);
    await assertWriter(deps, client, ctx, command, actor);
    const message = jobChangeBlocks(await executeJobChange(ctx, command, actor), body.user.id, deps.render);
    await respond({ response_type: 'in_channel', replace_original: false, ...message } as RespondArguments);
    await postToAuditChannel(deps, client, message);
  };
  on('job_retry', jobChange('retry'));
  on('job_cancel', jobChange('cancel'));
  on('job_run_now', jobChange('run-now'));

  on('bulk_cancel', async ({ body, action, respond, client }) => {
    const ctx = await deps.queue.get();
    await deps.migrated();
    await assertWriter(deps, client, ctx, probeFor(await deps.confirmations.kindOf(action.value ?? '')), slackActor(body.user.id, body.user.name), { confirmation: action.value, click: 'cancel' });
    const kind = await deps.confirmations.cancel(action.value ?? '', body.user.id);
    await respond({ replace_original: true, ...bulkClosedBlocks(kind, `cancelled by <@${body.user.id}>; nothing changed.`, deps.render) } as RespondArguments);
  });

  on('bulk_confirm', async ({ body, action, respond, client }) => {
    const ctx = await deps.queue.get();
    await deps.migrated();
    const actor = slackActor(body.user.id, body.user.name);
    const probe = probeFor(await deps.confirmations.kindOf(action.value ?? ''));
    await assertWritesEnabled(ctx, deps.config.JOB_QUEUE_ENABLED, probe, actor);
    await assertWriter(deps, client, ctx, probe, actor, { confirmation: action.value, click: 'confirm' });
    // One conditional UPDATE decides: a double click, or two people clicking, runs it once.
    const claimed = await deps.confirmations.claim(action.value ?? '', body.user.id);
    const kind: BulkKind = claimed.kind;
    const update = (message: SlackMessage) => respond({ replace_original: true, ...message } as RespondArguments);
    await update(bulkProgressBlocks(kind, null, body.user.id, deps.render));

    let sent = 0;
    let last = Date.now();
    const onProgress = (progress: RetryAllProgress | PurgeProgress) => {
      if (sent >= PROGRESS_UPDATES || Date.now() - last < PROGRESS_EVERY_MS) return;
      sent++;
      last = Date.now();
      void update(bulkProgressBlocks(kind, progress, body.user.id, deps.render)).catch(() => undefined);
    };
    try {
      const result =
        kind === 'retry-all'
          ? await retryAll(ctx, claimed.params as RetryAllPreview, actor, { onProgress })
          : await purge(ctx, claimed.params as PurgeOptions, actor, { onProgress });
      await deps.confirmations.finish(action.value ?? '', result);
      const message = bulkResultBlocks(kind, result, body.user.id, deps.render);
      await update(message);
      await postToAuditChannel(deps, client, message);
    } catch (error) {
      const e = asJobqError(error);
      await deps.confirmations.finish(action.value ?? '', { error: e.message });
      await update(bulkClosedBlocks(kind, e.message, deps.render));
      throw e;
    }
  });
}

/** The command a confirmation stands for, so a refusal is audited under the right action. */
function probeFor(kind: BulkKind): ParsedCommand {
  return kind === 'purge' ? { name: 'purge', olderThanDays: 0, includeFailed: false, yes: true, dryRun: false } : { name: 'retry-all', yes: true, dryRun: false };
}

async function assertWriter(deps: SlackDeps, client: WebClient, ctx: Awaited<ReturnType<SlackDeps['queue']['get']>>, command: ParsedCommand, actor: ReturnType<typeof slackActor>, about?: Record<string, unknown>): Promise<void> {
  try {
    await deps.permissions.assertCanWrite(client, actor.id);
  } catch (error) {
    const e = asJobqError(error);
    await refuse(ctx, command, actor, e, about);
    deps.log.warn({ user: actor.id, command: command.name }, 'change refused: no permission');
    throw e instanceof JobqError ? e : asJobqError(e);
  }
}
