import type { KnownBlock } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import type { Logger } from '../log.js';
import { type EnvironmentLabel, labelled } from '../render/blocks/environment.js';
import type { SlackMessage } from '../render/blocks/kit.js';
import { createDeliveryWatch, type DeliveryWatch } from '../slack/delivery-watch.js';

/** Machine-readable tag on every message jobq posts on its own, so it can recognise them later. */
export interface AlertMetadata {
  event_type: string;
  event_payload: Record<string, string | number | boolean | null>;
}

export const METADATA_TYPE = {
  failure: 'jobq_failure_alert',
  failureReply: 'jobq_failure_alert_reply',
  health: 'jobq_health_alert',
  muteNote: 'jobq_mute_note',
  summary: 'jobq_health_summary',
} as const;

/** Where the poster reports Slack's errors and what it posted (jobq's metrics). */
export interface PosterRecorder {
  slackApiError(method: string, error: unknown): void;
  alertPosted(metadata: AlertMetadata | undefined, inThread: boolean): void;
  alertUpdated(metadata: AlertMetadata | undefined): void;
}

export interface PostOptions {
  threadTs?: string | undefined;
  metadata?: AlertMetadata | undefined;
  /** Counted against the per-minute cap (failure alerts and their replies). */
  counted?: boolean;
  /** Thread replies also shown in the channel. */
  broadcast?: boolean;
}

/** Slack's answer when a message jobq wants to edit or reply to was deleted (by a person, or retention). */
export function isMessageGone(error: unknown): boolean {
  const code = (error as { data?: { error?: string } } | undefined)?.data?.error;
  return code === 'message_not_found' || code === 'cant_update_message' || code === 'thread_not_found';
}

export interface FoundMessage {
  ts: string;
  payload: Record<string, unknown>;
}

/**
 * Everything jobq posts on its own goes through here: at most one post per `postIntervalMs` per
 * channel (Slack allows about one per second), a cap of `maxPerMinute` counted posts per channel,
 * and Slack's Retry-After on 429 honoured by the WebClient's own retry queue. Every outcome is
 * reported to the delivery watch, which warns once per channel and error and says when it recovers;
 * the callers keep what failed and retry it.
 */
