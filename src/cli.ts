import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseCommand, wantsJson } from './commands/parse.js';
import { takeEnvFlag } from './environments/choose.js';
import { asJobqError } from './errors.js';
import { defaultIo, type CliIo } from './cli/io.js';
import { helpText } from './render/text/help.js';

export type { CliIo } from './cli/io.js';

/**
 * The terminal front: argv -> parsed command -> the one dispatch -> text or JSON. Returns the exit
 * code (0 done, 1 operational failure, 2 usage). Only what `--help` needs is loaded up front:
 * the database driver, Slack and the queue core load when a command needs them.
 */
export async function main(rawArgv: string[], io: CliIo = defaultIo()): Promise<number> {
  // --no-color may stand anywhere, like --json; the style reads it, the grammar never sees it.
  const argv = rawArgv.filter((a) => a !== '--no-color');
  const json = wantsJson(argv);
  let runbookBase: string | undefined;
  try {
    if (argv[0] === 'serve') {
      const { serve } = await import('./cli/serve.js');
      return await serve(argv.slice(1));
    }
    // `--env NAME` may stand anywhere (`jobq --env staging stats`, `jobq stats --env staging`).
    const { env, rest } = takeEnvFlag(argv);
    const command = parseCommand(rest);
    if (command.name === 'help') {
      io.out(helpText(command.topic, 'jobq'));
      return 0;
    }
    const [{ loadEnvironments }, { createLogger }, { runInEnvironments }] = await Promise.all([
      import('./environments/config-file.js'),
      import('./log.js'),
      import('./cli/environments.js'),
    ]);
    const environments = loadEnvironments(io.env);
    const config = environments.list[0]!.config;
    runbookBase = config.JOBQ_RUNBOOK_URL;
    const log = createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL);
    const { styleFor } = await import('./cli/style.js');
    return await runInEnvironments(command, env, environments, { io, json, log, style: styleFor(io, rawArgv) });
  } catch (error) {
    const e = asJobqError(error);
    const { runbookUrl, RUNBOOK_TITLES } = await import('./render/runbook.js');
    const runbook = e.runbookSection && runbookBase ? runbookUrl(runbookBase, e.runbookSection) : undefined;
    if (json) {
      io.out(JSON.stringify({ error: { code: e.code, message: e.message, hint: e.hint ?? null, runbook: runbook ?? null } }, null, 2));
    } else {
      const { styleFor } = await import('./cli/style.js');
      const { paint } = await import('./render/text/style.js');
      io.err(`${paint(styleFor(io, rawArgv), 'jobq:', 'red', 'bold')} ${e.message}`);
      if (e.hint) io.err(`  hint: ${e.hint}`);
      if (runbook && e.runbookSection) io.err(`  runbook (${RUNBOOK_TITLES[e.runbookSection]}): ${runbook}`);
      if (e.code === 'internal' && io.env.JOBQ_DEBUG && error instanceof Error) io.err(error.stack ?? '');
    }
    return e.exitCode;
  }
}

// Run directly (`node dist/cli.js stats`, `npx tsx src/cli.ts stats`) it is the CLI, as bin/jobq.mjs
// is; imported (by the bin, by tests) it only exports main.
if (isEntryPoint()) process.exitCode = await main(process.argv.slice(2));

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}
