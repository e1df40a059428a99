import type { App } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageChange, SlackMessage } from '../../src/emulator/model.js';
import { startSlackEmulator, type SlackEmulator, type SlackEmulatorOptions } from '../../src/emulator/web-api.js';
import { quietLogger, startHttpApp } from '../helpers/bolt-app.js';

/** The emulator's web page over real HTTP: static files, state, live events, commands, clicks, runbook. */

const BOT_TOKEN = 'xoxb-emulator-ui-test';
const root = new URL('../../', import.meta.url);

interface UiState {
  users: { id: string; name: string }[];
  channels: { id: string; name: string }[];
  bot: { userId: string; name: string };
  messages: SlackMessage[];
}

/** A stand-in bot: `/jobq stats` answers privately, `/jobq card` posts a card whose button replaces it. */
function register(app: App): void {
  app.command('/jobq', async ({ command, ack, respond, client }) => {
    await ack();
    if (command.text === 'card') {
      await client.chat.postMessage({
        channel: command.channel_id,
        text: 'Retry 3 failed jobs?',
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: '*Retry 3 failed jobs?*' } },
          {
            type: 'actions',
            block_id: 'confirm',
            elements: [
              {
                type: 'button',
                action_id: 'go',
                value: 'q1',
                style: 'primary',
                text: { type: 'plain_text', text: 'Confirm' },
                confirm: {
                  title: { type: 'plain_text', text: 'Sure?' },
                  text: { type: 'mrkdwn', text: 'Really' },
                  confirm: { type: 'plain_text', text: 'Go' },
                  deny: { type: 'plain_text', text: 'No' },
                },
              },
            ],
          },
        ],
      });
      return;
    }
    await respond({ text: `Stats for <@${command.user_id}>: all good` });
  });
  app.action('go', async ({ ack, body, respond }) => {
    await ack();
    await respond({ replace_original: true, text: `Retried by <@${body.user.id}>` });
  });
}

/** Reads a Server-Sent Events stream frame by frame. */
async function openEvents(url: string) {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const frames: string[] = [];
  let ended = false;
  const pump = async (): Promise<void> => {
    const { value, done } = await reader.read();
    if (done) {
      ended = true;
      return;
    }
    buffer += value;
    for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
      frames.push(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 2);
    }
  };
  /** Resolves with the first frame (consumed) matching the predicate. */
  const next = async (predicate: (frame: string) => boolean, timeoutMs = 2_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = frames.findIndex(predicate);
      if (index >= 0) return frames.splice(index, 1)[0]!;
      if (ended) throw new Error(`stream ended; frames: ${JSON.stringify(frames)}`);
      if (Date.now() > deadline) throw new Error(`no matching frame; got ${JSON.stringify(frames)}`);
      await Promise.race([pump(), new Promise((resolve) => setTimeout(resolve, 50))]);
    }
  };
  const change = async (predicate: (change: MessageChange) => boolean): Promise<MessageChange> => {
    const frame = await next((f) => f.startsWith('data: ') && predicate(JSON.parse(f.slice('data: '.length)) as MessageChange));
    return JSON.parse(frame.slice('data: '.length)) as MessageChange;
  };
  /** Resolves when the server ends the stream. */
  const end = async (timeoutMs = 2_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!ended) {
      if (Date.now() > deadline) throw new Error('stream still open');
      await Promise.race([pump().catch(() => (ended = true)), new Promise((resolve) => setTimeout(resolve, 50))]);
    }
  };
  return { response, next, change, end, close: () => controller.abort() };
}

