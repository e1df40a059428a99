import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { webApi } from '@slack/bolt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { DEFAULT_CHANNELS } from '../../src/emulator/model.js';
import { startSlackEmulator, type SlackEmulator } from '../../src/emulator/web-api.js';
import { runBot, startBot, type RunningBot } from '../../src/main.js';
import { classifySlackError } from '../../src/slack/errors.js';
import { preflightClient, runSlackPreflight, slackDoctorWarnings } from '../../src/slack/preflight.js';
import { BOT_SCOPE_NAMES } from '../../src/slack/scopes.js';
import { createSlackStatus } from '../../src/slack/status.js';
import { BOT_TOKEN, RUNBOOK, SIGNING_SECRET, startTestBot, type BotBundle } from '../helpers/bot.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { testLogger } from '../helpers/log.js';

const WARN = 40;
const never = new Promise<void>(() => undefined);
/** A port that just stopped listening: every call is refused, as when Slack is unreachable. */
async function deadApiUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/api/`;
}

/** The bot scopes listed under oauth_config.scopes.bot in manifest.yml. */
function manifestBotScopes(): string[] {
  const text = readFileSync(new URL('../../manifest.yml', import.meta.url), 'utf8');
  const block = /^\s*bot:\s*\n((?:\s*(?:- .*|#.*)\n)+)/m.exec(text)?.[1] ?? '';
  return [...block.matchAll(/^\s*- ([\w:.]+)/gm)].map((m) => m[1]!);
}

const configFor = (slack: SlackEmulator | { apiUrl: string }, env: Record<string, string> = {}) =>
  loadConfig({
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    PORT: '0',
    JOBQ_RUNBOOK_URL: RUNBOOK,
    ...env,
  });

describe('Slack preflight', () => {
  it("keeps the required scopes equal to manifest.yml's bot scopes", () => {
    const manifest = manifestBotScopes();
    expect(manifest.length).toBeGreaterThanOrEqual(7);
    expect([...BOT_SCOPE_NAMES].sort()).toEqual([...manifest].sort());
    expect(manifest).toEqual(expect.arrayContaining(['channels:read', 'groups:read']));
  });

  describe('a token Slack rejects', () => {
    let slack: SlackEmulator;
    beforeAll(async () => {
      slack = await startSlackEmulator({ botToken: BOT_TOKEN });
    });
    afterAll(async () => slack?.close());

    it.each([
      ['a wrong token', 'invalid_auth', { SLACK_BOT_TOKEN: 'xoxb-not-this-workspace-secret' }],
      ['a revoked token', 'token_revoked', {}],
      ['a deactivated app', 'account_inactive', {}],
    ] as const)('%s: serve exits 1 with one line naming SLACK_BOT_TOKEN, before anything listens', async (_case, error, env) => {
      if (error !== 'invalid_auth') slack.faults.next('auth.test', { error });
      const callsBefore = slack.calls().length;
      const logs = testLogger();
      // The database is never reached: the token is checked first.
      const code = await runBot(configFor(slack, { JOB_QUEUE_DATABASE_URL: 'postgres://jobq@127.0.0.1:1/app', ...env }), logs.log, never);
      expect(code).toBe(1);
      const loud = logs.atLeast(WARN);
      expect(loud).toHaveLength(1);
      const [line] = loud;
      expect(line!.msg).toContain('SLACK_BOT_TOKEN');
      expect(line!.msg).toContain(`(${error})`);
      expect(line!.msg).toContain('Bot User OAuth Token');
      expect(line!.msg).not.toContain('\n');
      expect(line).not.toHaveProperty('err');
      expect(line).not.toHaveProperty('stack');
      expect(line!.code).toBe('config_invalid');
      expect(JSON.stringify(logs.lines())).not.toContain('not-this-workspace-secret');
      expect(logs.lines().some((l) => String(l.msg).includes('jobq is running'))).toBe(false);
      // Only the one check reached Slack: Bolt never made its own auth.test, nothing was posted.
      expect(
        slack
          .calls()
          .slice(callsBefore)
          .map((c) => c.method),
      ).toEqual(['auth.test']);
    });
  });

  describe('with a database', () => {
    let db: TestDb;
    let b: BotBundle | undefined;
    let bot: RunningBot | undefined;
    beforeAll(async () => {
      db = await createTestDb('v3');
    });
    afterEach(async () => {
      await b?.close();
      await bot?.stop();
      b = undefined;
      bot = undefined;
    });
    afterAll(async () => db?.drop());

    it('names a missing scope and each channel problem once, and /readyz stays 200 with them in its body', async () => {
      b = await startTestBot(
        db,
        {
          JOBQ_ALERT_CHANNEL: 'C_ALERTS',
          JOBQ_AUDIT_CHANNEL: 'C_OLD',
          JOBQ_SUMMARY_SCHEDULES: JSON.stringify([{ cron: '0 9 * * 1-5', timezone: 'UTC', channel: 'C_NOWHERE' }]),
          JOBQ_ALERTS_DISABLED: 'failures,stalled,backlog,no-workers',
        },
        'http',
        {
          grantedScopes: BOT_SCOPE_NAMES.filter((s) => s !== 'usergroups:read'),
          channels: [
            ...DEFAULT_CHANNELS.filter((c) => c.id !== 'C_ALERTS'),
            { id: 'C_ALERTS', name: 'alerts', isMember: false },
            { id: 'C_OLD', name: 'old-audit', isArchived: true },
          ],
        },
      );
      const warnings = b.logs.atLeast(WARN).map((l) => String(l.msg));
      const expected = [
        'SLACK_BOT_TOKEN lacks the scope usergroups:read (JOBQ_WRITE_GROUPS membership checks)',
        'JOBQ_ALERT_CHANNEL=C_ALERTS: the bot is not in this channel. Fix: invite it: /invite @jobq',
        'JOBQ_AUDIT_CHANNEL=C_OLD: the channel is archived',
        'JOBQ_SUMMARY_SCHEDULES[0].channel=C_NOWHERE: Slack knows no such channel',
      ];
      for (const text of expected)
        expect(
          warnings.filter((w) => w.includes(text)),
          text,
        ).toHaveLength(1);
      expect(warnings.find((w) => w.includes('usergroups:read'))).toContain('reinstall the app');

      const ready = await fetch(`${b.slack.botUrl}/readyz`);
      expect(ready.status).toBe(200);
      const body = (await ready.json()) as { ok: boolean; slack: { reachable: boolean; problems: { variable: string; code: string; fix: string }[] } };
      expect(body.ok).toBe(true);
      expect(body.slack.reachable).toBe(true);
      expect(body.slack.problems.map((p) => [p.variable, p.code])).toEqual([
        ['SLACK_BOT_TOKEN', 'missing_scope'],
        ['JOBQ_ALERT_CHANNEL', 'not_in_channel'],
        ['JOBQ_AUDIT_CHANNEL', 'is_archived'],
        ['JOBQ_SUMMARY_SCHEDULES[0].channel', 'channel_not_found'],
      ]);
      expect(body.slack.problems[1]!.fix).toContain('/invite @jobq');

      // Commands still work, and Bolt knows the bot from the preflight (no auth.test of its own).
      await b.slack.slashCommand({ text: 'stats', userId: 'U_OPERATOR', channelId: 'C_OPS' });
      await b.slack.waitFor(() => b!.slack.messages('C_OPS', { visibleTo: 'U_OPERATOR' }).length > 0, 5_000, 'a reply to /jobq stats');
      expect(b.slack.calls('auth.test')).toHaveLength(1);

      // doctor gets the same problems as warnings.
      const doctor = await slackDoctorWarnings(configFor(b.slack, { JOBQ_ALERT_CHANNEL: 'C_ALERTS' }));
      expect(doctor.map((w) => w.code)).toEqual(['slack_missing_scope', 'slack_not_in_channel']);
      expect(doctor[1]).toMatchObject({ message: 'JOBQ_ALERT_CHANNEL=C_ALERTS: the bot is not in this channel.', hint: 'Invite it: /invite @jobq in that channel' });
    });

    it('a private channel the bot is not in, and a missing channels:read, are named too', async () => {
      const slack = await startSlackEmulator({
        botToken: BOT_TOKEN,
        grantedScopes: BOT_SCOPE_NAMES.filter((s) => s !== 'channels:read'),
        channels: [...DEFAULT_CHANNELS, { id: 'G_SECRET', name: 'secret', isPrivate: true, isMember: false }],
      });
      try {
        const config = configFor(slack, { JOBQ_ALERT_CHANNEL: 'C_ALERTS', JOBQ_AUDIT_CHANNEL: 'G_SECRET' });
        const result = await runSlackPreflight(preflightClient(config), config);
        expect(result).toMatchObject({ ok: true, reachable: true, botUserId: 'U_JOBQ_BOT' });
        // channels:read is reported once, not again for the public channel it could not check.
        expect(result.problems.map((p) => [p.variable, p.code])).toEqual([
          ['SLACK_BOT_TOKEN', 'missing_scope'],
          ['JOBQ_AUDIT_CHANNEL', 'channel_not_found'],
        ]);
        expect(result.problems[0]!.message).toContain('channels:read');
        expect(result.problems[1]!.fix).toContain('/invite @jobq');
      } finally {
        await slack.close();
      }
    });

    it('Slack unreachable at start: one warning, the bot starts anyway and /readyz says so', async () => {
      const logs = testLogger();
      bot = await startBot(
        configFor({ apiUrl: await deadApiUrl() }, { JOB_QUEUE_DATABASE_URL: db.url, JOBQ_ALERT_CHANNEL: 'C_ALERTS', JOBQ_ALERTS_DISABLED: 'failures,stalled,backlog,no-workers' }),
        logs.log,
      );
      const warnings = logs.atLeast(WARN);
      expect(warnings.map((l) => l.msg)).toHaveLength(1);
      expect(warnings[0]!.msg).toContain('Slack could not be reached');
      expect(warnings[0]!.msg).toContain('ECONNREFUSED');
      expect(warnings[0]!.variable).toBe('SLACK_API_URL');
      const ready = await fetch(`http://127.0.0.1:${bot.port}/readyz`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { slack: { reachable: boolean } }).slack.reachable).toBe(false);
    });

    it('re-checks after a Slack error at run time, and logs the problem resolved once the bot is invited', async () => {
      const slack = await startSlackEmulator({
        botToken: BOT_TOKEN,
        channels: [...DEFAULT_CHANNELS.filter((c) => c.id !== 'C_ALERTS'), { id: 'C_ALERTS', name: 'alerts', isMember: false }],
      });
      const logs = testLogger();
      const config = configFor(slack, { JOBQ_ALERT_CHANNEL: 'C_ALERTS' });
      const client = preflightClient(config);
      const status = createSlackStatus({ config, log: logs.log, client, first: await runSlackPreflight(client, config), minIntervalMs: 50 });
      try {
        expect(status.snapshot().problems.map((p) => p.code)).toEqual(['not_in_channel']);
        const post = () => client.chat.postMessage({ channel: 'C_ALERTS', text: 'hello' });
        const refusal = await post().catch((error: unknown) => error);
        expect(status.watch.failed('C_ALERTS', refusal)).toEqual({ kind: 'fix', code: 'not_in_channel' });
        expect(status.snapshot().failing).toMatchObject([{ variable: 'JOBQ_ALERT_CHANNEL', channel: 'C_ALERTS', code: 'not_in_channel' }]);
        slack.inviteBot('C_ALERTS');
        await post();
        status.watch.succeeded('C_ALERTS');
        const deadline = Date.now() + 5_000;
        while (status.snapshot().problems.length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(status.snapshot().problems).toEqual([]);
        expect(status.snapshot().failing).toEqual([]);
        const lines = logs.lines().map((l) => String(l.msg));
        expect(lines.filter((m) => m.startsWith('Slack preflight: JOBQ_ALERT_CHANNEL=C_ALERTS: the bot is not in this channel'))).toHaveLength(1);
        expect(lines).toContain('Slack preflight: resolved: JOBQ_ALERT_CHANNEL=C_ALERTS: the bot is not in this channel');
        expect(lines.some((m) => m.startsWith('Slack: posting to JOBQ_ALERT_CHANNEL=C_ALERTS works again'))).toBe(true);
        expect(slack.calls('auth.test').length).toBeGreaterThanOrEqual(2);
      } finally {
        status.stop();
        await slack.close();
      }
    });
  });

  it('classifies what the WebClient throws: platform errors, 5xx, network, rate limits', async () => {
    const slack = await startSlackEmulator({ botToken: BOT_TOKEN, channels: [...DEFAULT_CHANNELS, { id: 'C_OUT', name: 'out', isMember: false }] });
    const client = new webApi.WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
    const thrown = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (error: unknown) => error,
      );
    try {
      expect(classifySlackError(await thrown(client.chat.postMessage({ channel: 'C_OUT', text: 'x' })))).toEqual({ kind: 'fix', code: 'not_in_channel' });
      slack.archiveChannel('C_GENERAL');
      expect(classifySlackError(await thrown(client.chat.postMessage({ channel: 'C_GENERAL', text: 'x' })))).toEqual({ kind: 'fix', code: 'is_archived' });
      expect(classifySlackError(await thrown(client.chat.postMessage({ channel: 'C_NONE', text: 'x' })))).toEqual({ kind: 'fix', code: 'channel_not_found' });
      slack.grantedScopes = BOT_SCOPE_NAMES.filter((s) => s !== 'chat:write');
      expect(classifySlackError(await thrown(client.chat.postMessage({ channel: 'C_OPS', text: 'x' })))).toEqual({ kind: 'fix', code: 'missing_scope', needed: 'chat:write' });
      slack.grantedScopes = [...BOT_SCOPE_NAMES];
      slack.faults.next('chat.postMessage', { status: 503 });
      expect(classifySlackError(await thrown(client.chat.postMessage({ channel: 'C_OPS', text: 'x' })))).toEqual({ kind: 'transient', code: 'http_503' });
      slack.faults.next('chat.postMessage', { status: 429, retryAfter: 1 });
      expect(classifySlackError(await thrown(client.chat.postMessage({ channel: 'C_OPS', text: 'x' })))).toEqual({ kind: 'rate_limited', code: 'ratelimited' });
      slack.faults.next('chat.postMessage', { error: 'msg_too_long' });
      expect(classifySlackError(await thrown(client.chat.postMessage({ channel: 'C_OPS', text: 'x' })))).toEqual({ kind: 'refused', code: 'msg_too_long' });
      const dead = new webApi.WebClient(BOT_TOKEN, { slackApiUrl: await deadApiUrl(), retryConfig: { retries: 0 }, logLevel: webApi.LogLevel.ERROR });
      expect(classifySlackError(await thrown(dead.chat.postMessage({ channel: 'C_OPS', text: 'x' })))).toEqual({ kind: 'transient', code: 'ECONNREFUSED' });
      slack.faults.next('chat.postMessage', { hang: true });
      const impatient = new webApi.WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, timeout: 200, logLevel: webApi.LogLevel.ERROR });
      expect(classifySlackError(await thrown(impatient.chat.postMessage({ channel: 'C_OPS', text: 'x' })))).toMatchObject({ kind: 'transient' });
      expect(classifySlackError(new Error('connection terminated'))).toBeNull();
    } finally {
      await slack.close();
    }
  });
});