export function createPoster(
  client: WebClient,
  options: {
    postIntervalMs: number;
    maxPerMinute: number;
    log?: Logger | undefined;
    watch?: DeliveryWatch | undefined;
    metrics?: PosterRecorder | undefined;
    /** With several environments: every post names its own, and its metadata carries it. */
    environment?: EnvironmentLabel | undefined;
  },
) {
  const env = options.environment?.shown ? options.environment.name : undefined;
  // Two environments may alert in one channel: each recognises only its own earlier posts.
  const tagged = (metadata: AlertMetadata | undefined) => (metadata && env ? { ...metadata, event_payload: { ...metadata.event_payload, env } } : metadata);
  const shown = (message: SlackMessage) => labelled(message, options.environment);
  const watch = options.watch ?? (options.log ? createDeliveryWatch({ log: options.log, channels: [] }) : undefined);
  const chains = new Map<string, Promise<unknown>>();
  const lastPostAt = new Map<string, number>();
  const counted = new Map<string, number[]>();

  /** Runs calls to one channel one after another, spaced by the post interval. */
  function paced<T>(channel: string, spaced: boolean, call: () => Promise<T>): Promise<T> {
    const previous = chains.get(channel) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        if (spaced) {
          const wait = (lastPostAt.get(channel) ?? 0) + options.postIntervalMs - Date.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait).unref());
        }
        try {
          return await call();
        } finally {
          if (spaced) lastPostAt.set(channel, Date.now());
        }
      });
    chains.set(channel, next);
    return next;
  }

  /** Reports the call's outcome to the watch. A deleted message is the caller's case, not a channel failure. */
  async function watched<T>(channel: string, method: string, call: () => Promise<T>): Promise<T> {
    try {
      const result = await call();
      watch?.succeeded(channel);
      return result;
    } catch (error) {
      options.metrics?.slackApiError(method, error);
      if (!isMessageGone(error)) watch?.failed(channel, error);
      throw error;
    }
  }

  const recent = (channel: string) => {
    const now = Date.now();
    const list = (counted.get(channel) ?? []).filter((at) => now - at < 60_000);
    counted.set(channel, list);
    return list;
  };

  return {
    /** Counted posts still allowed in this channel in the current minute. */
    budget(channel: string): number {
      return Math.max(0, options.maxPerMinute - recent(channel).length);
    },

    async post(channel: string, original: SlackMessage, opts: PostOptions = {}): Promise<string> {
      const message = shown(original);
      const metadata = tagged(opts.metadata);
      const slot = Date.now();
      if (opts.counted) recent(channel).push(slot); // reserve the slot before waiting
      const result = await paced(channel, true, () =>
        watched(channel, 'chat.postMessage', () =>
          client.chat.postMessage({
            channel,
            text: message.text,
            blocks: message.blocks,
            unfurl_links: false,
            unfurl_media: false,
            ...(opts.threadTs ? { thread_ts: opts.threadTs } : {}),
            ...(opts.broadcast ? { reply_broadcast: true } : {}),
            ...(metadata ? { metadata } : {}),
          } as Parameters<WebClient['chat']['postMessage']>[0]),
        ),
      ).catch((error: unknown) => {
        // Nothing reached the channel: give the slot back, or retries while a channel is broken
        // would use up the minute's cap and hold the alerts back once it works again.
        const list = recent(channel);
        if (opts.counted && list.includes(slot)) list.splice(list.lastIndexOf(slot), 1);
        throw error;
      });
      if (!result.ts) throw new Error(`chat.postMessage to ${channel} returned no ts`);
      options.metrics?.alertPosted(opts.metadata, Boolean(opts.threadTs));
      return result.ts;
    },

    async update(channel: string, ts: string, original: SlackMessage, untagged?: AlertMetadata): Promise<void> {
      const message = shown(original);
      const metadata = tagged(untagged);
      await paced(channel, false, () =>
        watched(channel, 'chat.update', () =>
          client.chat.update({ channel, ts, text: message.text, blocks: message.blocks as KnownBlock[], ...(metadata ? { metadata } : {}) } as Parameters<
            WebClient['chat']['update']
          >[0]),
        ),
      );
      options.metrics?.alertUpdated(metadata);
    },

    /**
     * The newest recent message of ours with this metadata type whose payload matches, in the
     * channel (or in one thread). Used only when recovering from a crash between a post and the
     * database write that records it. Needs channels:history (groups:history for a private
     * channel); when the history cannot be read the answer is "not found", so the caller posts
     * (one repeat at most) instead of stalling every later alert.
     */
    async findOwn(
      channel: string,
      eventType: string,
      match: (payload: Record<string, unknown>) => boolean,
      where: { oldest?: Date | undefined; threadTs?: string | undefined } = {},
    ): Promise<FoundMessage | undefined> {
      const oldest = where.oldest ? (where.oldest.getTime() / 1000 - 5).toFixed(6) : undefined;
      const args = { channel, limit: 100, include_all_metadata: true, ...(oldest ? { oldest } : {}) };
      let result: { messages?: unknown[] };
      try {
        result = where.threadTs ? await client.conversations.replies({ ...args, ts: where.threadTs }) : await client.conversations.history(args);
        watch?.succeeded(channel, 'history');
      } catch (error) {
        options.metrics?.slackApiError(where.threadTs ? 'conversations.replies' : 'conversations.history', error);
        if (!watch?.failed(channel, error, { purpose: 'history' })) {
          options.log?.warn(
            { err: error, channel },
            'could not read the channel history to recognise an earlier post (scope channels:history?); posting it, which may repeat one message',
          );
        }
        return undefined;
      }
      const messages = (result.messages ?? []) as { ts?: string; metadata?: { event_type?: string; event_payload?: Record<string, unknown> } }[];
      for (const m of [...messages].sort((a, b) => Number(b.ts) - Number(a.ts))) {
        const payload = m.metadata?.event_payload;
        if (m.ts && m.metadata?.event_type === eventType && payload && (payload.env ?? undefined) === env && match(payload)) return { ts: m.ts, payload };
      }
      return undefined;
    },

    /** Resolves when every queued call has finished (for a clean stop). */
    async drain(): Promise<void> {
      await Promise.allSettled([...chains.values()]);
    },
  };
}

export type Poster = ReturnType<typeof createPoster>;
