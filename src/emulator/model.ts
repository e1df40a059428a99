import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';

/** In-memory workspace of the emulator. No HTTP here, so a sandbox UI can render and stream it. */

export interface EmulatedUser {
  id: string;
  name: string;
  realName?: string;
  isBot?: boolean;
}

export interface EmulatedChannel {
  id: string;
  name: string;
  isPrivate?: boolean;
  /** Direct message with one user; Slack opens one when an app posts to a user ID. */
  isIm?: boolean;
  user?: string;
  /**
   * Whether the bot was invited (default true, so tests and the sandbox need not invite it). Not a
   * member: posts answer not_in_channel, and a private channel looks like channel_not_found.
   */
  isMember?: boolean;
  /** Archived: posts answer is_archived. */
  isArchived?: boolean;
}

export interface EmulatedUsergroup {
  id: string;
  handle: string;
  users: string[];
}

/** The app the emulator plays host to: who "the bot" is in auth.test and in posted messages. */
export interface EmulatedBot {
  userId: string;
  botId: string;
  appId: string;
  name: string;
  teamId: string;
  teamDomain: string;
}

export interface MessageMetadata {
  event_type: string;
  event_payload: Record<string, unknown>;
}

export interface SlackMessage {
  channel: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
  metadata?: MessageMetadata;
  /** Author; the bot's user ID for everything the app posts. */
  user: string;
  bot_id?: string;
  thread_ts?: string;
  reply_count?: number;
  reply_users?: string[];
  latest_reply?: string;
  edited?: { user: string; ts: string };
  /** Only on ephemeral messages: the one user who sees it. Slack never returns these from history. */
  visibleTo?: string;
  /** How it arrived: a Web API method name, 'response_url' or 'ack'. Lets tests tell paths apart. */
  via: string;
}

export type MessageChange = { type: 'posted' | 'updated' | 'deleted'; message: SlackMessage };

/** A Home tab as views.publish returns it (and as app_home_opened carries it once published). */
export interface PublishedView {
  id: string;
  team_id: string;
  type: 'home';
  blocks: unknown[];
  private_metadata: string;
  callback_id: string;
  external_id: string;
  state: { values: Record<string, unknown> };
  hash: string;
  close: null;
  submit: null;
  clear_on_close: boolean;
  notify_on_close: boolean;
  root_view_id: string;
  previous_view_id: null;
  app_id: string;
  app_installed_team_id: string;
  bot_id: string;
}

export type ViewChange = { type: 'view_published'; userId: string; view: PublishedView };

export interface RecordedCall {
  /** Web API method, or 'response_url' for posts to a response URL. */
  method: string;
  body: Record<string, unknown>;
  /** Date.now() when the request arrived. */
  at: number;
  status: number;
  response?: unknown;
  /** Set when an injected fault answered instead of the emulator. */
  fault?: string;
}

export interface MessagesQuery {
  /** Only what this user sees: channel messages plus ephemerals addressed to them. */
  visibleTo?: string;
  /** Only replies in this thread (parent included); false: only top-level messages. */
  thread?: string | false;
  /** Include ephemeral messages (default true). */
  ephemeral?: boolean;
}

export interface WorkspaceSeed {
  users?: EmulatedUser[];
  channels?: EmulatedChannel[];
  usergroups?: EmulatedUsergroup[];
  bot?: Partial<EmulatedBot>;
}

export const DEFAULT_BOT: EmulatedBot = {
  userId: 'U_JOBQ_BOT',
  botId: 'B_JOBQ',
  appId: 'A_JOBQ',
  name: 'jobq',
  teamId: 'T_JOBQ',
  teamDomain: 'jobq-sandbox',
};

export const DEFAULT_USERS: EmulatedUser[] = [
  { id: 'U_OPERATOR', name: 'operator', realName: 'Olivia Operator' },
  { id: 'U_VIEWER', name: 'viewer', realName: 'Victor Viewer' },
];

export const DEFAULT_CHANNELS: EmulatedChannel[] = [
  { id: 'C_OPS', name: 'ops' },
  { id: 'C_ALERTS', name: 'alerts' },
  { id: 'C_GENERAL', name: 'general' },
];

