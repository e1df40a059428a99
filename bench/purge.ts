/**
 * Purge benchmark: Procrastinate's own `delete_old_jobs` statement against jobq's batched purge,
 * on two identical copies of a large never-purged table.
 *
 *   npx tsx bench/purge.ts [--jobs 1000000] [--days 60] [--older-than 30] [--batch-size 5000] [--pause-ms 2000] [--keep]
 *
 * --batch-size and --pause-ms are the pacing's caps (JOBQ_BATCH_SIZE, JOBQ_BATCH_PAUSE_MS).
 *
 * Needs a PostgreSQL where the role may CREATE DATABASE: TEST_DATABASE_URL, else
 * postgres://postgres@127.0.0.1:5432/postgres. Not part of `npm test`.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { migrate } from '../src/db/migrations.js';
import { dbFromUrl } from '../src/db/connect.js';
import { detectSchema } from '../src/db/schema.js';
import { DEFAULT_SETTINGS } from '../src/queue/context.js';
import { previewPurge, purge } from '../src/queue/purge.js';
import { fixtureSql } from '../test/helpers/fixtures.js';
import { generateJobs } from '../test/helpers/generate.js';
import { DEFAULT_ADMIN_URL } from '../test/helpers/postgres.js';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '1000000' },
    days: { type: 'string', default: '60' },
    'older-than': { type: 'string', default: '30' },
    'batch-size': { type: 'string', default: String(DEFAULT_SETTINGS.batchSize) },
    'pause-ms': { type: 'string', default: String(DEFAULT_SETTINGS.batchPauseMs) },
    keep: { type: 'boolean', default: false },
  },
});
const jobs = Number(args.jobs);
const days = Number(args.days);
const olderThanDays = Number(args['older-than']);
const batchSize = Number(args['batch-size']);
const batchPauseMs = Number(args['pause-ms']);
const adminUrl = process.env.TEST_DATABASE_URL ?? DEFAULT_ADMIN_URL;
const FINAL = ['succeeded', 'cancelled', 'aborted'];

/**
 * Procrastinate 3.x `delete_old_jobs` (procrastinate/sql/queries.sql), as its `remove_old_jobs`
 * builtin task runs it, with the same statuses jobq purges by default.
 */
const PROCRASTINATE_DELETE_OLD_JOBS = `
DELETE FROM procrastinate_jobs
WHERE id IN (
    SELECT job.id FROM (
        SELECT DISTINCT ON (job.id) job.*, event.at AS latest_at
            FROM procrastinate_jobs job
            JOIN procrastinate_events event
              ON job.id = event.job_id
            ORDER BY job.id, event.at DESC
    ) AS job
    WHERE job.status = ANY($1::procrastinate_job_status[])
      AND ($2::varchar IS NULL OR job.queue_name = $2)
      AND latest_at < NOW() - ($3 || 'HOUR')::INTERVAL
)`;

const urlFor = (database: string) => {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
};
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const log = (line: string) => process.stdout.write(`${line}\n`);

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function statusCounts(url: string): Promise<Record<string, number>> {
  return withClient(url, async (c) => {
    const rows = await c.query<{ status: string; n: string }>('SELECT status::text AS status, count(*) AS n FROM procrastinate_jobs GROUP BY 1 ORDER BY 1');
    return Object.fromEntries(rows.rows.map((r) => [r.status, Number(r.n)]));
  });
}

