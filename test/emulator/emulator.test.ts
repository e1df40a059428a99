import { verifySlackRequest } from '@slack/bolt';
import { ErrorCode, WebClient, WebClientEvent, type WebAPIPlatformError } from '@slack/web-api';
import { afterEach, describe, expect, it } from 'vitest';
import { RESPONSE_URL_MAX_USES } from '../../src/emulator/response-urls.js';
import { signSlackRequest, slashCommandBody } from '../../src/emulator/signing.js';
import { startSlackEmulator, type SlackEmulator, type SlackEmulatorOptions } from '../../src/emulator/web-api.js';
import type { MessageChange } from '../../src/emulator/model.js';
import { quietLogger } from '../helpers/bolt-app.js';

const BOT_TOKEN = 'xoxb-emulator-test';

describe('Slack emulator: Web API over real HTTP', () => {
  const opened: SlackEmulator[] = [];
  afterEach(async () => {
    for (const emulator of opened.splice(0)) await emulator.close();
  });

  const setup = async (options: SlackEmulatorOptions = {}, clientOptions: ConstructorParameters<typeof WebClient>[1] = {}) => {
    const emulator = await startSlackEmulator({ botToken: BOT_TOKEN, ...options });
    opened.push(emulator);
    const client = new WebClient(BOT_TOKEN, { slackApiUrl: emulator.apiUrl, logger: quietLogger, ...clientOptions });
    return { emulator, client };
  };
  const platformError = (promise: Promise<unknown>) =>
    promise.then(
      () => expect.fail('expected a Slack platform error'),
      (error: WebAPIPlatformError) => error.data.error,
    );
  const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

  it('answers auth.test as the bot, and invalid_auth for a wrong token', async () => {
    const { emulator, client } = await setup();
    const auth = await client.auth.test();
    expect(auth).toMatchObject({ ok: true, user_id: 'U_JOBQ_BOT', bot_id: 'B_JOBQ', team_id: 'T_JOBQ' });
    const stranger = new WebClient('xoxb-wrong', { slackApiUrl: emulator.apiUrl, logger: quietLogger });
    expect(await platformError(stranger.auth.test())).toBe('invalid_auth');
    const appToken = new WebClient('xapp-1-nope', { slackApiUrl: emulator.apiUrl, logger: quietLogger });
    expect(await platformError(appToken.chat.postMessage({ channel: 'C_OPS', text: 'x' }))).toBe('not_allowed_token_type');
  });

  it('posts, updates and threads messages, decoding form-encoded blocks and metadata', async () => {
    const { emulator, client } = await setup();
    const changes: MessageChange['type'][] = [];
    emulator.state.on('message', (change) => changes.push(change.type));
    const metadata = { event_type: 'jobq_job', event_payload: { job_id: 42 } };
    const posted = await client.chat.postMessage({ channel: 'C_OPS', text: 'Job 42 failed', blocks: [section('*Job 42* failed')], metadata });
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(posted.message).toMatchObject({ text: 'Job 42 failed', user: 'U_JOBQ_BOT', bot_id: 'B_JOBQ', metadata, blocks: [section('*Job 42* failed')] });
    // The WebClient sends form fields; the recorded body holds the decoded JSON.
    expect(emulator.calls('chat.postMessage')[0]?.body.blocks).toEqual([section('*Job 42* failed')]);

    const ts = posted.ts as string;
    await client.chat.update({ channel: 'C_OPS', ts, text: 'Job 42 retried', blocks: [section('*Job 42* retried')] });
    const reply = await client.chat.postMessage({ channel: 'C_OPS', thread_ts: ts, text: 'details' });
    const second = await client.chat.postMessage({ channel: 'C_OPS', text: 'next' });
    expect(Number(second.ts)).toBeGreaterThan(Number(reply.ts));

    const [parent] = emulator.messages('C_OPS', { thread: false });
    expect(parent).toMatchObject({ ts, text: 'Job 42 retried', reply_count: 1, reply_users: ['U_JOBQ_BOT'], latest_reply: reply.ts });
    expect(parent?.edited).toBeDefined();
    const replies = await client.conversations.replies({ channel: 'C_OPS', ts });
    expect(replies.messages?.map((m) => m.text)).toEqual(['Job 42 retried', 'details']);
    const history = await client.conversations.history({ channel: 'C_OPS' });
    expect(history.messages?.map((m) => m.text)).toEqual(['next', 'Job 42 retried']);
    expect(changes).toEqual(['posted', 'updated', 'posted', 'updated', 'posted']);

    expect(await platformError(client.chat.update({ channel: 'C_OPS', ts: '1.000001', text: 'x' }))).toBe('message_not_found');
    expect(await platformError(client.chat.postMessage({ channel: 'C_NOPE', text: 'x' }))).toBe('channel_not_found');
    expect(await platformError(client.chat.postMessage({ channel: 'C_OPS', thread_ts: '1.000001', text: 'x' }))).toBe('thread_not_found');
  });

  it('accepts JSON bodies, ephemerals, deletes, permalinks and the directory methods', async () => {
    const { emulator, client } = await setup();
    const response = await fetch(`${emulator.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ channel: '#alerts', text: 'by json', blocks: [section('by json')] }),
    });
    const posted = (await response.json()) as { ok: boolean; channel: string; ts: string };
    expect(posted).toMatchObject({ ok: true, channel: 'C_ALERTS' });

    const ephemeral = await client.chat.postEphemeral({ channel: 'C_ALERTS', user: 'U_VIEWER', text: 'only you' });
    expect(emulator.messages('C_ALERTS').find((m) => m.ts === ephemeral.message_ts)).toMatchObject({ visibleTo: 'U_VIEWER', text: 'only you' });
    expect(emulator.messages('C_ALERTS', { visibleTo: 'U_OPERATOR' }).map((m) => m.text)).toEqual(['by json']);

    const link = await client.chat.getPermalink({ channel: 'C_ALERTS', message_ts: posted.ts });
    expect(link.permalink).toBe(`${emulator.url}/archives/C_ALERTS/p${posted.ts.replace('.', '')}`);
    await client.chat.delete({ channel: 'C_ALERTS', ts: posted.ts });
    expect(emulator.messages('C_ALERTS', { ephemeral: false })).toEqual([]);

    expect((await client.conversations.info({ channel: 'C_OPS' })).channel).toMatchObject({ id: 'C_OPS', name: 'ops', is_channel: true });
    expect((await client.users.info({ user: 'U_OPERATOR' })).user).toMatchObject({ id: 'U_OPERATOR', name: 'operator' });
    expect((await client.usergroups.users.list({ usergroup: 'S_ONCALL' })).users).toEqual(['U_OPERATOR']);
    expect(await platformError(client.usergroups.users.list({ usergroup: 'S_NOPE' }))).toBe('no_such_subteam');
    expect(await platformError(client.users.info({ user: 'U_NOPE' }))).toBe('user_not_found');
  });

  it('refuses what Slack refuses: 51 blocks, long sections, 40k text, no content', async () => {
    const { emulator, client } = await setup();
    const tooMany = Array.from({ length: 51 }, (_, i) => section(`row ${i}`));
    expect(await platformError(client.chat.postMessage({ channel: 'C_OPS', text: 'x', blocks: tooMany }))).toBe('invalid_blocks');
    expect(await platformError(client.chat.postMessage({ channel: 'C_OPS', text: 'x', blocks: [section('a'.repeat(3001))] }))).toBe('invalid_blocks');
    expect(emulator.calls('chat.postMessage').at(-1)?.response).toMatchObject({
      response_metadata: { messages: ['[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]'] },
    });
    expect(await platformError(client.chat.postMessage({ channel: 'C_OPS', text: 'a'.repeat(40_001) }))).toBe('msg_too_long');
    expect(await platformError(client.chat.postMessage({ channel: 'C_OPS', text: '' }))).toBe('no_text');
    const button = { type: 'button' as const, action_id: 'retry', text: { type: 'plain_text' as const, text: 'b'.repeat(76) } };
    expect(await platformError(client.chat.postEphemeral({ channel: 'C_OPS', user: 'U_OPERATOR', text: 'x', blocks: [{ type: 'actions', elements: [button] }] }))).toBe(
      'invalid_blocks',
    );
    expect(emulator.messages('C_OPS')).toEqual([]);
    // 50 blocks of 3000 characters is the most Slack takes, and the emulator takes it too.
    const ok = await client.chat.postMessage({ channel: 'C_OPS', text: 'x', blocks: Array.from({ length: 50 }, () => section('a'.repeat(3000))) });
    expect(ok.ok).toBe(true);
  });

  it('answers 429 with Retry-After, and the WebClient retries after it', async () => {
    const { emulator, client } = await setup();
    let rateLimitedFor: number | undefined;
    client.on(WebClientEvent.RATE_LIMITED, (seconds: number) => (rateLimitedFor = seconds));
    emulator.faults.next('chat.postMessage', { status: 429, retryAfter: 1 });
    const posted = await client.chat.postMessage({ channel: 'C_OPS', text: 'eventually' });
    expect(posted.ok).toBe(true);
    const [limited, retried] = emulator.calls('chat.postMessage');
    expect(limited).toMatchObject({ status: 429, fault: '429 retry-after 1' });
    expect(retried?.status).toBe(200);
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(1000);
    expect(rateLimitedFor).toBe(1);
    expect(emulator.messages('C_OPS')).toHaveLength(1);
  });

  it('injects 500s, platform errors, hangs and a per-second rate limit', async () => {
    const { emulator, client } = await setup({}, { retryConfig: { retries: 0 }, timeout: 300, rejectRateLimitedCalls: true });
    emulator.faults.next('chat.postMessage', { status: 500 }).next('chat.postMessage', { error: 'channel_not_found' }).next('chat.update', { hang: true });
    await expect(client.chat.postMessage({ channel: 'C_OPS', text: 'a' })).rejects.toMatchObject({ code: ErrorCode.HTTPError, statusCode: 500 });
    expect(await platformError(client.chat.postMessage({ channel: 'C_OPS', text: 'b' }))).toBe('channel_not_found');
    const posted = await client.chat.postMessage({ channel: 'C_OPS', text: 'c' });
    await expect(client.chat.update({ channel: 'C_OPS', ts: posted.ts as string, text: 'd' })).rejects.toMatchObject({ code: ErrorCode.RequestError });
    expect(emulator.calls('chat.update')[0]).toMatchObject({ status: 0, fault: 'hang' });
    expect(emulator.faults.pending()).toBe(0);

    emulator.faults.rateLimit('chat.postMessage', { perSecond: 2 });
    await client.chat.postMessage({ channel: 'C_OPS', text: '1' });
    await client.chat.postMessage({ channel: 'C_OPS', text: '2' });
    await expect(client.chat.postMessage({ channel: 'C_OPS', text: '3' })).rejects.toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 1 });
  });

  it('signs requests exactly as Bolt verifies them', () => {
    const body = slashCommandBody({
      token: 't',
      team_id: 'T',
      team_domain: 'd',
      channel_id: 'C_OPS',
      channel_name: 'ops',
      user_id: 'U_OPERATOR',
      user_name: 'operator',
      command: '/jobq',
      text: 'retry 42 & more',
      api_app_id: 'A',
      response_url: 'http://127.0.0.1/response/x',
      trigger_id: '1.2',
    });
    const now = Math.floor(Date.now() / 1000);
    const headers = signSlackRequest('s3cret', body, now);
    expect(headers['content-type']).toBe('application/x-www-form-urlencoded');
    const verify = (signed: typeof headers, raw: string, secret = 's3cret') =>
      verifySlackRequest({
        signingSecret: secret,
        body: raw,
        headers: { 'x-slack-signature': signed['x-slack-signature'], 'x-slack-request-timestamp': Number(signed['x-slack-request-timestamp']) },
      });
    expect(() => verify(headers, body)).not.toThrow();
    expect(() => verify(headers, `${body}x`)).toThrow(/signature mismatch/);
    expect(() => verify(headers, body, 'other')).toThrow(/signature mismatch/);
    expect(() => verify(signSlackRequest('s3cret', body, now - 6 * 60), body)).toThrow(/stale/);
  });

  it('applies response URL posts to the model and refuses the sixth and the expired', async () => {
    const { emulator, client } = await setup();
    const post = (url: string, body: object) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const original = await client.chat.postMessage({ channel: 'C_OPS', text: 'Retry job 42?' });
    const url = emulator.responseUrl('C_OPS', 'U_OPERATOR', { messageTs: original.ts as string });

    expect((await post(url, { text: 'working on it' })).status).toBe(200);
    expect((await post(url, { response_type: 'in_channel', text: 'Job 42 retried by <@U_OPERATOR>' })).status).toBe(200);
    expect((await post(url, { replace_original: true, text: 'Retried', blocks: [section('Retried')] })).status).toBe(200);
    expect(emulator.messages('C_OPS').map((m) => [m.text, m.visibleTo ?? 'all', m.via])).toEqual([
      ['Retried', 'all', 'chat.postMessage'],
      ['working on it', 'U_OPERATOR', 'response_url'],
      ['Job 42 retried by <@U_OPERATOR>', 'all', 'response_url'],
    ]);
    expect((await post(url, { replace_original: true, text: 'x', blocks: Array.from({ length: 51 }, () => section('x')) })).status).toBe(400);
    expect((await post(url, { text: 'fourth' })).status).toBe(200);
    expect((await post(url, { delete_original: true })).status).toBe(200);
    expect(emulator.messages('C_OPS').map((m) => m.text)).not.toContain('Retried');
    const sixth = await post(url, { text: 'one too many' });
    expect(sixth.status).toBe(404);
    expect(await sixth.json()).toEqual({ ok: false, error: 'used_url' });
    expect(emulator.responses().filter((r) => r.status === 200)).toHaveLength(RESPONSE_URL_MAX_USES);

    const later = emulator.responseUrl('C_OPS', 'U_OPERATOR');
    emulator.advanceTime(30 * 60_000 + 1);
    const expired = await post(later, { text: 'too late' });
    expect([expired.status, await expired.json()]).toEqual([404, { ok: false, error: 'expired_url' }]);
  });

  it('waitFor resolves with the match, or says what happened instead', async () => {
    const { emulator, client } = await setup();
    const waiting = emulator.waitForMessage('C_OPS', (m) => m.text === 'later');
    setTimeout(() => void client.chat.postMessage({ channel: 'C_OPS', text: 'later' }), 20);
    expect((await waiting).text).toBe('later');
    await expect(emulator.waitForCall('chat.update', () => true, 100)).rejects.toThrow(
      /waitFor \(a chat.update call\) timed out after 100 ms\.\nLast 1 of 1 calls:\n.*chat.postMessage -> 200 channel=C_OPS text="later"/,
    );
  });
});
