import type { App, SlashCommand } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { executeCommand, isChange, type BulkPreview, type Outcome } from '../../commands/execute.js';
import { parseCommand, tokenize } from '../../commands/parse.js';
import { JobqError } from '../../errors.js';
import { outcomeBlocks } from '../../render/blocks/index.js';
import { errorBlocks } from '../../render/blocks/writes.js';
import { bulkPreviewText } from '../../render/text/bulk.js';
import { utcShort } from '../../render/time.js';
import { postToAuditChannel } from '../audit-channel.js';
import { slackCaller } from '../caller.js';
import type { SlackDeps } from '../deps.js';
import { answer } from '../guard.js';
import type { Replier } from '../reply.js';

/** `/jobq ...`: ack at once, then parse -> check access -> the one dispatch -> render -> respond. */
export function register(app: App, deps: SlackDeps): void {
  // Any command name: a team may rename /jobq in its manifest (e.g. /jobq-staging).
  app.command(/.*/, async ({ command, ack, respond, client }) => {
    const label = `${command.command} ${command.text.slice(0, 100)}`.trim();
    await answer(deps, { ack, respond, label, placeholder: true }, (reply) => handleCommand(deps, command, reply, client));
  });
}

async function handleCommand(deps: SlackDeps, slash: SlashCommand, reply: Replier, client: WebClient): Promise<void> {
  const command = parseCommand(tokenize(slash.text));
  if (command.name !== 'help') deps.permissions.assertCanRead(slash.user_id, slash.channel_id);
  const outcome = await executeCommand(() => deps.queue.get(), command, slackCaller(deps, client, slash.user_id, slash.user_name));
  await deliverOutcome(deps, outcome, reply, client, { userId: slash.user_id, channelId: slash.channel_id });
}

/**
 * How an outcome reaches Slack: reads privately, changes in the channel (and the audit channel),
 * a bulk preview in the channel with Confirm / Cancel stored as a pending confirmation.
 */
export async function deliverOutcome(deps: SlackDeps, outcome: Outcome, reply: Replier, client: WebClient, who: { userId: string; channelId: string }): Promise<void> {
  if (outcome.kind === 'bulk-preview') {
    if (outcome.preview.total === 0 && outcome.preview.exact) {
      // Nothing to confirm: the preview's own words say why, privately.
      return reply.ephemeral(
        errorBlocks(
          new JobqError('not_found', emptyPreview(outcome), {
            runbookSection: outcome.bulk === 'retry-all' ? 'retrying-jobs-safely' : outcome.bulk === 'purge' ? 'purging-and-retention' : 'emergency-stop',
          }),
          deps.render,
        ),
      );
    }
    // What runs on Confirm is exactly what was previewed (retry-all keeps its snapshot): stored with the confirmation.
    const pending = await deps.confirmations.create(outcome.bulk, outcome.params, who.userId, who.channelId);
    return reply.inChannel(
      outcomeBlocks(outcome, { userId: who.userId, pending: { confirmationId: pending.id, requestedBy: who.userId, expiresAt: pending.expiresAt } }, deps.render),
    );
  }
  const message = outcomeBlocks(outcome, { userId: who.userId }, deps.render);
  if (!isChange(outcome)) return reply.ephemeral(message);
  await reply.inChannel(message);
  await postToAuditChannel(deps, client, message);
}

function emptyPreview(outcome: BulkPreview): string {
  switch (outcome.bulk) {
    case 'retry-all':
      return 'No failed jobs match: nothing to retry.';
    case 'purge':
      return 'No jobs that old: nothing to purge.';
    default:
      return bulkPreviewText(outcome, utcShort);
  }
}
