import { randomBytes } from 'node:crypto';
import type { Obj } from './http.js';
import type { SlackMessage, SlackState } from './model.js';
import { applyResponse, type ResponseUrlRecord, type ResponseUrls } from './response-urls.js';
import {
  interactivityBody,
  signSlackRequest,
  slashCommandBody,
  type BlockActionsPayload,
  type ButtonAction,
  type SlashCommandFields,
  type ViewBlockActionsPayload,
} from './signing.js';

/** Requests Slack sends into the bot: payload builders shared by HTTP and Socket Mode delivery. */

/** Slack gives up on an unacknowledged command or click after 3 seconds. */
export const ACK_DEADLINE_MS = 3_000;
/** The legacy verification token Slack still puts in payloads; Bolt ignores it. */
export const VERIFICATION_TOKEN = 'emulator-verification-token';

export interface InboundContext {
  state: SlackState;
  responseUrls: ResponseUrls;
}

export interface SlashCommandOptions {
  text?: string;
  userId?: string;
  channelId?: string;
  command?: string;
  /** Overrides the emulator's botUrl for this request. */
  botUrl?: string;
  /** Give up waiting for the ack after this long (default 3000 ms, as Slack). */
  timeoutMs?: number;
}

export interface ClickButtonOptions {
  /** The clicked message, e.g. from emulator.messages(); or give messageTs + channelId. */
  message?: SlackMessage;
  messageTs?: string;
  channelId?: string;
  actionId: string;
  /** Picks among buttons sharing an action_id; defaults to the button's own value. */
  value?: string;
  userId?: string;
  botUrl?: string;
  timeoutMs?: number;
}

/** What came back from the bot, and what Slack would have made of it. */
export interface BotAnswer {
  /** HTTP status (0 when the bot never answered in time); 200 for a Socket Mode ack. */
  status: number;
  /** Raw HTTP body, or the JSON of a Socket Mode ack payload. */
  body: string;
  /** Parsed body when it was JSON. */
  json?: unknown;
  ackMs: number;
  /** The error Slack would show the user: the bot acked late, or not with 200. */
  slackError?: 'operation_timeout' | 'dispatch_failed';
}

/** The answer to a delivery that handed the bot a response URL (slash commands, clicks in messages). */
export interface DeliveryResult extends BotAnswer {
  responseUrl: string;
}

export interface ClickHomeButtonOptions {
  /** Whose Home tab (default U_OPERATOR): the view published for that user holds the button. */
  userId?: string;
  actionId: string;
  /** Picks among buttons sharing an action_id. */
  value?: string;
  botUrl?: string;
  timeoutMs?: number;
}

/** Options of an Events API delivery (app_home_opened and any event built by hand). */
export interface EventOptions {
  /** Overrides the emulator's botUrl for this request (HTTP only). */
  botUrl?: string;
  /** Give up waiting for the ack after this long (default 3000 ms, as Slack). */
  timeoutMs?: number;
}

export interface AppHomeOpenedOptions extends EventOptions {
  /** Who opened the app (default U_OPERATOR). */
  userId?: string;
  /** Which tab of the app they opened (default home). */
  tab?: 'home' | 'messages';
}

/** The JSON body Slack posts to an app's events URL, and puts in a Socket Mode events_api envelope. */
export interface EventCallbackBody {
  token: string;
  team_id: string;
  api_app_id: string;
  event: Obj & { type: string };
  type: 'event_callback';
  event_id: string;
  event_time: number;
  authorizations: { enterprise_id: null; team_id: string; user_id: string; is_bot: true; is_enterprise_install: false }[];
  is_ext_shared_channel: false;
  event_context: string;
}

/** What came back from an event delivery. Slack retries an event whose ack is late or not 200. */
export interface EventDeliveryResult extends BotAnswer {
  eventId: string;
  /** The Socket Mode envelope, when delivered over the socket. */
  envelopeId?: string;
}

const triggerId = () => `${Date.now()}.${randomBytes(6).toString('hex')}`;

function lookup(state: SlackState, userId: string, channelId: string) {
  const user = state.users.get(userId);
  if (!user) throw new Error(`Emulator: no user ${userId}; seed it with users: [...] or emulator.state.addUser().`);
  const channel = state.findChannel(channelId);
  if (!channel) throw new Error(`Emulator: no channel ${channelId}; seed it with channels: [...] or emulator.state.addChannel().`);
  return { user, channel };
}

export function buildSlashCommand(ctx: InboundContext, options: SlashCommandOptions): { fields: SlashCommandFields; record: ResponseUrlRecord } {
  const { user, channel } = lookup(ctx.state, options.userId ?? 'U_OPERATOR', options.channelId ?? 'C_OPS');
  const record = ctx.responseUrls.create(channel.id, user.id);
  const { bot } = ctx.state;
  const fields: SlashCommandFields = {
    token: VERIFICATION_TOKEN,
    team_id: bot.teamId,
    team_domain: bot.teamDomain,
    channel_id: channel.id,
    channel_name: channel.isIm ? 'directmessage' : channel.name,
    user_id: user.id,
    user_name: user.name,
    command: options.command ?? '/jobq',
    text: options.text ?? '',
    api_app_id: bot.appId,
    response_url: record.url,
    trigger_id: triggerId(),
  };
  return { fields, record };
}

