import type { WebClient } from '@slack/web-api';
import type { SlackMessage } from '../render/blocks/kit.js';
import type { SlackDeps } from './deps.js';

/** Copies a change announcement to JOBQ_AUDIT_CHANNEL when one is set; never fails the change. */
export async function postToAuditChannel(deps: SlackDeps, client: WebClient, message: SlackMessage): Promise<void> {
  const channel = deps.config.JOBQ_AUDIT_CHANNEL;
  if (!channel) return;
  try {
    await client.chat.postMessage({ channel, text: message.text, blocks: message.blocks });
  } catch (error) {
    deps.log.warn({ err: error, channel }, 'could not post to the audit channel');
  }
}
