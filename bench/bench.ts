import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/db/migrations.js';
import { connectQueue } from '../src/queue/open.js';
import { generateJobs } from '../test/helpers/generate.js';
import { measureAccuracy } from './accuracy.js';
import { measureHealth, measurePoll } from './alerts.js';
import { comparePurge, compareRetryAll } from './bulk.js';
import { measureConcurrency } from './concurrency.js';
import { createFromFixture, databaseExists, databaseSize, dropDatabase, serverSettings, urlFor, withClient } from './databases.js';
import { measureReads, cliEnv, readSpecs } from './reads.js';
import { type BenchReport, type Section, SECTIONS, targets } from './report.js';
import { RssSampler, timed } from './timing.js';

export interface BenchOptions {
  jobs: number;
  shape: 'v3' | 'v310';
  /** Spread of the generated jobs (issue 11: 30). */
  days: number;
  /** Name of the database to create (default jobq_bench_<random>). */
  name?: string | undefined;
  /** An existing generated database: no generation, never dropped, never changed but for jobq's own schema and worker heartbeats. */
  reuse?: string | undefined;
  keep: boolean;
  /** Timed runs per measurement (the median is reported), after one warm-up. */
  runs: number;
  /** Runs of each naive query (slow at 10M). */
  naiveRuns: number;
  concurrency: number;
  idleMs: number;
  /** Purge age; default: one day less than the age of the oldest job, so the oldest day goes. */
  olderThanDays?: number | undefined;
  sections: readonly Section[];
  /** Stop after generating (implies keep). */
  generateOnly?: boolean;
  command: string;
  log: (line: string) => void;
}

export const DEFAULT_OPTIONS = { jobs: 1_000_000, shape: 'v3', days: 30, keep: false, runs: 5, naiveRuns: 3, concurrency: 50, idleMs: 10_000, sections: SECTIONS } as const;

interface TableFacts {
  queues: string[];
  maxId: number;
  jobs: number;
  events: number;
  pages: number;
  oldestAgeDays: number;
  newestEventAgeHours: number;
}

/** Creates (or reuses) a generated database and measures every section asked for, in one run. */
export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const tag = randomBytes(3).toString('hex');
  const base = o.reuse ?? o.name ?? `jobq_bench_${tag}`;
  const small = `${base}_small`;
  const rss = new RssSampler();
  rss.start();
  let generation: BenchReport['meta']['generation'] = null;
  const ownsBase = !o.reuse;
  try {
    if (o.reuse) {
      if (!(await databaseExists(o.reuse))) throw new Error(`--reuse ${o.reuse}: no such database`);
      o.log(`Reusing ${o.reuse}`);
    } else {
      generation = await generate(base, o.jobs, o);
      if (o.generateOnly) return emptyReport(o, base, generation, await facts(base), rss);
    }
    rss.mark('generate');
    const table = await prepare(base);
    const report: BenchReport = {
      meta: {
        command: o.command,
        startedAt: new Date().toISOString(),
        jobs: table.jobs,
        shape: o.shape,
        database: base,
        reused: Boolean(o.reuse),
        machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 1024 ** 3), node: process.version, postgres: await serverSettings() },
        table: { jobs: table.jobs, events: table.events, pages: table.pages, size: (await databaseSize(base)).pretty, newestEventAgeHours: table.newestEventAgeHours },
        generation,
      },
      sections: [],
      plans: [],
      rss: { peakMib: 0, sections: {} },
      targets: [],
    };
    const url = urlFor(base);
    const queue = table.queues.includes('webhooks') ? 'webhooks' : table.queues[0]!;
    const jobId = Math.max(1, Math.floor(table.maxId / 2));
    const section = async (name: Section, fn: () => Promise<void>) => {
      if (!o.sections.includes(name)) return;
      o.log(`\n== ${name}`);
      const run = await timed(fn);
      report.sections.push(name);
      rss.mark(name);
      o.log(`   done in ${(run.ms / 1000).toFixed(1)} s`);
    };

    await section('reads', async () => {
      const r = await measureReads(url, readSpecs(jobId, queue), { runs: o.runs, naiveRuns: o.naiveRuns, queue, jobId });
      report.reads = r.reads;
      report.plans.push(...r.plans);
    });
    await section('accuracy', async () => {
      report.accuracy = await measureAccuracy(url);
    });
    await section('health', async () => {
      const h = await measureHealth(url, o.runs);
      report.health = h.checks;
      report.plans.push(...h.plans);
    });
    await section('concurrency', async () => {
      const c = await measureConcurrency(url, { count: o.concurrency, queues: table.queues, maxJobId: table.maxId });
      report.concurrency = { storm: c.storm, appHome: c.appHome };
      report.plans.push(...c.plans);
    });
    const bulk = { tag, queues: table.queues, idleMs: o.idleMs, keep: o.keep, log: o.log };
    await section('purge', async () => {
      const olderThanDays = o.olderThanDays ?? Math.max(2, Math.floor(table.oldestAgeDays) - 1);
      report.purge = await comparePurge(base, olderThanDays, bulk);
    });
    await section('retry-all', async () => {
      report.retryAll = await compareRetryAll(base, bulk);
    });
    await section('alert-poll', async () => {
      const big = await measurePoll(url, base, o.runs);
      if (!(await databaseExists(small))) await generate(small, Math.max(1_000, Math.round(table.jobs / 10)), o);
      await prepare(small);
      const little = await measurePoll(urlFor(small), small, o.runs);
      report.alertPoll = [big.cost, little.cost];
      report.plans.push(...big.plans, ...little.plans);
    });

    report.rss = rss.stop();
    report.targets = targets(report);
    return report;
  } finally {
    rss.stop();
    if (ownsBase && !o.keep && !o.generateOnly) {
      await dropDatabase(small);
      await dropDatabase(base);
    }
  }
}

