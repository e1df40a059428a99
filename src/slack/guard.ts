import type { AckFn, RespondFn } from '@slack/bolt';
import { asJobqError, JobqError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RenderOptions } from '../render/blocks/reads.js';
import { errorBlocks } from '../render/blocks/writes.js';
import { createReplier, type Replier } from './reply.js';

/** Where the guard reports each request's time and outcome (jobq's metrics). */
export interface CommandRecorder {
  commandFinished(label: string, outcome: string, seconds: number): void;
}

export interface Interaction {
  ack: AckFn<void> | AckFn<string>;
  respond: RespondFn;
  /** What the user asked, for the placeholder and the logs ("/jobq stats", "button bulk_confirm"). */
  label: string;
  /** Slash commands show a placeholder when the answer takes more than a moment. */
  placeholder: boolean;
}

/**
 * The one guard every slash command and button click passes through: ack at once (Slack's 3
 * seconds), then run the handler, and whatever happens inside it (a thrown error, a bad value,
 * a database fault, Slack refusing a call) the user gets a final answer that replaces the
 * placeholder: the result, or what went wrong with its runbook link.
 */
export async function answer(
  options: { log: Logger; render: RenderOptions; metrics?: CommandRecorder | undefined },
  interaction: Interaction,
  run: (reply: Replier) => Promise<void>,
): Promise<void> {
  const { log } = options;
  const started = performance.now();
  try {
    await interaction.ack();
  } catch (error) {
    log.warn({ err: error, request: interaction.label }, 'could not acknowledge the request');
  }
  const reply = createReplier(interaction.respond, interaction.label, { placeholder: interaction.placeholder });
  let failure: JobqError | undefined;
  try {
    await run(reply);
    if (!reply.answered)
      failure = new JobqError('internal', 'jobq finished without an answer to this request: this is a bug in jobq, please report it.', { runbookSection: 'troubleshooting' });
  } catch (error) {
    failure = asJobqError(error);
    if (failure.code === 'internal') log.error({ err: error, request: interaction.label }, 'request failed');
    else log.info({ code: failure.code, request: interaction.label }, 'request refused');
  }
  options.metrics?.commandFinished(interaction.label, failure?.code ?? 'ok', (performance.now() - started) / 1000);
  if (!failure) return;
  const message = errorBlocks(failure, options.render);
  try {
    await reply.ephemeral(message);
  } catch (error) {
    // The rich reply was refused (or the placeholder had failed): one plain retry, then give up loudly.
    log.warn({ err: error, request: interaction.label }, 'could not send the error reply; retrying as plain text');
    await interaction
      .respond({ response_type: 'ephemeral', replace_original: false, text: message.text })
      .catch((again: unknown) => log.error({ err: again, request: interaction.label }, 'could not answer the request'));
  }
}
