import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBot, type BotBundle } from '../helpers/bot.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { factories } from '../helpers/factories.js';
import { rawClick, rawCommand, signed, type RawRequest } from '../helpers/slack-requests.js';

/**
 * Thousands of generated, correctly signed requests against the real bot and a real database:
 * every one is acked within Slack's 3 seconds and finally answered (or refused with 400 when it
 * is not a Slack request at all), the process stays up, nothing is logged as an unexpected
 * failure, and Procrastinate's tables are exactly as they were.
 * JOBQ_FUZZ_REQUESTS (default 10,000) and JOBQ_FUZZ_SEED change the run.
 */
const TOTAL = Number(process.env.JOBQ_FUZZ_REQUESTS ?? 10_000);
const SEED = Number(process.env.JOBQ_FUZZ_SEED ?? 20261130);
const CONCURRENCY = 16;

/** A small deterministic PRNG (mulberry32): a failing run can be replayed from its seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  return { next, int, pick };
}

const COMMANDS = [
  'stats',
  'failed',
  'job',
  'stalled',
  'workers',
  'doctor',
  'retry',
  'retry-all',
  'cancel',
  'run-now',
  'purge',
  'audit',
  'mute',
  'unmute',
  'mutes',
  'help',
  'STATS',
  'retyr',
  '',
];
const FLAGS = [
  '--queue',
  '--task',
  '--since',
  '--before',
  '--limit',
  '--cursor',
  '--heartbeat',
  '--running',
  '--by',
  '--older-than',
  '--include-failed',
  '--yes',
  '--dry-run',
  '--json',
  '--help',
  '-h',
  '—queue',
  '--',
  '-',
];
const ACTIONS = [
  'runbook_link',
  'job_details',
  'failed_next',
  'alert_show',
  'alert_retry',
  'job_retry',
  'job_cancel',
  'job_run_now',
  'bulk_cancel',
  'bulk_confirm',
  'unknown_action',
];

function generator(seed: number) {
  const r = prng(seed);
  const chars = (n: number, alphabet: string) => {
    const symbols = Array.from(alphabet); // code points: an emoji is never split into a lone surrogate
    return Array.from({ length: n }, () => symbols[r.int(symbols.length)]).join('');
  };
  const value = (): string =>
    r.pick([
      () => String(r.int(1000)),
      () => String(10 ** r.int(30)),
      () => `-${r.int(100)}`,
      () => `${r.int(1e6)}${r.pick(['s', 'm', 'h', 'd', 'w', 'y', 'ms', ''])}`,
      () => `${'9'.repeat(1 + r.int(40))}${r.pick(['d', 'w', 'h'])}`,
      () => r.pick(['2026-11-30', '0000-01-01', '9999-12-31T99:99Z', '2026-02-30T00:00Z', 'yesterday', 'NaN', 'Infinity', '1e309']),
      () => chars(1 + r.int(20), 'abcdefghijklmnopqrstuvwxyz._-'),
      () => chars(1 + r.int(10), '\u0000\u0001\u0007\b\t\n\r\u001b\u007f'),
      () => chars(1 + r.int(10), '"\'`<>&*_~|{}[]\\%$;'),
      () => chars(1 + r.int(8), 'äöü漢字🙂\u200b\u202e\ufeff'),
      () => 'x'.repeat(r.pick([100, 1_000, 5_000, 10_000])),
      () => '<!channel> <@U123> <https://evil.example|click>',
      () => "'; DROP TABLE procrastinate_jobs; --",
      () => '',
    ])();
  const commandText = (): string => {
    const parts: string[] = [r.pick(COMMANDS)];
    const n = r.int(6);
    for (let i = 0; i < n; i++) parts.push(r.next() < 0.5 ? r.pick(FLAGS) : value());
    if (r.next() < 0.3) parts.push(value());
    return parts.join(r.pick([' ', '  ', '\t', ' "', "' "]));
  };
  const actionValue = (): string | undefined =>
    r.pick([
      () => undefined,
      () => value(),
      () => '{{{',
      () => 'null',
      () => '[]',
      () => JSON.stringify({ q: value(), t: value(), s: value() }),
      () => JSON.stringify({ q: r.int(5), t: null, s: [] }),
      () => JSON.stringify({ c: r.pick([-1, 0, 1e300, 'x']), l: r.pick([0, 101, 1.5]), s: value() }),
      () => `${r.int(16 ** 8).toString(16)}-0000-0000-0000-000000000000`,
      () => '00000000-0000-0000-0000-000000000000',
    ])();
  // Most requests come from a reader; a writer's come with job ids no job has.
  const user = () => (r.next() < 0.9 ? 'U_VIEWER' : 'U_OPERATOR');
  return {
    next(slack: BotBundle['slack']): { request: RawRequest; malformed: boolean; silent?: boolean } {
      const roll = r.next();
      if (roll < 0.55) {
        const who = user();
        const text = commandText();
        const safe = who === 'U_OPERATOR' ? text.replace(/\b(retry|cancel|run-now|job)\b(\s+)\d+/g, '$1$2987654321') : text;
        return { request: rawCommand(slack, safe, who), malformed: false };
      }
      if (roll < 0.9) {
        const who = user();
        const action = r.pick(ACTIONS);
        let v = actionValue();
        if (who === 'U_OPERATOR' && v !== undefined && /^\d+$/.test(v)) v = '987654321';
        // A link button opens its URL in the browser; its click needs (and gets) no message.
        return { request: rawClick(slack, action, v, who), malformed: false, silent: action === 'runbook_link' };
      }
      const body = r.pick([
        () => 'payload=null',
        () => `payload=${encodeURIComponent(r.pick(['[]', '1', '"x"', 'true', '{"type":"block_actions","actions":[]}', '{"type":"block_actions","user":{"id":""}}']))}`,
        () => Buffer.from(chars(50, '\u0000\u00ff\u0080abc')).toString('latin1'),
        () => r.pick(['null', '[]', '0', '{"type":"url_verification"}', '{"type":"event_callback","event":null}']),
        () => `command=%2Fjobq&text=${encodeURIComponent(value())}`,
      ])();
      const type = r.pick(['application/x-www-form-urlencoded', 'application/json', 'text/plain']);
      return { request: { body, headers: signed(body, type) }, malformed: true };
    },
  };
}

/** Ids of the response URLs that got at least one answer other than the "Working on" placeholder. */
function finalAnswerUrls(slack: BotBundle['slack']): Set<string> {
  return new Set(
    slack
      .responses()
      .filter((r) => !/^Working on /.test(String(r.body.text ?? '')))
      .map((r) => r.urlId),
  );
}

