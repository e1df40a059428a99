import { Writable } from 'node:stream';
import type { QueryConfig } from 'pg';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import type { Db, Queryable } from '../src/db/database.js';
import { startSlackEmulator } from '../src/emulator/web-api.js';
import { createLogger } from '../src/log.js';
import { startBot } from '../src/main.js';
import { APP_TOKEN, BOT_TOKEN, RUNBOOK, SIGNING_SECRET } from '../test/helpers/bot.js';
import { checkStatement, isCheckable, type StatementCheck } from './plans.js';
import { median, spread, type Spread } from './timing.js';

export interface CommandOutcome {
  text: string;
  ackMs: number | null;
  /** From sending the command to its final answer on the response URL. */
  replyMs: number | null;
  /** `result`, or the error the user saw (digits folded), or `no answer`. */
  answer: string;
  placeholder: boolean;
}

export interface StormResult {
  commands: number;
  withResults: number;
  /** What the others answered, by message. */
  errors: Record<string, number>;
  ackMs: Spread;
  replyMs: Spread;
  /** Acks Slack would have given up on (over 3 s, or none). */
  lateAcks: number;
  placeholders: number;
  /** Log lines at error level or above while the storm ran. */
  errorLogs: number;
  poolMax: number;
  outcomes: CommandOutcome[];
}

export interface AppHomeResult {
  published: boolean;
  /** app_home_opened sent -> views.publish received, median of 3 after a first open. */
  ms: number | null;
  statements: number;
  note: string | null;
}

const EXPECTED: { pattern: RegExp; kind: string }[] = [
  { kind: 'stats', pattern: /^Queue stats/ },
  { kind: 'failed', pattern: /shown, newest first: #\d|^No failed jobs/ },
  { kind: 'job', pattern: /^Job \d+ / },
];

const ANSWER_DEADLINE_MS = 60_000;
const HOME_WAIT_MS = 5_000;
const OPERATOR = 'U_OPERATOR';
const CHANNEL = 'C_OPS';

/** The mix: 40% stats, 30% failed (half with a queue filter), 30% job details of jobs across the table. */
export function stormCommands(count: number, queues: string[], maxJobId: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const slot = i % 10;
    if (slot < 4) return 'stats';
    if (slot < 7) return i % 2 ? `failed --queue ${queues[i % queues.length]}` : 'failed';
    return `job ${1 + Math.floor(((i * 7919) % 1000) * (maxJobId / 1000))}`;
  });
}

/** Records, in place, the statements a running bot's pool sends (the bot keeps its own handle). */
function recordInPlace(db: Db): { statements: QueryConfig[]; restore(): void } {
  const statements: QueryConfig[] = [];
  const original = { query: db.query, transaction: db.transaction };
  const record =
    (target: Queryable): Queryable['query'] =>
    (statement, values) => {
      statements.push(typeof statement === 'string' ? { text: statement, values: values ?? [] } : statement);
      return target.query(statement, values);
    };
  Object.assign(db, {
    query: record({ query: original.query }),
    transaction: ((fn, options) => original.transaction((tx) => fn({ query: record(tx) }), options)) as Db['transaction'],
  });
  return { statements, restore: () => Object.assign(db, original) };
}

/**
 * The real bot (Bolt's HTTP receiver, the queue core, its production pool and timeouts) behind
 * the Slack emulator: an App Home open, then `count` slash commands sent at once, each answered
 * on its response URL. Nothing is tuned: what a team gets by default.
 */
export async function measureConcurrency(
  url: string,
  options: { count: number; queues: string[]; maxJobId: number },
): Promise<{ storm: StormResult; appHome: AppHomeResult; plans: StatementCheck[] }> {
  const slack = await startSlackEmulator({ botToken: BOT_TOKEN, appToken: APP_TOKEN, signingSecret: SIGNING_SECRET });
  const config = loadConfig({
    JOB_QUEUE_DATABASE_URL: url,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_API_URL: slack.apiUrl,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    PORT: '0',
    JOBQ_RUNBOOK_URL: RUNBOOK,
    // The default pool unless the run asks for another size (to measure the trade: JOBQ_POOL_MAX=10 npm run bench ...).
    ...(process.env.JOBQ_POOL_MAX ? { JOBQ_POOL_MAX: process.env.JOBQ_POOL_MAX } : {}),
  });
  let errorLogs = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) if (Number((JSON.parse(line) as { level: number }).level) >= 50) errorLogs += 1;
      done();
    },
  });
  const bot = await startBot(config, createLogger('info', sink));
  slack.botUrl = `http://127.0.0.1:${bot.port}`;
  const plain = new pg.Client({ connectionString: url });
  await plain.connect();
  try {
    await bot.deps.migrated();
    const ctx = await bot.deps.queue.get();
    const { appHome, plans } = await measureAppHome(slack, bot.deps.queue.db, plain, ctx.schema.schema);
    errorLogs = 0;
    const storm = await runStorm(slack, stormCommands(options.count, options.queues, options.maxJobId));
    return { storm: { ...storm, errorLogs, poolMax: config.JOBQ_POOL_MAX }, appHome, plans };
  } finally {
    await plain.end();
    await bot.stop();
    await slack.close();
  }
}

