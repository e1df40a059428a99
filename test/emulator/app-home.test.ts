import { App } from '@slack/bolt';
import { WebClient, type WebAPIPlatformError } from '@slack/web-api';
import { afterEach, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/emulator/limits.js';
import type { StreamEvent } from '../../src/emulator/ui/page/wire.js';
import { startSlackEmulator, type SlackEmulator, type SlackEmulatorOptions } from '../../src/emulator/web-api.js';
import { quietLogger, startHttpApp } from '../helpers/bolt-app.js';

/** App Home in the emulator: views.publish, app_home_opened over HTTP and Socket Mode, Home buttons, the page's routes. */

const BOT_TOKEN = 'xoxb-emulator-home-test';
const APP_TOKEN = 'xapp-1-emulator-home-test';
const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
const homeOf = (blocks: unknown[]) => ({ type: 'home' as const, blocks: blocks as never });

/** What the stand-in bot saw, for assertions on the payloads the emulator sent. */
interface Seen {
  events: Record<string, unknown>[];
  clicks: Record<string, unknown>[];
}

/**
 * A stand-in bot: on app_home_opened it publishes a Home tab counting the openings; a click on its
 * Refresh button publishes again with the click's value.
 */
function register(app: App, seen: Seen): void {
  let openings = 0;
  app.event('app_home_opened', async ({ event, client }) => {
    seen.events.push(event as unknown as Record<string, unknown>);
    openings += 1;
    await client.views.publish({
      user_id: event.user,
      view: homeOf([
        { type: 'header', text: { type: 'plain_text', text: 'Queues' } },
        section(`Opened ${openings} times by <@${event.user}>, last <!date^1700000000^{date_short_pretty} {time}|Nov 14, 2023>`),
        { type: 'actions', elements: [{ type: 'button', action_id: 'home_refresh', value: 'emails', text: { type: 'plain_text', text: 'Refresh' } }] },
      ]),
    });
  });
  app.event('app_mention', async ({ event }) => {
    seen.events.push(event as unknown as Record<string, unknown>);
  });
  app.action('home_refresh', async ({ ack, body, client }) => {
    await ack();
    seen.clicks.push(body as unknown as Record<string, unknown>);
    await client.views.publish({ user_id: body.user.id, view: homeOf([section(`Refreshed ${(body as { actions: { value: string }[] }).actions[0]!.value}`)]) });
  });
}

describe('Slack emulator: App Home', () => {
  // biome-ignore lint/suspicious/noConfusingVoidType: cleanups are sync or async
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const setup = async (options: SlackEmulatorOptions = {}) => {
    const emulator = await startSlackEmulator({ botToken: BOT_TOKEN, appToken: APP_TOKEN, ...options });
    cleanups.push(() => emulator.close());
    const client = new WebClient(BOT_TOKEN, { slackApiUrl: emulator.apiUrl, logger: quietLogger });
    return { emulator, client };
  };
  const startHttpBot = async (emulator: SlackEmulator) => {
    const seen: Seen = { events: [], clicks: [] };
    const app = await startHttpApp(emulator, BOT_TOKEN, (a) => register(a, seen));
    cleanups.push(() => app.stop());
    return seen;
  };
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => expect.fail('expected views.publish to be refused'),
      (error: WebAPIPlatformError) => ({ error: error.data.error, messages: error.data.response_metadata?.messages ?? [] }),
    );

  it('publishes a Home tab per user with views.publish, keeping its ID and changing its hash', async () => {
    const { emulator, client } = await setup();
    const first = await client.views.publish({ user_id: 'U_OPERATOR', view: { ...homeOf([section('one')]), private_metadata: 'p', callback_id: 'home' } });
    expect(first.view).toMatchObject({ type: 'home', blocks: [section('one')], private_metadata: 'p', callback_id: 'home', team_id: 'T_JOBQ', app_id: 'A_JOBQ', bot_id: 'B_JOBQ' });
    expect(first.view?.id).toMatch(/^V[0-9A-F]{10}$/);
    const second = await client.views.publish({ user_id: 'U_OPERATOR', view: homeOf([section('two')]), hash: first.view!.hash! });
    expect(second.view?.id).toBe(first.view?.id);
    expect(second.view?.hash).not.toBe(first.view?.hash);
    expect(emulator.homeView('U_OPERATOR')?.blocks).toEqual([section('two')]);
    expect(emulator.homeView('U_VIEWER')).toBeUndefined();
    // A publish racing a newer one carries a stale hash.
    expect((await refusal(client.views.publish({ user_id: 'U_OPERATOR', view: homeOf([section('three')]), hash: first.view!.hash! }))).error).toBe('hash_conflict');
    expect(emulator.homeView('U_OPERATOR')?.blocks).toEqual([section('two')]);
  });

  it('refuses what Slack refuses: unknown users, other view types, too many blocks, table blocks, bad blocks', async () => {
    const { emulator, client } = await setup();
    expect(await refusal(client.views.publish({ user_id: 'U_NOBODY', view: homeOf([section('x')]) }))).toEqual({ error: 'invalid_arguments', messages: ['invalid `user_id`'] });
    expect((await refusal(client.views.publish({ user_id: 'U_JOBQ_BOT', view: homeOf([section('x')]) }))).error).toBe('invalid_arguments');
    expect(await refusal(client.views.publish({ user_id: 'U_OPERATOR', view: { type: 'modal', title: { type: 'plain_text', text: 'x' }, blocks: [] } }))).toMatchObject({
      error: 'invalid_arguments',
      messages: [expect.stringContaining('[json-pointer:/view/type]')],
    });
    const blocks = (n: number) => Array.from({ length: n }, (_, i) => section(`row ${i}`));
    expect((await client.views.publish({ user_id: 'U_OPERATOR', view: homeOf(blocks(LIMITS.blocksPerView)) })).ok).toBe(true);
    expect(await refusal(client.views.publish({ user_id: 'U_OPERATOR', view: homeOf(blocks(LIMITS.blocksPerView + 1)) }))).toEqual({
      error: 'invalid_arguments',
      messages: ['[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]'],
    });
    const table = { type: 'table', rows: [[{ type: 'raw_text', text: 'a' }]] };
    expect(await refusal(client.views.publish({ user_id: 'U_OPERATOR', view: homeOf([section('x'), table]) }))).toEqual({
      error: 'invalid_arguments',
      messages: ['[ERROR] unsupported type: table (table blocks are shown in messages only) [json-pointer:/view/blocks/1/type]'],
    });
    expect(await refusal(client.views.publish({ user_id: 'U_OPERATOR', view: homeOf([{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }]) }))).toEqual({
      error: 'invalid_arguments',
      messages: ['[ERROR] must be less than 3001 characters [json-pointer:/view/blocks/0/text/text]'],
    });
    expect((await refusal(client.views.publish({ user_id: 'U_OPERATOR', view: { ...homeOf([]), private_metadata: 'm'.repeat(3001) } }))).messages).toEqual([
      '[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]',
    ]);
    const huge = Array.from({ length: 90 }, () => section('y'.repeat(2900)));
    expect((await refusal(client.views.publish({ user_id: 'U_OPERATOR', view: homeOf(huge) }))).error).toBe('view_too_large');
    // The 100-block view above is the only one that got through.
    expect(emulator.homeView('U_OPERATOR')?.blocks).toHaveLength(100);
    expect(emulator.calls('views.publish').map((c) => c.status)).toEqual(Array(9).fill(200));
  });

  it('answers not_enabled when the Home tab is off in the manifest', async () => {
    const { emulator, client } = await setup({ homeTabEnabled: false });
    expect((await refusal(client.views.publish({ user_id: 'U_OPERATOR', view: homeOf([section('x')]) }))).error).toBe('not_enabled');
    emulator.homeTabEnabled = true;
    expect((await client.views.publish({ user_id: 'U_OPERATOR', view: homeOf([section('x')]) })).ok).toBe(true);
  });

  it('delivers app_home_opened as a signed Events API request into the Bolt receiver, which publishes the Home tab', async () => {
    const { emulator } = await setup();
    const seen = await startHttpBot(emulator);
    const result = await emulator.openAppHome({ userId: 'U_VIEWER' });
    expect(result).toMatchObject({ status: 200, eventId: expect.stringMatching(/^Ev/) });
    expect(result.slackError).toBeUndefined();
    expect(result.ackMs).toBeLessThan(3_000);
    const view = await emulator.waitForHomeView('U_VIEWER', (v) => JSON.stringify(v.blocks).includes('Opened 1 times'));
    expect(view.blocks).toHaveLength(3);
    expect(seen.events[0]).toMatchObject({ type: 'app_home_opened', user: 'U_VIEWER', channel: 'D_U_VIEWER', tab: 'home' });
    expect(seen.events[0]).not.toHaveProperty('view');
    expect(emulator.state.channels.get('D_U_VIEWER')).toMatchObject({ isIm: true, user: 'U_VIEWER' });

    // Opened again: the event carries the current view, as Slack's does once one was published.
    await emulator.openAppHome({ userId: 'U_VIEWER' });
    await emulator.waitForHomeView('U_VIEWER', (v) => JSON.stringify(v.blocks).includes('Opened 2 times'));
    expect(seen.events[1]).toMatchObject({ view: { id: view.id, hash: view.hash, type: 'home' } });
    expect((await emulator.openAppHome({ userId: 'U_OPERATOR', tab: 'messages' })).status).toBe(200);
    await emulator.waitFor(() => seen.events.length === 3);
    expect(seen.events[2]).toMatchObject({ tab: 'messages' });

    // Bolt checks the signature of the JSON body: a forged one is refused.
    const body = JSON.stringify({ type: 'event_callback', event: { type: 'app_home_opened', user: 'U_VIEWER', channel: 'D_U_VIEWER', tab: 'home' } });
    expect(
      (await emulator.sendRaw(body, { 'content-type': 'application/json', 'x-slack-signature': 'v0=forged', 'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)) }))
        .status,
    ).toBe(401);
    await expect(emulator.openAppHome({ userId: 'U_NOBODY' })).rejects.toThrow(/no user U_NOBODY/);

    // Any other event goes the same way.
    const mention = await emulator.sendEvent({ type: 'app_mention', user: 'U_OPERATOR', channel: 'C_OPS', text: '<@U_JOBQ_BOT> stats', ts: emulator.state.nextTs() });
    expect(mention.status).toBe(200);
    await emulator.waitFor(() => seen.events.some((e) => e.type === 'app_mention' && e.text === '<@U_JOBQ_BOT> stats'));
  });

  it('clicks a Home tab button: block_actions with the view as container, and the bot republishes', async () => {
    const { emulator } = await setup();
    const seen = await startHttpBot(emulator);
    await emulator.openAppHome({ userId: 'U_OPERATOR' });
    const view = await emulator.waitForHomeView('U_OPERATOR');
    const click = await emulator.clickHomeButton({ userId: 'U_OPERATOR', actionId: 'home_refresh' });
    expect(click).toMatchObject({ status: 200 });
    await emulator.waitForHomeView('U_OPERATOR', (v) => JSON.stringify(v.blocks).includes('Refreshed emails'));
    expect(seen.clicks[0]).toMatchObject({
      type: 'block_actions',
      container: { type: 'view', view_id: view.id },
      view: { id: view.id, type: 'home' },
      user: { id: 'U_OPERATOR' },
      actions: [{ action_id: 'home_refresh', value: 'emails', type: 'button' }],
    });
    expect(seen.clicks[0]).not.toHaveProperty('response_url');
    await expect(emulator.clickHomeButton({ userId: 'U_OPERATOR', actionId: 'nope' })).rejects.toThrow(/has no button with action_id nope/);
    await expect(emulator.clickHomeButton({ userId: 'U_VIEWER', actionId: 'home_refresh' })).rejects.toThrow(/no Home tab was published for U_VIEWER/);
  });

  it('delivers app_home_opened and Home clicks over Socket Mode as events_api and interactive envelopes', async () => {
    const { emulator } = await setup();
    const seen: Seen = { events: [], clicks: [] };
    const app = new App({ token: BOT_TOKEN, appToken: APP_TOKEN, socketMode: true, clientOptions: { slackApiUrl: emulator.apiUrl }, logger: quietLogger });
    register(app, seen);
    await app.start();
    cleanups.push(() => app.stop());
    const result = await emulator.socket.openAppHome({ userId: 'U_OPERATOR' });
    expect(result).toMatchObject({ status: 200, envelopeId: expect.any(String), eventId: expect.stringMatching(/^Ev/) });
    expect(emulator.socket.sent.at(-1)).toMatchObject({
      type: 'events_api',
      accepts_response_payload: false,
      retry_attempt: 0,
      payload: { type: 'event_callback', api_app_id: 'A_JOBQ', event: { type: 'app_home_opened', user: 'U_OPERATOR', tab: 'home' } },
    });
    await emulator.waitForHomeView('U_OPERATOR', (v) => JSON.stringify(v.blocks).includes('Opened 1 times'));

    const click = await emulator.socket.clickHomeButton({ userId: 'U_OPERATOR', actionId: 'home_refresh' });
    expect(click.slackError).toBeUndefined();
    await emulator.waitForHomeView('U_OPERATOR', (v) => JSON.stringify(v.blocks).includes('Refreshed emails'));
    expect(emulator.socket.sent.at(-1)).toMatchObject({ type: 'interactive', payload: { container: { type: 'view' } } });
  });

  it('opens the Home tab from the page: /ui/home delivers the event, the published view streams as view_published', async () => {
    const { emulator } = await setup();
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${emulator.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };
    // No bot yet: what Slack calls dispatch_failed, and no Slackbot message for an event.
    expect((await post('/ui/home', { userId: 'U_OPERATOR' })).json).toMatchObject({ ok: false, kind: 'home', slackError: 'dispatch_failed' });
    expect(emulator.state.allMessages()).toEqual([]);
    expect((await post('/ui/home', { userId: 'U_JOBQ_BOT' })).status).toBe(400);

    await startHttpBot(emulator);
    const controller = new AbortController();
    cleanups.push(() => controller.abort());
    const stream = (await fetch(`${emulator.url}/ui/events`, { signal: controller.signal })).body!.pipeThrough(new TextDecoderStream()).getReader();
    await emulator.waitFor(() => emulator.ui.openStreams === 1);
    expect((await post('/ui/home', { userId: 'U_OPERATOR' })).json).toMatchObject({ ok: true, kind: 'home', status: 200 });
    let buffer = '';
    const published = async (text: string): Promise<StreamEvent> => {
      const deadline = Date.now() + 2_000;
      for (;;) {
        const frame = buffer.split('\n\n').find((f) => f.startsWith('data: ') && f.includes('view_published') && f.includes(text));
        if (frame) return JSON.parse(frame.slice('data: '.length)) as StreamEvent;
        if (Date.now() > deadline) throw new Error(`no view_published frame with ${text}; got ${buffer}`);
        buffer += (await stream.read()).value ?? '';
      }
    };
    expect(await published('Opened 1 times')).toMatchObject({ type: 'view_published', userId: 'U_OPERATOR', view: { type: 'home', blocks: expect.any(Array) } });
    const state = (await (await fetch(`${emulator.url}/ui/state`)).json()) as { homeViews: Record<string, { id: string }>; homeTabEnabled: boolean };
    expect(state.homeViews.U_OPERATOR?.id).toBe(emulator.homeView('U_OPERATOR')?.id);
    expect(state.homeTabEnabled).toBe(true);

    expect((await post('/ui/click', { userId: 'U_OPERATOR', surface: 'home', actionId: 'home_refresh' })).json).toMatchObject({ ok: true, kind: 'click', status: 200 });
    await published('Refreshed emails');
    expect((await post('/ui/click', { userId: 'U_VIEWER', surface: 'home', actionId: 'home_refresh' })).status).toBe(400);
  });
});
