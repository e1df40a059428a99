/**
 * What the emulator's server and its page say to each other over /ui/state, /ui/events and the
 * /ui/* POST routes. Type-only and free of DOM and Node types, so both sides compile against it.
 */

export interface WireUser {
  id: string;
  name: string;
  realName?: string;
  isBot?: boolean;
}

export interface WireChannel {
  id: string;
  name: string;
  isPrivate?: boolean;
  isIm?: boolean;
  /** The other party of a direct message. */
  user?: string;
}

export interface WireUsergroup {
  id: string;
  handle: string;
  users: string[];
}

export interface WireBot {
  userId: string;
  botId: string;
  name: string;
}

export interface WireMessage {
  channel: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
  user: string;
  bot_id?: string;
  thread_ts?: string;
  reply_count?: number;
  edited?: { user: string; ts: string };
  /** Only on ephemeral messages: the one user who sees it. */
  visibleTo?: string;
  via: string;
}

/** A Home tab as views.publish stored it for one user. */
export interface WireHomeView {
  id: string;
  type: 'home';
  blocks: unknown[];
  hash: string;
}

export interface Snapshot {
  bot: WireBot;
  users: WireUser[];
  channels: WireChannel[];
  usergroups: WireUsergroup[];
  messages: WireMessage[];
  /** The Home tab each user was last published, by user ID. */
  homeViews: Record<string, WireHomeView>;
  botConnected: boolean;
  /** The app has a Home tab (the manifest's features.app_home.home_tab_enabled). */
  homeTabEnabled: boolean;
}

export type MessageEvent = { type: 'posted' | 'updated' | 'deleted'; message: WireMessage };
export type ViewEvent = { type: 'view_published'; userId: string; view: WireHomeView };
/** One Server-Sent Events frame of /ui/events. */
export type StreamEvent = MessageEvent | ViewEvent;

/** The answer of /ui/command, /ui/click and /ui/home. */
export interface DeliveryReply {
  ok: boolean;
  kind: 'message' | 'command' | 'unknown_command' | 'click' | 'home';
  status: number;
  ackMs: number;
  ts?: string;
  slackError?: string;
  detail?: string;
  error?: string;
}
