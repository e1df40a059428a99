import type { App, SlashCommand } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { DEFINITIONS } from '../../commands/definitions.js';
import { executeRead, isReadCommand } from '../../commands/execute.js';
import { parseCommand, tokenize, type ParsedCommand } from '../../commands/parse.js';
import { assertWritesEnabled, executeJobChange, isJobChange, purgeOptionsOf, refuse, retryAllFilterOf } from '../../commands/writes.js';
import { asJobqError, JobqError } from '../../errors.js';
import { createMute, endMutes, guardSilenceChange, listMutes } from '../../queue/mutes.js';
import { muteCreatedBlocks, mutesListBlocks, unmuteBlocks } from '../../render/blocks/alerts.js';
import { slackActor } from '../../queue/actor.js';
import { listAudit } from '../../queue/audit.js';
import { previewPurge } from '../../queue/purge.js';
import { previewRetryAll } from '../../queue/retry-all.js';
import { readBlocks } from '../../render/blocks/index.js';
import { auditBlocks, bulkPreviewBlocks, errorBlocks, helpBlocks, jobChangeBlocks } from '../../render/blocks/writes.js';
import type { SlackDeps } from '../deps.js';
import { postToAuditChannel } from '../audit-channel.js';
import { answer } from '../guard.js';
import type { Replier } from '../reply.js';

/** `/jobq ...`: ack at once, then parse -> check access -> queue operation -> render -> respond. */
export function register(app: App, deps: SlackDeps): void {
  // Any command name: a team may rename /jobq in its manifest (e.g. /jobq-staging).
  app.command(/.*/, async ({ command, ack, respond, client }) => {
    const label = `${command.command} ${command.text.slice(0, 100)}`.trim();
    await answer(deps, { ack, respond, label, placeholder: true }, (reply) => handleCommand(deps, command, reply, client));
  });
}

async function handleCommand(deps: SlackDeps, slash: SlashCommand, reply: Replier, client: WebClient): Promise<void> {
  const parsed = parseCommand(tokenize(slash.text));
  if (parsed.name === 'help') return await reply.ephemeral(helpBlocks(parsed.topic, deps.render));
  deps.permissions.assertCanRead(slash.user_id, slash.channel_id);
  const ctx = await deps.queue.get();

  if (isReadCommand(parsed)) {
    return await reply.ephemeral(readBlocks(await executeRead(ctx, parsed), deps.render));
  }
  await deps.migrated();
  if (parsed.name === 'audit') return await reply.ephemeral(auditBlocks(await listAudit(ctx, parsed), deps.render));
  if (parsed.name === 'mutes') return await reply.ephemeral(mutesListBlocks(await listMutes(ctx.db), deps.render));

  const actor = slackActor(slash.user_id, slash.user_name);
  if (parsed.name === 'mute' || parsed.name === 'unmute') {
    const change = parsed;
    // Silences are changes: the emergency stop and write permission apply, refusals are audited.
    await guardSilenceChange(ctx, change, actor, async () => {
      await assertWritesEnabled(ctx, deps.config.JOB_QUEUE_ENABLED, change, actor);
      await deps.permissions.assertCanWrite(client, slash.user_id);
    });
    const message =
      change.name === 'mute'
        ? muteCreatedBlocks(await createMute(ctx, { target: change.target, seconds: change.durationSeconds, reason: change.reason }, actor), slash.user_id, deps.render)
        : unmuteBlocks(await endMutes(ctx, change.target, actor), slash.user_id, deps.render);
    await reply.inChannel(message);
    await postToAuditChannel(deps, client, message);
    return;
  }
  await assertWritesEnabled(ctx, deps.config.JOB_QUEUE_ENABLED, parsed, actor);
  try {
    await deps.permissions.assertCanWrite(client, slash.user_id);
  } catch (error) {
    await refuse(ctx, parsed, actor, asJobqError(error));
    deps.log.warn({ user: slash.user_id, command: parsed.name }, 'change refused: no permission');
    throw error;
  }

  if (isJobChange(parsed)) {
    const message = jobChangeBlocks(await executeJobChange(ctx, parsed, actor), slash.user_id, deps.render);
    await reply.inChannel(message);
    await postToAuditChannel(deps, client, message);
    return;
  }
  if (parsed.name === 'retry-all' || parsed.name === 'purge') {
    const preview = parsed.name === 'retry-all' ? await previewRetryAll(ctx, retryAllFilterOf(parsed)) : await previewPurge(ctx, purgeOptionsOf(parsed));
    if (preview.total === 0 && preview.exact) {
      return await reply.ephemeral(errorBlocks(new JobqError('not_found', parsed.name === 'retry-all' ? 'No failed jobs match: nothing to retry.' : 'No jobs that old: nothing to purge.', { runbookSection: DEFINITIONS[parsed.name].runbook }), deps.render));
    }
    // What runs on Confirm is exactly what was previewed: the preview (retry-all keeps its id
    // snapshot) or the purge options, stored with the confirmation.
    const params = parsed.name === 'retry-all' ? preview : purgeOptionsOf(parsed);
    const pending = await deps.confirmations.create(parsed.name, params, slash.user_id, slash.channel_id);
    return await reply.inChannel(bulkPreviewBlocks(parsed.name, preview, { confirmationId: pending.id, requestedBy: slash.user_id, expiresAt: pending.expiresAt }, deps.render));
  }
  throw new JobqError('internal', `No Slack handler for ${(parsed as ParsedCommand).name}.`);
}
