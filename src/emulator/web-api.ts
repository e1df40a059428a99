import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeFault, FaultInjector, type Fault } from './faults.js';
import { BodyParseError, parseBody, readBody, sendJson, tokenOf, type Obj } from './http.js';
import {
  buildAppHomeOpened,
  buildBlockActions,
  buildEventCallback,
  buildHomeBlockActions,
  buildSlashCommand,
  postToBot,
  settleSlashAck,
  signedEvent,
  signedInteraction,
  signedSlashCommand,
  type AppHomeOpenedOptions,
  type BotAnswer,
  type ClickButtonOptions,
  type ClickHomeButtonOptions,
  type DeliveryResult,
  type EventCallbackBody,
  type EventDeliveryResult,
  type EventOptions,
  type SlashCommandOptions,
} from './inbound.js';
import { BOT_SCOPE_NAMES } from '../slack/scopes.js';
import { METHODS, requiredScope, type MethodContext } from './methods.js';
import { SlackState, type MessagesQuery, type PublishedView, type RecordedCall, type SlackMessage, type WorkspaceSeed } from './model.js';
import { ResponseUrls, type RecordedResponse } from './response-urls.js';
import { SocketModeServer } from './socket-mode.js';
import { SandboxUi } from './ui/server.js';
import { waitUntil } from './wait.js';

/**
 * A local Slack: Web API, response URLs and Socket Mode on one port, over an in-memory workspace
 * (SlackState, which emits 'message' and 'call'). Used by end-to-end tests and the sandbox.
 *
 * HTTP bot:   new App({ token, signingSecret: emulator.signingSecret, clientOptions: { slackApiUrl: emulator.apiUrl } }),
 *             start it, then emulator.botUrl = 'http://127.0.0.1:<port>' and emulator.slashCommand(...).
 * Socket bot: new App({ token, appToken: 'xapp-...', socketMode: true, clientOptions: { slackApiUrl: emulator.apiUrl } }),
 *             then emulator.socket.sendSlashCommand(...).
 * App Home:   emulator.openAppHome({ userId }) (or emulator.socket.openAppHome) sends app_home_opened; the
 *             bot's views.publish lands in emulator.homeView(userId).
 */

export const DEFAULT_SIGNING_SECRET = 'emulator-signing-secret';

export interface SlackEmulatorOptions extends WorkspaceSeed {
  port?: number;
  host?: string;
  /** When set, Web API calls must carry exactly this token; otherwise any xoxb-/xoxp- token passes. */
  botToken?: string;
  /** When set, apps.connections.open must carry exactly this token; otherwise any xapp- token passes. */
  appToken?: string;
  /** Secret the emulator signs requests into the bot with (default DEFAULT_SIGNING_SECRET). */
  signingSecret?: string;
  /** Base URL of the bot's HTTP receiver, e.g. http://127.0.0.1:3000; settable later. */
  botUrl?: string;
  /** Path of Bolt's HTTP receiver (default /slack/events). */
  eventsPath?: string;
  /** Markdown served at /runbook by the web page (default docs/runbooks/job-queue.md). */
  runbookPath?: string;
  /** Scopes the bot token was granted (the x-oauth-scopes header; default: all of manifest.yml's). */
  grantedScopes?: readonly string[];
  /** The app's Home tab is enabled (default true); without it views.publish answers not_enabled. */
  homeTabEnabled?: boolean;
}

export interface RawDelivery {
  status: number;
  body: string;
  ackMs: number;
}

type Falsy = undefined | null | false;

export class SlackEmulator {
  readonly state: SlackState;
  readonly faults = new FaultInjector();
  readonly socket: SocketModeServer;
  /** The Slack-like web page at / (see src/emulator/ui). */
  readonly ui: SandboxUi;
  readonly signingSecret: string;
  readonly botToken: string | undefined;
  botUrl: string | undefined;
  /** Scopes the bot token has: sent as x-oauth-scopes on every answer, and checked for the methods jobq uses. */
  grantedScopes: string[];
  /** The manifest's features.app_home.home_tab_enabled; views.publish answers not_enabled when false. */
  homeTabEnabled: boolean;
  private readonly appToken: string | undefined;
  private readonly eventsPath: string;
  private readonly responseUrls: ResponseUrls;
  private readonly server: Server;
  private readonly hanging = new Set<ServerResponse>();
  private readonly closing = new AbortController();
  private address = '';

