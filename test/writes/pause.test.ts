import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import type { CliIo } from '../../src/cli/io.js';
import { detectSchema } from '../../src/db/schema.js';
import { blockText, startTestBot, type BotBundle } from '../helpers/bot.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { factories, type Factories } from '../helpers/factories.js';
import { answersOn, finalAnswer, rawClick, rawCommand } from '../helpers/slack-requests.js';

async function cli(db: TestDb, argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t), env: { JOB_QUEUE_DATABASE_URL: db.url, ...env }, interactive: false, ask: async () => '' };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('Procrastinate 3.10 detection', () => {
  it.each([
    ['v310', '3.10'],
    ['v310pre', '3.10 (pre-migration)'],
    ['v3', '3.4+'],
  ] as const)('reads %s as %s, with its features', async (shape, generation) => {
    const db = await createTestDb(shape);
    try {
      const schema = await detectSchema(db.pool);
      expect(schema.generation).toBe(generation);
      expect(schema.has('batch_defer')).toBe(true);
      expect(schema.has('pause_queues')).toBe(shape !== 'v3');
      expect(schema.has('lock_mode')).toBe(shape !== 'v3');
      expect(schema.has('deferred_at')).toBe(shape !== 'v3');
    } finally {
      await db.drop();
    }
  });
});