/** GitHub's anchor for a heading, written independently of the renderer under test. */
function runbookAnchors(markdown: string): string[] {
  const seen = new Map<string, number>();
  const anchors: string[] = [];
  for (const match of markdown.replace(/```[\s\S]*?```/g, '').matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = match[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\- _]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.push(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

describe('Slack emulator web page', () => {
  // biome-ignore lint/suspicious/noConfusingVoidType: cleanups are sync or async
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const setup = async (options: SlackEmulatorOptions = {}) => {
    const emulator = await startSlackEmulator({ botToken: BOT_TOKEN, ...options });
    cleanups.push(() => emulator.close());
    return emulator;
  };
  const startBot = async (emulator: SlackEmulator) => {
    const app = await startHttpApp(emulator, BOT_TOKEN, register);
    cleanups.push(() => app.stop());
  };
  const post = async (emulator: SlackEmulator, path: string, body: unknown) => {
    const response = await fetch(`${emulator.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };
  const uiState = async (emulator: SlackEmulator) => (await (await fetch(`${emulator.url}/ui/state`)).json()) as UiState;

  it('serves the page, its ES modules and stylesheet, with the test hooks and a strict CSP', async () => {
    const emulator = await setup();
    const page = await fetch(`${emulator.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/ui/page/main.js">');
    expect(html).toContain('href="/ui/style.css"');
    for (const hook of ['composer', 'user-switcher', 'confirm-dialog', 'confirm-ok', 'confirm-cancel', 'composer-status', 'tab-home', 'home'])
      expect(html).toContain(`data-testid="${hook}"`);
    expect(html).not.toMatch(/https?:\/\//); // no CDN, no remote fonts

    // Every module the entry point reaches, following the imports as the browser does.
    const modules = new Map<string, string>();
    const queue = ['/ui/page/main.js'];
    for (let path = queue.shift(); path; path = queue.shift()) {
      if (modules.has(path)) continue;
      const script = await fetch(`${emulator.url}${path}`);
      expect(script.status, path).toBe(200);
      expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
      const js = await script.text();
      modules.set(path, js);
      expect(js, `${path} still holds TypeScript`).not.toMatch(/^import type |: string\b/m);
      for (const [, specifier] of js.matchAll(/^(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)) queue.push(new URL(specifier!, `http://page${path}`).pathname);
    }
    expect([...modules.keys()]).toEqual(
      expect.arrayContaining(['/ui/page/main.js', '/ui/page/page.js', '/ui/page/connection.js', '/ui/page/mrkdwn.js', '/ui/page/table.js', '/ui/page/home-pane.js']),
    );
    const js = [...modules.values()].join('\n');
    expect(js).toContain('/ui/events');
    // Message data reaches the DOM through textContent only.
    expect(js).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    for (const missing of ['/ui/page/nope.js', '/ui/page/../server.js', '/ui/page/Main.js', '/ui/app.js'])
      expect((await fetch(`${emulator.url}${missing}`)).status, missing).toBe(404);

    const css = await fetch(`${emulator.url}/ui/style.css`);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(await css.text()).not.toMatch(/url\(\s*['"]?https?:/);
    expect((await fetch(`${emulator.url}/nope`)).status).toBe(404);
  });

  it('returns the workspace and every message, ephemerals with visibleTo, from /ui/state', async () => {
    const emulator = await setup();
    emulator.state.post({ channel: 'C_OPS', text: 'public', user: 'U_OPERATOR', via: 'test' });
    emulator.state.post({ channel: 'C_OPS', text: 'secret', user: 'U_JOBQ_BOT', bot_id: 'B_JOBQ', visibleTo: 'U_VIEWER', via: 'test' });
    const state = await uiState(emulator);
    expect(state.users.map((u) => u.id)).toEqual(expect.arrayContaining(['U_OPERATOR', 'U_VIEWER', 'U_JOBQ_BOT']));
    expect(state.channels.map((c) => `${c.id}:${c.name}`)).toEqual(['C_OPS:ops', 'C_ALERTS:alerts', 'C_GENERAL:general']);
    expect(state.bot).toMatchObject({ userId: 'U_JOBQ_BOT', name: 'jobq' });
    expect(state.messages).toMatchObject([{ text: 'public' }, { text: 'secret', visibleTo: 'U_VIEWER' }]);
  });

  it('streams posted, updated and deleted messages as Server-Sent Events, with heartbeats', async () => {
    const emulator = await setup();
    emulator.ui.heartbeatMs = 50;
    const events = await openEvents(`${emulator.url}/ui/events`);
    cleanups.push(() => events.close());
    expect(events.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await emulator.waitFor(() => emulator.ui.openStreams === 1);

    const client = new WebClient(BOT_TOKEN, { slackApiUrl: emulator.apiUrl, logger: quietLogger });
    const posted = await client.chat.postMessage({ channel: 'C_OPS', text: 'Job 42 failed', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*Job 42* failed' } }] });
    const first = await events.change((c) => c.type === 'posted');
    expect(first.message).toMatchObject({ channel: 'C_OPS', ts: posted.ts, text: 'Job 42 failed', user: 'U_JOBQ_BOT', bot_id: 'B_JOBQ' });

    await client.chat.update({ channel: 'C_OPS', ts: posted.ts!, text: 'Job 42 retried' });
    const updated = await events.change((c) => c.type === 'updated');
    expect(updated.message).toMatchObject({ ts: posted.ts, text: 'Job 42 retried', edited: { user: 'U_JOBQ_BOT' } });

    await client.chat.delete({ channel: 'C_OPS', ts: posted.ts! });
    expect((await events.change((c) => c.type === 'deleted')).message.ts).toBe(posted.ts);
    await events.next((f) => f === ': heartbeat');
  });

  it('ends open event streams and stops listening when the emulator closes', async () => {
    const emulator = await startSlackEmulator();
    const events = await openEvents(`${emulator.url}/ui/events`);
    await emulator.waitFor(() => emulator.ui.openStreams === 1);
    const listeners = emulator.state.listenerCount('message');
    const viewListeners = emulator.state.listenerCount('view');
    await emulator.close();
    await events.end();
    expect(emulator.ui.openStreams).toBe(0);
    expect(emulator.state.listenerCount('message')).toBe(listeners - 1);
    expect(emulator.state.listenerCount('view')).toBe(viewListeners - 1);
  });

  it('forgets a stream whose browser went away', async () => {
    const emulator = await setup();
    const events = await openEvents(`${emulator.url}/ui/events`);
    await emulator.waitFor(() => emulator.ui.openStreams === 1);
    events.close();
    await emulator.waitFor(() => emulator.ui.openStreams === 0);
  });

  it('sends /jobq from the composer as a signed slash command; the reply is ephemeral to that user', async () => {
    const emulator = await setup();
    await startBot(emulator);
    const { status, json } = await post(emulator, '/ui/command', { userId: 'U_VIEWER', channelId: 'C_ALERTS', text: '/jobq stats' });
    expect(status).toBe(200);
    expect(json).toMatchObject({ ok: true, kind: 'command', status: 200 });
    expect(json.ackMs).toBeLessThan(3_000);
    expect(json.slackError).toBeUndefined();
    // respond() runs after the ack, through the response URL the emulator put in the command.
    await emulator.waitForMessage('C_ALERTS', (m) => m.via === 'response_url');
    const state = await uiState(emulator);
    expect(state.messages).toMatchObject([{ channel: 'C_ALERTS', text: 'Stats for <@U_VIEWER>: all good', visibleTo: 'U_VIEWER', user: 'U_JOBQ_BOT', via: 'response_url' }]);
  });

  it('posts a plain line as the user (escaped, as Slack does), and refuses other slash commands', async () => {
    const emulator = await setup();
    await startBot(emulator);
    const plain = await post(emulator, '/ui/command', { userId: 'U_OPERATOR', channelId: 'C_GENERAL', text: 'hello <!channel> & <b>' });
    expect(plain.json).toMatchObject({ ok: true, kind: 'message', status: 200 });
    expect(emulator.messages('C_GENERAL')).toMatchObject([{ text: 'hello &lt;!channel&gt; &amp; &lt;b&gt;', user: 'U_OPERATOR', ts: plain.json.ts }]);

    const reply = await post(emulator, '/ui/command', { userId: 'U_VIEWER', channelId: 'C_GENERAL', text: 'me too', threadTs: plain.json.ts });
    expect(emulator.state.get('C_GENERAL', String(reply.json.ts))).toMatchObject({ thread_ts: plain.json.ts, user: 'U_VIEWER' });
    expect(emulator.state.get('C_GENERAL', String(plain.json.ts))).toMatchObject({ reply_count: 1 });

    const other = await post(emulator, '/ui/command', { userId: 'U_OPERATOR', channelId: 'C_GENERAL', text: '/deploy now' });
    expect(other.json).toMatchObject({ ok: false, kind: 'unknown_command' });
    expect(emulator.messages('C_GENERAL').at(-1)).toMatchObject({ user: 'USLACKBOT', visibleTo: 'U_OPERATOR' });
    expect(emulator.messages('C_GENERAL').at(-1)?.text).toContain('/deploy is not a valid command');
  });

  it('reports dispatch_failed when no bot is connected, and refuses bad requests', async () => {
    const emulator = await setup();
    const { json } = await post(emulator, '/ui/command', { userId: 'U_OPERATOR', channelId: 'C_OPS', text: '/jobq stats' });
    expect(json).toMatchObject({ ok: false, status: 0, slackError: 'dispatch_failed' });
    expect(emulator.messages('C_OPS').at(-1)).toMatchObject({ text: '/jobq failed with the error "dispatch_failed"', user: 'USLACKBOT', visibleTo: 'U_OPERATOR' });

    emulator.botUrl = 'http://127.0.0.1:9'; // nothing listens there
    expect((await post(emulator, '/ui/command', { userId: 'U_OPERATOR', channelId: 'C_OPS', text: '/jobq stats' })).json).toMatchObject({ slackError: 'dispatch_failed' });

    expect((await post(emulator, '/ui/command', { userId: 'U_NOBODY', channelId: 'C_OPS', text: 'hi' })).status).toBe(400);
    expect((await post(emulator, '/ui/command', { userId: 'U_JOBQ_BOT', channelId: 'C_OPS', text: 'hi' })).status).toBe(400);
    expect((await post(emulator, '/ui/command', { userId: 'U_OPERATOR', channelId: 'C_NOPE', text: 'hi' })).status).toBe(400);
    expect((await post(emulator, '/ui/command', { userId: 'U_OPERATOR', channelId: 'C_OPS', text: '  ' })).status).toBe(400);
    const form = await fetch(`${emulator.url}/ui/command`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'userId=U_OPERATOR&channelId=C_OPS&text=hi',
    });
    expect(form.status).toBe(415);
    expect(emulator.messages('C_OPS').filter((m) => m.text === 'hi')).toEqual([]);
  });

  it('clicks a button through /ui/click: the bot replaces the card, the page sees the edit', async () => {
    const emulator = await setup();
    await startBot(emulator);
    await post(emulator, '/ui/command', { userId: 'U_OPERATOR', channelId: 'C_OPS', text: '/jobq card' });
    const card = await emulator.waitForMessage('C_OPS', (m) => m.via === 'chat.postMessage');
    const events = await openEvents(`${emulator.url}/ui/events`);
    cleanups.push(() => events.close());
    await emulator.waitFor(() => emulator.ui.openStreams === 1);

    const { status, json } = await post(emulator, '/ui/click', { userId: 'U_OPERATOR', channelId: 'C_OPS', messageTs: card.ts, actionId: 'go', value: 'q1' });
    expect(status).toBe(200);
    expect(json).toMatchObject({ ok: true, kind: 'click', status: 200 });
    const change = await events.change((c) => c.type === 'updated' && c.message.ts === card.ts);
    expect(change.message).toMatchObject({ text: 'Retried by <@U_OPERATOR>', edited: expect.any(Object) });
    expect((await uiState(emulator)).messages.find((m) => m.ts === card.ts)).toMatchObject({ text: 'Retried by <@U_OPERATOR>' });

    const missing = await post(emulator, '/ui/click', { userId: 'U_OPERATOR', channelId: 'C_OPS', messageTs: card.ts, actionId: 'nope' });
    expect(missing.status).toBe(400);
    expect(String(missing.json.error)).toContain('no button with action_id nope');
    expect((await post(emulator, '/ui/click', { userId: 'U_OPERATOR', channelId: 'C_OPS', actionId: 'go' })).status).toBe(400);
  });

  it('renders the runbook with an id for every heading, so the bot links resolve', async () => {
    const emulator = await setup();
    const response = await fetch(`${emulator.url}/runbook`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('id="reading-the-stats"');
    expect(html).toContain('href="#backlog-growth"');
    const anchors = runbookAnchors(readFileSync(new URL('docs/runbooks/job-queue.md', root), 'utf8'));
    expect(anchors.length).toBeGreaterThan(20);
    const missing = anchors.filter((slug) => !html.includes(`id="${slug}"`));
    expect(missing).toEqual([]);
    expect(html).not.toMatch(/<script/i);
  });

  it('renders another runbook when told to, and 404s when it is missing', async () => {
    const path = new URL('test/emulator/ui.test.ts', root).pathname; // any readable file
    const emulator = await setup({ runbookPath: path });
    expect((await fetch(`${emulator.url}/runbook`)).status).toBe(200);
    const missing = await setup({ runbookPath: '/nonexistent/runbook.md' });
    const response = await fetch(`${missing.url}/runbook`);
    expect(response.status).toBe(404);
    expect(await response.text()).toContain('/nonexistent/runbook.md');
  });
});
