import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnvironments } from '../../src/environments/config-file.js';
import { startSlackEmulator, type SlackEmulator } from '../../src/emulator/web-api.js';
import { startBot, type RunningBot } from '../../src/main.js';
import { main as cli } from '../../src/cli.js';
import { APP_TOKEN, BOT_TOKEN, blockText, RUNBOOK, SIGNING_SECRET } from '../helpers/bot.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { factories, type Factories } from '../helpers/factories.js';
import { testLogger, type LogSink } from '../helpers/log.js';
import { finalAnswer, rawClick, rawCommand } from '../helpers/slack-requests.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * One bot in front of three Procrastinate databases of different versions: billing (3.x, bound to
 * #billing), emails (3.x, reached through a proxy the test can cut) and staging (2.x, open to
 * everyone's changes). Commands go where --env or the channel says, reads without either answer
 * for each, buttons go back to their own database, each alerts in its own channel, and one
 * database going away leaves the others answering.
 */
describe('several environments behind one bot', () => {
  let billing: TestDb;
  let emails: TestDb;
  let staging: TestDb;
  let proxy: TcpProxy;
  let slack: SlackEmulator;
  let bot: RunningBot;
  let logs: LogSink;
  const f: Record<string, Factories> = {};
  const dir = mkdtempSync(join(tmpdir(), 'jobq-multi-'));

  beforeAll(async () => {
    [billing, emails, staging] = await Promise.all([createTestDb('v3'), createTestDb('v3'), createTestDb('v2')]);
    f.billing = factories(billing.worker, 'v3');
    f.emails = factories(emails.worker, 'v3');
    f.staging = factories(staging.worker, 'v2');
    emails.worker.on('error', () => undefined);
    const target = new URL(emails.url);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) }, 'forward');
    const viaProxy = new URL(emails.url);
    viaProxy.port = String(proxy.port);

    slack = await startSlackEmulator({
      botToken: BOT_TOKEN,
      appToken: APP_TOKEN,
      signingSecret: SIGNING_SECRET,
      channels: [
        { id: 'C_OPS', name: 'ops' },
        { id: 'C_BILLING', name: 'billing-ops' },
        { id: 'C_BILLING_ALERTS', name: 'billing-alerts' },
        { id: 'C_EMAILS_ALERTS', name: 'emails-alerts' },
        // Nobody invited the bot: the start's Slack check must say so for staging's entry.
        { id: 'C_STAGING_AUDIT', name: 'staging-audit', isMember: false },
      ],
    });
    const file = join(dir, 'jobq.yaml');
    writeFileSync(
      file,
      `environments:
  - name: billing
    databaseUrlEnv: BILLING_DB
    channels: [C_BILLING]
    alertChannel: C_BILLING_ALERTS
    writeUsers: [U_OPERATOR]
  - name: emails
    databaseUrlEnv: EMAILS_DB
    alertChannel: C_EMAILS_ALERTS
    writeUsers: [U_OPERATOR]
  - name: staging
    databaseUrlEnv: STAGING_DB
    auditChannel: C_STAGING_AUDIT
    writeUsers: [U_OPERATOR, U_VIEWER]
`,
    );
    const environments = loadEnvironments({
      JOBQ_CONFIG: file,
      BILLING_DB: billing.url,
      EMAILS_DB: viaProxy.toString(),
      STAGING_DB: staging.url,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      JOBQ_RUNBOOK_URL: RUNBOOK,
      JOBQ_BATCH_PAUSE_MS: '0',
      JOBQ_ALERT_POLL_SECONDS: '0.1',
      JOBQ_ALERT_GROUP_WAIT_SECONDS: '0.3',
      JOBQ_ALERT_POST_INTERVAL_MS: '20',
      JOBQ_HEALTH_CHECK_SECONDS: '0.2',
      JOBQ_LEADER_CHECK_SECONDS: '0.5',
      JOBQ_DB_UNREACHABLE_AFTER_SECONDS: '0.3',
      JOBQ_ALERTS_DISABLED: 'stalled,backlog,no-workers',
      JOBQ_READ_CACHE_SECONDS: '0',
    });
    logs = testLogger();
    bot = await startBot(environments, logs.log);
    slack.botUrl = `http://127.0.0.1:${bot.port}`;
    await Promise.all(bot.environments.map((e) => e.deps.migrated()));
    // The failure tails start at the newest event once elected: a failure written before that is
    // history, not news. Wait for billing's and emails' tails, as a team's bot is up before its jobs fail.
    await slack.waitFor(() => bot.environments.every((e) => !e.alerts || (e.alerts.isLeader() && e.alerts.tailState() !== null)), 30_000, 'each alert tail started');
  });
  afterAll(async () => {
    await bot?.stop();
    await slack?.close();
    await proxy?.close();
    await Promise.all([billing, emails, staging].map((db) => db?.drop()));
  });

  /** Every message the bot answered on one response URL (a read for all environments is several). */
  async function ask(text: string, user = 'U_OPERATOR', channel = 'C_OPS', answers = 1): Promise<string[]> {
    const request = rawCommand(slack, text, user, channel);
    const started = Date.now();
    const sent = await slack.sendRaw(request.body, request.headers);
    expect(sent.status).toBe(200);
    expect(sent.ackMs).toBeLessThan(3_000);
    const id = new URL(request.responseUrl!).pathname.split('/').filter(Boolean).at(-1);
    const final = () => slack.responses().filter((r) => r.urlId === id && !/^Working on /.test(String(r.body.text ?? '')));
    await slack.waitFor(() => final().length >= answers, 10_000, `${answers} answer(s) to "${text}"`);
    expect(Date.now() - started).toBeLessThan(10_000);
    return final().map((r) => `${String(r.body.text ?? '')}\n${JSON.stringify(r.body.blocks ?? [])}`);
  }
  const announced = (channel: string, words: string) =>
    slack.waitFor(() => slack.messages(channel, { ephemeral: false }).find((m) => blockText(m).includes(words)), 15_000, `"${words}" in ${channel}`);

  it("checks every environment's channels at start, naming the environment whose setting to fix", async () => {
    const ready = await fetch(`http://127.0.0.1:${bot.port}/readyz`);
    const body = (await ready.json()) as { slack: { problems: { variable: string; code: string }[] } };
    expect(body.slack.problems).toEqual([expect.objectContaining({ variable: 'JOBQ_AUDIT_CHANNEL of environment staging', code: 'not_in_channel' })]);
    expect(logs.atLeast(40).some((l) => String(l.msg).includes('JOBQ_AUDIT_CHANNEL of environment staging'))).toBe(true);
  });

  it('routes by --env and by the channel binding, and names the environment on every reply', async () => {
    await f.billing!.job({ queue: 'invoices', status: 'failed' });
    await f.staging!.job({ queue: 'staging_only', status: 'todo' });

    const [stagingStats] = await ask('stats --env staging');
    expect(stagingStats).toContain('[staging]');
    expect(stagingStats).toContain('Environment: *staging*');
    expect(stagingStats).toContain('staging_only');
    expect(stagingStats).not.toContain('invoices');

    // In #billing-ops plain `/jobq failed` means billing's queue.
    const [billingFailed] = await ask('failed', 'U_OPERATOR', 'C_BILLING');
    expect(billingFailed).toContain('[billing]');
    expect(billingFailed).toContain('invoices');

    // The flag wins over the binding.
    const [override] = await ask('stats --env staging', 'U_OPERATOR', 'C_BILLING');
    expect(override).toContain('[staging]');
  });

  it('answers a read for every environment where none is named or bound, and refuses a change there', async () => {
    const answers = await ask('stats', 'U_OPERATOR', 'C_OPS', 3);
    const named = answers.map((a) => /^\[(\w+)\]/.exec(a)?.[1]).sort();
    expect(named).toEqual(['billing', 'emails', 'staging']);

    const [refused] = await ask('retry 1');
    expect(refused).toContain('add --env NAME');
  });

  it('checks rights per environment: staging is open to the viewer, billing is not', async () => {
    const stagingJob = await f.staging!.job({ queue: 'q', status: 'failed' });
    await ask(`retry ${stagingJob} --env staging`, 'U_VIEWER').catch(() => undefined);
    await announced('C_OPS', `retried job ${stagingJob}`);
    expect(await f.staging!.status(stagingJob)).toBe('todo');

    const billingJob = await f.billing!.job({ queue: 'invoices', status: 'failed' });
    const [refused] = await ask(`retry ${billingJob}`, 'U_VIEWER', 'C_BILLING');
    expect(refused).toMatch(/may not change/);
    expect(refused).toContain('[billing]');
    expect(await f.billing!.status(billingJob)).toBe('failed');
  });

  it('runs a Confirm in the database of its preview, never another with the same ids', async () => {
    const ids = await f.billing!.jobs(3, { queue: 'shared_name', status: 'failed' });
    const same = await f.staging!.jobs(3, { queue: 'shared_name', status: 'failed' });
    await ask('retry-all --queue shared_name', 'U_OPERATOR', 'C_BILLING', 0);
    const preview = await slack.waitFor(() => slack.messages('C_BILLING', { ephemeral: false }).find((m) => blockText(m).includes('bulk_confirm@billing')), 10_000);
    expect(blockText(preview)).toContain('Environment: *billing*');
    await slack.clickButton({ message: preview, actionId: 'bulk_confirm@billing', userId: 'U_OPERATOR' });
    await slack.waitFor(async () => (await Promise.all(ids.map((id) => f.billing!.status(id)))).every((s) => s === 'todo'), 10_000, 'billing jobs retried');
    for (const id of same) expect(await f.staging!.status(id)).toBe('failed');

    // A forged click naming an environment jobq does not serve changes nothing.
    const forged = rawClick(slack, 'bulk_confirm@nowhere', '00000000-0000-0000-0000-000000000000', 'U_OPERATOR', 'C_BILLING');
    expect((await slack.sendRaw(forged.body, forged.headers)).status).toBe(200);
    expect(await finalAnswer(slack, forged.responseUrl!)).toContain('which jobq no longer serves');
  });

  it('alerts each environment in its own channel, named', async () => {
    await f.billing!.job({ queue: 'invoices', task: 'billing.charge', status: 'failed' });
    await f.emails!.job({ queue: 'outbox', task: 'emails.send', status: 'failed' });
    const billingAlert = await announced('C_BILLING_ALERTS', 'billing.charge');
    expect(billingAlert.text).toMatch(/^\[billing\] /);
    const emailsAlert = await announced('C_EMAILS_ALERTS', 'emails.send');
    expect(emailsAlert.text).toMatch(/^\[emails\] /);
    expect(slack.messages('C_BILLING_ALERTS', { ephemeral: false }).some((m) => blockText(m).includes('emails.send'))).toBe(false);
  });

  it("serves each environment's queue metrics under its env label", async () => {
    await Promise.all(bot.environments.map((e) => e.collector!.collect()));
    const text = await (await fetch(`http://127.0.0.1:${bot.port}/metrics`)).text();
    expect(text).toMatch(/procrastinate_jobs\{queue="invoices",status="failed",env="billing"\} [1-9]/);
    expect(text).toMatch(/procrastinate_jobs\{queue="staging_only",status="todo",env="staging"\} 1/);
    expect(text).not.toMatch(/procrastinate_jobs\{queue="invoices"[^}]*env="staging"/);
    // One family per metric name, as Prometheus requires.
    expect(text.match(/^# TYPE procrastinate_jobs gauge$/gm)).toHaveLength(1);
    // Leadership and reachability belong to each database: one series per environment, none unlabelled.
    for (const name of ['billing', 'emails', 'staging']) {
      expect(text).toMatch(new RegExp(`^jobq_leader\\{env="${name}"\\} [01]$`, 'm'));
      expect(text).toMatch(new RegExp(`^jobq_database_reachable\\{env="${name}"\\} 1$`, 'm'));
    }
    // billing and emails alert (each the only replica, so each leads); staging has no alert channel.
    expect(text).toMatch(/^jobq_leader\{env="billing"\} 1$/m);
    expect(text).not.toMatch(/^jobq_leader /m);
    expect(text.match(/^# TYPE jobq_leader gauge$/gm)).toHaveLength(1);
  });

  it('keeps answering for the others while one database is gone, and says which is down', async () => {
    proxy.set('refuse');
    proxy.cut();
    try {
      const [stagingStats] = await ask('stats --env staging');
      expect(stagingStats).toContain('staging_only');
      const [down] = await ask('stats --env emails');
      expect(down).toContain('Cannot reach the database');

      const ready = await fetch(`http://127.0.0.1:${bot.port}/readyz`);
      const body = (await ready.json()) as { ok: boolean; environments: Record<string, { ok: boolean }> };
      expect(ready.status).toBe(200);
      expect(body.environments.emails!.ok).toBe(false);
      expect(body.environments.billing!.ok).toBe(true);
      const metrics = await (await fetch(`http://127.0.0.1:${bot.port}/metrics`)).text();
      expect(metrics).toMatch(/^jobq_database_reachable\{env="emails"\} 0$/m);
      expect(metrics).toMatch(/^jobq_database_reachable\{env="staging"\} 1$/m);

      const [envs] = await ask('envs');
      expect(envs).toMatch(/:red_circle: \*emails\*/);
      expect(envs).toMatch(/:large_green_circle: \*billing\*: procrastinate 3/);
      expect(envs).toMatch(/:large_green_circle: \*staging\*: procrastinate 2/);

      // Its outage alert goes to its own channel only.
      await announced('C_EMAILS_ALERTS', 'Cannot reach');
    } finally {
      proxy.set('forward');
    }
  });

  it('the CLI takes --env anywhere, lists environments, and answers a read for each', async () => {
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t), interactive: false, ask: async () => '', env: {} as NodeJS.ProcessEnv };
    const env = { JOBQ_CONFIG: join(dir, 'jobq.yaml'), BILLING_DB: billing.url, EMAILS_DB: emails.url, STAGING_DB: staging.url };
    expect(await cli(['--env', 'staging', 'stats', '--json'], { ...io, env })).toBe(0);
    expect(JSON.parse(out.join('\n')).queues.map((q: { name: string }) => q.name)).toContain('staging_only');
    out.length = 0;
    expect(await cli(['stats', '--json'], { ...io, env })).toBe(0);
    expect(Object.keys(JSON.parse(out.join('\n')).environments)).toEqual(['billing', 'emails', 'staging']);
    out.length = 0;
    expect(await cli(['retry', '1'], { ...io, env })).toBe(2);
    expect(out.join('\n')).toContain('add --env NAME');
    out.length = 0;
    expect(await cli(['envs'], { ...io, env })).toBe(0);
    expect(out.join('\n')).toMatch(/staging\s+ready: procrastinate 2/);
  });
});