  constructor(options: SlackEmulatorOptions = {}) {
    this.state = new SlackState(options);
    this.signingSecret = options.signingSecret ?? DEFAULT_SIGNING_SECRET;
    this.botToken = options.botToken;
    this.appToken = options.appToken;
    this.botUrl = options.botUrl;
    this.grantedScopes = [...(options.grantedScopes ?? BOT_SCOPE_NAMES)];
    this.homeTabEnabled = options.homeTabEnabled ?? true;
    this.eventsPath = options.eventsPath ?? '/slack/events';
    this.responseUrls = new ResponseUrls(this.state, () => this.url);
    const inbound = { state: this.state, responseUrls: this.responseUrls };
    this.socket = new SocketModeServer(inbound, () => this.url.replace(/^http/, 'ws'));
    this.ui = new SandboxUi(this, options.runbookPath ? { runbookPath: options.runbookPath } : {});
    this.server = createServer((req, res) => {
      this.route(req, res).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { ok: false, error: 'emulator_error', detail: String(error) });
        else res.destroy();
      });
    });
    this.server.on('upgrade', (req, socket, head) => this.socket.handleUpgrade(req, socket, head));
  }

  /** http://host:port of the emulator. */
  get url(): string {
    return this.address;
  }

  /** Pass as clientOptions.slackApiUrl (Bolt, WebClient) or SLACK_API_URL. */
  get apiUrl(): string {
    return `${this.address}/api/`;
  }

  async listen(port: number, host: string): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    const { port: bound } = this.server.address() as AddressInfo;
    this.address = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
    return this;
  }

  /** Recorded Web API and response_url calls, in arrival order. */
  calls(method?: string): RecordedCall[] {
    return method ? this.state.calls.filter((c) => c.method === method) : [...this.state.calls];
  }

  /** A channel's messages (ID or name), ephemerals included with visibleTo. */
  messages(channel: string, query?: MessagesQuery): SlackMessage[] {
    return this.state.messages(channel, query);
  }

  /** Everything posted to response URLs, accepted or refused. */
  responses(): RecordedResponse[] {
    return [...this.responseUrls.responses];
  }

  /** A response URL for a user in a channel; with messageTs, replace_original/delete_original act on that message. */
  responseUrl(channelId: string, userId: string, options: { messageTs?: string } = {}): string {
    return this.responseUrls.create(channelId, userId, options).url;
  }

  /** `/invite @jobq` in a channel (ID or name). */
  inviteBot(channel: string): void {
    this.state.setBotMember(channel, true);
  }

  /** Removes the bot from a channel (`/kick @jobq`): its posts there answer not_in_channel. */
  removeBot(channel: string): void {
    this.state.setBotMember(channel, false);
  }

  /** Archives a channel (posts answer is_archived), or unarchives it. */
  archiveChannel(channel: string, archived = true): void {
    this.state.setArchived(channel, archived);
  }

  /** Moves the emulator's clock (response URL expiry) forward without waiting. */
  advanceTime(ms: number): void {
    this.responseUrls.advanceTime(ms);
  }

  /** Resolves with the predicate's first truthy result; rejects at the deadline listing recent calls. */
  waitFor<T>(predicate: (emulator: this) => T | Falsy, timeoutMs = 2_000, description?: string): Promise<T> {
    return waitUntil(this.state, () => predicate(this), timeoutMs, description);
  }

  waitForCall(method: string, predicate: (call: RecordedCall) => boolean = () => true, timeoutMs = 2_000): Promise<RecordedCall> {
    return this.waitFor(() => this.calls(method).find(predicate), timeoutMs, `a ${method} call`);
  }

  waitForMessage(channel: string, predicate: (message: SlackMessage) => boolean = () => true, timeoutMs = 2_000): Promise<SlackMessage> {
    return this.waitFor(() => this.messages(channel).find(predicate), timeoutMs, `a message in ${channel}`);
  }

  /** Sends a signed slash command to the bot's HTTP receiver, as Slack does, and applies its ack. */
  async slashCommand(options: SlashCommandOptions = {}): Promise<DeliveryResult> {
    const { fields, record } = buildSlashCommand({ state: this.state, responseUrls: this.responseUrls }, options);
    const { body, headers } = signedSlashCommand(this.signingSecret, fields);
    const result = await postToBot(this.eventsUrl(options.botUrl), body, headers, options.timeoutMs);
    return settleSlashAck({ state: this.state, responseUrls: this.responseUrls }, record, fields.command, result);
  }

  /** Clicks a button of a message in the model: a signed block_actions payload tied to that message. */
  async clickButton(options: ClickButtonOptions): Promise<DeliveryResult> {
    const { payload, record } = buildBlockActions({ state: this.state, responseUrls: this.responseUrls }, options);
    const { body, headers } = signedInteraction(this.signingSecret, payload);
    const result = await postToBot(this.eventsUrl(options.botUrl), body, headers, options.timeoutMs);
    return { ...result, responseUrl: record.url };
  }

  /** Clicks a button of a user's published Home tab: a signed block_actions payload with the view as container. */
  async clickHomeButton(options: ClickHomeButtonOptions): Promise<BotAnswer> {
    const payload = buildHomeBlockActions({ state: this.state, responseUrls: this.responseUrls }, options);
    const { body, headers } = signedInteraction(this.signingSecret, payload);
    return postToBot(this.eventsUrl(options.botUrl), body, headers, options.timeoutMs);
  }

  /**
   * A user opens the app, its Home tab by default: a signed app_home_opened event posted as JSON to
   * the bot's events URL. The bot answers by calling views.publish, which emulator.homeView() shows.
   */
  async openAppHome(options: AppHomeOpenedOptions = {}): Promise<EventDeliveryResult> {
    return this.deliverEvent(buildAppHomeOpened({ state: this.state, responseUrls: this.responseUrls }, options), options);
  }

  /** Sends any Events API event (an event_callback around `event`) to the bot's events URL, signed. */
  async sendEvent(event: EventCallbackBody['event'], options: EventOptions = {}): Promise<EventDeliveryResult> {
    return this.deliverEvent(buildEventCallback({ state: this.state, responseUrls: this.responseUrls }, event), options);
  }

  /** The Home tab last published for a user, as views.publish returned it. */
  homeView(userId: string): PublishedView | undefined {
    return this.state.homeViews.get(userId);
  }

  /** Resolves with the user's Home tab once one is published that matches the predicate. */
  waitForHomeView(userId: string, predicate: (view: PublishedView) => boolean = () => true, timeoutMs = 2_000): Promise<PublishedView> {
    return this.waitFor(
      () => {
        const view = this.homeView(userId);
        return view && predicate(view) ? view : undefined;
      },
      timeoutMs,
      `a Home tab for ${userId}`,
    );
  }

  /** Posts anything to the bot (forged, stale or unsigned requests) and reports what came back. */
  async sendRaw(body: string, headers: Record<string, string>, path = this.eventsPath): Promise<RawDelivery> {
    const base = this.botUrl;
    if (!base) throw new Error('Emulator: set botUrl before sending requests to the bot.');
    const started = performance.now();
    const response = await fetch(new URL(path, base), { method: 'POST', headers, body });
    const text = await response.text();
    return { status: response.status, body: text, ackMs: performance.now() - started };
  }

  async close(): Promise<void> {
    this.closing.abort();
    this.ui.close();
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    await this.socket.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async deliverEvent(body: EventCallbackBody, options: EventOptions): Promise<EventDeliveryResult> {
    const { body: json, headers } = signedEvent(this.signingSecret, body);
    const result = await postToBot(this.eventsUrl(options.botUrl), json, headers, options.timeoutMs);
    return { ...result, eventId: body.event_id };
  }

  private eventsUrl(override: string | undefined): string {
    const base = override ?? this.botUrl;
    if (!base) throw new Error('Emulator: set botUrl (the bot receiver base URL) before sending commands or clicks.');
    return new URL(this.eventsPath, base).toString();
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://emulator').pathname;
    if (req.method === 'POST' && path.startsWith('/api/')) return this.handleApi(req, res, path.slice('/api/'.length));
    if (req.method === 'POST' && path.startsWith('/response/')) return this.handleResponse(req, res, path.slice('/response/'.length));
    if (await this.ui.handle(req, res, path)) return;
    sendJson(res, 404, { ok: false, error: 'not_found', detail: `${req.method} ${path} is not emulated` });
  }

  private async handleApi(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    const at = Date.now();
    const raw = await readBody(req);
    let body: Obj;
    try {
      body = parseBody(raw, req.headers['content-type']);
    } catch (error) {
      if (!(error instanceof BodyParseError)) throw error;
      return this.answer(res, { method, body: { raw }, at }, 200, { ok: false, error: 'invalid_json' });
    }
    const token = tokenOf(req, body);
    const { token: _token, ...recorded } = body; // never keep tokens in the call log
    const call = { method, body: recorded, at };
    const authError = this.authError(method, token);
    if (authError) return this.answer(res, call, 200, { ok: false, error: authError });
    // As Slack does for a valid token: the WebClient reads it into response_metadata.scopes.
    if (method !== 'apps.connections.open') res.setHeader('x-oauth-scopes', this.grantedScopes.join(','));
    if (await this.applyFault(res, call)) return;
    const handler = METHODS[method];
    if (!handler) return this.answer(res, call, 200, { ok: false, error: 'unknown_method' });
    const needed = requiredScope(method, body, this.state);
    if (needed && !this.grantedScopes.includes(needed)) return this.answer(res, call, 200, { ok: false, error: 'missing_scope', needed, provided: this.grantedScopes.join(',') });
    const context: MethodContext = { state: this.state, baseUrl: this.url, socketUrl: () => this.socket.issueUrl(), homeTabEnabled: this.homeTabEnabled };
    this.answer(res, call, 200, handler(body, context));
  }

  private async handleResponse(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const at = Date.now();
    const raw = await readBody(req);
    let body: Obj;
    try {
      body = parseBody(raw, req.headers['content-type'] ?? 'application/json');
    } catch (error) {
      if (!(error instanceof BodyParseError)) throw error;
      return this.answer(res, { method: 'response_url', body: { raw }, at }, 400, { ok: false, error: 'invalid_payload' });
    }
    const call = { method: 'response_url', body, at };
    if (await this.applyFault(res, call)) return;
    const result = this.responseUrls.handle(id, body);
    this.answer(res, call, result.status, result.body);
  }

  /** Slack's token rules, loosely: bot/user tokens for methods, app-level tokens only for connections. */
  private authError(method: string, token: string | undefined): string | undefined {
    if (!token) return 'not_authed';
    if (method === 'apps.connections.open') {
      if (!token.startsWith('xapp-')) return 'not_allowed_token_type';
      return this.appToken && token !== this.appToken ? 'invalid_auth' : undefined;
    }
    if (token.startsWith('xapp-')) return 'not_allowed_token_type';
    if (this.botToken) return token === this.botToken ? undefined : 'invalid_auth';
    return /^xox[bp]-/.test(token) ? undefined : 'invalid_auth';
  }

  /** Answers with the queued fault, if any. Returns false when the call should proceed normally. */
  private async applyFault(res: ServerResponse, call: Omit<RecordedCall, 'status'>): Promise<boolean> {
    const fault: Fault | undefined = this.faults.take(call.method);
    if (!fault) return false;
    const label = describeFault(fault);
    if (fault.delayMs) {
      try {
        await sleep(fault.delayMs, undefined, { signal: this.closing.signal });
      } catch {
        res.destroy();
        return true;
      }
    }
    if (fault.hang) {
      this.state.recordCall({ ...call, status: 0, fault: label });
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return true;
    }
    if (fault.status === 429) {
      const retryAfter = String(fault.retryAfter ?? 1);
      this.answer(res, { ...call, fault: label }, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': retryAfter });
      return true;
    }
    if (fault.status !== undefined && fault.status !== 200) {
      const text = fault.body ?? JSON.stringify({ ok: false, error: 'internal_error' });
      this.state.recordCall({ ...call, status: fault.status, response: text, fault: label });
      res.writeHead(fault.status, { 'content-type': fault.body ? 'text/plain' : 'application/json' });
      res.end(text);
      return true;
    }
    if (fault.error) {
      this.answer(res, { ...call, fault: label }, 200, { ok: false, error: fault.error });
      return true;
    }
    return false; // a pure delay: answer normally, late
  }

  private answer(res: ServerResponse, call: Omit<RecordedCall, 'status'>, status: number, body: Obj, headers: Record<string, string> = {}): void {
    this.state.recordCall({ ...call, status, response: body });
    sendJson(res, status, body, headers);
  }
}

/** Starts the emulator on 127.0.0.1 and an ephemeral port unless told otherwise. */
export function startSlackEmulator(options: SlackEmulatorOptions = {}): Promise<SlackEmulator> {
  return new SlackEmulator(options).listen(options.port ?? 0, options.host ?? '127.0.0.1');
}
