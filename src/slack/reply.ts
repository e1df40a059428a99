import type { RespondArguments, RespondFn } from '@slack/bolt';
import { type EnvironmentLabel, labelled } from '../render/blocks/environment.js';
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
  /** From now on every message names this environment (and its buttons carry it back). */
  useEnvironment(env: EnvironmentLabel): void;
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
  let replacedPlaceholder = false;
  let env: EnvironmentLabel | undefined;
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
  const shown = (message: SlackMessage) => {
    const m = labelled(message, env);
    return { text: m.text, blocks: m.blocks };
  };

  return {
    get answered() {
      return answered;
    },
    async ephemeral(message) {
      settle();
      // The first answer replaces the placeholder; more answers (one per environment) follow it.
      const replace = placeholder !== undefined && !replacedPlaceholder;
      replacedPlaceholder ||= replace;
      await placeholder;
      await send({ response_type: 'ephemeral', replace_original: replace, ...shown(message) });
    },
    async inChannel(message) {
      settle();
      if (placeholder) {
        await placeholder;
        await send({ delete_original: true }).catch(() => undefined);
      }
      await send({ response_type: 'in_channel', replace_original: false, ...shown(message) });
    },
    async replaceClicked(message) {
      settle();
      await send({ replace_original: true, ...shown(message) });
    },
    async progress(message) {
      await send({ replace_original: true, ...shown(message) });
    },
    none() {
      settle();
    },
    useEnvironment(label) {
      env = label;
    },
  };
}
