import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { slashCommandBody } from '../../src/emulator/signing.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { factories, type Factories } from '../helpers/factories.js';
import { blockText, RUNBOOK, SIGNING_SECRET, startTestBot, type BotBundle } from '../helpers/bot.js';

/** /jobq end to end: signed HTTP into the real Bolt receiver, replies through the emulated Slack. */
describe('the Slack app over HTTP', () => {
  let db: TestDb;
  let b: BotBundle;
  let f: Factories;

  beforeAll(async () => {
    db = await createTestDb('v3');
    f = factories(db.worker, 'v3');
    // Reads wait up to 5 s for a table lock, so the blocked-query case below can show progress.
    b = await startTestBot(db, { JOBQ_LOCK_TIMEOUT_MS: '5000' });
  });
  afterAll(async () => {
    await b?.close();
    await db?.drop();
  });
  afterEach(async () => {
    await db.worker.query('DELETE FROM procrastinate_jobs');
  });

  const _lastReply = (user = 'U_OPERATOR', channel = 'C_OPS') => b.slack.messages(channel, { visibleTo: user }).at(-1);
  const waitReply = (predicate: (text: string) => boolean, channel = 'C_OPS', user = 'U_OPERATOR') =>
    b.slack.waitFor(() => b.slack.messages(channel, { visibleTo: user }).find((m) => predicate(blockText(m))), 5_000, 'a matching reply');

  it('answers /jobq stats privately with blocks, a text fallback and a runbook link', async () => {
    await f.job({ queue: 'emails', status: 'failed' });
    await f.job({ queue: 'emails' });
    const sent = await b.slack.slashCommand({ text: 'stats', userId: 'U_OPERATOR', channelId: 'C_OPS' });
    expect(sent.status).toBe(200);
    expect(sent.ackMs).toBeLessThan(3_000);
    const reply = await waitReply((t) => t.includes('Queue stats'));
    expect(reply.visibleTo).toBe('U_OPERATOR');
    expect(reply.text).toMatch(/todo 1/);
    expect(blockText(reply)).toContain(`${RUNBOOK}#reading-the-stats`);
  });

  it('acks within 3 seconds while the query is blocked, shows progress, then replaces it', async () => {
    const locker = await db.worker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE procrastinate_jobs IN ACCESS EXCLUSIVE MODE');
      const sent = await b.slack.slashCommand({ text: 'stats', userId: 'U_VIEWER', channelId: 'C_OPS' });
      expect(sent.status).toBe(200);
      expect(sent.ackMs).toBeLessThan(3_000);
      expect(sent.slackError).toBeUndefined();
      const placeholder = await waitReply((t) => t.includes('Working on'), 'C_OPS', 'U_VIEWER');
      expect(placeholder.via).toBe('response_url');
      expect(b.slack.messages('C_OPS', { visibleTo: 'U_VIEWER' }).some((m) => blockText(m).includes('Queue stats'))).toBe(false);
    } finally {
      await locker.query('COMMIT');
      locker.release();
    }
    await waitReply((t) => t.includes('Queue stats'), 'C_OPS', 'U_VIEWER');
    const mine = b.slack.messages('C_OPS', { visibleTo: 'U_VIEWER' }).filter((m) => blockText(m).includes('Working on'));
    expect(mine).toEqual([]); // replaced, not left behind
  });

  it('rejects unsigned, forged and stale requests', async () => {
    const body = slashCommandBody({ command: '/jobq', text: 'stats', user_id: 'U_OPERATOR', channel_id: 'C_OPS', response_url: 'http://127.0.0.1:1/x' } as never);
    const now = Math.floor(Date.now() / 1000);
    const sign = (ts: number, secret = SIGNING_SECRET) => `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
    const headers = (ts: number, signature: string) => ({
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': signature,
    });
    expect((await b.slack.sendRaw(body, { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(401);
    expect((await b.slack.sendRaw(body, headers(now, sign(now, 'not-the-secret')))).status).toBe(401);
    expect((await b.slack.sendRaw(body, headers(now - 6 * 60, sign(now - 6 * 60)))).status).toBe(401);
    expect((await b.slack.sendRaw(body, headers(now, sign(now)))).status).toBe(200);
  });

  it('answers unknown or malformed input with usage, never a stack trace', async () => {
    await b.slack.slashCommand({ text: 'job abc', userId: 'U_OPERATOR', channelId: 'C_OPS' });
    const reply = await waitReply((t) => t.includes('is not a job id'));
    expect(blockText(reply)).toContain('/jobq job ID');
    await b.slack.slashCommand({ text: 'frobnicate', userId: 'U_OPERATOR', channelId: 'C_OPS' });
    const unknown = await waitReply((t) => t.includes('Unknown command'));
    expect(blockText(unknown)).not.toMatch(/\n\s+at /);
    expect(blockText(unknown)).toContain(`${RUNBOOK}#`);
  });

  it('refuses a change from a user without rights, says who may, and audits the refusal', async () => {
    const id = await f.job({ status: 'failed' });
    await b.slack.slashCommand({ text: `retry ${id}`, userId: 'U_VIEWER', channelId: 'C_OPS' });
    const reply = await waitReply((t) => t.includes('may not change the queue'), 'C_OPS', 'U_VIEWER');
    expect(blockText(reply)).toContain('<@U_OPERATOR>');
    expect(await f.status(id)).toBe('failed');
    const audit = await db.worker.query(`SELECT actor_id, outcome FROM jobq.audit_log WHERE action = 'retry' ORDER BY id DESC LIMIT 1`);
    expect(audit.rows[0]).toMatchObject({ actor_id: 'U_VIEWER', outcome: 'refused' });
  });

  it('retries one job and announces it in the channel', async () => {
    const id = await f.job({ status: 'failed', task: 'app.send' });
    await b.slack.slashCommand({ text: `retry ${id}`, userId: 'U_OPERATOR', channelId: 'C_OPS' });
    const post = await b.slack.waitFor(() => b.slack.messages('C_OPS', { ephemeral: false }).find((m) => m.text.includes(`retried job ${id}`)), 5_000);
    expect(post.visibleTo).toBeUndefined();
    expect(blockText(post)).toContain(`${RUNBOOK}#retrying-jobs-safely`);
    expect(await f.status(id)).toBe('todo');
    expect(await f.events(id)).toContain('retried');
  });

  it('runs retry-all only after Confirm, checks the clicker, and runs once on a double click', async () => {
    const ids = await f.jobs(12, { queue: 'emails', status: 'failed' });
    const other = await f.job({ queue: 'reports', status: 'failed' });
    await b.slack.slashCommand({ text: 'retry-all --queue emails', userId: 'U_OPERATOR', channelId: 'C_OPS' });
    const preview = await b.slack.waitFor(() => b.slack.messages('C_OPS', { ephemeral: false }).find((m) => blockText(m).includes('bulk_confirm')), 5_000);
    expect(blockText(preview)).toContain('Retry 12 failed jobs?');
    expect(await f.status(ids[0]!)).toBe('failed');

    // Someone without rights clicks Confirm: refused, nothing changes, the preview stays.
    const refusals = () => b.slack.messages('C_OPS', { visibleTo: 'U_VIEWER' }).filter((m) => blockText(m).includes('may not change the queue')).length;
    const before = refusals();
    await b.slack.clickButton({ message: preview, actionId: 'bulk_confirm', userId: 'U_VIEWER' });
    await b.slack.waitFor(() => refusals() > before, 5_000, "a refusal of the viewer's click");
    expect(await f.status(ids[0]!)).toBe('failed');
    const refusal = await db.worker.query(`SELECT action, outcome, filters FROM jobq.audit_log WHERE actor_id = 'U_VIEWER' ORDER BY id DESC LIMIT 1`);
    expect(refusal.rows[0]).toMatchObject({ action: 'retry_all', outcome: 'refused', filters: { click: 'confirm' } });

    // The operator double-clicks: one run.
    const [first, second] = await Promise.all([
      b.slack.clickButton({ message: preview, actionId: 'bulk_confirm', userId: 'U_OPERATOR' }),
      b.slack.clickButton({ message: preview, actionId: 'bulk_confirm', userId: 'U_OPERATOR' }),
    ]);
    expect(first.ackMs).toBeLessThan(3_000);
    expect(second.ackMs).toBeLessThan(3_000);
    const outcome = await b.slack.waitFor(() => b.slack.messages('C_OPS').find((m) => m.ts === preview.ts && blockText(m).includes('Retried 12')), 10_000);
    expect(blockText(outcome)).not.toContain('bulk_confirm');
    await waitReply((t) => t.includes('Already confirmed'));
    const attempts = await db.worker.query<{ status: string; attempts: number }>('SELECT status::text, attempts FROM procrastinate_jobs WHERE id = ANY($1::bigint[])', [ids]);
    expect(attempts.rows.every((r) => r.status === 'todo' && r.attempts === 2)).toBe(true);
    expect(await f.status(other)).toBe('failed');
  });

  it('cancels a pending bulk change on Cancel, after which Confirm does nothing', async () => {
    const [id] = await f.jobs(2, { queue: 'emails', status: 'failed' });
    await b.slack.slashCommand({ text: 'retry-all --queue emails', userId: 'U_OPERATOR', channelId: 'C_OPS' });
    const preview = await b.slack.waitFor(() => b.slack.messages('C_OPS', { ephemeral: false }).find((m) => blockText(m).includes('bulk_cancel')), 5_000);
    await b.slack.clickButton({ message: preview, actionId: 'bulk_cancel', userId: 'U_OPERATOR' });
    await b.slack.waitFor(() => b.slack.messages('C_OPS').find((m) => m.ts === preview.ts && blockText(m).includes('cancelled by')), 5_000);
    expect(await f.status(id!)).toBe('failed');
  });

  it('refuses Confirm on an expired preview and changes nothing', async () => {
    const [id] = await f.jobs(2, { queue: 'reports', status: 'failed' });
    await b.slack.slashCommand({ text: 'retry-all --queue reports', userId: 'U_OPERATOR', channelId: 'C_OPS' });
    const preview = await b.slack.waitFor(() => b.slack.messages('C_OPS', { ephemeral: false }).find((m) => blockText(m).includes('Retry 2 failed jobs?')), 5_000);
    await db.worker.query(`UPDATE jobq.confirmations SET expires_at = now() - interval '1 second' WHERE state = 'pending'`);
    await b.slack.clickButton({ message: preview, actionId: 'bulk_confirm', userId: 'U_OPERATOR' });
    await waitReply((t) => t.includes('preview expired'));
    expect(await f.status(id!)).toBe('failed');
  });

  it('pages failed jobs with a Next button and a keyset cursor', async () => {
    const ids = await f.jobs(25, { status: 'failed' });
    await b.slack.slashCommand({ text: 'failed --limit 10', userId: 'U_OPERATOR', channelId: 'C_GENERAL' });
    const page1 = await waitReply((t) => t.includes('failed_next'), 'C_GENERAL');
    // Each row of the table has its Details button, in row order.
    const rowsOf = (m: typeof page1) => [...blockText(m).matchAll(/"action_id":"job_details","value":"(\d+)"/g)].map((x) => Number(x[1]));
    const seen1 = rowsOf(page1);
    expect(seen1).toEqual([...ids].reverse().slice(0, 10));
    await b.slack.clickButton({ message: page1, actionId: 'failed_next', userId: 'U_OPERATOR' });
    const page2 = await b.slack.waitFor(() => b.slack.messages('C_GENERAL', { visibleTo: 'U_OPERATOR' }).find((m) => m.ts === page1.ts && !rowsOf(m).includes(seen1[0]!)), 5_000);
    const seen2 = rowsOf(page2);
    expect(seen2).toEqual([...ids].reverse().slice(10, 20));
  });

  it('keeps replies within Block Kit limits for huge args and escapes mrkdwn', async () => {
    const id = await f.job({ status: 'failed', task: '<!channel> *bold*', args: { blob: 'x'.repeat(100_000), evil: '<!here> `tick`' } });
    await f.jobs(40, { status: 'failed', task: '<!everyone>', args: { blob: 'y'.repeat(5_000) } });
    await b.slack.slashCommand({ text: `job ${id}`, userId: 'U_OPERATOR', channelId: 'C_OPS' });
    const job = await waitReply((t) => t.includes(`Job ${id}`));
    expect(job.blocks!.length).toBeLessThanOrEqual(50);
    expect(JSON.stringify(job.blocks).length).toBeLessThan(13_000);
    expect(blockText(job)).not.toMatch(/<!channel>|<!here>/);
    expect(blockText(job)).toContain('&lt;!channel&gt;');
    await b.slack.slashCommand({ text: 'failed --limit 100', userId: 'U_OPERATOR', channelId: 'C_OPS' });
    const list = await waitReply((t) => t.includes('Failed jobs: 41'));
    expect(list.blocks!.length).toBeLessThanOrEqual(50);
    // The task names sit in raw_text table cells, which Slack shows as typed (no mentions, no
    // links); anywhere mrkdwn is read they are escaped.
    const mrkdwn = JSON.stringify(list.blocks!.filter((block) => (block as { type: string }).type !== 'table'));
    expect(mrkdwn + list.text).not.toContain('<!everyone>');
    const table = list.blocks!.find((block) => (block as { type: string }).type === 'table') as { rows: { type: string; text?: string }[][] };
    expect(table.rows.slice(1).every((row) => row[1]!.type === 'raw_text')).toBe(true);
    expect(table.rows.slice(1).filter((row) => row[1]!.text === '<!everyone>')).toHaveLength(40);
    expect(blockText(list)).toContain(`${RUNBOOK}#triaging-failed-jobs`);
  });

  it('serves /healthz and /readyz on the HTTP port', async () => {
    const health = await fetch(`${b.slack.botUrl}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${b.slack.botUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ok: true, detail: 'procrastinate 3.4+' });
  });
});

describe('the Slack app in Socket Mode', () => {
  let db: TestDb;
  let b: BotBundle;
  beforeAll(async () => {
    db = await createTestDb('v2');
    b = await startTestBot(db, {}, 'socket');
  });
  afterAll(async () => {
    await b?.close();
    await db?.drop();
  });

  it('answers a slash command delivered over the WebSocket', async () => {
    await factories(db.worker, 'v2').job({ queue: 'emails', status: 'failed' });
    const sent = await b.slack.socket.sendSlashCommand({ text: 'failed', userId: 'U_OPERATOR', channelId: 'C_OPS' });
    expect(sent.ackMs).toBeLessThan(3_000);
    const reply = await b.slack.waitFor(() => b.slack.messages('C_OPS', { visibleTo: 'U_OPERATOR' }).find((m) => blockText(m).includes('Failed jobs')), 5_000);
    expect(blockText(reply)).toContain('emails');
    const ready = await fetch(`http://127.0.0.1:${b.bot.port}/readyz`);
    expect(await ready.json()).toMatchObject({ ok: true, detail: 'procrastinate 2.x' });
  });
});
