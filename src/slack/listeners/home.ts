import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { executeCommand } from '../../commands/execute.js';
import type { ParsedCommand } from '../../commands/parse.js';
import { parseName } from '../../commands/values.js';
import { asJobqError, JobqError } from '../../errors.js';
import { getOverview } from '../../queue/overview.js';
import type { KnownBlock } from '@slack/types';
import { type EnvironmentLabel, labelled } from '../../render/blocks/environment.js';
import { HOME_BLOCKS, homeErrorView, homeView } from '../../render/blocks/home.js';
import type { SlackMessage } from '../../render/blocks/kit.js';
import { errorBlocks } from '../../render/blocks/writes.js';
import { slackCaller } from '../caller.js';
import type { BotDeps, SlackDeps } from '../deps.js';
import { routeClick } from '../route.js';
import type { Replier } from '../reply.js';
import { deliverOutcome } from './commands.js';

/**
 * The App Home as a live dashboard: on app_home_opened, views.publish the queues at a glance for
 * that user. Its buttons (home_…) come back without a response_url, so answers go to the user's
 * messages with the app (chat.postMessage to the user id) and the Home tab is published again.
 * Permissions are those of commands: reads follow JOBQ_READ_CHANNELS, changes JOBQ_WRITE_*.
 */
export function register(app: App, bot: BotDeps): void {
  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home') return;
    await publishHome(bot, client, event.user, event.channel);
  });

  app.action<BlockAction<ButtonAction>>(/^home_/, async ({ ack, body, action, client }) => {
    await ack();
    const userId = body.user.id;
    const dm = dmReplier(client, userId);
    try {
      // A Home tab lists every environment: its buttons say which one they act on.
      const { deps, actionId } = routeClick(bot, action.action_id, '');
      dm.useEnvironment(deps.environment);
      await handleClick(bot, deps, client, userId, { ...action, action_id: actionId }, dm);
    } catch (error) {
      const e = asJobqError(error);
      if (e.code === 'internal') bot.log.error({ err: error, action: action.action_id }, 'Home tab button failed');
      await dm.ephemeral(errorBlocks(e, bot.render)).catch((postError: unknown) => bot.log.warn({ err: postError }, 'could not tell the user why a Home tab button failed'));
    }
  });
}

const COMMAND_OF: Record<string, (value: string | undefined) => ParsedCommand> = {
  home_failed: (value) => ({ name: 'failed', ...(value ? { queue: parseName(value, "The button's queue") } : {}) }),
  home_stalled: () => ({ name: 'stalled' }),
  home_workers: () => ({ name: 'workers' }),
  home_stats: () => ({ name: 'stats', groupBy: 'queue' }),
  // The failures a Home tab shows: the last hour's, previewed and confirmed like `retry-all --queue Q --since 1h`.
  home_retry: (value) => ({ name: 'retry-all', queue: parseName(value, "The button's queue"), since: new Date(Date.now() - 3_600_000), yes: false, dryRun: false }),
  home_pause: (value) => ({ name: 'pause', queue: parseName(value, "The button's queue"), reason: 'paused from the Home tab', yes: false, dryRun: false }),
};

async function handleClick(bot: BotDeps, deps: SlackDeps, client: WebClient, userId: string, action: ButtonAction, dm: Replier): Promise<void> {
  if (action.action_id === 'home_refresh') return publishHome(bot, client, userId);
  const toCommand = COMMAND_OF[action.action_id];
  if (!toCommand) {
    await publishHome(bot, client, userId);
    throw new JobqError('usage', 'That Home tab button belongs to a version of jobq that is gone: the tab has been refreshed.', { runbookSection: 'using-jobq' });
  }
  const command = toCommand(action.value);
  if (command.name !== 'retry-all' && command.name !== 'pause') deps.permissions.assertCanRead(userId, '');
  const outcome = await executeCommand(() => deps.queue.get(), command, slackCaller(deps, client, userId));
  // Answers land in the user's messages with the app; a change also republishes the tab.
  await deliverOutcome(deps, outcome, dm, client, { userId, channelId: userId });
  if (command.name === 'pause') await publishHome(bot, client, userId);
}

/**
 * Builds and publishes one user's Home tab: each environment's part (one after another, named
 * when there are several), what goes wrong with one shown in its place.
 */
export async function publishHome(bot: BotDeps, client: WebClient, userId: string, channelId = ''): Promise<void> {
  const parts = await Promise.all(bot.environments.map((deps) => homeOf(deps, client, userId, channelId)));
  if (parts.length === 1) return void (await client.views.publish({ user_id: userId, view: parts[0]! }));
  const blocks: KnownBlock[] = [];
  for (const [i, part] of parts.entries()) {
    const named = labelled({ text: '', blocks: part.blocks as KnownBlock[] }, bot.environments[i]!.environment).blocks;
    if (blocks.length + named.length + 1 > HOME_BLOCKS) break;
    if (blocks.length) blocks.push({ type: 'divider' });
    blocks.push(...named);
  }
  await client.views.publish({ user_id: userId, view: { ...parts[0]!, blocks } });
}

async function homeOf(deps: SlackDeps, client: WebClient, userId: string, channelId: string): Promise<ReturnType<typeof homeView>> {
  let view: ReturnType<typeof homeView>;
  try {
    deps.permissions.assertCanRead(userId, channelId);
    const ctx = await deps.queue.get();
    const overview = await getOverview(ctx);
    const canWrite = await deps.permissions.assertCanWrite(client, userId).then(
      () => deps.config.JOB_QUEUE_ENABLED,
      () => false,
    );
    view = homeView(overview, { canWrite }, deps.render);
  } catch (error) {
    const e = asJobqError(error);
    if (e.code === 'internal') deps.log.error({ err: error, user: userId }, 'could not build the Home tab');
    view = homeErrorView(e, deps.render);
  }
  return view;
}

/** Answers a Home-tab click in the user's messages with the app: there is no response_url to use. */
function dmReplier(client: WebClient, userId: string): Replier {
  let answered = false;
  let env: EnvironmentLabel | undefined;
  const post = async (original: SlackMessage) => {
    answered = true;
    const message = labelled(original, env);
    await client.chat.postMessage({ channel: userId, text: message.text, blocks: message.blocks });
  };
  return {
    get answered() {
      return answered;
    },
    ephemeral: post,
    inChannel: post,
    replaceClicked: post,
    progress: async () => undefined,
    none() {
      answered = true;
    },
    useEnvironment(label) {
      env = label;
    },
  };
}