type Button = { blockId: string; value?: string; text?: string };

/** Finds the clicked button in the blocks so the payload carries its real block_id and value. */
function findButton(blocks: readonly unknown[], actionId: string, value: string | undefined): Button | undefined {
  for (const block of blocks as Obj[]) {
    const elements = [...(Array.isArray(block.elements) ? block.elements : []), block.accessory] as (Obj | undefined)[];
    for (const element of elements) {
      if (element?.type !== 'button' || element.action_id !== actionId) continue;
      if (value !== undefined && element.value !== value) continue;
      const text = (element.text as Obj | undefined)?.text;
      const button: Button = { blockId: String(block.block_id ?? '') };
      if (typeof element.value === 'string') button.value = element.value;
      if (typeof text === 'string') button.text = text;
      return button;
    }
  }
  return undefined;
}

export function buildBlockActions(ctx: InboundContext, options: ClickButtonOptions): { payload: BlockActionsPayload; record: ResponseUrlRecord } {
  const channelId = options.message?.channel ?? options.channelId;
  const messageTs = options.message?.ts ?? options.messageTs;
  if (!channelId || !messageTs) throw new Error('Emulator: clickButton needs message, or messageTs with channelId.');
  const { user, channel } = lookup(ctx.state, options.userId ?? 'U_OPERATOR', channelId);
  const message = ctx.state.get(channel.id, messageTs);
  if (!message) throw new Error(`Emulator: no message ${messageTs} in ${channel.id} to click on.`);
  if (message.visibleTo && message.visibleTo !== user.id) throw new Error(`Emulator: ${user.id} cannot see ephemeral message ${messageTs} (it is for ${message.visibleTo}).`);
  const button = findButton(message.blocks ?? [], options.actionId, options.value);
  if (!button) throw new Error(`Emulator: message ${messageTs} has no button with action_id ${options.actionId}${options.value ? ` and value ${options.value}` : ''}.`);
  const record = ctx.responseUrls.create(channel.id, user.id, { messageTs });
  const { bot } = ctx.state;
  const { channel: _c, via: _v, visibleTo: _vt, ...publicMessage } = message;
  const payload: BlockActionsPayload = {
    type: 'block_actions',
    user: { id: user.id, username: user.name, name: user.name, team_id: bot.teamId },
    api_app_id: bot.appId,
    token: VERIFICATION_TOKEN,
    container: { type: 'message', message_ts: messageTs, channel_id: channel.id, is_ephemeral: Boolean(message.visibleTo) },
    trigger_id: triggerId(),
    team: { id: bot.teamId, domain: bot.teamDomain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channel.id, name: channel.name },
    // Slack leaves out the message of an ephemeral click; bots must not depend on it there.
    ...(message.visibleTo ? {} : { message: { type: 'message', ...publicMessage } }),
    state: { values: {} },
    response_url: record.url,
    actions: [buttonAction(options.actionId, button)],
  };
  return { payload, record };
}

function buttonAction(actionId: string, button: Button): ButtonAction {
  return {
    action_id: actionId,
    block_id: button.blockId,
    ...(button.value !== undefined ? { value: button.value } : {}),
    ...(button.text !== undefined ? { text: { type: 'plain_text' as const, text: button.text, emoji: true } } : {}),
    type: 'button',
    action_ts: String(Date.now() / 1000),
  };
}

/** A click on a button of the user's published Home tab: block_actions with the view as container. */
export function buildHomeBlockActions(ctx: InboundContext, options: ClickHomeButtonOptions): ViewBlockActionsPayload {
  const userId = options.userId ?? 'U_OPERATOR';
  const user = ctx.state.users.get(userId);
  if (!user || user.isBot) throw new Error(`Emulator: no user ${userId}; seed it with users: [...] or emulator.state.addUser().`);
  const view = ctx.state.homeViews.get(user.id);
  if (!view) throw new Error(`Emulator: no Home tab was published for ${user.id} to click on.`);
  const button = findButton(view.blocks, options.actionId, options.value);
  if (!button) throw new Error(`Emulator: the Home tab of ${user.id} has no button with action_id ${options.actionId}${options.value ? ` and value ${options.value}` : ''}.`);
  const { bot } = ctx.state;
  return {
    type: 'block_actions',
    user: { id: user.id, username: user.name, name: user.name, team_id: bot.teamId },
    api_app_id: bot.appId,
    token: VERIFICATION_TOKEN,
    container: { type: 'view', view_id: view.id },
    trigger_id: triggerId(),
    team: { id: bot.teamId, domain: bot.teamDomain },
    enterprise: null,
    is_enterprise_install: false,
    view: { ...view },
    actions: [buttonAction(options.actionId, button)],
  };
}

