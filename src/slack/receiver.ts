import { AsyncLocalStorage } from 'node:async_hooks';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseQuery } from 'node:querystring';
import type { App, Receiver } from '@slack/bolt';
import { z } from 'zod';
import type { Logger } from '../log.js';
import type { ReplayGuard } from './replay.js';
import { verifySlackSignature } from './verify.js';

/** An extra GET path on the bot's port (/healthz, /readyz, /metrics). */
export interface Route {
  path: string;
  handle(req: IncomingMessage, res: ServerResponse): void | Promise<void>;
}

/** What the process-level fault handler can say about the request a stray error came from. */
export interface RequestContext {
  kind: string;
  id: string;
  user?: string | undefined;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

/** Slack's requests are small; anything near this is not from Slack. */
const BODY_LIMIT_BYTES = 1_000_000;
/** If no listener acks (an event nobody handles) Slack still gets its 200 before it gives up. */
const FALLBACK_ACK_MS = 2_500;

const str = z.string();
const slashCommand = z.looseObject({
  command: z.string().regex(/^\/\S{1,64}$/),
  text: z.string(),
  user_id: str.min(1),
  channel_id: str.min(1),
  response_url: z.url(),
  team_id: str.optional(),
});
const interactive = z.looseObject({
  type: z.enum(['block_actions', 'view_submission', 'view_closed', 'shortcut', 'message_action', 'block_suggestion']),
  user: z.looseObject({ id: str.min(1) }),
});
const blockActions = z.looseObject({
  type: z.literal('block_actions'),
  actions: z
    .array(z.looseObject({ action_id: str.min(1).max(255), value: str.optional() }))
    .min(1)
    .max(25),
  response_url: z.url().optional(),
});
const eventsApi = z.union([
  z.looseObject({ type: z.literal('url_verification'), challenge: z.string().max(1_000) }),
  z.looseObject({ type: z.literal('event_callback'), event: z.looseObject({ type: z.string() }) }),
  z.looseObject({ type: z.literal('app_rate_limited') }),
]);

type Parsed = { ok: true; body: Record<string, unknown>; kind: string } | { ok: false; reason: string };

/**
 * A request body as Bolt may see it, or why not: only the shapes Slack sends (a slash command, an
 * interactivity payload, an Events API envelope). Anything else, correctly signed or not, is a
 * 400: Bolt reads fields of whatever it is given and would throw on `null` or an array.
 */
export function parseSlackBody(raw: Buffer, contentType: string | undefined): Parsed {
  const text = raw.toString('utf8');
  let body: unknown;
  try {
    if ((contentType ?? '').startsWith('application/x-www-form-urlencoded')) {
      const form = parseQuery(text);
      body = typeof form.payload === 'string' ? (JSON.parse(form.payload) as unknown) : form;
    } else {
      body = JSON.parse(text) as unknown;
    }
  } catch {
    return { ok: false, reason: 'body is not valid form data or JSON' };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { ok: false, reason: 'body is not an object' };
  const record = body as Record<string, unknown>;
  if ('command' in record) {
    return slashCommand.safeParse(record).success ? { ok: true, body: record, kind: 'command' } : { ok: false, reason: 'malformed slash command' };
  }
  if (interactive.safeParse(record).success) {
    if (record.type === 'block_actions' && !blockActions.safeParse(record).success) return { ok: false, reason: 'malformed block_actions payload' };
    return { ok: true, body: record, kind: String(record.type) };
  }
  if (eventsApi.safeParse(record).success) return { ok: true, body: record, kind: String(record.type) };
  return { ok: false, reason: 'not a Slack request this app handles' };
}

function readBody(req: IncomingMessage): Promise<Buffer | 'too_large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT_BYTES) {
        resolve('too_large');
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function reply(res: ServerResponse, status: number, body?: unknown): void {
  if (res.headersSent) return;
  if (body === undefined || body === '') {
    res.writeHead(status).end();
  } else if (typeof body === 'string') {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
  } else {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }
}

export interface ReceiverOptions {
  /** Without one, the server only serves the routes (Socket Mode: Slack's requests come over the socket). */
  signingSecret?: string | undefined;
  replay?: ReplayGuard | undefined;
  routes: Route[];
  log: Logger;
  /** Where Slack posts; Bolt's default. */
  path?: string;
}

/**
 * The bot's HTTP server: Slack's request URL in HTTP mode, and /healthz, /readyz (and the like)
 * in every mode. It stands in for Bolt's HTTPReceiver to own the checks Bolt leaves out: a
 * timestamp too far in the future, a signature already used (a replay, on any replica), a body
 * that is signed but not a Slack request. Each is refused with a status, never a thrown error.
 */
export class JobqReceiver implements Receiver {
  private app: App | undefined;
  private server: Server | undefined;
  private readonly path: string;

  constructor(private readonly options: ReceiverOptions) {
    this.path = options.path ?? '/slack/events';
  }

  init(app: App): void {
    this.app = app;
  }

  async start(port: number): Promise<Server> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.options.log.error({ err: error, path: req.url }, 'request handling failed');
        reply(res, 500);
      });
    });
    // Idle keep-alive sockets would hold stop() open; Slack opens a connection per request anyway.
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    return server;
  }

  port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET') {
      const route = this.options.routes.find((r) => r.path === url.pathname);
      if (route) return route.handle(req, res);
      return reply(res, 404);
    }
    if (req.method !== 'POST' || url.pathname !== this.path || !this.options.signingSecret) return reply(res, 404);

    const raw = await readBody(req);
    if (raw === 'too_large') return reply(res, 413, 'body too large');
    const contentType = req.headers['content-type'];
    // Slack checks the certificate with an unsigned ssl_check=1; nothing else of such a body is read.
    if ((contentType ?? '').startsWith('application/x-www-form-urlencoded') && parseQuery(raw.toString('utf8')).ssl_check === '1') return reply(res, 200);

    const verdict = verifySlackSignature(this.options.signingSecret, { signature: req.headers['x-slack-signature'], timestamp: req.headers['x-slack-request-timestamp'] }, raw);
    if (!verdict.ok) {
      this.options.log.warn({ reason: verdict.reason }, 'refused a request that is not from Slack');
      return reply(res, 401, 'invalid signature');
    }
    if (this.options.replay && !(await this.options.replay.firstSeen(verdict.signature, verdict.timestamp))) {
      this.options.log.warn({ timestamp: verdict.timestamp }, 'refused a replayed Slack request (signature already used)');
      return reply(res, 401, 'replayed request');
    }
    const parsed = parseSlackBody(raw, contentType);
    if (!parsed.ok) {
      this.options.log.warn({ reason: parsed.reason }, 'refused a signed request that is not a Slack request');
      return reply(res, 400, parsed.reason);
    }
    if (parsed.body.type === 'url_verification') return reply(res, 200, { challenge: parsed.body.challenge });
    await this.dispatch(parsed.body, parsed.kind, req, res);
  }

  private async dispatch(body: Record<string, unknown>, kind: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    let acked = false;
    const fallback = setTimeout(() => {
      if (acked) return;
      acked = true;
      this.options.log.debug({ kind }, 'no listener acknowledged this request; answered 200 for it');
      reply(res, 200);
    }, FALLBACK_ACK_MS);
    const ack = async (response?: unknown): Promise<void> => {
      if (acked) return;
      acked = true;
      clearTimeout(fallback);
      reply(res, 200, response === undefined || response === null ? undefined : response);
    };
    const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : undefined);
    const retryNum = header('x-slack-retry-num');
    const retryReason = header('x-slack-retry-reason');
    const context: RequestContext = { kind, id: String(body.trigger_id ?? body.event_id ?? ''), user: userOf(body) };
    try {
      await requestContext.run(context, () => this.app!.processEvent({ body, ack, ...(retryNum ? { retryNum: Number(retryNum) } : {}), ...(retryReason ? { retryReason } : {}) }));
      // Bolt returns once every listener is done; an event no listener took still gets its 200.
      await ack();
    } catch (error) {
      this.options.log.error({ err: error, request: context }, 'Slack request failed before an answer');
      if (!acked) {
        acked = true;
        clearTimeout(fallback);
        reply(res, 500);
      }
    }
  }
}

function userOf(body: Record<string, unknown>): string | undefined {
  if (typeof body.user_id === 'string') return body.user_id;
  const user = body.user as { id?: unknown } | undefined;
  return typeof user?.id === 'string' ? user.id : undefined;
}
