import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { readBody, sendJson, type Obj } from '../http.js';
import type { AppHomeOpenedOptions, BotAnswer, ClickButtonOptions, ClickHomeButtonOptions, DeliveryResult, EventDeliveryResult, SlashCommandOptions } from '../inbound.js';
import type { MessageChange, SlackState, ViewChange } from '../model.js';
import type { DeliveryReply, Snapshot, StreamEvent } from './page/wire.js';
import { PageModules } from './page-modules.js';
import { renderRunbookPage } from './runbook.js';

/**
 * The emulator's web page: a Slack-like workspace over the in-memory model, served by the
 * emulator's own HTTP server. page.html and the stylesheets sit next to this module and are read
 * once; the script is the ES modules of ./page (see page-modules.ts). The page reads /ui/state,
 * follows /ui/events (Server-Sent Events) and sends commands, clicks and Home tab openings through
 * the emulator, signed as Slack signs them.
 */

/** What the UI needs from the emulator (SlackEmulator satisfies it). */
export interface UiHost {
  readonly state: SlackState;
  readonly botUrl: string | undefined;
  readonly homeTabEnabled: boolean;
  slashCommand(options: SlashCommandOptions): Promise<DeliveryResult>;
  clickButton(options: ClickButtonOptions): Promise<DeliveryResult>;
  clickHomeButton(options: ClickHomeButtonOptions): Promise<BotAnswer>;
  openAppHome(options: AppHomeOpenedOptions): Promise<EventDeliveryResult>;
}

export interface UiOptions {
  /** Markdown file served at /runbook (default: docs/runbooks/job-queue.md of this repository). */
  runbookPath?: string;
}

export const DEFAULT_RUNBOOK_PATH = fileURLToPath(new URL('../../../docs/runbooks/job-queue.md', import.meta.url));
export const HEARTBEAT_MS = 15_000;

interface Asset {
  body: Buffer;
  type: string;
}

const ASSET_FILES: Record<string, [file: string, type: string]> = {
  '/': ['page.html', 'text/html; charset=utf-8'],
  '/ui/style.css': ['style.css', 'text/css; charset=utf-8'],
  '/ui/runbook.css': ['runbook.css', 'text/css; charset=utf-8'],
};

const SCRIPT_TYPE = 'text/javascript; charset=utf-8';
const PAGE_MODULE = /^\/ui\/page\/([a-z][a-z0-9-]*)\.js$/;

/**
 * `npm run build` copies the static files next to the compiled module and compiles the page's
 * modules there; a bare `tsc` build does neither, so the sources are the fallback.
 */
const SOURCES = new URL('../../../src/emulator/ui/', import.meta.url);
const HERE = new URL('./', import.meta.url);

let assetCache: Map<string, Asset> | undefined;

