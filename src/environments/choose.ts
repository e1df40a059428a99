import { JobqError } from '../errors.js';

/** What `--env` and the channel decide: one environment, or (reads only) every one of them. */
export type Choice<E> = { kind: 'one'; env: E } | { kind: 'all'; envs: E[] };

interface Named {
  name: string;
  channels: readonly string[];
}

/**
 * Takes `--env NAME` / `--env=NAME` out of a command's words, wherever it stands (`jobq --env
 * staging stats` and `/jobq stats --env staging` alike), so each command's own flags stay its own.
 */
export function takeEnvFlag(tokens: readonly string[]): { env: string | null; rest: string[] } {
  const rest: string[] = [];
  let env: string | null = null;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    let value: string | undefined;
    if (token === '--env') {
      value = tokens[++i];
      if (value === undefined || value.startsWith('--'))
        throw new JobqError('usage', '--env takes the name of an environment, e.g. --env staging.', { runbookSection: 'several-databases' });
    } else if (token.startsWith('--env=')) value = token.slice('--env='.length);
    else {
      rest.push(token);
      continue;
    }
    if (env !== null && env !== value) throw new JobqError('usage', `--env given twice ("${env}" and "${value}"): name one environment.`, { runbookSection: 'several-databases' });
    env = value;
  }
  return { env, rest };
}

/**
 * The environment a command is for: the one `--env` names, else the one its channel is bound to,
 * else the only one. With several and neither, a read answers for all of them; a change must say
 * which database it changes.
 */
export function chooseEnvironment<E extends Named>(envs: readonly E[], flag: string | null, channelId: string | null, isChange: boolean): Choice<E> {
  if (flag !== null) {
    const named = envs.find((e) => e.name === flag.toLowerCase());
    if (!named) {
      throw new JobqError('usage', `There is no environment "${flag}". Environments: ${envs.map((e) => e.name).join(', ')}.`, { runbookSection: 'several-databases' });
    }
    return { kind: 'one', env: named };
  }
  const bound = channelId === null ? undefined : envs.find((e) => e.channels.includes(channelId));
  if (bound) return { kind: 'one', env: bound };
  if (envs.length === 1) return { kind: 'one', env: envs[0]! };
  if (isChange) {
    throw new JobqError('usage', `jobq serves ${envs.length} environments (${envs.map((e) => e.name).join(', ')}): add --env NAME to say which database to change.`, {
      runbookSection: 'several-databases',
    });
  }
  return { kind: 'all', envs: [...envs] };
}