async function measureAppHome(slack: Awaited<ReturnType<typeof startSlackEmulator>>, db: Db, plain: pg.Client, schema: string | null) {
  const open = async (): Promise<number | null> => {
    const before = slack.calls('views.publish').length;
    const sent = Date.now();
    await slack.openAppHome({ userId: OPERATOR });
    const call = await slack.waitFor(() => slack.calls('views.publish')[before], HOME_WAIT_MS, 'views.publish').catch(() => null);
    return call ? call.at - sent : null;
  };
  const recorder = recordInPlace(db);
  let first: number | null;
  try {
    first = await open();
  } finally {
    recorder.restore();
  }
  if (first === null)
    return { appHome: { published: false, ms: null, statements: 0, note: `the bot published no Home tab within ${HOME_WAIT_MS / 1000} s of app_home_opened` }, plans: [] };
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const ms = await open();
    if (ms !== null) times.push(ms);
  }
  const statements = recorder.statements.filter(isCheckable);
  const plans: StatementCheck[] = [];
  for (const statement of statements) plans.push(await checkStatement(plain, schema, 'app-home', statement));
  return { appHome: { published: true, ms: median(times), statements: statements.length, note: null }, plans };
}

async function runStorm(slack: Awaited<ReturnType<typeof startSlackEmulator>>, texts: string[]): Promise<Omit<StormResult, 'errorLogs' | 'poolMax'>> {
  const sent = await Promise.all(
    texts.map(async (text) => {
      const at = Date.now();
      const delivery = await slack.slashCommand({ text, userId: OPERATOR, channelId: CHANNEL });
      return { text, at, delivery };
    }),
  );
  const urlId = (responseUrl: string) => new URL(responseUrl).pathname.split('/').filter(Boolean).at(-1);
  const finalOf = (responseUrl: string) =>
    slack
      .responses()
      .filter((r) => r.urlId === urlId(responseUrl))
      .find((r) => !/^Working on /.test(String(r.body.text ?? '')));
  await slack.waitFor(() => sent.every((s) => finalOf(s.delivery.responseUrl)), ANSWER_DEADLINE_MS, 'every final answer').catch(() => undefined);
  const outcomes: CommandOutcome[] = sent.map(({ text, at, delivery }) => {
    const final = finalOf(delivery.responseUrl);
    const shown = String(final?.body.text ?? '');
    const placeholder = slack.responses().some((r) => r.urlId === urlId(delivery.responseUrl) && /^Working on /.test(String(r.body.text ?? '')));
    const ok = EXPECTED.some((e) => text.startsWith(e.kind) && e.pattern.test(shown));
    return {
      text,
      ackMs: delivery.slackError ? null : delivery.ackMs,
      replyMs: final ? final.at - at : null,
      answer: !final ? 'no answer' : ok ? 'result' : shown.split('\n')[0]!.replace(/\d+/g, 'N').slice(0, 160),
      placeholder,
    };
  });
  const errors: Record<string, number> = {};
  for (const o of outcomes) if (o.answer !== 'result') errors[o.answer] = (errors[o.answer] ?? 0) + 1;
  const acks = outcomes.map((o) => o.ackMs).filter((v): v is number => v !== null);
  return {
    commands: outcomes.length,
    withResults: outcomes.filter((o) => o.answer === 'result').length,
    errors,
    ackMs: spread(acks),
    replyMs: spread(outcomes.map((o) => o.replyMs).filter((v): v is number => v !== null)),
    lateAcks: outcomes.filter((o) => o.ackMs === null || o.ackMs >= 3_000).length,
    placeholders: outcomes.filter((o) => o.placeholder).length,
    outcomes,
  };
}