async function generate(name: string, jobs: number, o: BenchOptions): Promise<{ ms: number; size: string }> {
  o.log(`Generating ${jobs.toLocaleString('en-US')} jobs over ${o.days} days into ${name} (Procrastinate ${o.shape})...`);
  await createFromFixture(name, o.shape);
  const pg = (await import('pg')).default;
  const pool = new pg.Pool({ connectionString: urlFor(name), max: 1 });
  try {
    let lastLog = 0;
    const run = await timed(() =>
      generateJobs(pool, {
        jobs,
        days: o.days,
        onProgress: (p) => {
          if (p.elapsedMs - lastLog < 10_000 && p.jobs < p.total) return;
          lastLog = p.elapsedMs;
          o.log(`  ${p.jobs.toLocaleString('en-US')} / ${p.total.toLocaleString('en-US')} jobs, ${(p.elapsedMs / 1000).toFixed(0)} s`);
        },
      }),
    );
    const size = (await databaseSize(name)).pretty;
    o.log(`  generated in ${(run.ms / 1000).toFixed(1)} s (with VACUUM ANALYZE), ${size}`);
    return { ms: run.ms, size };
  } finally {
    await pool.end();
  }
}

/**
 * Before measuring: jobq's own schema (audit and confirmations need it), the live workers'
 * heartbeats brought up to now (all but the stalest, which plays the dead worker), and the facts
 * the sections need.
 */
async function prepare(name: string): Promise<TableFacts> {
  const ctx = await connectQueue(loadConfig(cliEnv(urlFor(name))));
  try {
    await migrate(ctx.db);
  } finally {
    await ctx.close();
  }
  await withClient(urlFor(name), (c) =>
    c.query(`UPDATE procrastinate_workers SET last_heartbeat = now() WHERE id <> (SELECT id FROM procrastinate_workers ORDER BY last_heartbeat, id LIMIT 1)`),
  );
  return facts(name);
}

async function facts(name: string): Promise<TableFacts> {
  return withClient(urlFor(name), async (c) => {
    // Distinct queues by skipping through the queue_name index, not by reading the table.
    const queues = await c.query<{ name: string }>(
      `WITH RECURSIVE q AS (SELECT min(queue_name) AS name FROM procrastinate_jobs
                            UNION ALL SELECT (SELECT min(queue_name) FROM procrastinate_jobs WHERE queue_name > q.name) FROM q WHERE q.name IS NOT NULL)
       SELECT name FROM q WHERE name IS NOT NULL`,
    );
    const row = (
      await c.query<{ max_id: string; jobs: string; events: string; pages: string; oldest_days: number; newest_hours: number }>(
        `SELECT (SELECT max(id) FROM procrastinate_jobs) AS max_id,
                (SELECT reltuples FROM pg_class WHERE oid = 'procrastinate_jobs'::regclass)::bigint AS jobs,
                (SELECT reltuples FROM pg_class WHERE oid = 'procrastinate_events'::regclass)::bigint AS events,
                (SELECT sum(relpages) FROM pg_class WHERE relname IN ('procrastinate_jobs', 'procrastinate_events'))::bigint AS pages,
                extract(epoch FROM now() - (SELECT min(at) FROM procrastinate_events WHERE job_id = (SELECT min(id) FROM procrastinate_jobs))) / 86400 AS oldest_days,
                extract(epoch FROM now() - (SELECT max(at) FROM (SELECT at FROM procrastinate_events ORDER BY id DESC LIMIT 1000) s WHERE at <= now())) / 3600 AS newest_hours`,
      )
    ).rows[0]!;
    return {
      queues: queues.rows.map((r) => r.name),
      maxId: Number(row.max_id ?? 0),
      jobs: Number(row.jobs),
      events: Number(row.events),
      pages: Number(row.pages),
      oldestAgeDays: Number(row.oldest_days ?? 0),
      newestEventAgeHours: Number(row.newest_hours ?? 0),
    };
  });
}

function emptyReport(o: BenchOptions, base: string, generation: BenchReport['meta']['generation'], t: TableFacts, rss: RssSampler): BenchReport {
  return {
    meta: {
      command: o.command,
      startedAt: new Date().toISOString(),
      jobs: t.jobs,
      shape: o.shape,
      database: base,
      reused: false,
      machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 1024 ** 3), node: process.version, postgres: {} },
      table: { jobs: t.jobs, events: t.events, pages: t.pages, size: generation?.size ?? '?', newestEventAgeHours: t.newestEventAgeHours },
      generation,
    },
    sections: [],
    plans: [],
    rss: rss.stop(),
    targets: [],
  };
}
