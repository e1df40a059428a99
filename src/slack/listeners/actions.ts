import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { admitChange } from '../../commands/admit.js';
import { DEFINITIONS } from '../../commands/definitions.js';
import { parseJobId, parseName } from '../../commands/values.js';
import { executeCommand } from '../../commands/execute.js';
import type { ParsedCommand } from '../../commands/parse.js';
import { runBulk, type BulkKind, type BulkPlan, type BulkProgress, type JobChangeCommand } from '../../commands/writes.js';
import { asJobqError, JobqError } from '../../errors.js';
import type { Actor } from '../../queue/actor.js';
import { AUDIT_ACTION, AUDIT_OUTCOME, recordAudit } from '../../queue/audit.js';
import type { QueueContext } from '../../queue/context.js';
import { decodeFailedQuery, decodeFailureButton } from '../../render/blocks/button-values.js';
import { outcomeBlocks } from '../../render/blocks/index.js';
import { bulkClosedBlocks, bulkProgressBlocks, bulkResultBlocks } from '../../render/blocks/writes.js';
import { postToAuditChannel } from '../audit-channel.js';
import { slackCaller } from '../caller.js';
import { deliverOutcome } from './commands.js';
import type { BotDeps, SlackDeps } from '../deps.js';
import { routeClick } from '../route.js';
import { answer } from '../guard.js';
import type { Replier } from '../reply.js';

interface Click {
  body: BlockAction;
  action: ButtonAction;
  reply: Replier;
  client: WebClient;
}

/** A response URL takes 5 posts: one "running", at most 3 progress updates, one outcome. */
const PROGRESS_UPDATES = 3;
const PROGRESS_EVERY_MS = 2_000;

/**
 * Button clicks. One listener for every action id, so that every click, including one on a
 * button this version no longer knows, goes through the same guard and gets an answer. The
 * clicker's rights are checked again on each click: a button can be clicked by anyone who sees it.
 */
export function register(app: App, bot: BotDeps): void {
  const handlers = new Map(bot.environments.map((deps) => [deps, clickHandlers(deps)]));
  // Home-tab buttons (home_…) carry no response_url: listeners/home.ts answers them.
  app.action<BlockAction<ButtonAction>>(/^(?!home_)/, async ({ ack, body, action, respond, client }) => {
    const tagged = typeof action?.action_id === 'string' ? action.action_id : '';
    await answer(bot, { ack, respond, label: `button ${tagged.slice(0, 60)}`, placeholder: false }, async (reply) => {
      // The button's environment: the one its message came from (its action id says which).
      const { deps, actionId } = routeClick(bot, tagged, channelOf(body));
      reply.useEnvironment(deps.environment);
      const handler = handlers.get(deps)![actionId];
      if (!handler)
        throw new JobqError('usage', 'This button belongs to a version of jobq that is gone: run the command again for fresh buttons.', { runbookSection: 'using-jobq' });
      await handler({ body, action, reply, client });
    });
  });
}

const channelOf = (body: BlockAction) => body.channel?.id ?? body.container?.channel_id ?? '';

