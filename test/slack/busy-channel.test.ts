import { afterEach, describe, expect, it } from 'vitest';
import { startTestBot, type BotBundle } from '../helpers/bot.js';
import { createTestDb, jobqWaitsForLock, type TestDb } from '../helpers/db.js';
import { factories } from '../helpers/factories.js';
import { finalAnswer, rawCommand } from '../helpers/slack-requests.js';

/**
 * A busy channel: many people ask at once. The same question is read once and shared (the
 * answer says so, and how old it is); a change forgets shared answers; a request that cannot get
 * a connection in time is told jobq is busy, never that the database is unreachable.
 */
describe('a busy channel', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
    cleanup.length = 0;
  });

  async function setup(env: Record<string, string> = {}): Promise<{ db: TestDb; b: BotBundle; f: ReturnType<typeof factories> }> {
    const db = await createTestDb('v3');
    cleanup.push(() => db.drop());
    const b = await startTestBot(db, env);
    cleanup.push(() => b.close());
    return { db, b, f: factories(db.worker, 'v3') };
  }

  async function send(b: BotBundle, text: string): Promise<string> {
    const request = rawCommand(b.slack, text);
    const sent = await b.slack.sendRaw(request.body, request.headers);
    expect(sent.status).toBe(200);
    expect(sent.ackMs).toBeLessThan(3_000);
    return request.responseUrl!;
  }
  const ask = async (b: BotBundle, text: string) => finalAnswer(b.slack, await send(b, text), 15_000);
  /** A change is announced in the channel (its ephemeral placeholder is removed). */
  const announced = (b: BotBundle, words: string) =>
    b.slack.waitFor(() => b.slack.messages('C_OPS', { ephemeral: false }).find((m) => m.text.includes(words)), 20_000, `an announcement with "${words}"`);

  it('answers twenty identical questions with one read, says the shared answers are shared, and forgets them after a change', async () => {
    const { b, f } = await setup();
    const [failedId] = await f.jobs(3, { queue: 'emails', status: 'failed' });
    await f.jobs(2, { queue: 'emails', status: 'succeeded' });

    const answers = await Promise.all(Array.from({ length: 20 }, () => ask(b, 'stats')));
    const fresh = answers.filter((a) => !a.includes('Answer shared'));
    expect(fresh).toHaveLength(1);
    for (const a of answers) expect(a).toMatch(/emails/);
    // Every asker sees the same figures: the shared line is the only difference.
    const figures = new Set(answers.map((a) => `${a.match(/\*Totals:\*[^"]*/)?.[0]}${a.match(/```[^`]*```/)?.[0]}`));
    expect(figures.size).toBe(1);
    expect(answers.find((a) => a.includes('Answer shared'))).toMatch(/asked (just now|\d+ s ago) \(read at \d{4}-\d\d-\d\d \d\d:\d\d UTC\)/);

    await send(b, `retry ${failedId}`);
    await announced(b, `retried job ${failedId}`);
    expect(await f.status(failedId!)).toBe('todo');

    const after = await ask(b, 'stats');
    expect(after).not.toContain('Answer shared');
    expect(after).not.toBe(fresh[0]);
  });

  it('tells a request that waited too long for a connection that jobq is busy, not that the database is down', async () => {
    const { db, b, f } = await setup({ JOBQ_POOL_MAX: '1', JOBQ_POOL_WAIT_MS: '500', JOBQ_LOCK_TIMEOUT_MS: '8000', JOBQ_STATEMENT_TIMEOUT_MS: '10000' });
    const [jobId] = await f.jobs(1, { queue: 'emails', status: 'failed' });
    // A worker holds the job's row: jobq's retry waits for it on the only connection.
    const worker = await db.worker.connect();
    cleanup.push(async () => worker.release());
    await worker.query('BEGIN');
    await worker.query('SELECT id FROM procrastinate_jobs WHERE id = $1 FOR UPDATE', [jobId]);
    await send(b, `retry ${jobId}`);
    await jobqWaitsForLock(db);

    const answer = await ask(b, 'job 1');
    expect(answer).toContain('jobq is busy');
    expect(answer).not.toContain('Cannot reach the database');
    expect(b.logs.atLeast(50)).toEqual([]);

    await worker.query('ROLLBACK');
    await announced(b, `retried job ${jobId}`);
    expect(await ask(b, `job ${jobId}`)).toContain('todo');
  });
});
