import { loadConfig, type Config } from './config.js';
import { openQueueDatabases } from './db/connect.js';
import { connectQueue } from './queue/open.js';
import { asJobqError, JobqError } from './errors.js';
import { createLogger } from './log.js';
import { parseCommand, wantsJson } from './commands/parse.js';
import { DEFINITIONS } from './commands/definitions.js';
import { runDoctor } from './queue/doctor.js';
import { settingsFrom } from './queue/context.js';
import { executeRead, isReadCommand } from './commands/execute.js';
import { readJson, readText } from './render/text/index.js';
import { runbookUrl } from './render/runbook.js';
import { helpText } from './render/text/help.js';
import { doctorText } from './render/text/reads.js';
import { runWriteCommand } from './cli/writes.js';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Whether a person can answer a question (stdin is a terminal). */
  interactive: boolean;
  ask: (question: string) => Promise<string>;
}

const defaultIo = (): CliIo => ({
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
  interactive: Boolean(process.stdin.isTTY),
  ask: async (question) => {
    const { createInterface } = await import('node:readline/promises');
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return await rl.question(question);
    } finally {
      rl.close();
    }
  },
});

/** The terminal front: argv -> parsed command -> queue operation -> text or JSON. Returns the exit code. */
export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const json = wantsJson(argv);
  let config: Config | undefined;
  try {
    if (argv[0] === 'serve') {
      const { serve } = await import('./main.js');
      return await serve(argv.slice(1));
    }
    const command = parseCommand(argv);
    if (command.name === 'help') {
      io.out(helpText(command.topic, 'jobq'));
      return 0;
    }
    config = loadConfig(io.env);
    const log = createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL);
    if (command.name === 'doctor') {
      const { db, reader, urlPort, close } = openQueueDatabases(config, log);
      try {
        // With Slack configured, doctor also says what the bot's preflight would warn about.
        const extraWarnings = config.SLACK_BOT_TOKEN ? await (await import('./slack/preflight.js')).slackDoctorWarnings(config) : [];
        const report = await runDoctor(db, { settings: settingsFrom(config), schema: config.JOB_QUEUE_SCHEMA, urlPort, replica: await reader.status(), extraWarnings });
        io.out(json ? JSON.stringify({ features: report.procrastinate.features, ...report }, null, 2) : doctorText(report));
        // Warnings leave it at 0; a missing privilege or index, or no Procrastinate, is a failure.
        return report.ok ? 0 : 1;
      } finally {
        await close();
      }
    }
    const ctx = await connectQueue(config, log);
    try {
      if (DEFINITIONS[command.name].access === 'write' || command.name === 'audit' || command.name === 'mutes') {
        return await runWriteCommand(ctx, command, { io, json, config });
      }
      if (!isReadCommand(command)) throw new JobqError('internal', `No terminal handler for ${command.name}.`);
      const outcome = await executeRead(ctx, command);
      io.out(json ? JSON.stringify(readJson(outcome), null, 2) : readText(outcome));
      return 0;
    } finally {
      await ctx.close();
    }
  } catch (error) {
    const e = asJobqError(error);
    const runbook = e.runbookSection && config ? runbookUrl(config.JOBQ_RUNBOOK_URL, e.runbookSection) : undefined;
    if (json) {
      io.out(JSON.stringify({ error: { code: e.code, message: e.message, hint: e.hint ?? null, runbook: runbook ?? null } }, null, 2));
    } else {
      io.err(`jobq: ${e.message}`);
      if (e.hint) io.err(`  hint: ${e.hint}`);
      if (runbook) io.err(`  runbook: ${runbook}`);
      if (e.code === 'internal' && io.env.JOBQ_DEBUG && error instanceof Error) io.err(error.stack ?? '');
    }
    return e.exitCode;
  }
}
