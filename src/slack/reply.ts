import type { RespondArguments, RespondFn } from '@slack/bolt';
import type { SlackMessage } from '../render/blocks/kit.js';
import { progressPlaceholder } from '../render/blocks/writes.js';

/** How long a reply may take before the user sees a "working" placeholder. */
export const PLACEHOLDER_AFTER_MS = 1_000;

/**
 * Replies through a response URL (at most 5 uses in 30 minutes): if the work takes longer than a
 * moment a placeholder appears first and the final reply replaces it.
 */
export function createReplier(respond: RespondFn, label: string) {
  let placeholder: Promise<unknown> | undefined;
  let done = false;
  const timer = setTimeout(() => {
    if (!done) placeholder = respond({ response_type: 'ephemeral', ...progressPlaceholder(label) }).catch(() => undefined);
  }, PLACEHOLDER_AFTER_MS);

  return {
    /** A private reply, replacing the placeholder if one was shown. */
    async ephemeral(message: SlackMessage): Promise<void> {
      done = true;
      clearTimeout(timer);
      const shown = placeholder !== undefined;
      await placeholder;
      await respond({ response_type: 'ephemeral', replace_original: shown, ...message } as RespondArguments);
    },
    /** A reply the whole channel sees; the private placeholder, if any, is removed. */
    async inChannel(message: SlackMessage): Promise<void> {
      done = true;
      clearTimeout(timer);
      if (placeholder) {
        await placeholder;
        await respond({ delete_original: true }).catch(() => undefined);
      }
      await respond({ response_type: 'in_channel', replace_original: false, ...message } as RespondArguments);
    },
    cancel() {
      done = true;
      clearTimeout(timer);
    },
  };
}
