import type { CliIo } from '../cli.js';
import type { Config } from '../config.js';
import type { ParsedCommand } from '../commands/parse.js';
import { assertWritesEnabled, executeJobChange, isJobChange, purgeOptionsOf, retryAllFilterOf } from '../commands/writes.js';
import { createMute, endMutes, guardSilenceChange, listMutes } from '../queue/mutes.js';
import { migrate } from '../db/migrations.js';
import { formatTime } from '../render/format.js';
import { JobqError } from '../errors.js';
import { cliActor } from '../queue/actor.js';
import { listAudit } from '../queue/audit.js';
import type { QueueContext } from '../queue/context.js';
import { previewPurge, purge } from '../queue/purge.js';
import { previewRetryAll, retryAll } from '../queue/retry-all.js';
import {
  auditText,
  cancelText,
  mutesText,
  purgePreviewText,
  purgeProgressText,
  purgeResultText,
  retryAllPreviewText,
  retryAllProgressText,
  retryAllResultText,
  retryText,
  runNowText,
} from '../render/text/writes.js';

interface Options {
  io: CliIo;
  json: boolean;
  config: Config;
}

/** Terminal flows for changes: preview, confirmation on a terminal, batches with progress, Ctrl-C stops. */
export async function runWriteCommand(ctx: QueueContext, command: ParsedCommand, { io, json, config }: Options): Promise<number> {
  await migrate(ctx.db);
  const print = (value: unknown, text: string) => io.out(json ? JSON.stringify(value, null, 2) : text);
  if (command.name === 'audit') {
    const page = await listAudit(ctx, command);
    print(page, auditText(page));
    return 0;
  }
  if (command.name === 'mutes') {
    const mutes = await listMutes(ctx.db);
    print({ mutes }, mutesText(mutes));
    return 0;
  }
  const actor = cliActor();
  if (command.name === 'mute' || command.name === 'unmute') {
    // A terminal user has database access, which is the permission; the emergency stop still applies.
    await guardSilenceChange(ctx, command, actor, () => assertWritesEnabled(ctx, config.JOB_QUEUE_ENABLED, command, actor));
    if (command.name === 'mute') {
      const mute = await createMute(ctx, { target: command.target, seconds: command.durationSeconds, reason: command.reason }, actor);
      print(mute, `Muted ${mute.target} until ${formatTime(mute.expiresAt)}: matching alerts are counted, not posted.`);
    } else {
      const ended = await endMutes(ctx, command.target, actor);
      print({ ended }, ended.map((m) => `Unmuted ${m.target}: ${m.suppressedAlerts} alert(s) suppressed (${m.suppressedFailures} failure(s)).`).join('\n'));
    }
    return 0;
  }
  await assertWritesEnabled(ctx, config.JOB_QUEUE_ENABLED, command, actor);

  if (isJobChange(command)) {
    const outcome = await executeJobChange(ctx, command, actor);
    const text = outcome.kind === 'retry' ? retryText(outcome.result) : outcome.kind === 'cancel' ? cancelText(outcome.result) : runNowText(outcome.result);
    print(outcome.result, text);
    return 0;
  }

  if (command.name === 'retry-all') {
    const preview = await previewRetryAll(ctx, retryAllFilterOf(command));
    if (!json) io.err(retryAllPreviewText(preview));
    if (preview.total === 0 && preview.exact) return finish(io, json, { preview, result: null });
    if (command.dryRun || !(await confirm(io, command.yes, `Retry ${preview.exact ? '' : 'at least '}${preview.total} jobs?`))) {
      return finish(io, json, { preview, result: null }, command.dryRun ? 'Dry run: nothing changed.' : 'Nothing changed.');
    }
    const result = await withInterrupt(io, (signal) => retryAll(ctx, preview, actor, { signal, onProgress: (p) => json || io.err(retryAllProgressText(p)) }));
    return finish(io, json, { preview, result }, retryAllResultText(result));
  }

  if (command.name === 'purge') {
    const options = purgeOptionsOf(command);
    const preview = await previewPurge(ctx, options);
    if (!json) io.err(purgePreviewText(preview));
    if (preview.total === 0 && preview.exact) return finish(io, json, { preview, result: null });
    if (command.dryRun || !(await confirm(io, command.yes, `Delete ${preview.exact ? '' : 'at least '}${preview.total} jobs?`))) {
      return finish(io, json, { preview, result: null }, command.dryRun ? 'Dry run: nothing changed.' : 'Nothing changed.');
    }
    const result = await withInterrupt(io, (signal) => purge(ctx, options, actor, { signal, onProgress: (p) => json || io.err(purgeProgressText(p)) }));
    return finish(io, json, { preview, result }, purgeResultText(result));
  }
  throw new JobqError('internal', `No terminal handler for ${command.name}.`);
}

function finish(io: CliIo, json: boolean, value: unknown, text?: string): number {
  if (json) io.out(JSON.stringify(value, null, 2));
  else if (text) io.out(text);
  return 0;
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
