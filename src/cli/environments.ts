import { DEFINITIONS } from '../commands/definitions.js';
import type { ParsedCommand } from '../commands/parse.js';
import { chooseEnvironment } from '../environments/choose.js';
import type { Environment, Environments } from '../environments/config-file.js';
import { asJobqError } from '../errors.js';
import type { Logger } from '../log.js';
import { describeEnvironments } from '../queue/environment-status.js';
import { connectQueue } from '../queue/open.js';
import { environmentsText } from '../render/text/environments.js';
import { paint, type TextStyle } from '../render/text/style.js';
import type { CliIo } from './io.js';
import { runCommand } from './run.js';

interface Options {
  io: CliIo;
  json: boolean;
  log: Logger;
  style: TextStyle;
}

/**
 * A terminal command across environments: `--env NAME` runs it in that one; with several and no
 * flag, a read runs in each at once (printed in the configured order, each under its name, or as
 * one JSON object by name) and a change is refused until `--env` names its database.
 */
export async function runInEnvironments(command: ParsedCommand, envFlag: string | null, environments: Environments, options: Options): Promise<number> {
  if (command.name === 'envs') return listEnvironments(environments.list, options);
  const choice = chooseEnvironment(environments.list, envFlag, null, DEFINITIONS[command.name].access === 'write');
  const several = environments.list.length > 1;
  if (choice.kind === 'one') {
    if (several && !options.json) options.io.out(paint(options.style, `[${choice.env.name}]`, 'bold'));
    return runCommand(command, { ...options, config: choice.env.config });
  }
  // Each environment on its own connections and time; the output is printed once all are in.
  const runs = await Promise.all(
    choice.envs.map(async (env) => {
      const captured = capture(options.io);
      const code = await runCommand(command, { ...options, io: captured.io, config: env.config }).catch((error: unknown) => {
        const e = asJobqError(error);
        captured.io.err(`jobq: ${e.message}`);
        return e.exitCode;
      });
      return { env, code, ...captured };
    }),
  );
  if (options.json) {
    const byName = Object.fromEntries(runs.map((r) => [r.env.name, parsedOrError(r.out.join('\n'), r.err)]));
    options.io.out(JSON.stringify({ environments: byName }, null, 2));
  } else {
    for (const r of runs) {
      options.io.out(`== ${r.env.name} ==`);
      for (const line of r.out) options.io.out(line);
      for (const line of r.err) options.io.err(`[${r.env.name}] ${line}`);
      options.io.out('');
    }
  }
  return Math.max(...runs.map((r) => r.code));
}

/** `jobq envs`: every environment, whether its database answers, and where it is bound. */
async function listEnvironments(list: readonly Environment[], { io, json, log, style }: Options): Promise<number> {
  const statuses = await describeEnvironments(
    list.map((env) => ({
      name: env.name,
      channels: env.channels,
      databaseUrl: env.config.databaseUrl,
      alertChannel: env.config.JOBQ_ALERT_CHANNEL,
      queue: { ready: () => readyOf(env, log) },
    })),
  );
  io.out(json ? JSON.stringify({ environments: statuses }, null, 2) : environmentsText(statuses, style));
  return statuses.every((s) => s.ok) ? 0 : 1;
}

async function readyOf(env: Environment, log: Logger): Promise<{ ok: boolean; detail: string }> {
  try {
    const ctx = await connectQueue(env.config, log);
    await ctx.close();
    return { ok: true, detail: `procrastinate ${ctx.schema.generation}` };
  } catch (error) {
    return { ok: false, detail: asJobqError(error).message };
  }
}

function capture(io: CliIo): { io: CliIo; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  // A read needs no answers from the user: nothing here asks.
  return { io: { ...io, out: (t) => out.push(t), err: (t) => err.push(t), interactive: false }, out, err };
}

function parsedOrError(text: string, err: string[]): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { error: { message: err.join('\n') || text } };
  }
}
