import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockText, startTestBot, type BotBundle } from '../helpers/bot.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { factories, type Factories } from '../helpers/factories.js';
import { finalAnswer, rawClick, rawCommand, signed } from '../helpers/slack-requests.js';

/** Whatever a request carries, it is acked, answered, and never takes the process down. */
describe('the Slack boundary', () => {
  let db: TestDb;
  let b: BotBundle;
  let f: Factories;

  beforeAll(async () => {
    db = await createTestDb('v3');
    f = factories(db.worker, 'v3');
    b = await startTestBot(db);
  });
  afterAll(async () => {
    await b?.close();
    await db?.drop();
  });

  const send = async (request: { body: string; headers: Record<string, string> }) => b.slack.sendRaw(request.body, request.headers);

  it.each([
    ['failed --since 99999999999999d', /--since is at most 3650 days/],
    ['failed --queue a\u0000b', /--queue contains control characters/],
    ['mute a\u0000b 1h x', /What to mute contains control characters/],
    ['stalled --heartbeat 99999999999w', /--heartbeat is at most/],
    [`mute emails 1h ${'x'.repeat(1_000)}`, /keep it under 500/],
    [`stats ${'x'.repeat(10_000)}`, /longer than 2000 characters/],
    ['failed --since 2h --before 1999-01-01', /--before takes a time/],
  ])('answers %# with a usage message, not a placeholder left hanging', async (text, expected) => {
    const request = rawCommand(b.slack, text);
    const sent = await send(request);
    expect(sent.status).toBe(200);
    expect(sent.ackMs).toBeLessThan(3_000);
    const answer = await finalAnswer(b.slack, request.responseUrl!);
    expect(answer).toMatch(expected);
    expect(answer).not.toMatch(/at \S+\.(ts|js):\d+/); // no stack trace
  });

  it.each([
    ['failed_next', '{{{'],
    ['failed_next', 'null'],
    ['failed_next', '{"s":"not a date"}'],
    ['alert_show', '{{{'],
    ['alert_show', 'null'],
    ['alert_retry', '{{{'],
    ['alert_retry', 'null'],
    ['alert_retry', '{"q":"emails","t":"x","s":"99999-01-01"}'],
    ['job_retry', '-1'],
    ['bulk_confirm', 'not-a-uuid'],
    ['no_such_button', 'x'],
  ])('answers a click on %s with value %s', async (actionId, value) => {
    const request = rawClick(b.slack, actionId, value);
    const sent = await send(request);
    expect(sent.status).toBe(200);
    expect(sent.ackMs).toBeLessThan(3_000);
    const answer = await finalAnswer(b.slack, request.responseUrl!);
    expect(answer).toMatch(/button|job id|time jobq can use|run the command again/i);
  });

  it('refuses correctly signed bodies that are not Slack requests with 400, and keeps serving', async () => {
    const bodies: [string, string][] = [
      ['payload=null', 'application/x-www-form-urlencoded'],
      ['payload=%5B1%2C2%5D', 'application/x-www-form-urlencoded'],
      ['payload=%22text%22', 'application/x-www-form-urlencoded'],
      ['payload=%7B%22type%22%3A%22block_actions%22%7D', 'application/x-www-form-urlencoded'],
      ['payload=%7B%7B%7B', 'application/x-www-form-urlencoded'],
      ['null', 'application/json'],
      ['[]', 'application/json'],
      ['42', 'application/json'],
      ['{"type":"event_callback"}', 'application/json'],
      ['command=%2Fjobq&text=stats', 'application/x-www-form-urlencoded'],
      ['\u0000\u0001binary', 'application/octet-stream'],
    ];
    for (const [body, type] of bodies) {
      const result = await b.slack.sendRaw(body, signed(body, type));
      expect(result.status, body).toBe(400);
    }
    const request = rawCommand(b.slack, 'stats');
    await send(request);
    expect(await finalAnswer(b.slack, request.responseUrl!)).toContain('Queue stats');
  });

  it('refuses a replayed request and a timestamp from the future with 401', async () => {
    const request = rawCommand(b.slack, 'mute emails 1h replay test', 'U_OPERATOR');
    expect((await send(request)).status).toBe(200);
    await finalAnswer(b.slack, request.responseUrl!);
    expect((await send(request)).status).toBe(401);
    const mutes = await db.worker.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobq.mutes WHERE target = 'emails'`);
    expect(mutes.rows[0]!.n).toBe(1);

    const future = Math.floor(Date.now() / 1000) + 10 * 60;
    const ahead = rawCommand(b.slack, 'stats');
    expect((await b.slack.sendRaw(ahead.body, signed(ahead.body, undefined, future))).status).toBe(401);
  });

  it('refuses on a second replica a request the first one accepted', async () => {
    const other = await startTestBot(db);
    try {
      const request = rawCommand(b.slack, 'stats');
      expect((await send(request)).status).toBe(200);
      // Straight to the second bot's receiver, as a captured request would be.
      const replayed = await fetch(new URL('/slack/events', `http://127.0.0.1:${other.bot.port}`), { method: 'POST', headers: request.headers, body: request.body });
      expect(replayed.status).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('audits every refused click: expired, twice confirmed, confirmed after Cancel', async () => {
    let n = 0;
    const preview = async () => {
      const queue = `audited-${++n}`;
      await f.jobs(2, { queue, status: 'failed' });
      const request = rawCommand(b.slack, `retry-all --queue ${queue}`);
      await send(request);
      await finalAnswer(b.slack, request.responseUrl!);
      const row = await db.worker.query<{ id: string }>(`SELECT id FROM jobq.confirmations ORDER BY created_at DESC LIMIT 1`);
      return row.rows[0]!.id;
    };
    const click = async (actionId: string, id: string) => {
      const request = rawClick(b.slack, actionId, id);
      await send(request);
      return finalAnswer(b.slack, request.responseUrl!, 10_000);
    };

    const expired = await preview();
    await db.worker.query(`UPDATE jobq.confirmations SET expires_at = now() - interval '1 second' WHERE id = $1`, [expired]);
    expect(await click('bulk_confirm', expired)).toMatch(/expired/);

    const twice = await preview();
    await click('bulk_confirm', twice);
    const again = await click('bulk_confirm', twice);
    expect(again).toContain('Already confirmed by <@U_OPERATOR>'); // a mention, not &lt;@…&gt;
    expect(again).not.toContain('&lt;@');

    const cancelled = await preview();
    await click('bulk_cancel', cancelled);
    expect(await click('bulk_confirm', cancelled)).toMatch(/Cancelled by <@U_OPERATOR>/);

    const refusals = await db.worker.query<{ filters: { confirmation: string; click: string }; message: string }>(
      `SELECT filters, message FROM jobq.audit_log WHERE outcome = 'refused' AND action = 'retry_all' AND filters ? 'confirmation' ORDER BY id`,
    );
    const seen = refusals.rows.map((r) => [r.filters.confirmation, r.filters.click]);
    expect(seen).toContainEqual([expired, 'confirm']);
    expect(seen).toContainEqual([twice, 'confirm']);
    expect(seen).toContainEqual([cancelled, 'confirm']);
  });

  it('logs nothing at error level for all of the above', () => {
    const errors = b.logs.atLeast(50).map((l) => `${String(l.msg)} ${JSON.stringify(l.err ?? '')}`);
    expect(errors).toEqual([]);
  });
});

describe('a command while the database is down', () => {
  let b: BotBundle;
  beforeAll(async () => {
    b = await startTestBot({ url: 'postgres://jobq:s3cret-pw@127.0.0.1:1/app' } as TestDb);
  });
  afterAll(async () => b?.close());

  it.each(['retry 5', 'stats', 'retry-all --queue x', 'mute emails 1h', 'audit'])('answers `%s` with the outage message within 3 seconds', async (text) => {
    const request = rawCommand(b.slack, text);
    const started = Date.now();
    await b.slack.sendRaw(request.body, request.headers);
    const answer = await finalAnswer(b.slack, request.responseUrl!);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(answer).toContain('Cannot reach the database');
    expect(blockText({ text: answer })).not.toContain('s3cret-pw');
  });
});