async function checksum(db: TestDb): Promise<string> {
  const row = await db.worker.query<{ sum: string }>(
    `SELECT md5(coalesce((SELECT string_agg(j::text, ',' ORDER BY id) FROM procrastinate_jobs j), '') || '|' ||
                coalesce((SELECT string_agg(e::text, ',' ORDER BY id) FROM procrastinate_events e), '')) AS sum`,
  );
  return row.rows[0]!.sum;
}

describe('fuzzing the Slack boundary', () => {
  let db: TestDb;
  let b: BotBundle;

  beforeAll(async () => {
    db = await createTestDb('v3');
    const f = factories(db.worker, 'v3');
    for (const status of ['todo', 'doing', 'failed', 'succeeded', 'cancelled'] as const) await f.jobs(3, { queue: 'emails', status });
    await f.worker();
    b = await startTestBot(db);
  });
  afterAll(async () => {
    await b?.close();
    await db?.drop();
  });

  it(`acks and answers ${TOTAL} generated signed requests, stays up, and leaves the queue untouched`, { timeout: 600_000 }, async () => {
    const before = await checksum(db);
    const gen = generator(SEED);
    const sent: { request: RawRequest; malformed: boolean; silent?: boolean | undefined; status: number; ackMs: number }[] = [];
    let issued = 0;
    const worker = async () => {
      while (issued < TOTAL) {
        issued++;
        const { request, malformed, silent } = gen.next(b.slack);
        const result = await b.slack.sendRaw(request.body, request.headers);
        sent.push({ request, malformed, silent, status: result.status, ackMs: result.ackMs });
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const elapsed = Date.now() - started;

    const wellFormed = sent.filter((s) => !s.malformed);
    const acks = wellFormed.map((s) => s.ackMs).sort((x, y) => x - y);
    const p99 = acks[Math.floor(acks.length * 0.99)] ?? 0;
    console.log(
      `fuzz: ${sent.length} requests (seed ${SEED}) in ${(elapsed / 1000).toFixed(1)} s; ${wellFormed.length} well-formed, ack p99 ${p99.toFixed(0)} ms, max ${acks.at(-1)?.toFixed(0)} ms`,
    );

    expect(sent).toHaveLength(TOTAL);
    for (const s of sent.filter((x) => x.malformed)) expect([400, 401], s.request.body.slice(0, 80)).toContain(s.status);
    for (const s of wellFormed) {
      expect(s.status, s.request.body.slice(0, 200)).toBe(200);
      expect(s.ackMs).toBeLessThan(3_000);
    }
    // Every well-formed request ends in a final answer (a result or an error), not only a placeholder.
    const unansweredNow = () => {
      const answered = finalAnswerUrls(b.slack);
      return wellFormed.filter((s) => !s.silent && !answered.has(new URL(s.request.responseUrl!).pathname.split('/').at(-1)!));
    };
    const deadline = Date.now() + 30_000;
    while (unansweredNow().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const unanswered = unansweredNow();
    expect(unanswered.map((s) => s.request.body.slice(0, 300))).toEqual([]);

    expect((await fetch(`http://127.0.0.1:${b.bot.port}/healthz`)).status).toBe(200);
    expect(await checksum(db)).toBe(before);
    // Only the writer's silences may have gone through: they change jobq's state, not the queue.
    const changes = await db.worker.query<{ action: string; actor_id: string }>(`SELECT DISTINCT action, actor_id FROM jobq.audit_log WHERE outcome <> 'refused'`);
    for (const row of changes.rows) {
      expect(['mute', 'unmute']).toContain(row.action);
      expect(row.actor_id).toBe('U_OPERATOR');
    }
    const unexpected = b.logs.atLeast(50).map((l) => `${String(l.msg)}: ${JSON.stringify(l.err ?? l.request ?? '')}`.slice(0, 300));
    expect(unexpected).toEqual([]);
  });
});