/** The emergency stop that 3.10 makes real: a paused queue gives its workers nothing until it is resumed. */
describe('pausing and resuming queues on 3.10', () => {
  let db: TestDb;
  let f: Factories;
  let b: BotBundle;

  beforeAll(async () => {
    db = await createTestDb('v310');
    f = factories(db.worker, 'v310');
    b = await startTestBot(db);
  });
  afterAll(async () => {
    await b?.close();
    await db?.drop();
  });

  /** The answer on a click's response URL that contains `text` (a confirmed change answers twice: running, then done). */
  const clickAnswer = (responseUrl: string, text: string) =>
    b.slack.waitFor(() => answersOn(b.slack, responseUrl).find((a) => a.text.includes(text))?.text, 8_000, `an answer containing ${text}`);
  const ask = async (text: string, user = 'U_OPERATOR') => {
    const request = rawCommand(b.slack, text, user);
    await b.slack.sendRaw(request.body, request.headers);
    return finalAnswer(b.slack, request.responseUrl!, 8_000);
  };

  it('pauses a queue from Slack: a worker fetching through fetch_job_v3 takes nothing from it, then takes it once resumed', async () => {
    const waiting = await f.job({ queue: 'mailer' });
    const other = await f.job({ queue: 'reports' });
    const answer = await ask('pause mailer deploying the mailer fix');
    expect(answer).toContain('paused `mailer`');
    const announced = b.slack.messages('C_OPS', { ephemeral: false }).find((m) => m.text.includes('paused mailer'));
    expect(announced).toBeDefined();
    const rows = await db.worker.query<{ pause_key: string }>(`SELECT pause_key FROM procrastinate_paused_queues WHERE queue_name = 'mailer'`);
    expect(rows.rows).toEqual([{ pause_key: 'jobq' }]);

    // The worker skips the paused queue and takes the other one.
    expect(await f.fetch()).toBe(other);
    expect(await f.fetch()).toBeNull();
    expect(await f.status(waiting)).toBe('todo');

    const stats = await ask('stats');
    expect(stats).toMatch(/Paused:\*? `mailer` for/);
    const job = await ask(`job ${waiting}`);
    expect(job).toContain('its queue is paused (key \\"jobq\\")');
    const paused = await ask('paused');
    expect(paused).toContain('deploying the mailer fix');
    expect(paused).toContain('U_OPERATOR');

    expect(await ask('resume mailer')).toContain('Resumed mailer');
    expect(await f.fetch()).toBe(waiting);
    const audit = await db.worker.query<{ action: string; outcome: string; filters: { reason?: string } }>(
      `SELECT action, outcome, filters FROM jobq.audit_log WHERE action IN ('pause', 'resume') ORDER BY id`,
    );
    expect(audit.rows.map((r) => [r.action, r.outcome])).toEqual([
      ['pause', 'ok'],
      ['resume', 'ok'],
    ]);
    expect(audit.rows[0]!.filters.reason).toBe('deploying the mailer fix');
  });

  it("never lifts someone else's pause unless told to, and then only after a confirmation", async () => {
    await f.job({ queue: 'billing' });
    await f.pause('billing', 'deploy-script');
    await ask('pause billing');
    const resumed = await ask('resume billing');
    expect(resumed).toContain('billing stays paused under \\"deploy-script\\"');
    expect(await f.fetch(['billing'])).toBeNull();

    const preview = await ask('resume billing --key deploy-script');
    expect(preview).toContain('Lift the \\"deploy-script\\" pause of billing?');
    const confirmation = (await db.worker.query<{ id: string }>(`SELECT id FROM jobq.confirmations WHERE kind = 'resume-key' ORDER BY created_at DESC LIMIT 1`)).rows[0]!.id;
    expect(await f.fetch(['billing'])).toBeNull(); // nothing lifted by the preview alone
    const click = rawClick(b.slack, 'bulk_confirm', confirmation);
    await b.slack.sendRaw(click.body, click.headers);
    expect(await clickAnswer(click.responseUrl!, 'Resumed billing (lifted key')).toBeTruthy();
    expect(await f.fetch(['billing'])).not.toBeNull();
  });

  it('pauses every queue after a preview and a Confirm', async () => {
    await f.job({ queue: 'alpha' });
    await f.job({ queue: 'beta' });
    const preview = await ask('pause --all incident 42');
    expect(preview).toMatch(/Pause \d+ queues\?/);
    const confirmation = (await db.worker.query<{ id: string }>(`SELECT id FROM jobq.confirmations WHERE kind = 'pause-all' ORDER BY created_at DESC LIMIT 1`)).rows[0]!.id;
    const click = rawClick(b.slack, 'bulk_confirm', confirmation);
    await b.slack.sendRaw(click.body, click.headers);
    expect(await clickAnswer(click.responseUrl!, 'Paused ')).toBeTruthy();
    expect(await f.fetch()).toBeNull();
    expect(await ask('resume --all')).toContain('Resumed');
    expect(await f.fetch(['alpha'])).not.toBeNull();
  });

  it('refuses pausing to a viewer and under the emergency stop, and audits both', async () => {
    expect(await ask('pause alpha', 'U_VIEWER')).toContain('may not change the queue');
    const stopped = await startTestBot(db, { JOB_QUEUE_ENABLED: 'false' });
    try {
      const request = rawCommand(stopped.slack, 'pause alpha');
      await stopped.slack.sendRaw(request.body, request.headers);
      expect(await finalAnswer(stopped.slack, request.responseUrl!)).toContain('Changes are switched off');
    } finally {
      await stopped.close();
    }
    const refused = await db.worker.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobq.audit_log WHERE action = 'pause' AND outcome = 'refused'`);
    expect(refused.rows[0]!.n).toBe(2);
  });

  it('pauses and resumes from the CLI, with --json', async () => {
    await f.job({ queue: 'cli-queue' });
    const paused = await cli(db, ['pause', 'cli-queue', 'from', 'a', 'terminal', '--json']);
    expect(paused.code).toBe(0);
    expect(JSON.parse(paused.out)).toMatchObject({ paused: ['cli-queue'], reason: 'from a terminal' });
    expect(await f.fetch(['cli-queue'])).toBeNull();
    const list = JSON.parse((await cli(db, ['paused', '--json'])).out);
    expect(list.paused).toContainEqual(expect.objectContaining({ queue: 'cli-queue', key: 'jobq', reason: 'from a terminal' }));
    const resumed = await cli(db, ['resume', 'cli-queue']);
    expect(resumed.code).toBe(0);
    expect(resumed.out).toContain('Resumed cli-queue');
    const all = await cli(db, ['pause', '--all']);
    expect(all.code).toBe(2); // a bulk pause needs --yes (or --dry-run) off a terminal
    expect(all.err).toContain('--yes');
  });
});

describe('pausing before 3.10', () => {
  it.each(['v3', 'v2'] as const)('answers plainly on %s that pausing needs 3.10, with the emergency stop', async (shape) => {
    const db = await createTestDb(shape);
    const b = await startTestBot(db);
    try {
      const request = rawCommand(b.slack, 'pause emails');
      await b.slack.sendRaw(request.body, request.headers);
      const answer = await finalAnswer(b.slack, request.responseUrl!);
      expect(answer).toContain('Pausing queues needs Procrastinate 3.10');
      expect(answer).toContain('#emergency-stop');
      const result = await cli(db, ['paused']);
      expect(result.code).toBe(1);
      expect(result.err).toContain('needs Procrastinate 3.10');
      expect(blockText({ text: answer })).not.toContain('Unexpected error');
    } finally {
      await b.close();
      await db.drop();
    }
  });
});
