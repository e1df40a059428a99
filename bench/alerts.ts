import { alertSettingsFrom } from '../src/alerts/settings.js';
import { FailureScanner, SCAN_WINDOW } from '../src/alerts/failure-scan.js';
import { backlogConditions, noWorkersCondition, pausedConditions, stalledCondition, type Condition } from '../src/alerts/health.js';
import { loadConfig } from '../src/config.js';
import type { QueueContext } from '../src/queue/context.js';
import { connectQueue } from '../src/queue/open.js';
import { recordingPool } from '../test/helpers/recording-pool.js';
import pg from 'pg';
import { checkStatement, isCheckable, type StatementCheck } from './plans.js';
import { cliEnv } from './reads.js';
import { medianOf } from './timing.js';

export interface PollCost {
  database: string;
  jobs: number;
  events: number;
  /** One poll reading the last STEADY_EVENTS events: what every poll costs while failures trickle in. */
  steadyMs: number;
  /** One poll catching up on the most a poll reads (after a pause or a leader change). */
  catchUpMs: number;
}

export interface HealthCost {
  check: string;
  ms: number;
  statements: number;
}

const STEADY_EVENTS = 1_000;
const MAX_WINDOWS_PER_SCAN = 5;

/** The alert channel is set so every health check runs as the leader would run it. */
const alertEnv = (url: string) => ({ ...cliEnv(url), JOBQ_ALERT_CHANNEL: 'C_ALERTS', SLACK_BOT_TOKEN: 'xoxb-bench' });

/** The failure tail's poll (FailureScanner) on one database: a steady poll and a catch-up poll, with plan checks. */
export async function measurePoll(url: string, database: string, runs: number): Promise<{ cost: PollCost; plans: StatementCheck[] }> {
  const config = loadConfig(alertEnv(url));
  const settings = alertSettingsFrom(config);
  const ctx = await connectQueue(config);
  const plain = new pg.Client({ connectionString: url });
  await plain.connect();
  try {
    const size = (
      await plain.query<{ jobs: string; events: string; max_id: string }>(
        `SELECT (SELECT reltuples FROM pg_class WHERE relname = 'procrastinate_jobs')::bigint AS jobs,
              (SELECT reltuples FROM pg_class WHERE relname = 'procrastinate_events')::bigint AS events,
              (SELECT max(id) FROM procrastinate_events) AS max_id`,
      )
    ).rows[0]!;
    const maxId = Number(size.max_id);
    // Two scans a settle period apart: the second counts what the first saw (the scanner waits for late commits).
    const poll = (db: QueueContext['db'], behind: number) => async () => {
      const scanner = new FailureScanner(db, settings.groupWaitMs);
      scanner.reset(Math.max(0, maxId - behind));
      const t = Date.now();
      await scanner.scan(t);
      await scanner.scan(t + settings.groupWaitMs);
    };
    const steadyMs = await medianOf(runs, poll(ctx.db, STEADY_EVENTS));
    const catchUpMs = await medianOf(runs, poll(ctx.db, MAX_WINDOWS_PER_SCAN * SCAN_WINDOW));
    const recorder = recordingPool(ctx.db);
    await poll(recorder.pool, MAX_WINDOWS_PER_SCAN * SCAN_WINDOW)();
    const plans: StatementCheck[] = [];
    for (const statement of recorder.statements.filter(isCheckable)) plans.push(await checkStatement(plain, ctx.schema.schema, 'alerts:failure-poll', statement));
    return { cost: { database, jobs: Number(size.jobs), events: Number(size.events), steadyMs, catchUpMs }, plans };
  } finally {
    await plain.end();
    await ctx.close();
  }
}

/** Each health check the leader runs every JOBQ_HEALTH_CHECK_SECONDS, timed, with plan checks. */
export async function measureHealth(url: string, runs: number): Promise<{ checks: HealthCost[]; plans: StatementCheck[] }> {
  const config = loadConfig(alertEnv(url));
  const settings = alertSettingsFrom(config);
  const ctx = await connectQueue(config);
  const plain = new pg.Client({ connectionString: url });
  await plain.connect();
  const checks: HealthCost[] = [];
  const plans: StatementCheck[] = [];
  const all: { name: string; run: (c: QueueContext) => Promise<Condition[]> }[] = [
    { name: 'stalled', run: stalledCondition },
    { name: 'backlog', run: (c) => backlogConditions(c, settings) },
    { name: 'no-workers', run: noWorkersCondition },
    { name: 'paused', run: (c) => pausedConditions(c, settings) },
  ];
  try {
    for (const check of all) {
      const ms = await medianOf(runs, () => check.run(ctx));
      const recorder = recordingPool(ctx.db);
      await check.run({ ...ctx, db: recorder.pool, reader: undefined });
      const statements = recorder.statements.filter(isCheckable);
      for (const statement of statements) plans.push(await checkStatement(plain, ctx.schema.schema, `health:${check.name}`, statement));
      checks.push({ check: check.name, ms, statements: statements.length });
    }
    return { checks, plans };
  } finally {
    await plain.end();
    await ctx.close();
  }
}
