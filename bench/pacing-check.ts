/**
 * A developer's check of the paced bulk changes (not the benchmark, not part of `npm test`):
 * on two identical copies of a generated table, Procrastinate's `delete_old_jobs` against jobq's
 * purge, and a plain UPDATE of every failed job against jobq's retry-all, each with a simulated
 * worker fetching alongside (a real `procrastinate_fetch_job_v2`, rolled back so the backlog stays).
 *
 *   npx tsx bench/pacing-check.ts [--jobs 1000000] [--days 60] [--older-than 30] [--base DB] [--only purge|retry-all] [--keep]
 *
 * --base copies an existing generated database instead of generating one (it is left as it is).
 *
 * Needs a PostgreSQL where the role may CREATE DATABASE: TEST_DATABASE_URL, else
 * postgres://postgres@127.0.0.1:5432/postgres.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { dbFromUrl } from '../src/db/connect.js';
import { migrate } from '../src/db/migrations.js';
import { detectSchema } from '../src/db/schema.js';
import { DEFAULT_SETTINGS } from '../src/queue/context.js';
import type { PacingReport } from '../src/queue/pacer.js';
import { purge } from '../src/queue/purge.js';
import { retryAll } from '../src/queue/retry-all.js';
import { fixtureSql } from '../test/helpers/fixtures.js';
import { generateJobs } from '../test/helpers/generate.js';
import { DEFAULT_ADMIN_URL } from '../test/helpers/postgres.js';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '1000000' },
    days: { type: 'string', default: '60' },
    'older-than': { type: 'string', default: '30' },
    base: { type: 'string' },
    only: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const jobs = Number(args.jobs);
const days = Number(args.days);
const olderThanDays = Number(args['older-than']);
const adminUrl = process.env.TEST_DATABASE_URL ?? DEFAULT_ADMIN_URL;

/** Procrastinate 3.x `delete_old_jobs`, as bench/purge.ts runs it. */
const DELETE_OLD_JOBS = `
DELETE FROM procrastinate_jobs
WHERE id IN (
    SELECT job.id FROM (
        SELECT DISTINCT ON (job.id) job.*, event.at AS latest_at
            FROM procrastinate_jobs job
            JOIN procrastinate_events event ON job.id = event.job_id
            ORDER BY job.id, event.at DESC
    ) AS job
    WHERE job.status = ANY($1::procrastinate_job_status[])
      AND latest_at < NOW() - ($2 || 'HOUR')::INTERVAL
)`;
const RETRY_ALL_BY_HAND = `UPDATE procrastinate_jobs SET status = 'todo', attempts = attempts + 1, scheduled_at = NULL WHERE status = 'failed'`;

const log = (line: string) => process.stdout.write(`${line}\n`);
const urlFor = (database: string) => {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
};
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A worker fetching in a loop, each fetch rolled back; latencies of the fetch statement with their time. */
async function fetchingWorker(url: string) {
  const client = new pg.Client({ connectionString: url, application_name: 'simulated-worker' });
  await client.connect();
  const samples: { at: number; ms: number }[] = [];
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      await client.query('BEGIN');
      const t0 = performance.now();
      await client.query('SELECT id FROM procrastinate_fetch_job_v2(NULL::varchar[], NULL::bigint)');
      samples.push({ at: t0, ms: performance.now() - t0 });
      await client.query('ROLLBACK');
      await sleep(2);
    }
  })();
  return {
    /** p50 and p99 of the fetches that started in [from, to). */
    between(from: number, to: number) {
      const ms = samples
        .filter((x) => x.at >= from && x.at < to)
        .map((x) => x.ms)
        .sort((a, b) => a - b);
      const q = (p: number) => ms[Math.min(ms.length - 1, Math.ceil(ms.length * p) - 1)] ?? Number.NaN;
      return { n: ms.length, p50: q(0.5), p99: q(0.99) };
    },
    async end() {
      stop = true;
      await loop;
      await client.end();
    },
  };
}

type Fetches = ReturnType<Awaited<ReturnType<typeof fetchingWorker>>['between']>;
const fetchText = (idle: Fetches, during: Fetches) =>
  `worker fetch p50/p99 idle ${idle.p50.toFixed(2)}/${idle.p99.toFixed(2)} ms (${idle.n}), during ${during.p50.toFixed(2)}/${during.p99.toFixed(2)} ms (${during.n})`;
