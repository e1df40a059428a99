import { App } from '@slack/bolt';
import { SocketModeClient } from '@slack/socket-mode';
import { afterEach, describe, expect, it } from 'vitest';
import { signSlackRequest, slashCommandBody } from '../../src/emulator/signing.js';
import { startSlackEmulator, type SlackEmulator } from '../../src/emulator/web-api.js';
import { quietLogger, startHttpApp } from '../helpers/bolt-app.js';

/** The emulator driving real Bolt receivers (HTTP and Socket Mode) and a bare SocketModeClient. */

const BOT_TOKEN = 'xoxb-emulator-test';
const APP_TOKEN = 'xapp-1-emulator-test';
const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

/** A stand-in bot: /jobq posts a job card with a Retry button; clicking it replaces the card. */
function register(app: App): void {
  app.command('/jobq', async ({ command, ack, respond, client }) => {
    if (command.text === 'help') return ack({ text: 'Usage: /jobq <job id>' });
    if (command.text === 'slow') {
      await new Promise((resolve) => setTimeout(resolve, 400));
      return ack();
    }
    await ack();
    await client.chat.postMessage({
      channel: command.channel_id,
      text: `Job ${command.text} failed`,
      blocks: [
        section(`*Job ${command.text}* failed`),
        { type: 'actions', block_id: 'job_actions', elements: [{ type: 'button', action_id: 'retry', value: command.text, text: { type: 'plain_text', text: 'Retry' } }] },
      ],
    });
    await respond({ text: `Posted job ${command.text} for you` });
  });
  app.action('retry', async ({ ack, body, action, respond }) => {
    await ack();
    const value = action.type === 'button' ? action.value : '?';
    await respond({ replace_original: true, text: `Job ${value} retried by <@${body.user.id}>` });
  });
}

