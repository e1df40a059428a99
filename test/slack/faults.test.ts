import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { factories } from '../helpers/factories.js';
import { blockText, startTestBot, type BotBundle } from '../helpers/bot.js';

/** Slack misbehaving, and permissions by user group. */
describe('the Slack app when Slack misbehaves', () => {
  let db: TestDb;
  let b: BotBundle;
  beforeAll(async () => {
    db = await createTestDb('v3');
    // No user list: the right to change comes from membership of S_ONCALL (U_OPERATOR only).
    b = await startTestBot(db, { JOBQ_WRITE_USERS: '', JOBQ_WRITE_GROUPS: 'S_ONCALL', JOBQ_READ_CHANNELS: 'C_GENERAL' });
  });
  afterAll(async () => {
    await b?.close();
    await db?.drop();
  });

  it('survives a response URL answering 500 and serves the next command', async () => {
    b.slack.faults.next('response_url', { status: 500 });
    const first = await b.slack.slashCommand({ text: 'stats', userId: 'U_OPERATOR', channelId: 'C_GENERAL' });
    expect(first.status).toBe(200);
    await b.slack.waitFor(() => b.slack.calls('response_url').find((c) => c.status === 500), 5_000);
    await b.slack.slashCommand({ text: 'workers', userId: 'U_OPERATOR', channelId: 'C_GENERAL' });
    const reply = await b.slack.waitFor(() => b.slack.messages('C_GENERAL', { visibleTo: 'U_OPERATOR' }).find((m) => blockText(m).includes('Workers')), 5_000);
    expect(reply.via).toBe('response_url');
  });

  it('acks at once while the user-group lookup keeps failing, then reports the failed check in seconds', async () => {
    const id = await factories(db.worker, 'v3').job({ status: 'failed' });
    for (let i = 0; i < 4; i++) b.slack.faults.next('usergroups.users.list', { status: 500 }); // first call + 3 retries
    const sent = await b.slack.slashCommand({ text: `retry ${id}`, userId: 'U_OPERATOR', channelId: 'C_GENERAL' });
    expect(sent.ackMs).toBeLessThan(3_000);
    const reply = await b.slack.waitFor(() => b.slack.messages('C_GENERAL', { visibleTo: 'U_OPERATOR' }).find((m) => blockText(m).includes('Could not check membership')), 15_000);
    expect(blockText(reply)).toContain('S_ONCALL');
    expect(await factories(db.worker, 'v3').status(id)).toBe('failed');
  });

  it('answers only in the listed channels, and says where it does', async () => {
    await b.slack.slashCommand({ text: 'stats', userId: 'U_VIEWER', channelId: 'C_OPS' });
    const refusal = await b.slack.waitFor(() => b.slack.messages('C_OPS', { visibleTo: 'U_VIEWER' }).find((m) => blockText(m).includes('answers in')), 5_000);
    expect(blockText(refusal)).toContain('<#C_GENERAL>');
    expect(blockText(refusal)).not.toContain('Queue stats');
  });

  it('lets a member of an allowed user group change the queue, and refuses others', async () => {
    const f = factories(db.worker, 'v3');
    const id = await f.job({ status: 'failed' });
    await b.slack.slashCommand({ text: `retry ${id}`, userId: 'U_VIEWER', channelId: 'C_GENERAL' });
    const refusal = await b.slack.waitFor(() => b.slack.messages('C_GENERAL', { visibleTo: 'U_VIEWER' }).find((m) => blockText(m).includes('may not change the queue')), 5_000);
    expect(blockText(refusal)).toContain('S_ONCALL');
    await b.slack.slashCommand({ text: `retry ${id}`, userId: 'U_OPERATOR', channelId: 'C_GENERAL' });
    await b.slack.waitFor(() => b.slack.messages('C_GENERAL', { ephemeral: false }).find((m) => m.text.includes(`retried job ${id}`)), 5_000);
    expect(await f.status(id)).toBe('todo');
  });
});

describe('the Slack app when the database is unreachable', () => {
  let b: BotBundle;
  beforeAll(async () => {
    // Nothing listens on port 1: every query fails to connect, as during a database outage.
    b = await startTestBot({ url: 'postgres://jobq:s3cret-pw@127.0.0.1:1/app' } as TestDb);
  });
  afterAll(async () => b?.close());

  it('still acks, answers with the connectivity runbook section and never leaks the password', async () => {
    const sent = await b.slack.slashCommand({ text: 'stats', userId: 'U_OPERATOR', channelId: 'C_OPS' });
    expect(sent.ackMs).toBeLessThan(3_000);
    const reply = await b.slack.waitFor(() => b.slack.messages('C_OPS', { visibleTo: 'U_OPERATOR' }).find((m) => blockText(m).includes('Cannot reach the database')), 10_000);
    expect(blockText(reply)).toContain('#database-connectivity');
    expect(JSON.stringify(b.slack.calls())).not.toContain('s3cret-pw');
    const ready = await fetch(`${b.slack.botUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).not.toContain('s3cret-pw');
  });
});
