import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  ACK_DEADLINE_MS,
  buildAppHomeOpened,
  buildBlockActions,
  buildEventCallback,
  buildHomeBlockActions,
  buildSlashCommand,
  settleSlashAck,
  type AppHomeOpenedOptions,
  type BotAnswer,
  type ClickButtonOptions,
  type ClickHomeButtonOptions,
  type DeliveryResult,
  type EventCallbackBody,
  type EventDeliveryResult,
  type EventOptions,
  type InboundContext,
  type SlashCommandOptions,
} from './inbound.js';

/**
 * Enough of Socket Mode for @slack/socket-mode 2.x/3.x (and so Bolt's SocketModeReceiver):
 * apps.connections.open hands out a one-time ticket URL, the server greets with `hello`, sends
 * envelopes and waits for `{envelope_id, payload}` acks.
 */

export interface SocketAck {
  envelopeId: string;
  /** What the app passed to ack(); {} for a bare ack(). */
  payload: unknown;
  ackMs: number;
}

export interface SentEnvelope {
  envelope_id: string;
  type: string;
  accepts_response_payload: boolean;
  payload: unknown;
  /** events_api only: which delivery attempt this is (Slack retries unacknowledged events). */
  retry_attempt?: number;
  retry_reason?: string;
}

interface Pending {
  resolve: (ack: SocketAck) => void;
  reject: (error: Error) => void;
  started: number;
  timer: NodeJS.Timeout;
  type: string;
}

export class SocketModeServer {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sockets = new Set<WebSocket>();
  private readonly tickets = new Set<string>();
  private readonly pending = new Map<string, Pending>();
  private nextSocket = 0;
  /** Every envelope sent, in order, for assertions and a sandbox UI. */
  readonly sent: SentEnvelope[] = [];

  constructor(
    private readonly ctx: InboundContext,
    private readonly baseWsUrl: () => string,
  ) {}

  get connections(): number {
    return this.sockets.size;
  }

  /** A fresh one-time URL, as apps.connections.open returns. */
  issueUrl(): string {
    const ticket = randomBytes(12).toString('hex');
    this.tickets.add(ticket);
    return `${this.baseWsUrl()}/link/?ticket=${ticket}&app_id=${this.ctx.state.bot.appId}`;
  }