describe('Slack emulator driving Bolt', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const setup = async () => {
    const emulator = await startSlackEmulator({ botToken: BOT_TOKEN, appToken: APP_TOKEN });
    cleanups.push(() => emulator.close());
    return emulator;
  };

  const startHttpBot = async (emulator: SlackEmulator) => {
    const app = await startHttpApp(emulator, BOT_TOKEN, register);
    cleanups.push(() => app.stop());
    return app;
  };

  it('runs a slash command and a button click through the HTTP receiver', async () => {
    const emulator = await setup();
    await startHttpBot(emulator);
    const reply = await emulator.slashCommand({ text: '42', userId: 'U_OPERATOR', channelId: 'C_OPS' });
    expect(reply).toMatchObject({ status: 200, body: '' });
    expect(reply.slackError).toBeUndefined();
    expect(reply.ackMs).toBeLessThan(3000);
    const card = await emulator.waitForMessage('C_OPS', (m) => m.via === 'chat.postMessage');
    await emulator.waitForMessage('C_OPS', (m) => m.visibleTo === 'U_OPERATOR' && m.text === 'Posted job 42 for you');

    const click = await emulator.clickButton({ message: card, actionId: 'retry', userId: 'U_OPERATOR' });
    expect(click.status).toBe(200);
    await emulator.waitFor((em) => em.messages('C_OPS').find((m) => m.ts === card.ts && m.text === 'Job 42 retried by <@U_OPERATOR>'));
    expect(emulator.messages('C_OPS').find((m) => m.ts === card.ts)?.blocks).toBeUndefined();
    expect(emulator.responses().map((r) => r.outcome)).toEqual(['ephemeral', 'replaced']);
  });

  it('shows an ack body to the caller, and operation_timeout when the ack is late', async () => {
    const emulator = await setup();
    await startHttpBot(emulator);
    await emulator.slashCommand({ text: 'help' });
    expect(emulator.messages('C_OPS')).toMatchObject([{ text: 'Usage: /jobq <job id>', visibleTo: 'U_OPERATOR', via: 'ack' }]);
    const late = await emulator.slashCommand({ text: 'slow', timeoutMs: 200 });
    expect(late).toMatchObject({ status: 0, slackError: 'operation_timeout' });
    expect(emulator.messages('C_OPS').at(-1)).toMatchObject({ text: '/jobq failed with the error "operation_timeout"', user: 'USLACKBOT' });
  });

  it('lets Bolt refuse unsigned, forged and stale requests', async () => {
    const emulator = await setup();
    await startHttpBot(emulator);
    const body = slashCommandBody({
      token: 't',
      team_id: 'T_JOBQ',
      team_domain: 'jobq',
      channel_id: 'C_OPS',
      channel_name: 'ops',
      user_id: 'U_OPERATOR',
      user_name: 'operator',
      command: '/jobq',
      text: '42',
      api_app_id: 'A_JOBQ',
      response_url: emulator.responseUrl('C_OPS', 'U_OPERATOR'),
      trigger_id: '1.2',
    });
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expect((await emulator.sendRaw(body, form)).status).toBe(401);
    expect((await emulator.sendRaw(body, { ...signSlackRequest('not-the-secret', body) })).status).toBe(401);
    const stale = signSlackRequest(emulator.signingSecret, body, Math.floor(Date.now() / 1000) - 10 * 60);
    expect((await emulator.sendRaw(body, { ...stale })).status).toBe(401);
    expect(emulator.calls('chat.postMessage')).toEqual([]);
  });

  it('speaks Socket Mode to a bare SocketModeClient: hello, envelopes, acks, reconnects', async () => {
    const emulator = await setup();
    const client = new SocketModeClient({ appToken: APP_TOKEN, clientOptions: { slackApiUrl: emulator.apiUrl }, logger: quietLogger, clientPingTimeout: 200 });
    client.on('slash_commands', ({ ack, body }: { ack: (r?: object) => Promise<void>; body: { text: string } }) => void ack({ text: `got ${body.text}` }));
    client.on('interactive', ({ ack }: { ack: () => Promise<void> }) => void ack());
    await client.start(); // resolves on the emulator's hello
    cleanups.push(() => client.disconnect());
    expect(emulator.socket.connections).toBe(1);

    const reply = await emulator.socket.sendSlashCommand({ text: 'stats', channelId: 'C_ALERTS' });
    expect(reply.json).toEqual({ text: 'got stats' });
    expect(reply.ackMs).toBeLessThan(1000);
    expect(emulator.messages('C_ALERTS')).toMatchObject([{ text: 'got stats', visibleTo: 'U_OPERATOR', via: 'ack' }]);
    expect(emulator.socket.sent[0]).toMatchObject({ type: 'slash_commands', accepts_response_payload: true, payload: { command: '/jobq', text: 'stats' } });

    const ack = await emulator.socket.sendInteractive({ type: 'block_actions', actions: [] });
    expect(ack.payload).toEqual({});

    emulator.socket.requestReconnect('refresh_requested');
    await emulator.waitFor(() => emulator.calls('apps.connections.open').length === 2 && emulator.socket.connections === 1, 5_000);
  });

  it('runs Bolt in Socket Mode against the emulator', async () => {
    const emulator = await setup();
    const app = new App({ token: BOT_TOKEN, appToken: APP_TOKEN, socketMode: true, clientOptions: { slackApiUrl: emulator.apiUrl }, logger: quietLogger });
    register(app);
    await app.start();
    cleanups.push(() => app.stop());
    await emulator.socket.sendSlashCommand({ text: '7', userId: 'U_VIEWER' });
    const card = await emulator.waitForMessage('C_OPS', (m) => m.text === 'Job 7 failed');
    const click = await emulator.socket.clickButton({ message: card, actionId: 'retry', userId: 'U_VIEWER' });
    expect(click.slackError).toBeUndefined();
    await emulator.waitFor(() => emulator.state.get('C_OPS', card.ts)?.text === 'Job 7 retried by <@U_VIEWER>');
    expect(emulator.calls('apps.connections.open')).toHaveLength(1);

    const wrongToken = new SocketModeClient({ appToken: BOT_TOKEN, clientOptions: { slackApiUrl: emulator.apiUrl }, logger: quietLogger, autoReconnectEnabled: false });
    await expect(wrongToken.start()).rejects.toMatchObject({ data: { error: 'not_allowed_token_type' } });
  });
});