function clickHandlers(deps: SlackDeps): Record<string, (click: Click) => Promise<void>> {
  const who = (body: BlockAction) => ({ userId: body.user.id, channelId: channelOf(body) });
  const run = async ({ body, reply, client }: Click, command: ParsedCommand) => {
    // Reading buttons follow JOBQ_READ_CHANNELS like commands; changing ones are checked for write rights.
    if (DEFINITIONS[command.name].access === 'read') deps.permissions.assertCanRead(body.user.id, channelOf(body));
    const outcome = await executeCommand(() => deps.queue.get(), command, slackCaller(deps, client, body.user.id, body.user.name));
    await deliverOutcome(deps, outcome, reply, client, who(body));
  };
  const jobChange = (name: JobChangeCommand['name']) => async (click: Click) => run(click, { name, id: parseJobId(click.action.value) });

  return {
    // Link buttons (runbook, logs) open their URL in the browser; Slack still reports the click.
    runbook_link: async ({ reply }) => reply.none(),
    logs_link: async ({ reply }) => reply.none(),

    job_details: async (click) => run(click, { name: 'job', id: parseJobId(click.action.value) }),

    // "Next": the following page replaces the one whose button was clicked.
    failed_next: async ({ body, action, reply, client }) => {
      deps.permissions.assertCanRead(body.user.id, channelOf(body));
      const command = { name: 'failed' as const, ...decodeFailedQuery(action.value) };
      const outcome = await executeCommand(() => deps.queue.get(), command, slackCaller(deps, client, body.user.id, body.user.name));
      await reply.replaceClicked(outcomeBlocks(outcome, { userId: body.user.id }, deps.render));
    },

    // "Retry these…" under a failed-jobs list: the same preview and Confirm as retry-all with the list's filters.
    failed_retry: async (click) => {
      const q = decodeFailedQuery(click.action.value);
      await run(click, { name: 'retry-all', queue: q.queue, task: q.task, since: q.since, before: q.before, yes: false, dryRun: false });
    },

    // Failure alert: "Show them", the failed jobs of the alert's queue and task.
    alert_show: async (click) => {
      const v = decodeFailureButton(click.action.value);
      await run(click, { name: 'failed', queue: v.queue, task: v.task });
    },

    // "Retry these": the same preview and Confirm as `/jobq retry-all --queue Q --task T --since <first failure>`.
    alert_retry: async (click) => {
      const v = decodeFailureButton(click.action.value);
      await run(click, { name: 'retry-all', queue: v.queue, task: v.task, since: v.since, yes: false, dryRun: false });
    },

    // "Pause queue" on a failure alert (3.10+): the same as `/jobq pause QUEUE`, announced in the channel.
    alert_pause: async (click) =>
      run(click, { name: 'pause', queue: parseName(click.action.value, "The alert's queue"), reason: 'paused from a failure alert', yes: false, dryRun: false }),

    job_retry: jobChange('retry'),
    job_cancel: jobChange('cancel'),
    job_run_now: jobChange('run-now'),

    bulk_cancel: async ({ body, action, reply, client }) => {
      const ctx = await deps.queue.get();
      await deps.migrated();
      const caller = slackCaller(deps, client, body.user.id, body.user.name);
      const id = confirmationIdOf(action.value);
      await auditedClick(deps, ctx, caller.actor, id, 'cancel', async () => {
        await admitChange(ctx, probeFor(await deps.confirmations.kindOf(id)), { ...caller, writesEnabled: true }, { confirmation: id, click: 'cancel' });
        const kind = await deps.confirmations.cancel(id, body.user.id);
        await reply.replaceClicked(bulkClosedBlocks(kind, `cancelled by <@${body.user.id}>; nothing changed.`, deps.render));
      });
    },

    bulk_confirm: async ({ body, action, reply, client }) => {
      const ctx = await deps.queue.get();
      await deps.migrated();
      const caller = slackCaller(deps, client, body.user.id, body.user.name);
      const id = confirmationIdOf(action.value);
      const claimed = await auditedClick(deps, ctx, caller.actor, id, 'confirm', async () => {
        await admitChange(ctx, probeFor(await deps.confirmations.kindOf(id)), caller, { confirmation: id, click: 'confirm' });
        // One conditional UPDATE decides: a double click, or two people clicking, runs it once.
        return deps.confirmations.claim(id, body.user.id);
      });
      const kind: BulkKind = claimed.kind;
      await reply.progress(bulkProgressBlocks(kind, null, body.user.id, deps.render));

      let sent = 0;
      let last = Date.now();
      const onProgress = (p: BulkProgress) => {
        if (sent >= PROGRESS_UPDATES || Date.now() - last < PROGRESS_EVERY_MS) return;
        sent++;
        last = Date.now();
        void reply.progress(bulkProgressBlocks(kind, p, body.user.id, deps.render)).catch(() => undefined);
      };
      try {
        // The confirmation stored exactly what its preview showed; its kind says what that is.
        const bulkResult = await runBulk(ctx, { bulk: kind, params: claimed.params } as BulkPlan, caller.actor, { onProgress });
        await deps.confirmations.finish(id, bulkResult.result);
        const message = bulkResultBlocks(bulkResult, body.user.id, deps.render);
        await reply.replaceClicked(message);
        await postToAuditChannel(deps, client, message);
      } catch (error) {
        const e = asJobqError(error);
        await deps.confirmations
          .finish(id, { error: e.message })
          .catch((finishError: unknown) => deps.log.warn({ err: finishError, confirmation: id }, 'could not record the failed run'));
        await reply.replaceClicked(bulkClosedBlocks(kind, e.message, deps.render));
      }
    },
  };
}

function confirmationIdOf(value: string | undefined): string {
  if (value === undefined || !/^[0-9a-f-]{36}$/i.test(value)) {
    throw new JobqError('usage', 'This button carries no readable confirmation: run the command again for a fresh preview.', { runbookSection: 'retrying-jobs-safely' });
  }
  return value;
}

/**
 * A Confirm or Cancel click that is refused (expired, already decided, cancelled, unknown, not
 * allowed) is audited under the confirmation's action, naming the confirmation, so the audit log
 * shows every click and not only the ones that ran.
 */
async function auditedClick<T>(deps: SlackDeps, ctx: QueueContext, actor: Actor, confirmation: string, click: 'confirm' | 'cancel', run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const e = asJobqError(error);
    // Permission and emergency-stop refusals were audited where they were decided.
    if (e.code !== 'forbidden' && e.code !== 'disabled') {
      const kind = await deps.confirmations.kindOf(confirmation).catch(() => null);
      const action = kind === 'purge' ? AUDIT_ACTION.purge : kind === 'retry-all' ? AUDIT_ACTION.retryAll : AUDIT_ACTION.confirmation;
      await recordAudit(ctx.db, { actor, action, filters: { confirmation, click } }, AUDIT_OUTCOME.refused, 0, e.message).catch((auditError: unknown) =>
        ctx.log?.error({ err: auditError }, 'could not audit a refused click'),
      );
    }
    throw e;
  }
}

/** The command a confirmation stands for, so a refusal is audited under the right action. */
function probeFor(kind: BulkKind): ParsedCommand {
  return kind === 'purge' ? { name: 'purge', olderThanSeconds: 0, includeFailed: false, yes: true, dryRun: false } : { name: 'retry-all', yes: true, dryRun: false };
}
