import type { MessageEvent, Snapshot, ViewEvent, WireBot, WireChannel, WireHomeView, WireMessage, WireUser, WireUsergroup } from './wire.js';

/**
 * Everything the page knows: the workspace as the emulator last described it, and where the
 * reader is. One instance, passed to whatever renders or changes it.
 */

export type AppTab = 'home' | 'messages';

/** What the main pane shows: a channel, or the app (its Home tab or its DM with the reader). */
export type Location = { kind: 'channel'; channelId: string } | { kind: 'app'; tab: AppTab };

/** Where the reader's last opening of the Home tab stands. */
export type HomeStatus = { state: 'idle' } | { state: 'opening' } | { state: 'opened' } | { state: 'failed'; error: string };

export const messageKey = (channel: string, ts: string): string => `${channel} ${ts}`;
export const isReply = (m: WireMessage): boolean => Boolean(m.thread_ts) && m.thread_ts !== m.ts;
const byTs = (a: WireMessage, b: WireMessage) => Number(a.ts) - Number(b.ts) || (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0);

export class Store {
  bot: WireBot | undefined;
  users = new Map<string, WireUser>();
  channels = new Map<string, WireChannel>();
  usergroups = new Map<string, WireUsergroup>();
  /** By messageKey(channel, ts). */
  messages = new Map<string, WireMessage>();
  /** The Home tab published for each user. */
  homeViews = new Map<string, WireHomeView>();
  botConnected = true;
  homeTabEnabled = true;

  currentUser = 'U_OPERATOR';
  location: Location = { kind: 'channel', channelId: 'C_OPS' };
  openThread: { channel: string; ts: string } | undefined;
  home: HomeStatus = { state: 'idle' };
  /** Set when the reader acted; the next render scrolls the channel to its end. */
  scrollToBottom = false;
  /** `${user} ${channel}` -> ts read up to. */
  private readonly lastRead = new Map<string, string>();
  private readonly dismissed = new Set<string>();

  applySnapshot(snapshot: Snapshot): void {
    this.bot = snapshot.bot;
    this.users = new Map(snapshot.users.map((u) => [u.id, u]));
    this.channels = new Map(snapshot.channels.map((c) => [c.id, c]));
    this.usergroups = new Map(snapshot.usergroups.map((g) => [g.id, g]));
    this.messages = new Map(snapshot.messages.map((m) => [messageKey(m.channel, m.ts), m]));
    this.homeViews = new Map(Object.entries(snapshot.homeViews));
    this.botConnected = snapshot.botConnected;
    this.homeTabEnabled = snapshot.homeTabEnabled;
    const humans = this.humans();
    if (!humans.some((u) => u.id === this.currentUser) && humans[0]) this.currentUser = humans[0].id;
    if (this.location.kind === 'channel') {
      const channel = this.channels.get(this.location.channelId);
      const first = [...this.channels.values()].find((c) => !c.isIm);
      // A DM with the app lives in the app's Messages tab; an unknown channel falls back to the first.
      if (channel?.isIm) this.location = { kind: 'app', tab: 'messages' };
      else if (!channel && first) this.location = { kind: 'channel', channelId: first.id };
    }
    if (this.location.kind === 'app' && !this.homeTabEnabled) this.location = { kind: 'app', tab: 'messages' };
  }

  /** Applies a message change; false when it is in a channel the page has not heard of yet. */
  applyMessage({ type, message }: MessageEvent): boolean {
    const key = messageKey(message.channel, message.ts);
    if (type === 'deleted') this.messages.delete(key);
    else this.messages.set(key, message);
    return this.channels.has(message.channel);
  }

  applyView({ userId, view }: ViewEvent): void {
    this.homeViews.set(userId, view);
  }

  humans(): WireUser[] {
    return [...this.users.values()].filter((u) => !u.isBot);
  }

  /** The reader's direct messages with the app (it may not exist yet). */
  get dmId(): string {
    return `D_${this.currentUser}`;
  }

  /** The channel in the main pane, or undefined on the app's Home tab. */
  get channelId(): string | undefined {
    if (this.location.kind === 'channel') return this.location.channelId;
    return this.location.tab === 'messages' ? this.dmId : undefined;
  }

  get botName(): string {
    return this.bot?.name ?? 'app';
  }

  userName(id: string): string {
    if (id === 'USLACKBOT') return 'Slackbot';
    return this.users.get(id)?.name ?? id;
  }

  isFromBot(message: WireMessage): boolean {
    return Boolean(message.bot_id) || message.user === this.bot?.userId;
  }

  visible(message: WireMessage): boolean {
    return (!message.visibleTo || message.visibleTo === this.currentUser) && !this.dismissed.has(messageKey(message.channel, message.ts));
  }

  dismiss(message: WireMessage): void {
    this.dismissed.add(messageKey(message.channel, message.ts));
  }

  channelMessages(channel: string): WireMessage[] {
    return [...this.messages.values()].filter((m) => m.channel === channel && this.visible(m)).sort(byTs);
  }

  threadReplies(channel: string, ts: string): WireMessage[] {
    return this.channelMessages(channel).filter((m) => isReply(m) && m.thread_ts === ts);
  }

  unreadCount(channel: string): number {
    if (channel === this.channelId) return 0;
    const since = Number(this.lastRead.get(`${this.currentUser} ${channel}`) ?? 0);
    return this.channelMessages(channel).filter((m) => !isReply(m) && m.user !== this.currentUser && Number(m.ts) > since).length;
  }

  markRead(channel: string | undefined): void {
    if (!channel) return;
    const last = this.channelMessages(channel).at(-1);
    if (last) this.lastRead.set(`${this.currentUser} ${channel}`, last.ts);
  }
}
