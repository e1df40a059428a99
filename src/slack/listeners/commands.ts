import type { App, SlashCommand } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { executeCommand, isChange, type BulkPreview, type Outcome } from '../../commands/execute.js';
import type { ParsedCommand } from '../../commands/parse.js';
import { asJobqError, JobqError } from '../../errors.js';
import { describeEnvironments } from '../../queue/environment-status.js';
import { environmentsBlocks } from '../../render/blocks/environments.js';
import { labelled } from '../../render/blocks/environment.js';
import { outcomeBlocks } from '../../render/blocks/index.js';
import { errorBlocks } from '../../render/blocks/writes.js';
import { bulkPreviewText } from '../../render/text/bulk.js';
import { utcShort } from '../../render/time.js';
import type { SlackMessage } from '../../render/blocks/kit.js';
import { postToAuditChannel } from '../audit-channel.js';
import { slackCaller } from '../caller.js';
import type { BotDeps, SlackDeps } from '../deps.js';
import { answer } from '../guard.js';
import type { Replier } from '../reply.js';
import { routeCommand } from '../route.js';

/** A response URL takes 5 posts: a read for every environment answers for this many, then says the rest. */
const SECTIONS_PER_ANSWER = 4;

/** `/jobq ...`: ack at once, then parse -> choose the environment -> check access -> the one dispatch -> render -> respond. */
export function register(app: App, bot: BotDeps): void {
  // Any command name: a team may rename /jobq in its manifest (e.g. /jobq-staging).
  app.command(/.*/, async ({ command, ack, respond, client }) => {
    const label = `${command.command} ${command.text.slice(0, 100)}`.trim();
    await answer(bot, { ack, respond, label, placeholder: true }, (reply) => handleCommand(bot, command, reply, client));
  });
}

async function handleCommand(bot: BotDeps, slash: SlashCommand, reply: Replier, client: WebClient): Promise<void> {
  const { command, target } = routeCommand(bot, slash.text, slash.channel_id);
  if (command.name === 'envs') return answerEnvironments(bot, slash, reply);
  if (target.kind === 'one') {
    reply.useEnvironment(target.env.environment);
    return answerIn(target.env, command, slash, reply, client);
  }
  // No environment named and none bound to this channel: a read answers for each, one message
  // apiece (a table per message is Slack's rule), each on its own time: one slow database
  // delays only its own section.
  const shown = target.envs.slice(0, target.envs.length > SECTIONS_PER_ANSWER + 1 ? SECTIONS_PER_ANSWER : SECTIONS_PER_ANSWER + 1);
  await Promise.all(
    shown.map(async (deps) => {
      let message: SlackMessage;
      try {
        deps.permissions.assertCanRead(slash.user_id, slash.channel_id);
        const outcome = await executeCommand(() => deps.queue.get(), command, slackCaller(deps, client, slash.user_id, slash.user_name));
        message = outcomeBlocks(outcome, { userId: slash.user_id }, deps.render);
      } catch (error) {
        message = errorBlocks(asJobqError(error), deps.render);
      }
      await reply.ephemeral(labelled(message, deps.environment));
    }),
  );
  const rest = target.envs.slice(shown.length).map((d) => d.environment.name);
  if (rest.length) {
    await reply.ephemeral(
      errorBlocks(
        new JobqError('usage', `And ${rest.length} more environments (${rest.join(', ')}): add \`--env NAME\` for one of them.`, { runbookSection: 'several-databases' }),
        bot.render,
      ),
    );
  }
}

async function answerIn(deps: SlackDeps, command: ParsedCommand, slash: SlashCommand, reply: Replier, client: WebClient): Promise<void> {
  if (command.name !== 'help') deps.permissions.assertCanRead(slash.user_id, slash.channel_id);
  const outcome = await executeCommand(() => deps.queue.get(), command, slackCaller(deps, client, slash.user_id, slash.user_name));
  await deliverOutcome(deps, outcome, reply, client, { userId: slash.user_id, channelId: slash.channel_id });
}

/** `/jobq envs`: every environment, whatever this channel is bound to. */
async function answerEnvironments(bot: BotDeps, slash: SlashCommand, reply: Replier): Promise<void> {
  // Only what the asker may read: an environment closed to this channel is left out.
  const visible = bot.environments.filter((d) => {
    try {
      d.permissions.assertCanRead(slash.user_id, slash.channel_id);
      return true;
    } catch {
      return false;
    }
  });
  const list = await describeEnvironments(
    visible.map((d) => ({
      name: d.environment.name,
      channels: d.environment.channels,
      databaseUrl: d.config.databaseUrl,
      alertChannel: d.config.JOBQ_ALERT_CHANNEL,
      queue: d.queue,
    })),
  );
  await reply.ephemeral(environmentsBlocks(list, bot.render));
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