  /** Called by the HTTP server on an upgrade request; refuses URLs that were not issued. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const ticket = url.searchParams.get('ticket') ?? '';
    if (!url.pathname.startsWith('/link') || !this.tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
  }

  private onConnection(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('message', (data) => this.onMessage(data.toString()));
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.sockets.size,
        debug_info: { host: 'applink-emulator', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: this.ctx.state.bot.appId },
      }),
    );
  }

  private onMessage(text: string): void {
    let message: { envelope_id?: unknown; payload?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return; // Slack ignores garbage from clients too
    }
    const id = typeof message.envelope_id === 'string' ? message.envelope_id : undefined;
    const waiting = id ? this.pending.get(id) : undefined;
    if (!id || !waiting) return;
    this.pending.delete(id);
    clearTimeout(waiting.timer);
    waiting.resolve({ envelopeId: id, payload: message.payload ?? {}, ackMs: performance.now() - waiting.started });
  }

  /** Resolves once at least `count` clients have completed the handshake. */
  async waitForConnection(timeoutMs = 5_000, count = 1): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.sockets.size < count) {
      if (Date.now() > deadline)
        throw new Error(`Emulator: no Socket Mode client connected within ${timeoutMs} ms (is the app started with socketMode: true and clientOptions.slackApiUrl?)`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Sends one envelope to one connection (round robin, as Slack spreads load) and waits for its ack. */
  send(type: string, payload: unknown, timeoutMs = ACK_DEADLINE_MS): Promise<SocketAck> {
    const open = [...this.sockets].filter((ws) => ws.readyState === ws.OPEN);
    const ws = open[this.nextSocket++ % Math.max(open.length, 1)];
    if (!ws) return Promise.reject(new Error('Emulator: no Socket Mode client is connected.'));
    const envelope: SentEnvelope = { envelope_id: randomUUID(), type, accepts_response_payload: type !== 'events_api', payload };
    if (type === 'events_api') Object.assign(envelope, { retry_attempt: 0, retry_reason: '' });
    this.sent.push(envelope);
    return new Promise<SocketAck>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(envelope.envelope_id);
        reject(new Error(`Emulator: ${type} envelope ${envelope.envelope_id} was not acknowledged within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(envelope.envelope_id, { resolve, reject, started: performance.now(), timer, type });
      ws.send(JSON.stringify(envelope));
    });
  }

  /** A slash command over the socket; the ack payload is applied as Slack would (shown to the caller). */
  async sendSlashCommand(options: SlashCommandOptions = {}): Promise<DeliveryResult & { envelopeId?: string }> {
    const { fields, record } = buildSlashCommand(this.ctx, options);
    const timeoutMs = options.timeoutMs ?? ACK_DEADLINE_MS;
    try {
      const ack = await this.send('slash_commands', { ...fields, is_enterprise_install: 'false' }, timeoutMs);
      const body = JSON.stringify(ack.payload);
      return { ...settleSlashAck(this.ctx, record, fields.command, { status: 200, body, json: ack.payload, ackMs: ack.ackMs }), envelopeId: ack.envelopeId };
    } catch (error) {
      if (!/not acknowledged/.test((error as Error).message)) throw error;
      return settleSlashAck(this.ctx, record, fields.command, { status: 0, body: '', ackMs: timeoutMs, slackError: 'operation_timeout' });
    }
  }

  /** A button click over the socket, as an `interactive` envelope carrying a block_actions payload. */
  async clickButton(options: ClickButtonOptions): Promise<DeliveryResult & { envelopeId?: string }> {
    const { payload, record } = buildBlockActions(this.ctx, options);
    const timeoutMs = options.timeoutMs ?? ACK_DEADLINE_MS;
    try {
      const ack = await this.send('interactive', payload, timeoutMs);
      return { status: 200, body: JSON.stringify(ack.payload), json: ack.payload, ackMs: ack.ackMs, responseUrl: record.url, envelopeId: ack.envelopeId };
    } catch (error) {
      if (!/not acknowledged/.test((error as Error).message)) throw error;
      // Slack marks a failed click with a warning icon, not a message: nothing to add to the model.
      return { status: 0, body: '', ackMs: timeoutMs, slackError: 'operation_timeout', responseUrl: record.url };
    }
  }

  /** A click on a button of a user's Home tab, as an `interactive` envelope (no response URL: views have none). */
  async clickHomeButton(options: ClickHomeButtonOptions): Promise<BotAnswer & { envelopeId?: string }> {
    const payload = buildHomeBlockActions(this.ctx, options);
    const timeoutMs = options.timeoutMs ?? ACK_DEADLINE_MS;
    try {
      const ack = await this.send('interactive', payload, timeoutMs);
      return { status: 200, body: JSON.stringify(ack.payload), json: ack.payload, ackMs: ack.ackMs, envelopeId: ack.envelopeId };
    } catch (error) {
      if (!/not acknowledged/.test((error as Error).message)) throw error;
      return { status: 0, body: '', ackMs: timeoutMs, slackError: 'operation_timeout' };
    }
  }

  /** An Events API event over the socket, in an events_api envelope (the app acks it with no payload). */
  async sendEvent(event: EventCallbackBody['event'], options: EventOptions = {}): Promise<EventDeliveryResult> {
    return this.deliverEvent(buildEventCallback(this.ctx, event), options);
  }

  /** A user opens the app (its Home tab by default): app_home_opened over the socket. */
  async openAppHome(options: AppHomeOpenedOptions = {}): Promise<EventDeliveryResult> {
    return this.deliverEvent(buildAppHomeOpened(this.ctx, options), options);
  }

  private async deliverEvent(body: EventCallbackBody, options: EventOptions): Promise<EventDeliveryResult> {
    const timeoutMs = options.timeoutMs ?? ACK_DEADLINE_MS;
    try {
      const ack = await this.send('events_api', body, timeoutMs);
      return { status: 200, body: JSON.stringify(ack.payload), json: ack.payload, ackMs: ack.ackMs, eventId: body.event_id, envelopeId: ack.envelopeId };
    } catch (error) {
      if (!/not acknowledged/.test((error as Error).message)) throw error;
      return { status: 0, body: '', ackMs: timeoutMs, slackError: 'operation_timeout', eventId: body.event_id };
    }
  }

  /** Sends a ready-made interactive payload (view_submission, block_actions built by hand, ...). */
  sendInteractive(payload: unknown, timeoutMs = ACK_DEADLINE_MS): Promise<SocketAck> {
    return this.send('interactive', payload, timeoutMs);
  }

  /** Asks every client to reconnect, as Slack does before recycling a server (reason: refresh_requested, warning, ...). */
  requestReconnect(reason = 'refresh_requested'): void {
    for (const ws of this.sockets) ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-emulator' } }));
  }

  async close(): Promise<void> {
    for (const [id, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.reject(new Error(`Emulator closed before ${waiting.type} envelope ${id} was acknowledged`));
    }
    this.pending.clear();
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