const pacingText = (p: PacingReport) =>
  `${p.batches} batches, rows ${p.firstRows} -> largest ${p.largestRows}, final ${p.finalRows}; max batch ${p.maxBatchMs.toFixed(1)} ms, ${p.slowBatches} over ${p.targetMs} ms; paused ${s(p.pausedMs)} ${JSON.stringify(Object.fromEntries(Object.entries(p.pauses).filter(([, x]) => x.count > 0)))}`;

/** Runs `fn` with a worker fetching alongside; returns its result, wall time, and the fetch latencies idle (2 s before) and during. */
async function measured<T>(url: string, fn: () => Promise<T>): Promise<{ result: T; ms: number; idle: Fetches; during: Fetches }> {
  const worker = await fetchingWorker(url);
  try {
    const idleFrom = performance.now();
    await sleep(2_000);
    const t0 = performance.now();
    const result = await fn();
    const t1 = performance.now();
    return { result, ms: t1 - t0, idle: worker.between(idleFrom, t0), during: worker.between(t0, t1) };
  } finally {
    await worker.end();
  }
}

async function main(): Promise<void> {
  const tag = randomBytes(3).toString('hex');
  const base = args.base ?? `jobq_pacing_base_${tag}`;
  const plain = `jobq_pacing_plain_${tag}`;
  const paced = `jobq_pacing_jobq_${tag}`;
  const admin = (sql: string) => withClient(adminUrl, (c) => c.query(sql));
  try {
    if (!args.base) {
      log(`Generating ${jobs.toLocaleString('en')} jobs over ${days} days...`);
      await admin(`CREATE DATABASE ${base}`);
      await withClient(urlFor(base), (c) => c.query(fixtureSql('v3')));
      const gen = new pg.Pool({ connectionString: urlFor(base), max: 1 });
      await generateJobs(gen, { jobs, days });
      await gen.query('VACUUM ANALYZE procrastinate_jobs');
      await gen.query('VACUUM ANALYZE procrastinate_events');
      await gen.end();
    }
    await admin(`CREATE DATABASE ${plain} TEMPLATE ${base} STRATEGY FILE_COPY`);
    await admin(`CREATE DATABASE ${paced} TEMPLATE ${base} STRATEGY FILE_COPY`);

    const pool = dbFromUrl({ url: urlFor(paced), statementTimeoutMs: 5_000, lockTimeoutMs: 1_000, max: 5 });
    try {
      await migrate(pool);
      const ctx = { db: pool, schema: await detectSchema(pool), settings: DEFAULT_SETTINGS };
      if (args.only !== 'retry-all') {
        const a = await measured(urlFor(plain), () =>
          withClient(urlFor(plain), async (c) => (await c.query(DELETE_OLD_JOBS, [['succeeded', 'cancelled', 'aborted'], String(olderThanDays * 24)])).rowCount),
        );
        log(`\npurge older than ${olderThanDays} days`);
        log(`  delete_old_jobs: ${a.result} rows in ${s(a.ms)} (one transaction); ${fetchText(a.idle, a.during)}`);
        const b = await measured(urlFor(paced), () => purge(ctx, { olderThanDays }, { kind: 'cli', id: 'pacing-check' }));
        log(`  jobq purge: ${b.result.total} rows in ${s(b.ms)} (${(a.ms / b.ms).toFixed(2)}x faster); ${fetchText(b.idle, b.during)}`);
        log(`    ${pacingText(b.result.pacing)}`);
      }
      if (args.only === 'purge') return;

      const c = await measured(urlFor(plain), () => withClient(urlFor(plain), async (cl) => (await cl.query(RETRY_ALL_BY_HAND)).rowCount));
      log(`\nretry every failed job`);
      log(`  plain UPDATE: ${c.result} rows in ${s(c.ms)}; ${fetchText(c.idle, c.during)}`);
      const d = await measured(urlFor(paced), () => retryAll(ctx, {}, { kind: 'cli', id: 'pacing-check' }));
      log(`  jobq retry-all: ${d.result.retried} rows in ${s(d.ms)} (${(d.ms / c.ms).toFixed(2)}x the UPDATE); ${fetchText(d.idle, d.during)}`);
      log(`    ${pacingText(d.result.pacing)}`);
    } finally {
      await pool.end();
    }
  } finally {
    if (args.keep) log(`Kept ${base}, ${plain}, ${paced}`);
    else for (const db of args.base ? [plain, paced] : [plain, paced, base]) await admin(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
  }
}

await main();