export const DEFAULT_USERGROUPS: EmulatedUsergroup[] = [{ id: 'S_ONCALL', handle: 'oncall', users: ['U_OPERATOR'] }];

export class SlackState extends EventEmitter<{ message: [MessageChange]; call: [RecordedCall]; view: [ViewChange] }> {
  readonly bot: EmulatedBot;
  readonly users = new Map<string, EmulatedUser>();
  readonly channels = new Map<string, EmulatedChannel>();
  readonly usergroups = new Map<string, EmulatedUsergroup>();
  readonly calls: RecordedCall[] = [];
  /** The Home tab each user was last published, by user ID. */
  readonly homeViews = new Map<string, PublishedView>();
  private readonly byChannel = new Map<string, SlackMessage[]>();
  private lastTsMicros = 0;

  constructor(seed: WorkspaceSeed = {}) {
    super();
    // Every test or page waiting for a message listens here; dozens at once is normal, not a leak.
    this.setMaxListeners(0);
    this.bot = { ...DEFAULT_BOT, ...seed.bot };
    this.users.set(this.bot.userId, { id: this.bot.userId, name: this.bot.name, isBot: true });
    for (const user of seed.users ?? DEFAULT_USERS) this.users.set(user.id, user);
    for (const channel of seed.channels ?? DEFAULT_CHANNELS) this.channels.set(channel.id, channel);
    for (const group of seed.usergroups ?? DEFAULT_USERGROUPS) this.usergroups.set(group.id, group);
  }

  /** Slack timestamps are "seconds.micros" strings, unique per channel; here unique and increasing globally. */
  nextTs(): string {
    this.lastTsMicros = Math.max(this.lastTsMicros + 100, Date.now() * 1000);
    const seconds = Math.floor(this.lastTsMicros / 1_000_000);
    const micros = this.lastTsMicros % 1_000_000;
    return `${seconds}.${String(micros).padStart(6, '0')}`;
  }

