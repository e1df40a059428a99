import { flag, str, type Obj } from './http.js';
import { checkHomeView, checkMessage } from './limits.js';
import type { EmulatedChannel, MessageMetadata, SlackMessage, SlackState } from './model.js';

/** Web API methods the emulator serves. Each takes parsed arguments and returns Slack's JSON. */

export interface MethodContext {
  state: SlackState;
  /** http://127.0.0.1:PORT, for permalinks and auth.test's url. */
  baseUrl: string;
  /** ws:// URL of the Socket Mode server, for apps.connections.open. */
  socketUrl: () => string;
  /** The manifest's features.app_home.home_tab_enabled: views.publish answers not_enabled without it. */
  homeTabEnabled: boolean;
}

export type MethodResult = Obj & { ok: boolean };
type Handler = (args: Obj, ctx: MethodContext) => MethodResult;

const fail = (error: string, extra: Obj = {}): MethodResult => ({ ok: false, error, ...extra });

/** A message as the Web API returns it: the stored one without emulator bookkeeping. */
export function messageJson(message: SlackMessage, state: SlackState): Obj {
  const { channel: _channel, via: _via, visibleTo: _visibleTo, ...rest } = message;
  const fromBot = message.bot_id ? { app_id: state.bot.appId, team: state.bot.teamId } : {};
  return { type: 'message', ...rest, ...fromBot };
}

type Content = { text: string; blocks?: unknown[]; attachments?: unknown[] };
const present = (value: unknown) => value !== undefined && value !== null && value !== '';

/** Validates text/blocks/attachments against Slack's limits; only fields the caller sent are returned. */
export function messageContent(args: Obj, requireContent = true): Content | { error: MethodResult } {
  const raw = {
    text: present(args.text) ? args.text : undefined,
    blocks: present(args.blocks) ? args.blocks : undefined,
    attachments: present(args.attachments) ? args.attachments : undefined,
  };
  const violation = checkMessage(raw, { requireContent });
  if (violation) return { error: fail(violation.error, { response_metadata: { messages: violation.messages } }) };
  const content: Content = { text: str(raw.text) ?? '' };
  if (raw.blocks !== undefined) content.blocks = raw.blocks as unknown[];
  if (Array.isArray(raw.attachments)) content.attachments = raw.attachments;
  return content;
}

function metadataOf(args: Obj): MessageMetadata | undefined | { error: MethodResult } {
  const value = args.metadata;
  if (!present(value)) return undefined;
  const meta = value as Partial<MessageMetadata>;
  if (typeof meta !== 'object' || typeof meta.event_type !== 'string' || typeof meta.event_payload !== 'object' || meta.event_payload === null) {
    return { error: fail('invalid_metadata_format') };
  }
  return { event_type: meta.event_type, event_payload: meta.event_payload };
}

/** Why the bot may not post in a channel, as Slack says it: a private channel it is not in is invisible to it. */
function cannotPost(channel: EmulatedChannel | undefined, state: SlackState): string | undefined {
  if (!channel || !state.botSees(channel)) return 'channel_not_found';
  if (!state.botIsMember(channel)) return 'not_in_channel';
  if (channel.isArchived) return 'is_archived';
  return undefined;
}

/** Reading history needs membership too (for a bot token). */
function cannotRead(channel: EmulatedChannel | undefined, state: SlackState): string | undefined {
  if (!channel || !state.botSees(channel)) return 'channel_not_found';
  return state.botIsMember(channel) ? undefined : 'not_in_channel';
}

/**
 * The scope a call needs, for the methods jobq uses (others pass unchecked). Slack answers
 * missing_scope with `needed` and `provided` when the token lacks it.
 */
export function requiredScope(method: string, args: Obj, state: SlackState): string | undefined {
  if (method.startsWith('chat.')) return 'chat:write';
  if (method.startsWith('usergroups.')) return 'usergroups:read';
  if (method === 'conversations.info' || method === 'conversations.history' || method === 'conversations.replies') {
    const channel = state.channels.get(str(args.channel) ?? '');
    if (channel?.isIm) return undefined;
    const kind = channel?.isPrivate ? 'groups' : 'channels';
    return method === 'conversations.info' ? `${kind}:read` : `${kind}:history`;
  }
  return undefined;
}

function channelJson(channel: EmulatedChannel, state: SlackState): Obj {
  return {
    id: channel.id,
    name: channel.name,
    name_normalized: channel.name,
    is_channel: !channel.isIm && !channel.isPrivate,
    is_group: Boolean(channel.isPrivate),
    is_im: Boolean(channel.isIm),
    is_private: Boolean(channel.isPrivate || channel.isIm),
    is_archived: Boolean(channel.isArchived),
    is_member: state.botIsMember(channel),
    ...(channel.user ? { user: channel.user } : {}),
  };
}

