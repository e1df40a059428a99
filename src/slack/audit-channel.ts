import type { WebClient } from '@slack/web-api';
import { labelled } from '../render/blocks/environment.js';
import type { SlackMessage } from '../render/blocks/kit.js';
import type { SlackDeps } from './deps.js';

/** Copies a change announcement to JOBQ_AUDIT_CHANNEL when one is set; never fails the change. */
export async function postToAuditChannel(deps: SlackDeps, client: WebClient, original: SlackMessage): Promise<void> {
  const message = labelled(original, deps.environment);
  const channel = deps.config.JOBQ_AUDIT_CHANNEL;
  if (!channel) return;
  const watch = deps.slackStatus?.watch;
  try {
    await client.chat.postMessage({ channel, text: message.text, blocks: message.blocks });
    watch?.succeeded(channel);
  } catch (error) {
    // The change itself is audited in the database; the copy is a courtesy, so it is not retried.
    // The watch warns once per error (naming JOBQ_AUDIT_CHANNEL and the fix), not at every change.
    if (!watch?.failed(channel, error, { kept: false })) deps.log.warn({ err: error, channel }, 'could not post to the audit channel');
  }
}
