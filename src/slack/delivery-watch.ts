import type { Logger } from '../log.js';
import { channelProblem, classifySlackError, type SlackFailure, type SlackProblem } from './errors.js';
import type { ConfiguredChannel } from './preflight.js';

/** What jobq was doing in the channel: posting (or editing) a message, or reading its history. */
export type DeliveryPurpose = 'post' | 'history';

export interface FailingDelivery extends SlackProblem {
  channel: string;
  purpose: DeliveryPurpose;
  since: string;
  failures: number;
}

export interface DeliveryWatch {
  /**
   * Notes a failed Slack call to a channel. The first failure per channel, purpose and error is
   * logged as a warning naming the variable and the fix; repeats (every retry) only at debug.
   * Returns the classified failure, or null when the error did not come from Slack.
   */
  failed(channel: string, error: unknown, options?: { purpose?: DeliveryPurpose; kept?: boolean }): SlackFailure | null;
  /** Notes a successful call; after failures, logs once that the channel works again. */
  succeeded(channel: string, purpose?: DeliveryPurpose): void;
  /** Channels whose last call failed, for /readyz. */
  failing(): FailingDelivery[];
}

export interface DeliveryWatchOptions {
  log: Logger;
  channels: ConfiguredChannel[];
  /** Told when a channel starts failing or works again (the Slack status re-runs its preflight). */
  onChange?: (change: { channel: string; failure: SlackFailure | null }) => void;
}

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

export function createDeliveryWatch(options: DeliveryWatchOptions): DeliveryWatch {
  const { log } = options;
  const variables = new Map<string, string>();
  for (const c of options.channels) if (!variables.has(c.channel)) variables.set(c.channel, c.variable);
  /** Per channel and purpose: the failure in progress, with the errors already warned about. */
  const broken = new Map<string, FailingDelivery & { warned: Set<string>; startedAt: number }>();
  const keyOf = (channel: string, purpose: DeliveryPurpose) => `${purpose}\u0000${channel}`;

  return {
    failed(channel, error, { purpose = 'post', kept = true } = {}) {
      const failure = classifySlackError(error);
      if (!failure) return null;
      const variable = variables.get(channel) ?? 'channel';
      const problem = channelProblem(failure, { variable, channel });
      const key = keyOf(channel, purpose);
      const now = Date.now();
      let state = broken.get(key);
      const isNew = !state;
      if (!state) {
        state = { ...problem, channel, purpose, since: new Date(now).toISOString(), failures: 0, warned: new Set(), startedAt: now };
        broken.set(key, state);
      }
      Object.assign(state, problem);
      state.failures++;
      const fields = { channel, variable, slackError: failure.code, purpose, failures: state.failures };
      // Reading the history fails for the same reason as posting: the post's warning says it all.
      const sameAsPost = purpose === 'history' && broken.get(keyOf(channel, 'post'))?.code === failure.code;
      if (state.warned.has(failure.code) || sameAsPost) {
        log.debug({ ...fields, err: error }, `Slack call to ${variable}=${channel} failed again`);
      } else {
        state.warned.add(failure.code);
        const consequence =
          purpose === 'history'
            ? 'Until then a restarted bot cannot recognise alerts it already posted and may repeat one.'
            : kept
              ? 'What jobq had to post there is kept and retried with backoff until it goes through.'
              : 'This message is not retried.';
        log.warn(fields, `${problem.message} (${failure.code}). ${capitalize(problem.fix)}. ${consequence}`);
      }
      if (isNew || failure.kind === 'fix') options.onChange?.({ channel, failure });
      return failure;
    },

    succeeded(channel, purpose = 'post') {
      const key = keyOf(channel, purpose);
      const state = broken.get(key);
      if (!state) return;
      broken.delete(key);
      const variable = variables.get(channel) ?? 'channel';
      const seconds = Math.round((Date.now() - state.startedAt) / 1000);
      log.info(
        { channel, variable, purpose, failures: state.failures, seconds },
        purpose === 'history'
          ? `Slack: reading ${variable}=${channel} works again`
          : `Slack: posting to ${variable}=${channel} works again after ${state.failures} failed attempt(s) over ${seconds}s; what was pending is being delivered`,
      );
      options.onChange?.({ channel, failure: null });
    },

    failing() {
      return [...broken.values()]
        .filter((f) => !(f.purpose === 'history' && broken.get(keyOf(f.channel, 'post'))?.code === f.code))
        .map(({ warned: _warned, startedAt: _startedAt, ...rest }) => rest);
    },
  };
}
