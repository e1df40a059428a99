import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { factories, type Factories } from '../helpers/factories.js';
import { blockText, startTestBot, type BotBundle } from '../helpers/bot.js';

const LOGS = 'https://logs.example.com/search?q=job_id%3D{job_id}&task={task}';

type Button = { action_id?: string; value?: string };
type Block = { type: string; rows?: unknown[][]; elements?: Button[]; accessory?: Button };
/** Every button of a message or view, as "action_id:value" (actions blocks and section accessories). */
const buttonsOf = (blocks: unknown[] | undefined) =>
  ((blocks ?? []) as Block[])
    .flatMap((b) => [...(b.elements ?? []), ...(b.accessory ? [b.accessory] : [])])
    .filter((e) => e.action_id)
    .map((e) => `${e.action_id}:${e.value ?? ''}`);

/** Readable answers end to end: signed requests into the real bot, replies through the emulator. */
describe('readable replies, the App Home and did-you-mean, through the emulator', () => {
  let db: TestDb;
  let b: BotBundle;
  let f: Factories;

  beforeAll(async () => {
    db = await createTestDb('v3');
    f = factories(db.worker, 'v3');
    b = await startTestBot(db, { JOBQ_LOGS_URL_TEMPLATE: LOGS, JOBQ_ALERT_CHANNEL: '' });
  });
  afterAll(async () => {
    await b?.close();
    await db?.drop();
  });
  afterEach(async () => {
    await db.worker.query('DELETE FROM procrastinate_jobs');
    await db.worker.query('DELETE FROM procrastinate_workers');
  });

  const reply = (predicate: (text: string) => boolean, user = 'U_OPERATOR', channel = 'C_OPS') =>
    b.slack.waitFor(() => b.slack.messages(channel, { visibleTo: user }).find((m) => predicate(blockText(m))), 5_000, 'a matching reply');
  const command = async (text: string, user = 'U_OPERATOR') => {
    const sent = await b.slack.slashCommand({ text, userId: user, channelId: 'C_OPS' });
    expect(sent.ackMs).toBeLessThan(3_000);
    return sent;
  };

  it('answers stats with one table: failures marked, dates as tokens, a text fallback', async () => {
    await f.jobs(2, { queue: 'emails', status: 'failed' });
    await f.job({ queue: 'reports' });
    await command('stats');
    const m = await reply((t) => t.includes('Queue stats'));
    const tables = (m.blocks as Block[]).filter((x) => x.type === 'table');
    expect(tables).toHaveLength(1);
    expect(JSON.stringify(tables[0])).toContain('"name":"red_circle"');
    expect(blockText(m)).toContain('<!date^');
    expect(m.text).toMatch(/todo 1/);
    expect(m.text).toContain('failing in the last hour: emails');
  });

  it('says a queue or task does not exist, with the nearest one, in reads, previews and mutes', async () => {
    await f.jobs(2, { queue: 'emails', task: 'app.send_email', status: 'failed' });
    await command('failed --queue email');
    const failed = await reply((t) => t.includes('No queue'));
    expect(failed.text).toContain('No queue `email`. Did you mean `emails`?');
    expect(blockText(failed)).not.toContain('No failed jobs');

    await command('retry-all --queue email');
    await reply((t) => t.includes('No queue `email`') && !t.includes('No failed jobs'));
    expect(b.slack.messages('C_OPS', { ephemeral: false }).some((m) => blockText(m).includes('bulk_confirm'))).toBe(false);

    // The task list is complete on this small table: an unknown task is said to be unknown.
    await command('failed --task app.send_emial');
    const task = await reply((t) => t.includes('No task'));
    expect(task.text).toContain('No task `app.send_emial`. Did you mean `app.send_email`?');

    await command('mute emial 2h');
    const mute = await reply((t) => t.includes('Nothing is named'));
    expect(mute.text).toContain('Did you mean `emails`?');
    expect((await db.worker.query(`SELECT count(*)::int AS n FROM jobq.mutes WHERE target = 'emial'`)).rows[0]!.n).toBe(0);

    // A name nothing is near may be muted ahead of a deploy, and the answer says so.
    await command('mute billing-v2 2h before the launch');
    const muted = await b.slack.waitFor(() => b.slack.messages('C_OPS', { ephemeral: false }).find((m) => m.text.includes('muted billing-v2')), 5_000);
    expect(blockText(muted)).toContain('No queue, task or alert is named');

    await command('retyr 5');
    const typo = await reply((t) => t.includes('Unknown command'));
    expect(typo.text).toContain('Did you mean `retry`?');
  });

  it('links each failed job to its logs, in the list and on the card, and offers Details per row', async () => {
    const ids = await f.jobs(3, { queue: 'emails', task: 'app.send_email', status: 'failed' });
    await command('failed --queue emails');
    const list = await reply((t) => t.includes('Failed jobs: 3'));
    const json = blockText(list);
    expect(json).toContain(`"url":"https://logs.example.com/search?q=job_id%3D${ids[2]}&task=app.send_email"`);
    expect(buttonsOf(list.blocks).filter((x) => x.startsWith('job_details:'))).toEqual([...ids].reverse().map((id) => `job_details:${id}`));
    expect(buttonsOf(list.blocks)).toContain('failed_retry:{"q":"emails"}');

    await b.slack.clickButton({ message: list, actionId: 'job_details', value: String(ids[0]), userId: 'U_OPERATOR' });
    const card = await reply((t) => t.includes(`Job ${ids[0]} · failed`));
    expect(blockText(card)).toContain(`"url":"https://logs.example.com/search?q=job_id%3D${ids[0]}&task=app.send_email"`);
    expect(blockText(card)).toContain('*Runs*\\n1');

    // "Retry these…" previews exactly the list's filters.
    await b.slack.clickButton({ message: list, actionId: 'failed_retry', userId: 'U_OPERATOR' });
    const preview = await b.slack.waitFor(() => b.slack.messages('C_OPS', { ephemeral: false }).find((m) => blockText(m).includes('Retry 3 failed jobs?')), 5_000);
    expect(blockText(preview)).toContain('bulk_confirm');
  });

  it('names the run a retry starts, and what cancel does when the worker is gone', async () => {
    const once = await f.job({ queue: 'emails', task: 'app.send_email', status: 'failed' });
    await command(`retry ${once}`);
    const retried = await b.slack.waitFor(() => b.slack.messages('C_OPS', { ephemeral: false }).find((m) => m.text.includes(`retried job ${once}`)), 5_000);
    expect(retried.text).toContain('its 2nd run starts when a worker is free');

    const worker = await f.worker(600);
    const orphan = await f.job({ queue: 'emails', status: 'doing', workerId: worker });
    await command(`cancel ${orphan}`);
    const cancelled = await b.slack.waitFor(() => b.slack.messages('C_OPS', { ephemeral: false }).find((m) => m.text.includes(`job ${orphan}`) && m.text.includes('abort')), 5_000);
    expect(cancelled.text).toContain('marked for abort');
    expect(cancelled.text).toContain(`no worker will act on it: its worker ${worker} last sent a heartbeat`);
    expect(cancelled.text).not.toContain('was asked to abort');
    const audit = await db.worker.query<{ message: string }>(`SELECT message FROM jobq.audit_log WHERE action = 'cancel' ORDER BY id DESC LIMIT 1`);
    expect(audit.rows[0]!.message).toContain('no worker will act on it');
  });

  it('purges by an age in hours or minutes, previewed, and audits it as a sentence', async () => {
    const old = await f.jobs(2, { queue: 'emails', status: 'succeeded' });
    for (const id of old) await f.age(id, 2 * 3600);
    const recent = await f.job({ queue: 'emails', status: 'succeeded' });
    await command('purge --older-than 90m');
    const preview = await b.slack.waitFor(() => b.slack.messages('C_OPS', { ephemeral: false }).find((m) => blockText(m).includes('Purge 2 old jobs?')), 5_000);
    await b.slack.clickButton({ message: preview, actionId: 'bulk_confirm', userId: 'U_OPERATOR' });
    await b.slack.waitFor(() => b.slack.messages('C_OPS').find((m) => m.ts === preview.ts && blockText(m).includes('Deleted 2 jobs')), 10_000);
    for (const id of old) expect(await f.status(id)).toBeUndefined();
    expect(await f.status(recent)).toBe('succeeded');
    await command('audit --limit 1');
    const audit = await reply((t) => t.includes('Recent changes') && t.includes('purged'));
    expect(blockText(audit)).toContain('<@U_OPERATOR> purged 2 finished jobs older than 90m');
  });

  it('shows the audit as sentences', async () => {
    const id = await f.job({ queue: 'emails', status: 'failed' });
    await command(`retry ${id}`);
    await b.slack.waitFor(() => b.slack.messages('C_OPS', { ephemeral: false }).find((m) => m.text.includes(`retried job ${id}`)), 5_000);
    await command('audit');
    const audit = await reply((t) => t.includes('Recent changes') && t.includes(`retried job #${id}`));
    expect(blockText(audit)).toContain(`<@U_OPERATOR> retried job #${id} · <!date^`);
    expect(blockText(audit)).not.toMatch(/\{\\"jobId/);
  });

  it('publishes a live App Home on app_home_opened; its buttons answer in messages and change the queue after Confirm', async () => {
    const failedIds = await f.jobs(2, { queue: 'emails', task: 'app.send_email', status: 'failed' });
    await f.job({ queue: 'reports' });
    await f.worker(0);

    const opened = await b.slack.openAppHome({ userId: 'U_OPERATOR' });
    expect(opened.status).toBe(200);
    expect(opened.ackMs).toBeLessThan(3_000);
    const home = await b.slack.waitForHomeView('U_OPERATOR', (v) => JSON.stringify(v.blocks).includes('emails'), 5_000);
    const json = JSON.stringify(home.blocks);
    expect(json).not.toContain('"type":"table"');
    expect(json).toContain(':red_circle: *emails* · *2 failed in the last hour*');
    expect(json).toContain('*Workers:* 1 live of 1');
    expect(json).toContain('Nothing is firing');
    expect(buttonsOf(home.blocks)).toEqual(expect.arrayContaining(['home_refresh:refresh', 'home_failed:emails', 'home_retry:emails']));
    // The emails queue needs a look: it comes before reports.
    expect(json.indexOf('*emails*')).toBeLessThan(json.indexOf('*reports*'));

    // Someone without write rights sees the same overview, without the change buttons.
    await b.slack.openAppHome({ userId: 'U_VIEWER' });
    const viewerHome = await b.slack.waitForHomeView('U_VIEWER', (v) => JSON.stringify(v.blocks).includes('emails'), 5_000);
    expect(buttonsOf(viewerHome.blocks)).not.toContain('home_retry:emails');

    // "Failed jobs" answers in the user's messages with the app (no response_url on a Home tab).
    const clicked = await b.slack.clickHomeButton({ userId: 'U_OPERATOR', actionId: 'home_failed', value: 'emails' });
    expect(clicked.ackMs).toBeLessThan(3_000);
    const list = await b.slack.waitForMessage('D_U_OPERATOR', (m) => blockText(m).includes('Failed jobs: 2'), 5_000);
    expect((list.blocks as Block[]).filter((x) => x.type === 'table')).toHaveLength(1);

    // "Retry last hour's failures…" previews in messages; Confirm there retries them.
    await b.slack.clickHomeButton({ userId: 'U_OPERATOR', actionId: 'home_retry', value: 'emails' });
    const preview = await b.slack.waitForMessage('D_U_OPERATOR', (m) => blockText(m).includes('bulk_confirm'), 5_000);
    expect(blockText(preview)).toContain('Retry 2 failed jobs?');
    await b.slack.clickButton({ message: preview, actionId: 'bulk_confirm', userId: 'U_OPERATOR' });
    await b.slack.waitFor(() => b.slack.messages('D_U_OPERATOR').find((m) => m.ts === preview.ts && blockText(m).includes('Retried 2')), 10_000);
    for (const id of failedIds) expect(await f.status(id)).toBe('todo');

    // Refresh republishes with the new state.
    await b.slack.clickHomeButton({ userId: 'U_OPERATOR', actionId: 'home_refresh', value: 'refresh' });
    await b.slack.waitForHomeView('U_OPERATOR', (v) => JSON.stringify(v.blocks).includes(':large_green_circle: *emails*'), 5_000);

    // A viewer's click on a change is refused in their messages, and audited.
    await b.slack.clickHomeButton({ userId: 'U_VIEWER', actionId: 'home_failed', value: 'emails' });
    await b.slack.waitForMessage('D_U_VIEWER', (m) => blockText(m).includes('Failed jobs'), 5_000);
  });
});

describe('the App Home where jobq answers only in some channels', () => {
  let db: TestDb;
  let b: BotBundle;
  beforeAll(async () => {
    db = await createTestDb('v3');
    b = await startTestBot(db, { JOBQ_READ_CHANNELS: 'C_OPS' });
  });
  afterAll(async () => {
    await b?.close();
    await db?.drop();
  });

  it('publishes the reason instead of the overview, as a command would answer', async () => {
    await b.slack.openAppHome({ userId: 'U_OPERATOR' });
    const home = await b.slack.waitForHomeView('U_OPERATOR', () => true, 5_000);
    expect(JSON.stringify(home.blocks)).toContain('jobq answers in <#C_OPS> only');
    expect(buttonsOf(home.blocks)).toEqual(['home_refresh:refresh']);
  });
});
