import { randomBytes } from 'node:crypto';
import { flag, str, type Obj } from './http.js';
import { messageContent } from './methods.js';
import type { SlackMessage, SlackState } from './model.js';

/** Slack accepts at most 5 responses per response_url, within 30 minutes of the interaction. */
export const RESPONSE_URL_MAX_USES = 5;
export const RESPONSE_URL_TTL_MS = 30 * 60_000;

export interface ResponseUrlRecord {
  id: string;
  url: string;
  channel: string;
  user: string;
  /** The message a replace_original/delete_original acts on: the clicked one, or the command's first reply. */
  messageTs?: string;
  createdAt: number;
  uses: number;
}

export type ResponseOutcome = 'ephemeral' | 'in_channel' | 'replaced' | 'deleted';

export interface RecordedResponse {
  urlId: string;
  body: Obj;
  at: number;
  status: number;
  outcome?: ResponseOutcome;
  error?: string;
  message?: SlackMessage;
}

export interface ResponseResult {
  status: number;
  body: Obj;
}

interface Target {
  channel: string;
  user: string;
  messageTs?: string;
}

/**
 * Applies a response (response_url post or an ack body) to the model as Slack shows it:
 * ephemeral to the caller by default, in_channel to everyone, or replacing/deleting the original.
 * Returns the Slack error code when the content would be refused.
 */
export function applyResponse(state: SlackState, target: Target, body: Obj, via: string): { outcome: ResponseOutcome; message?: SlackMessage } | { error: string } {
  const original = target.messageTs ? state.get(target.channel, target.messageTs) : undefined;
  if (flag(body.delete_original)) {
    if (!original) return { error: 'message_not_found' };
    state.delete(original.channel, original.ts);
    return { outcome: 'deleted', message: original };
  }
  const content = messageContent(body);
  if ('error' in content) return { error: String(content.error.error) };
  if (flag(body.replace_original) && original) {
    // A replacement is a whole new message body: blocks left out are gone, visibility stays.
    const message = state.update(original.channel, original.ts, { text: content.text, blocks: content.blocks, attachments: content.attachments });
    return message ? { outcome: 'replaced', message } : { error: 'message_not_found' };
  }
  const inChannel = body.response_type === 'in_channel';
  const threadTs = str(body.thread_ts);
  const message = state.post({
    channel: target.channel,
    ...content,
    ...(threadTs ? { thread_ts: threadTs } : {}),
    user: state.bot.userId,
    bot_id: state.bot.botId,
    ...(inChannel ? {} : { visibleTo: target.user }),
    via,
  });
  return { outcome: inChannel ? 'in_channel' : 'ephemeral', message };
}

/** Response URLs handed out in payloads, and what was posted to them. */
export class ResponseUrls {
  readonly records = new Map<string, ResponseUrlRecord>();
  readonly responses: RecordedResponse[] = [];
  /** Added to Date.now() for expiry checks, so tests can pass 30 minutes without waiting. */
  private offsetMs = 0;

  constructor(
    private readonly state: SlackState,
    private readonly baseUrl: () => string,
  ) {}

  now(): number {
    return Date.now() + this.offsetMs;
  }

  advanceTime(ms: number): void {
    this.offsetMs += ms;
  }

  create(channel: string, user: string, options: { messageTs?: string } = {}): ResponseUrlRecord {
    const id = randomBytes(12).toString('hex');
    const record: ResponseUrlRecord = { id, url: `${this.baseUrl()}/response/${id}`, channel, user, createdAt: this.now(), uses: 0 };
    if (options.messageTs) record.messageTs = options.messageTs;
    this.records.set(id, record);
    return record;
  }

  /** Handles POST /response/<id>. Statuses are non-2xx on refusal so Bolt's respond() throws, as with Slack. */
  handle(id: string, body: Obj): ResponseResult {
    const at = Date.now();
    const record = this.records.get(id);
    const refuse = (status: number, error: string): ResponseResult => {
      this.responses.push({ urlId: id, body, at, status, error });
      return { status, body: { ok: false, error } };
    };
    if (!record) return refuse(404, 'no_service');
    if (this.now() - record.createdAt > RESPONSE_URL_TTL_MS) return refuse(404, 'expired_url');
    if (record.uses >= RESPONSE_URL_MAX_USES) return refuse(404, 'used_url');
    const result = applyResponse(this.state, record, body, 'response_url');
    if ('error' in result) return refuse(400, result.error);
    record.uses += 1;
    // A slash command's later replace_original targets the message its first response created.
    if (!record.messageTs && result.message && result.outcome !== 'deleted') record.messageTs = result.message.ts;
    const response: RecordedResponse = { urlId: id, body, at, status: 200, outcome: result.outcome };
    if (result.message) response.message = result.message;
    this.responses.push(response);
    return { status: 200, body: { ok: true } };
  }
}