async function main(): Promise<void> {
  const tag = randomBytes(3).toString('hex');
  const base = `jobq_bench_base_${tag}`;
  const copyA = `jobq_bench_procrastinate_${tag}`;
  const copyB = `jobq_bench_jobq_${tag}`;
  const admin = (sql: string) => withClient(adminUrl, (c) => c.query(sql));
  const started = performance.now();
  try {
    log(`Generating ${jobs.toLocaleString('en')} jobs over ${days} days (Procrastinate 3.x schema)...`);
    await admin(`CREATE DATABASE ${base}`);
    await withClient(urlFor(base), (c) => c.query(fixtureSql('v3')));
    const genPool = new pg.Pool({ connectionString: urlFor(base), max: 1 });
    const genStart = performance.now();
    await generateJobs(genPool, { jobs, days });
    await genPool.query('VACUUM ANALYZE procrastinate_jobs');
    await genPool.query('VACUUM ANALYZE procrastinate_events');
    const sizes = (
      await genPool.query<{ jobs: string; events: string; size: string }>(
        `SELECT (SELECT count(*) FROM procrastinate_jobs) AS jobs, (SELECT count(*) FROM procrastinate_events) AS events, pg_size_pretty(pg_database_size(current_database())) AS size`,
      )
    ).rows[0]!;
    await genPool.end();
    log(`  ${Number(sizes.jobs).toLocaleString('en')} jobs, ${Number(sizes.events).toLocaleString('en')} events, ${sizes.size}, in ${seconds(performance.now() - genStart)}`);

    await admin(`CREATE DATABASE ${copyA} TEMPLATE ${base} STRATEGY FILE_COPY`);
    await admin(`CREATE DATABASE ${copyB} TEMPLATE ${base} STRATEGY FILE_COPY`);
    const before = await statusCounts(urlFor(copyA));
    log(`  two identical copies made; statuses: ${JSON.stringify(before)}`);

    // (a) Procrastinate's delete_old_jobs: one statement, one transaction.
    log(`\n(a) Procrastinate delete_old_jobs, older than ${olderThanDays} days, statuses ${FINAL.join(', ')}`);
    const a = await withClient(urlFor(copyA), async (c) => {
      await c.query('SET statement_timeout = 0');
      const now = (await c.query<{ now: Date }>('SELECT now()')).rows[0]!.now;
      const t0 = performance.now();
      const result = await c.query(PROCRASTINATE_DELETE_OLD_JOBS, [FINAL, null, String(olderThanDays * 24)]);
      return { ms: performance.now() - t0, deleted: result.rowCount ?? 0, cutoff: new Date(now.getTime() - olderThanDays * 86_400_000) };
    });
    log(`  wall time ${seconds(a.ms)}, rows deleted ${a.deleted.toLocaleString('en')} (the task itself reports no count)`);
    log(`  locks held: ${seconds(a.ms)} in one transaction, on every deleted row`);

    // (b) jobq purge: bounded batches, each its own short transaction, with the production pool settings.
    log(`\n(b) jobq purge, older than ${olderThanDays} days, paced (batches up to ${batchSize} rows, pauses up to ${batchPauseMs} ms), statement timeout 5 s, lock timeout 1 s`);
    const pool = dbFromUrl({ url: urlFor(copyB), statementTimeoutMs: 5_000, lockTimeoutMs: 1_000, max: 2 });
    try {
      await migrate(pool);
      const ctx = { db: pool, schema: await detectSchema(pool), settings: { ...DEFAULT_SETTINGS, batchSize, batchPauseMs } };
      const p0 = performance.now();
      const preview = await previewPurge(ctx, { olderThanDays });
      log(`  preview: ${preview.total.toLocaleString('en')} rows ${JSON.stringify(preview.counts)}, exact ${preview.exact}, in ${seconds(performance.now() - p0)}`);
      const t0 = performance.now();
      const b = await purge(ctx, { olderThanDays }, { kind: 'cli', id: 'bench' });
      const ms = performance.now() - t0;
      log(`  wall time ${seconds(ms)} (of which ${seconds(b.pacing.pausedMs)} paused on pressure), rows deleted ${b.total.toLocaleString('en')} ${JSON.stringify(b.deleted)}`);
      log(`  pacing: ${JSON.stringify(b.pacing.pauses)}; rows per batch ${b.pacing.firstRows} -> largest ${b.pacing.largestRows}, final ${b.pacing.finalRows}`);
      log(
        `  ${b.batches} batches over candidate ids ${b.toId.toLocaleString('en')} of ${jobs.toLocaleString('en')}; lock holding per batch: max ${b.lockHold.maxMs.toFixed(1)} ms, p95 ${b.lockHold.p95Ms.toFixed(1)} ms`,
      );
      // Both cut at NOW() - N days, but (b) starts later: jobs whose latest event crossed the
      // cutoff in between are deleted by (b) only.
      const gap = (new Date(b.cutoff).getTime() - a.cutoff.getTime()) / 1000;
      log(`\nLeft in (a): ${JSON.stringify(await statusCounts(urlFor(copyA)))}`);
      log(`Left in (b): ${JSON.stringify(await statusCounts(urlFor(copyB)))}`);
      log(`(b) deleted ${b.total - a.deleted} more rows than (a); its cutoff is ${gap.toFixed(0)} s later (one job every ${((days * 86_400) / jobs).toFixed(1)} s in this data).`);
    } finally {
      await pool.end();
    }
  } finally {
    if (!args.keep) {
      for (const db of [copyA, copyB, base]) await admin(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
    } else {
      log(`Kept databases ${base}, ${copyA}, ${copyB}`);
    }
    log(`Total bench time ${seconds(performance.now() - started)}`);
  }
}

await main();