  /** Accepts an ID, a name with or without '#', or a user ID (opens a DM, as chat.postMessage does). */
  findChannel(idOrName: string): EmulatedChannel | undefined {
    const direct = this.channels.get(idOrName);
    if (direct) return direct;
    const name = idOrName.replace(/^#/, '');
    for (const channel of this.channels.values()) if (!channel.isIm && channel.name === name) return channel;
    if (this.users.has(idOrName)) {
      const im: EmulatedChannel = { id: `D_${idOrName}`, name: idOrName, isIm: true, user: idOrName };
      this.channels.set(im.id, im);
      return im;
    }
    return undefined;
  }

  addUser(user: EmulatedUser): void {
    this.users.set(user.id, user);
  }

  addChannel(channel: EmulatedChannel): void {
    this.channels.set(channel.id, channel);
  }

  /** Invites the bot to a channel (`/invite @jobq`), or removes it. */
  setBotMember(channel: string, member: boolean): void {
    this.requireChannel(channel).isMember = member;
  }

  setArchived(channel: string, archived: boolean): void {
    this.requireChannel(channel).isArchived = archived;
  }

  /** The bot sees the channel: public, or private with the bot in it (IMs always). */
  botSees(channel: EmulatedChannel): boolean {
    return !channel.isPrivate || channel.isIm === true || channel.isMember !== false;
  }

  botIsMember(channel: EmulatedChannel): boolean {
    return channel.isIm === true || channel.isMember !== false;
  }

  private requireChannel(idOrName: string): EmulatedChannel {
    const channel = this.findChannel(idOrName);
    if (!channel) throw new Error(`Emulator: no channel ${idOrName}; add it with state.addChannel() first.`);
    return channel;
  }

  setUsergroup(group: EmulatedUsergroup): void {
    this.usergroups.set(group.id, group);
  }

  get(channel: string, ts: string): SlackMessage | undefined {
    return this.byChannel.get(channel)?.find((m) => m.ts === ts);
  }

  post(input: Omit<SlackMessage, 'ts'> & { ts?: string }): SlackMessage {
    const message: SlackMessage = { ...input, ts: input.ts ?? this.nextTs() };
    const list = this.byChannel.get(message.channel) ?? [];
    list.push(message);
    this.byChannel.set(message.channel, list);
    this.emit('message', { type: 'posted', message });
    // Ephemeral replies are invisible to the thread's counters in Slack too.
    if (message.thread_ts && message.thread_ts !== message.ts && !message.visibleTo) {
      this.bumpThread(message.channel, message.thread_ts);
    }
    return message;
  }

  /** Replaces content fields in place (ts, channel and author stay). */
  update(channel: string, ts: string, patch: Partial<Pick<SlackMessage, 'text' | 'blocks' | 'attachments' | 'metadata'>>): SlackMessage | undefined {
    const message = this.get(channel, ts);
    if (!message) return undefined;
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) delete (message as unknown as Record<string, unknown>)[key];
      else (message as unknown as Record<string, unknown>)[key] = value;
    }
    message.edited = { user: message.user, ts: this.nextTs() };
    this.emit('message', { type: 'updated', message });
    return message;
  }

  delete(channel: string, ts: string): SlackMessage | undefined {
    const list = this.byChannel.get(channel);
    const index = list?.findIndex((m) => m.ts === ts) ?? -1;
    if (!list || index < 0) return undefined;
    const [message] = list.splice(index, 1);
    if (!message) return undefined;
    if (message.thread_ts && message.thread_ts !== message.ts && !message.visibleTo) {
      this.bumpThread(channel, message.thread_ts);
    }
    this.emit('message', { type: 'deleted', message });
    return message;
  }

  /** Messages of a channel in posting order, ephemerals included (with visibleTo). */
  messages(channel: string, query: MessagesQuery = {}): SlackMessage[] {
    const id = this.findChannel(channel)?.id ?? channel;
    return (this.byChannel.get(id) ?? []).filter((m) => {
      if (m.visibleTo && (query.ephemeral === false || (query.visibleTo && m.visibleTo !== query.visibleTo))) return false;
      if (query.thread === false) return !m.thread_ts || m.thread_ts === m.ts;
      if (typeof query.thread === 'string') return m.ts === query.thread || m.thread_ts === query.thread;
      return true;
    });
  }

  /** Every message in every channel, in posting order per channel. */
  allMessages(): SlackMessage[] {
    return [...this.byChannel.values()].flat();
  }

  /**
   * Stores a user's Home tab. The view keeps its ID across publishes and gets a new hash each time,
   * as Slack's does, so a publish with a stale hash can be refused (hash_conflict).
   */
  publishHome(userId: string, content: Pick<PublishedView, 'blocks' | 'private_metadata' | 'callback_id' | 'external_id'>): PublishedView {
    const id = this.homeViews.get(userId)?.id ?? `V${randomBytes(5).toString('hex').toUpperCase()}`;
    const view: PublishedView = {
      id,
      team_id: this.bot.teamId,
      type: 'home',
      ...content,
      state: { values: {} },
      hash: `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`,
      close: null,
      submit: null,
      clear_on_close: false,
      notify_on_close: false,
      root_view_id: id,
      previous_view_id: null,
      app_id: this.bot.appId,
      app_installed_team_id: this.bot.teamId,
      bot_id: this.bot.botId,
    };
    this.homeViews.set(userId, view);
    this.emit('view', { type: 'view_published', userId, view });
    return view;
  }

  recordCall(call: RecordedCall): void {
    this.calls.push(call);
    this.emit('call', call);
  }

  private bumpThread(channel: string, threadTs: string): void {
    const parent = this.get(channel, threadTs);
    if (!parent) return;
    const replies = this.messages(channel, { thread: threadTs, ephemeral: false }).filter((m) => m.ts !== threadTs);
    parent.thread_ts = threadTs;
    parent.reply_count = replies.length;
    parent.reply_users = [...new Set(replies.map((m) => m.user))];
    const latest = replies.at(-1);
    if (latest) parent.latest_reply = latest.ts;
    else delete parent.latest_reply;
    this.emit('message', { type: 'updated', message: parent });
  }
}
