import { executeCommand, type BulkPreview, type Caller } from '../commands/execute.js';
import type { ParsedCommand } from '../commands/parse.js';
import { planOf, runBulk, type BulkResult } from '../commands/writes.js';
import type { Config } from '../config.js';
import { openQueueDatabases } from '../db/connect.js';
import { migrate } from '../db/migrations.js';
import { JobqError } from '../errors.js';
import type { Logger } from '../log.js';
import { cliActor } from '../queue/actor.js';
import { settingsFrom } from '../queue/context.js';
import { runDoctor } from '../queue/doctor.js';
import { connectQueue } from '../queue/open.js';
import { bulkResultText, outcomeJson, outcomeText } from '../render/text/index.js';
import { doctorText } from '../render/text/reads.js';
import { bulkProgressText, bulkQuestion } from '../render/text/bulk.js';
import { type TextStyle, wrapText } from '../render/text/style.js';
import type { CliIo } from './io.js';

interface Options {
  io: CliIo;
  json: boolean;
  config: Config;
  log: Logger;
  style: TextStyle;
}

/**
 * A parsed command, run from a terminal: the one dispatch (commands/execute.ts) decides; this
 * front prints, asks for a bulk change's confirmation, and shows its progress.
 */
export async function runCommand(command: ParsedCommand, options: Options): Promise<number> {
  const { io, json, config, log } = options;
  const style: TextStyle = {
    ...options.style,
    thresholds: { backlogMaxAgeSeconds: config.JOBQ_BACKLOG_MAX_AGE_SECONDS, backlogMaxJobs: config.JOBQ_BACKLOG_MAX_JOBS, perQueue: config.JOBQ_QUEUE_THRESHOLDS },
  };
  if (command.name === 'doctor') return doctor({ ...options, style });
  let ctx: Awaited<ReturnType<typeof connectQueue>> | undefined;
  // A terminal user has database access, which is the permission; the emergency stop still applies.
  const caller: Caller = {
    actor: cliActor(),
    assertMayWrite: async () => undefined,
    writesEnabled: config.JOB_QUEUE_ENABLED,
    migrated: async () => void (await migrate(ctx!.db)),
  };
  try {
    const outcome = await executeCommand(async () => (ctx = await connectQueue(config, log)), command, caller);
    if (outcome.kind !== 'bulk-preview') {
      io.out(json ? JSON.stringify(outcomeJson(outcome), null, 2) : wrapText(outcomeText(outcome, style, { logsUrlTemplate: config.JOBQ_LOGS_URL_TEMPLATE }), style.columns));
      return 0;
    }
    return await confirmAndRun(outcome, command as Extract<ParsedCommand, { name: 'retry-all' | 'purge' | 'pause' | 'resume' }>, caller, ctx!, { io, json, style });
  } finally {
    await ctx?.close();
  }
}

/**
 * Doctor works where no other command can (no Procrastinate tables yet, missing grants, a standby
 * given as the primary), so it opens the databases without detecting the schema first.
 */
async function doctor({ io, json, config, log, style }: Options): Promise<number> {
  const { db, reader, urlPort, close } = openQueueDatabases(config, log);
  try {
    // With Slack configured, doctor also says what the bot's preflight would warn about.
    const extraWarnings = config.SLACK_BOT_TOKEN ? await (await import('../slack/preflight.js')).slackDoctorWarnings(config) : [];
    const report = await runDoctor(db, { settings: settingsFrom(config), schema: config.JOB_QUEUE_SCHEMA, urlPort, replica: await reader.status(), extraWarnings });
    io.out(json ? JSON.stringify({ features: report.procrastinate.features, ...report }, null, 2) : wrapText(doctorText(report, style), style.columns));
    // Warnings leave it at 0; a missing privilege or index, or no Procrastinate, is a failure.
    return report.ok ? 0 : 1;
  } finally {
    await close();
  }
}

async function confirmAndRun(
  outcome: BulkPreview,
  command: Extract<ParsedCommand, { name: 'retry-all' | 'purge' | 'pause' | 'resume' }>,
  caller: Caller,
  ctx: Awaited<ReturnType<typeof connectQueue>>,
  { io, json, style }: { io: CliIo; json: boolean; style: TextStyle },
): Promise<number> {
  const { preview } = outcome;
  if (!json) io.err(wrapText(outcomeText(outcome, style), style.columns));
  const finish = (result: BulkResult | null, text?: string) => {
    if (json) io.out(JSON.stringify({ preview, result: result?.result ?? null }, null, 2));
    else if (text) io.out(text);
    return 0;
  };
  if (preview.total === 0 && preview.exact) return finish(null);
  if (command.dryRun || !(await confirm(io, command.yes, bulkQuestion(outcome).prompt))) return finish(null, command.dryRun ? 'Dry run: nothing changed.' : 'Nothing changed.');
  const result = await withInterrupt(io, (signal) => runBulk(ctx, planOf(outcome), caller.actor, { signal, onProgress: (p) => json || io.err(bulkProgressText(p)) }));
  return finish(result, bulkResultText(result));
}

/** Asks on a terminal; scripts must say --yes (or --dry-run) explicitly. */
async function confirm(io: CliIo, yes: boolean, question: string): Promise<boolean> {
  if (yes) return true;
  if (!io.interactive) {
    throw new JobqError('usage', 'Not a terminal, so nobody can confirm: add --yes to go ahead, or --dry-run to only preview.');
  }
  const answer = await io.ask(`${question} [y/N] `);
  return /^y(es)?$/i.test(answer.trim());
}

/** Ctrl-C stops a bulk change between batches instead of killing it mid-batch. */
async function withInterrupt<T>(io: CliIo, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = () => {
    io.err('Stopping after the current batch…');
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await run(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