/** Offset cursors: opaque to the client like Slack's, enough for has_more/next_cursor loops. */
function page<T>(items: T[], args: Obj): { items: T[]; has_more: boolean; response_metadata: { next_cursor: string } } {
  const limit = Math.max(1, Math.min(Number(str(args.limit) ?? 100) || 100, 1000));
  const cursor = str(args.cursor);
  const offset = cursor ? Number(Buffer.from(cursor, 'base64').toString('utf8').replace('offset:', '')) || 0 : 0;
  const slice = items.slice(offset, offset + limit);
  const more = offset + limit < items.length;
  return { items: slice, has_more: more, response_metadata: { next_cursor: more ? Buffer.from(`offset:${offset + limit}`).toString('base64') : '' } };
}

const inRange = (ts: string, args: Obj) => {
  const oldest = str(args.oldest);
  const latest = str(args.latest);
  const inclusive = flag(args.inclusive);
  if (oldest && (inclusive ? Number(ts) < Number(oldest) : Number(ts) <= Number(oldest))) return false;
  if (latest && (inclusive ? Number(ts) > Number(latest) : Number(ts) >= Number(latest))) return false;
  return true;
};

export const METHODS: Record<string, Handler> = {
  'auth.test': (_args, { state, baseUrl }) => ({
    ok: true,
    url: `${baseUrl}/`,
    team: state.bot.teamDomain,
    user: state.bot.name,
    team_id: state.bot.teamId,
    user_id: state.bot.userId,
    bot_id: state.bot.botId,
    is_enterprise_install: false,
  }),

  'chat.postMessage': (args, { state }) => {
    const channel = state.findChannel(str(args.channel) ?? '');
    const refused = cannotPost(channel, state);
    if (refused || !channel) return fail(refused ?? 'channel_not_found');
    const content = messageContent(args);
    if ('error' in content) return content.error;
    const metadata = metadataOf(args);
    if (metadata && 'error' in metadata) return metadata.error;
    let threadTs = str(args.thread_ts);
    if (threadTs) {
      const parent = state.get(channel.id, threadTs);
      // Stricter than Slack, which may silently post top-level: a wrong thread_ts is a bot bug.
      if (!parent || parent.visibleTo) return fail('thread_not_found');
      threadTs = parent.thread_ts ?? parent.ts; // replying to a reply lands in the same thread
    }
    const message = state.post({
      channel: channel.id,
      ...content,
      ...(metadata ? { metadata } : {}),
      ...(threadTs ? { thread_ts: threadTs } : {}),
      user: state.bot.userId,
      bot_id: state.bot.botId,
      via: 'chat.postMessage',
    });
    return { ok: true, channel: channel.id, ts: message.ts, message: messageJson(message, state) };
  },

  'chat.update': (args, { state }) => {
    const channel = state.findChannel(str(args.channel) ?? '');
    const refused = cannotPost(channel, state);
    if (refused || !channel) return fail(refused ?? 'channel_not_found');
    const ts = str(args.ts) ?? '';
    const existing = state.get(channel.id, ts);
    if (!existing || existing.visibleTo) return fail('message_not_found');
    if (existing.user !== state.bot.userId) return fail('cant_update_message');
    const content = messageContent(args);
    if ('error' in content) return content.error;
    const metadata = metadataOf(args);
    if (metadata && 'error' in metadata) return metadata.error;
    // Slack keeps blocks/attachments the caller leaves out; text always comes with the call.
    const message = state.update(channel.id, ts, { ...content, ...(metadata ? { metadata } : {}) });
    if (!message) return fail('message_not_found');
    return { ok: true, channel: channel.id, ts, text: message.text, message: messageJson(message, state) };
  },

  'chat.postEphemeral': (args, { state }) => {
    const channel = state.findChannel(str(args.channel) ?? '');
    if (!channel) return fail('channel_not_found');
    const user = str(args.user) ?? '';
    if (!state.users.has(user)) return fail('user_not_found');
    const content = messageContent(args);
    if ('error' in content) return content.error;
    const threadTs = str(args.thread_ts);
    const message = state.post({
      channel: channel.id,
      ...content,
      ...(threadTs ? { thread_ts: threadTs } : {}),
      user: state.bot.userId,
      bot_id: state.bot.botId,
      visibleTo: user,
      via: 'chat.postEphemeral',
    });
    return { ok: true, message_ts: message.ts };
  },

  'chat.delete': (args, { state }) => {
    const channel = state.findChannel(str(args.channel) ?? '');
    if (!channel) return fail('channel_not_found');
    const ts = str(args.ts) ?? '';
    const existing = state.get(channel.id, ts);
    if (!existing || existing.visibleTo) return fail('message_not_found');
    if (existing.user !== state.bot.userId) return fail('cant_delete_message');
    state.delete(channel.id, ts);
    return { ok: true, channel: channel.id, ts };
  },

  'chat.getPermalink': (args, { state, baseUrl }) => {
    const channel = state.findChannel(str(args.channel) ?? '');
    if (!channel) return fail('channel_not_found');
    const ts = str(args.message_ts) ?? '';
    const message = state.get(channel.id, ts);
    if (!message) return fail('message_not_found');
    const thread = message.thread_ts && message.thread_ts !== ts ? `?thread_ts=${message.thread_ts}&cid=${channel.id}` : '';
    return { ok: true, channel: channel.id, permalink: `${baseUrl}/archives/${channel.id}/p${ts.replace('.', '')}${thread}` };
  },

  'conversations.info': (args, { state }) => {
    const channel = state.findChannel(str(args.channel) ?? '');
    return channel && state.botSees(channel) ? { ok: true, channel: channelJson(channel, state) } : fail('channel_not_found');
  },

  'conversations.history': (args, { state }) => {
    const channel = state.findChannel(str(args.channel) ?? '');
    const refused = cannotRead(channel, state);
    if (refused || !channel) return fail(refused ?? 'channel_not_found');
    const all = state
      .messages(channel.id, { thread: false, ephemeral: false })
      .filter((m) => inRange(m.ts, args))
      .reverse();
    const { items, ...rest } = page(all, args);
    return { ok: true, messages: items.map((m) => messageJson(m, state)), ...rest };
  },

  'conversations.replies': (args, { state }) => {
    const channel = state.findChannel(str(args.channel) ?? '');
    const refused = cannotRead(channel, state);
    if (refused || !channel) return fail(refused ?? 'channel_not_found');
    const ts = str(args.ts) ?? '';
    const parent = state.get(channel.id, ts);
    if (!parent || parent.visibleTo) return fail('thread_not_found');
    const root = parent.thread_ts ?? parent.ts;
    const all = state.messages(channel.id, { thread: root, ephemeral: false }).filter((m) => m.ts === root || inRange(m.ts, args));
    const { items, ...rest } = page(all, args);
    return { ok: true, messages: items.map((m) => messageJson(m, state)), ...rest };
  },

  'usergroups.list': (args, { state }) => ({
    ok: true,
    usergroups: [...state.usergroups.values()].map((g) => ({
      id: g.id,
      team_id: state.bot.teamId,
      handle: g.handle,
      name: g.handle,
      user_count: g.users.length,
      ...(flag(args.include_users) ? { users: [...g.users] } : {}),
    })),
  }),

  'usergroups.users.list': (args, { state }) => {
    const group = state.usergroups.get(str(args.usergroup) ?? '');
    return group ? { ok: true, users: [...group.users] } : fail('no_such_subteam');
  },

  'users.info': (args, { state }) => {
    const user = state.users.get(str(args.user) ?? '');
    if (!user) return fail('user_not_found');
    const realName = user.realName ?? user.name;
    return {
      ok: true,
      user: {
        id: user.id,
        team_id: state.bot.teamId,
        name: user.name,
        real_name: realName,
        deleted: false,
        is_bot: Boolean(user.isBot),
        is_admin: false,
        tz: 'UTC',
        profile: { real_name: realName, display_name: user.name },
      },
    };
  },

  'views.publish': (args, { state, homeTabEnabled }) => {
    const userId = str(args.user_id);
    const user = userId ? state.users.get(userId) : undefined;
    if (!user || user.isBot) return fail('invalid_arguments', { response_metadata: { messages: ['invalid `user_id`'] } });
    // The WebClient sends the view JSON-encoded; a string left here did not parse.
    if (typeof args.view === 'string' || args.view === undefined) {
      return fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] view must be a JSON-encoded view object [json-pointer:/view]'] } });
    }
    if (!homeTabEnabled) return fail('not_enabled');
    const violation = checkHomeView(args.view);
    if (violation) return fail(violation.error, { response_metadata: { messages: violation.messages } });
    const hash = str(args.hash);
    const current = state.homeViews.get(user.id);
    if (hash && current && hash !== current.hash) return fail('hash_conflict');
    const view = args.view as Obj;
    const published = state.publishHome(user.id, {
      blocks: view.blocks as unknown[],
      private_metadata: str(view.private_metadata) ?? '',
      callback_id: str(view.callback_id) ?? '',
      external_id: str(view.external_id) ?? '',
    });
    return { ok: true, view: published };
  },

  'apps.connections.open': (_args, { socketUrl }) => ({ ok: true, url: socketUrl() }),
};