/** Wraps an event as Slack delivers it: an event_callback with a fresh event_id, authorized for the bot. */
export function buildEventCallback(ctx: InboundContext, event: Obj & { type: string }): EventCallbackBody {
  const { bot } = ctx.state;
  const now = Math.floor(Date.now() / 1000);
  return {
    token: VERIFICATION_TOKEN,
    team_id: bot.teamId,
    api_app_id: bot.appId,
    event,
    type: 'event_callback',
    event_id: `Ev${randomBytes(6).toString('hex').toUpperCase()}`,
    event_time: now,
    authorizations: [{ enterprise_id: null, team_id: bot.teamId, user_id: bot.userId, is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
    event_context: `4-${randomBytes(12).toString('base64url')}`,
  };
}

/**
 * app_home_opened as Slack sends it when a user opens the app: the DM channel between them (opened
 * if need be), the tab, and, once a Home tab was published for that user, its current view.
 */
export function buildAppHomeOpened(ctx: InboundContext, options: AppHomeOpenedOptions): EventCallbackBody {
  const userId = options.userId ?? 'U_OPERATOR';
  const user = ctx.state.users.get(userId);
  if (!user || user.isBot) throw new Error(`Emulator: no user ${userId} to open the app's Home; seed it with users: [...] or emulator.state.addUser().`);
  const dm = ctx.state.findChannel(user.id);
  const tab = options.tab ?? 'home';
  const view = tab === 'home' ? ctx.state.homeViews.get(user.id) : undefined;
  return buildEventCallback(ctx, { type: 'app_home_opened', user: user.id, channel: dm!.id, tab, event_ts: ctx.state.nextTs(), ...(view ? { view } : {}) });
}

/**
 * What Slack does with a slash command's ack: a body with text/blocks is shown (ephemeral unless
 * in_channel), and a late or failed ack becomes an error only the caller sees.
 */
export function settleSlashAck(ctx: InboundContext, record: ResponseUrlRecord, command: string, result: BotAnswer): DeliveryResult {
  const out: DeliveryResult = { ...result, responseUrl: record.url };
  const ackBody = result.json as Obj | undefined;
  if (!out.slackError && ackBody && typeof ackBody === 'object' && (ackBody.text || ackBody.blocks)) {
    const applied = applyResponse(ctx.state, record, ackBody, 'ack');
    if ('message' in applied && applied.message && !record.messageTs) record.messageTs = applied.message.ts;
  }
  if (out.slackError) postSlackbotError(ctx.state, record, `${command} failed with the error "${out.slackError}"`);
  return out;
}

export function postSlackbotError(state: SlackState, record: ResponseUrlRecord, text: string): void {
  state.post({ channel: record.channel, text, user: 'USLACKBOT', visibleTo: record.user, via: 'slack' });
}

/** POSTs a signed body to the bot and times the answer. Never throws for HTTP-level failures. */
export async function postToBot(url: string, body: string, headers: Record<string, string>, timeoutMs = ACK_DEADLINE_MS): Promise<BotAnswer> {
  const started = performance.now();
  try {
    const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.text();
    const ackMs = performance.now() - started;
    const result: BotAnswer = { status: response.status, body: text, ackMs };
    if (text && response.headers.get('content-type')?.includes('json')) {
      try {
        result.json = JSON.parse(text) as unknown;
      } catch {
        // Slack would not show a malformed ack body either; the raw text stays in `body`.
      }
    }
    if (response.status !== 200) result.slackError = 'dispatch_failed';
    else if (ackMs > ACK_DEADLINE_MS) result.slackError = 'operation_timeout';
    return result;
  } catch (error) {
    const ackMs = performance.now() - started;
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') return { status: 0, body: '', ackMs, slackError: 'operation_timeout' };
    throw new Error(`Emulator: could not reach the bot at ${url}: ${(error as Error).message}`, { cause: error });
  }
}

export function signedSlashCommand(signingSecret: string, fields: SlashCommandFields) {
  const body = slashCommandBody(fields);
  return { body, headers: { ...signSlackRequest(signingSecret, body) } as Record<string, string> };
}

/** Events API requests are JSON, signed over the exact JSON text like every other request. */
export function signedEvent(signingSecret: string, body: EventCallbackBody) {
  const json = JSON.stringify(body);
  return { body: json, headers: { ...signSlackRequest(signingSecret, json), 'content-type': 'application/json' } as Record<string, string> };
}

export function signedInteraction(signingSecret: string, payload: BlockActionsPayload | ViewBlockActionsPayload) {
  const body = interactivityBody(payload);
  return { body, headers: { ...signSlackRequest(signingSecret, body) } as Record<string, string> };
}
