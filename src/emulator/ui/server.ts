import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { readBody, sendJson, type Obj } from '../http.js';
import type { ClickButtonOptions, DeliveryResult, SlashCommandOptions } from '../inbound.js';
import type { MessageChange, SlackState } from '../model.js';
import { renderRunbookPage } from './runbook.js';

/**
 * The emulator's web page: a Slack-like channel view over the in-memory workspace, served by the
 * emulator's own HTTP server. Static files (page.html, app.js, style.css) sit next to this module
 * and are read once; the page reads /ui/state, follows /ui/events (Server-Sent Events) and sends
 * commands and clicks through the emulator, signed as Slack signs them.
 */

/** What the UI needs from the emulator (SlackEmulator satisfies it). */
export interface UiHost {
  readonly state: SlackState;
  readonly botUrl: string | undefined;
  slashCommand(options: SlashCommandOptions): Promise<DeliveryResult>;
  clickButton(options: ClickButtonOptions): Promise<DeliveryResult>;
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
  '/ui/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/ui/style.css': ['style.css', 'text/css; charset=utf-8'],
  '/ui/runbook.css': ['runbook.css', 'text/css; charset=utf-8'],
};

let assetCache: Map<string, Asset> | undefined;

/** Next to this module; from a tsc build in dist/ (which copies no static files), the sources. */
function readAsset(file: string): Buffer {
  try {
    return readFileSync(new URL(`./${file}`, import.meta.url));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    try {
      return readFileSync(new URL(`../../../src/emulator/ui/${file}`, import.meta.url));
    } catch {
      return Buffer.from(`The emulator's page file ${file} was not found next to ${fileURLToPath(import.meta.url)}.`);
    }
  }
}

function loadAssets(): Map<string, Asset> {
  assetCache ??= new Map(Object.entries(ASSET_FILES).map(([path, [file, type]]) => [path, { body: readAsset(file), type }]));
  return assetCache;
}

/** No inline script, no remote anything: message data can never become code on this page. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
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
  private readonly onChange = (change: MessageChange) => this.broadcast(change);
  private closed = false;

  constructor(
    private readonly host: UiHost,
    options: UiOptions = {},
  ) {
    this.runbookPath = options.runbookPath ?? DEFAULT_RUNBOOK_PATH;
    this.assets = loadAssets();
    // One listener for all streams, however many tabs are open.
    host.state.on('message', this.onChange);
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
          res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, 'cache-control': 'no-cache', ...SECURITY_HEADERS });
          res.end(method === 'HEAD' ? undefined : asset.body);
          return true;
        }
        if (path === '/ui/state') this.sendState(res);
        else if (path === '/ui/events') this.openStream(req, res);
        else if (path === '/runbook' || path === '/runbook/') await this.sendRunbook(res);
        else if (path === '/favicon.ico') res.writeHead(204).end();
        else return false;
        return true;
      }
      if (method === 'POST' && path === '/ui/command') await this.command(req, res);
      else if (method === 'POST' && path === '/ui/click') await this.click(req, res);
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
    this.host.state.off('message', this.onChange);
    for (const stream of [...this.streams]) {
      this.dropStream(stream);
      stream.res.end();
    }
  }

  private snapshot(): Obj {
    const { state } = this.host;
    return {
      bot: state.bot,
      users: [...state.users.values()],
      channels: [...state.channels.values()],
      usergroups: [...state.usergroups.values()],
      messages: state.allMessages(),
      botConnected: Boolean(this.host.botUrl),
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

  private broadcast(change: MessageChange): void {
    if (this.streams.size === 0) return;
    const frame = `data: ${JSON.stringify({ type: change.type, message: change.message })}\n\n`;
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
    if (!state.channels.has(channelId)) throw new BadRequest(`no channel ${JSON.stringify(channelId)}`);
    return { userId, channelId };
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
      return sendJson(res, 200, { ok: true, kind: 'message', status: 200, ackMs: 0, ts: message.ts });
    }
    const command = `/${slash[1]!}`;
    if (command !== '/jobq') {
      const text = `${command} is not a valid command. In Slack, all messages that start with the "/" character are interpreted as commands.`;
      state.post({ channel: channelId, text: escapeMrkdwn(text), user: 'USLACKBOT', visibleTo: userId, via: 'slack' });
      return sendJson(res, 200, { ok: false, kind: 'unknown_command', status: 0, ackMs: 0, error: 'unknown_command' });
    }
    const result = await this.deliver(userId, channelId, command, () => this.host.slashCommand({ text: (slash[2] ?? '').trim(), userId, channelId }));
    sendJson(res, 200, { ok: !result.slackError, kind: 'command', ...result });
  }

  private async click(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await this.jsonBody(req);
    const { userId, channelId } = this.who(body);
    const messageTs = typeof body.messageTs === 'string' ? body.messageTs : '';
    const actionId = typeof body.actionId === 'string' ? body.actionId : '';
    if (!messageTs || !actionId) throw new BadRequest('messageTs and actionId are required');
    const value = typeof body.value === 'string' ? body.value : undefined;
    const result = await this.deliver(userId, channelId, undefined, () =>
      this.host.clickButton({ messageTs, channelId, actionId, userId, ...(value !== undefined ? { value } : {}) }),
    );
    sendJson(res, 200, { ok: !result.slackError, kind: 'click', ...result });
  }

  /**
   * Runs a delivery into the bot. A bot that is not connected or cannot be reached is what Slack
   * calls dispatch_failed; a click on a message or button that is not there is the caller's error.
   */
  private async deliver(userId: string, channelId: string, command: string | undefined, send: () => Promise<DeliveryResult>): Promise<{ status: number; ackMs: number; slackError?: string; detail?: string }> {
    const started = performance.now();
    const unreachable = (detail: string) => {
      if (command) {
        const text = `${command} failed with the error "dispatch_failed"`;
        this.host.state.post({ channel: channelId, text, user: 'USLACKBOT', visibleTo: userId, via: 'slack' });
      }
      return { status: 0, ackMs: performance.now() - started, slackError: 'dispatch_failed', detail };
    };
    if (!this.host.botUrl) return unreachable('No bot is connected to the emulator (botUrl is not set).');
    let result: DeliveryResult;
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

function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