function readAsset(file: string): Buffer {
  try {
    return readFileSync(new URL(file, HERE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    try {
      return readFileSync(new URL(file, SOURCES));
    } catch {
      return Buffer.from(`The emulator's page file ${file} was not found next to ${fileURLToPath(import.meta.url)}.`);
    }
  }
}

const pageModules = new PageModules(HERE.href === SOURCES.href ? [new URL('page/', HERE)] : [new URL('page/', HERE), new URL('page/', SOURCES)]);

function loadAssets(): Map<string, Asset> {
  assetCache ??= new Map(Object.entries(ASSET_FILES).map(([path, [file, type]]) => [path, { body: readAsset(file), type }]));
  return assetCache;
}

/** No inline script, no remote anything: message data can never become code on this page. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

class BadRequest extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

interface Stream {
  res: ServerResponse;
  heartbeat: NodeJS.Timeout;
}

export class SandboxUi {
  /** Interval of the SSE comment lines that keep proxies and browsers from dropping the stream. */
  heartbeatMs = HEARTBEAT_MS;
  readonly runbookPath: string;
  private readonly streams = new Set<Stream>();
  private readonly assets: Map<string, Asset>;
  private readonly onMessage = (change: MessageChange) => this.broadcast({ type: change.type, message: change.message });
  private readonly onView = (change: ViewChange) => this.broadcast({ type: change.type, userId: change.userId, view: change.view });
  private closed = false;

  constructor(
    private readonly host: UiHost,
    options: UiOptions = {},
  ) {
    this.runbookPath = options.runbookPath ?? DEFAULT_RUNBOOK_PATH;
    this.assets = loadAssets();
    // One listener for all streams, however many tabs are open.
    host.state.on('message', this.onMessage);
    host.state.on('view', this.onView);
  }

  /** Open Server-Sent Events streams. */
  get openStreams(): number {
    return this.streams.size;
  }

  /** Serves the request when it is one of the UI's routes; false lets the emulator answer it. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    const method = req.method ?? 'GET';
    try {
      if (method === 'GET' || method === 'HEAD') {
        const asset = this.assets.get(path === '/index.html' ? '/' : path);
        if (asset) {
          sendAsset(res, method, asset);
          return true;
        }
        const module = PAGE_MODULE.exec(path);
        const script = module ? await pageModules.get(module[1]!) : undefined;
        if (script) sendAsset(res, method, { body: script, type: SCRIPT_TYPE });
        else if (path === '/ui/state') this.sendState(res);
        else if (path === '/ui/events') this.openStream(req, res);
        else if (path === '/runbook' || path === '/runbook/') await this.sendRunbook(res);
        else if (path === '/favicon.ico') res.writeHead(204).end();
        else return false;
        return true;
      }
      if (method === 'POST' && path === '/ui/command') await this.command(req, res);
      else if (method === 'POST' && path === '/ui/click') await this.click(req, res);
      else if (method === 'POST' && path === '/ui/home') await this.home(req, res);
      else return false;
      return true;
    } catch (error) {
      if (!(error instanceof BadRequest)) throw error;
      sendJson(res, error.status, { ok: false, error: error.message });
      return true;
    }
  }

  /** Ends every open event stream and stops listening to the model. */
  close(): void {
    this.closed = true;
    this.host.state.off('message', this.onMessage);
    this.host.state.off('view', this.onView);
    for (const stream of [...this.streams]) {
      this.dropStream(stream);
      stream.res.end();
    }
  }

  private snapshot(): Snapshot {
    const { state } = this.host;
    return {
      bot: state.bot,
      users: [...state.users.values()],
      channels: [...state.channels.values()],
      usergroups: [...state.usergroups.values()],
      messages: state.allMessages(),
      homeViews: Object.fromEntries(state.homeViews),
      botConnected: Boolean(this.host.botUrl),
      homeTabEnabled: this.host.homeTabEnabled,
    };
  }

  private sendState(res: ServerResponse): void {
    sendJson(res, 200, this.snapshot(), { 'cache-control': 'no-store' });
  }

  private openStream(req: IncomingMessage, res: ServerResponse): void {
    if (this.closed) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    req.socket.setNoDelay(true);
    // retry: how soon the browser reconnects after the emulator restarts.
    res.write('retry: 1000\n: connected\n\n');
    const stream: Stream = {
      res,
      heartbeat: setInterval(() => res.write(': heartbeat\n\n'), this.heartbeatMs),
    };
    stream.heartbeat.unref();
    this.streams.add(stream);
    res.on('close', () => this.dropStream(stream));
    res.on('error', () => this.dropStream(stream));
  }

  private dropStream(stream: Stream): void {
    clearInterval(stream.heartbeat);
    this.streams.delete(stream);
  }

  private broadcast(event: StreamEvent): void {
    if (this.streams.size === 0) return;
    const frame = `data: ${JSON.stringify(event)}\n\n`;
    for (const stream of this.streams) {
      if (stream.res.writableEnded || stream.res.destroyed) this.dropStream(stream);
      else stream.res.write(frame);
    }
  }

  private async sendRunbook(res: ServerResponse): Promise<void> {
    let markdown: string;
    try {
      markdown = await readFile(this.runbookPath, 'utf8');
    } catch (error) {
      const text = `Runbook not found at ${this.runbookPath}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
      res.end(text);
      return;
    }
    const html = renderRunbookPage(markdown);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), 'cache-control': 'no-cache', ...SECURITY_HEADERS });
    res.end(html);
  }

  private async jsonBody(req: IncomingMessage): Promise<Obj> {
    // JSON only: a cross-site form cannot post it without a CORS preflight, which is never granted.
    if (!req.headers['content-type']?.includes('application/json')) throw new BadRequest('expected an application/json body', 415);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readBody(req));
    } catch {
      throw new BadRequest('body is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new BadRequest('body must be a JSON object');
    return parsed as Obj;
  }

  private who(body: Obj): { userId: string; channelId: string } {
    const { state } = this.host;
    const userId = typeof body.userId === 'string' ? body.userId : '';
    const channelId = typeof body.channelId === 'string' ? body.channelId : '';
    const user = state.users.get(userId);
    if (!user || user.isBot) throw new BadRequest(`no user ${JSON.stringify(userId)}`);
    // The app's Messages tab: the user's DM with the app, opened on the first line typed there.
    if (channelId === `D_${userId}` && !state.channels.has(channelId)) state.findChannel(userId);
    if (!state.channels.has(channelId)) throw new BadRequest(`no channel ${JSON.stringify(channelId)}`);
    return { userId, channelId };
  }

  private human(body: Obj): string {
    const userId = typeof body.userId === 'string' ? body.userId : '';
    const user = this.host.state.users.get(userId);
    if (!user || user.isBot) throw new BadRequest(`no user ${JSON.stringify(userId)}`);
    return userId;
  }

  /**
   * A line from the composer. `/jobq ARGS` becomes a signed slash command with text ARGS; another
   * `/word` is refused as Slack refuses unknown commands; anything else is posted as the user.
   */
  private async command(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await this.jsonBody(req);
    const { userId, channelId } = this.who(body);
    const line = typeof body.text === 'string' ? body.text.trim() : '';
    if (line === '') throw new BadRequest('text is empty');
    const { state } = this.host;
    const slash = /^\/(\S+)(?:\s+([\s\S]*))?$/.exec(line);
    if (!slash) {
      const threadTs = typeof body.threadTs === 'string' && state.get(channelId, body.threadTs) ? body.threadTs : undefined;
      const message = state.post({ channel: channelId, text: escapeMrkdwn(line), user: userId, ...(threadTs ? { thread_ts: threadTs } : {}), via: 'ui' });
      return reply(res, { ok: true, kind: 'message', status: 200, ackMs: 0, ts: message.ts });
    }
    const command = `/${slash[1]!}`;
    if (command !== '/jobq') {
      const text = `${command} is not a valid command. In Slack, all messages that start with the "/" character are interpreted as commands.`;
      state.post({ channel: channelId, text: escapeMrkdwn(text), user: 'USLACKBOT', visibleTo: userId, via: 'slack' });
      return reply(res, { ok: false, kind: 'unknown_command', status: 0, ackMs: 0, error: 'unknown_command' });
    }
    const result = await this.deliver(userId, channelId, command, () => this.host.slashCommand({ text: (slash[2] ?? '').trim(), userId, channelId }));
    reply(res, { ok: !result.slackError, kind: 'command', ...result });
  }

  /** A button in a message (messageTs + channelId), or in the user's Home tab (surface: 'home'). */
  private async click(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await this.jsonBody(req);
    const actionId = typeof body.actionId === 'string' ? body.actionId : '';
    const value = typeof body.value === 'string' ? body.value : undefined;
    if (body.surface === 'home') {
      const userId = this.human(body);
      if (!actionId) throw new BadRequest('actionId is required');
      const result = await this.deliver(userId, '', undefined, () => this.host.clickHomeButton({ userId, actionId, ...(value !== undefined ? { value } : {}) }));
      return reply(res, { ok: !result.slackError, kind: 'click', ...result });
    }
    const { userId, channelId } = this.who(body);
    const messageTs = typeof body.messageTs === 'string' ? body.messageTs : '';
    if (!messageTs || !actionId) throw new BadRequest('messageTs and actionId are required');
    const result = await this.deliver(userId, channelId, undefined, () =>
      this.host.clickButton({ messageTs, channelId, actionId, userId, ...(value !== undefined ? { value } : {}) }),
    );
    reply(res, { ok: !result.slackError, kind: 'click', ...result });
  }

  /**
   * The user opened the app (its Home tab unless `tab` says messages): app_home_opened goes to the
   * bot, whose views.publish reaches the page as a view_published event. The reply only says
   * whether the bot took the event.
   */
  private async home(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await this.jsonBody(req);
    const userId = this.human(body);
    const tab = body.tab === 'messages' ? 'messages' : 'home';
    const result = await this.deliver(userId, '', undefined, () => this.host.openAppHome({ userId, tab }));
    reply(res, { ok: !result.slackError, kind: 'home', ...result });
  }

  /**
   * Runs a delivery into the bot. A bot that is not connected or cannot be reached is what Slack
   * calls dispatch_failed; a click on a message or button that is not there is the caller's error.
   */
  private async deliver(
    userId: string,
    channelId: string,
    command: string | undefined,
    send: () => Promise<BotAnswer>,
  ): Promise<{ status: number; ackMs: number; slackError?: string; detail?: string }> {
    const started = performance.now();
    const unreachable = (detail: string) => {
      if (command) {
        const text = `${command} failed with the error "dispatch_failed"`;
        this.host.state.post({ channel: channelId, text, user: 'USLACKBOT', visibleTo: userId, via: 'slack' });
      }
      return { status: 0, ackMs: performance.now() - started, slackError: 'dispatch_failed', detail };
    };
    if (!this.host.botUrl) return unreachable('No bot is connected to the emulator (botUrl is not set).');
    let result: BotAnswer;
    try {
      result = await send();
    } catch (error) {
      const err = error as Error;
      if (err.cause !== undefined) return unreachable(err.message);
      throw new BadRequest(err.message.replace(/^Emulator: /, ''));
    }
    return { status: result.status, ackMs: Math.round(result.ackMs), ...(result.slackError ? { slackError: result.slackError } : {}) };
  }
}

function sendAsset(res: ServerResponse, method: string, asset: Asset): void {
  res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, 'cache-control': 'no-cache', ...SECURITY_HEADERS });
  res.end(method === 'HEAD' ? undefined : asset.body);
}

function reply(res: ServerResponse, body: DeliveryReply): void {
  sendJson(res, 200, body);
}

function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
