import { DEFINITIONS } from '../commands/definitions.js';
import { type ParsedCommand, parseCommand, tokenize } from '../commands/parse.js';
import { type Choice, chooseEnvironment, takeEnvFlag } from '../environments/choose.js';
import { JobqError } from '../errors.js';
import { untagAction } from '../render/blocks/environment.js';
import type { BotDeps, SlackDeps } from './deps.js';

/** Reads are answered for every environment when none is named; anything else needs one. */
const isChange = (command: ParsedCommand) => DEFINITIONS[command.name].access === 'write';

/**
 * A slash command's words to the command and the environment(s) it is for: `--env NAME`, else
 * the channel's binding, else the only environment; with several and neither, a read is for all.
 */
export function routeCommand(bot: BotDeps, text: string, channelId: string): { command: ParsedCommand; target: Choice<SlackDeps> } {
  const { env, rest } = takeEnvFlag(tokenize(text));
  const command = parseCommand(rest);
  if (command.name === 'help') return { command, target: { kind: 'one', env: bot.environments[0]! } };
  const envs = bot.environments.map((deps) => ({ name: deps.environment.name, channels: deps.environment.channels, deps }));
  const choice = chooseEnvironment(envs, env, channelId, isChange(command));
  return { command, target: choice.kind === 'one' ? { kind: 'one', env: choice.env.deps } : { kind: 'all', envs: choice.envs.map((e) => e.deps) } };
}

/**
 * A clicked button back to its environment: the one its action id was tagged with when the
 * message was rendered. An untagged button (one environment, or a message from before there were
 * several) belongs to the only environment or to the channel's.
 */
export function routeClick(bot: BotDeps, taggedActionId: string, channelId: string): { deps: SlackDeps; actionId: string } {
  const { actionId, env } = untagAction(taggedActionId);
  if (env !== null) {
    const deps = bot.environments.find((d) => d.environment.name === env);
    if (!deps)
      throw new JobqError('usage', `This button belongs to environment "${env}", which jobq no longer serves: run the command again.`, { runbookSection: 'several-databases' });
    return { deps, actionId };
  }
  const only = bot.environments.length === 1 ? bot.environments[0] : bot.environments.find((d) => d.environment.channels.includes(channelId));
  if (!only) throw new JobqError('usage', 'This button does not say which environment it belongs to: run the command again with --env.', { runbookSection: 'several-databases' });
  return { deps: only, actionId };
}
