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
import { assertDoctorUsable, runDoctor, type DoctorReport } from '../queue/doctor.js';
import { applyIndexes, INDEX_BUILD_LIMITS, type IndexApplyResult, type IndexPlan, planIndexes, planIsEmpty } from '../queue/doctor-apply.js';
import { AUDIT_ACTION, AUDIT_OUTCOME, recordAudit } from '../queue/audit.js';
import type { Db } from '../db/database.js';
import { detectSchema } from '../db/schema.js';
import { indexApplyText, indexBuildingText, indexPlanEmptyText, indexPlanText } from '../render/text/doctor-apply.js';
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
  if (command.name === 'doctor') return doctor(command, { ...options, style });
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
async function doctor(command: Extract<ParsedCommand, { name: 'doctor' }>, { io, json, config, log, style }: Options): Promise<number> {
  const { db, reader, urlPort, close } = openQueueDatabases(config, log);
  try {
    // With Slack configured, doctor also says what the bot's preflight would warn about.
    const extraWarnings = config.SLACK_BOT_TOKEN ? await (await import('../slack/preflight.js')).slackDoctorWarnings(config) : [];
    const report = await runDoctor(db, { settings: settingsFrom(config), schema: config.JOB_QUEUE_SCHEMA, urlPort, replica: await reader.status(), extraWarnings });
    const reportJson = { features: report.procrastinate.features, ...report };
    const text = () => wrapText(doctorText(report, style), style.columns);
    if (!command.apply) {
      io.out(json ? JSON.stringify(reportJson, null, 2) : text());
      // Warnings leave it at 0; a missing privilege or index, or no Procrastinate, is a failure.
      return report.ok ? 0 : 1;
    }
    if (!json) io.out(text());
    const applied = await applyDoctor(report, command.yes, { db, config, log, io, json });
    if (json) io.out(JSON.stringify({ ...reportJson, apply: applied }, null, 2));
    return report.ok && applied.result?.ok !== false ? 0 : 1;
  } finally {
    await close();
  }
}

/**
 * `doctor --apply`: the recommended indexes that are missing, created after a confirmation that
 * says exactly what runs. Only on a direct connection: a build sets its own session timeouts,
 * which a pooler in transaction mode could hand to another client's server connection.
 */
async function applyDoctor(
  report: DoctorReport,
  yes: boolean,
  { db, config, log, io, json }: { db: Db; config: Config; log: Logger; io: CliIo; json: boolean },
): Promise<{ plan: IndexPlan; confirmed: boolean; result: IndexApplyResult | null }> {
  assertDoctorUsable(report);
  const schema = await detectSchema(db, { configured: config.JOB_QUEUE_SCHEMA });
  const plan = planIndexes(schema);
  if (planIsEmpty(plan)) {
    if (!json) io.out(indexPlanEmptyText());
    return { plan, confirmed: false, result: null };
  }
  if (report.connection.pooler) {
    throw new JobqError('unsupported', `doctor --apply needs a direct connection to PostgreSQL, and this one goes through a pooler (${report.connection.pooler}).`, {
      hint: "Run it once with JOB_QUEUE_DATABASE_URL pointing at the server's own port; the bot can keep using the pooler.",
      runbookSection: 'database-connectivity',
    });
  }
  const ctx = { db, schema, settings: settingsFrom(config), log };
  const actor = cliActor();
  await migrate(db);
  if (!config.JOB_QUEUE_ENABLED) {
    const error = new JobqError('disabled', 'Changes are switched off (JOB_QUEUE_ENABLED=false): jobq only reads until an operator turns them back on.', {
      runbookSection: 'emergency-stop',
    });
    for (const build of plan.build) {
      await recordAudit(
        db,
        { actor, action: AUDIT_ACTION.createIndex, filters: { index: build.name, table: 'procrastinate_jobs', schema: plan.schema } },
        AUDIT_OUTCOME.refused,
        0,
        error.message,
      );
    }
    throw error;
  }
  io.err(indexPlanText(plan, INDEX_BUILD_LIMITS));
  const question = plan.build.length ? `Create ${plan.build.map((b) => b.name).join(', ')} now?` : 'Drop it now?';
  const refusal = 'Not a terminal, so nobody can confirm: add --yes to create the indexes shown above. Nothing was changed.';
  if (!(await confirm(io, yes, question, refusal))) {
    if (!json) io.out('Nothing changed.');
    return { plan, confirmed: false, result: null };
  }
  if (!json) io.err(indexBuildingText(plan));
  const result = await applyIndexes(ctx, plan, actor);
  if (!json) io.out(indexApplyText(result));
  return { plan, confirmed: true, result };
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
async function confirm(
  io: CliIo,
  yes: boolean,
  question: string,
  refusal = 'Not a terminal, so nobody can confirm: add --yes to go ahead, or --dry-run to only preview.',
): Promise<boolean> {
  if (yes) return true;
  if (!io.interactive) throw new JobqError('usage', refusal);
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
