import type { RespondArguments, RespondFn } from '@slack/bolt';
import type { SlackMessage } from '../render/blocks/kit.js';
import { progressPlaceholder } from '../render/blocks/writes.js';

/** How long a reply may take before the user sees a "working" placeholder. */
export const PLACEHOLDER_AFTER_MS = 1_000;

export interface Replier {
  /** A private reply, replacing the placeholder if one was shown. */
  ephemeral(message: SlackMessage): Promise<void>;
  /** A reply the whole channel sees; the private placeholder, if any, is removed. */
  inChannel(message: SlackMessage): Promise<void>;
  /** Replaces the message that holds the clicked button (a preview turning into its result). */
  replaceClicked(message: SlackMessage): Promise<void>;
  /** An intermediate update of the clicked message (progress); not the final answer. */
  progress(message: SlackMessage): Promise<void>;
  /** Says deliberately that this interaction needs no answer (a link button). */
  none(): void;
  /** Whether a final answer (or `none`) was given. */
  readonly answered: boolean;
}

/**
 * Replies through a response URL (at most 5 uses in 30 minutes): if the work takes longer than a
 * moment a placeholder appears first (for slash commands) and the final reply replaces it.
 */
export function createReplier(respond: RespondFn, label: string, options: { placeholder: boolean }): Replier {
  let placeholder: Promise<unknown> | undefined;
  let answered = false;
  const timer = options.placeholder
    ? setTimeout(() => {
        if (!answered) placeholder = respond({ response_type: 'ephemeral', ...progressPlaceholder(label) }).catch(() => undefined);
      }, PLACEHOLDER_AFTER_MS)
    : undefined;
  const settle = () => {
    answered = true;
    clearTimeout(timer);
  };
  const send = (args: RespondArguments) => respond(args);

  return {
    get answered() {
      return answered;
    },
    async ephemeral(message) {
      settle();
      const shown = placeholder !== undefined;
      await placeholder;
      await send({ response_type: 'ephemeral', replace_original: shown, text: message.text, blocks: message.blocks });
    },
    async inChannel(message) {
      settle();
      if (placeholder) {
        await placeholder;
        await send({ delete_original: true }).catch(() => undefined);
      }
      await send({ response_type: 'in_channel', replace_original: false, text: message.text, blocks: message.blocks });
    },
    async replaceClicked(message) {
      settle();
      await send({ replace_original: true, text: message.text, blocks: message.blocks });
    },
    async progress(message) {
      await send({ replace_original: true, text: message.text, blocks: message.blocks });
    },
    none() {
      settle();
    },
  };
}
