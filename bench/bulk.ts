import { runBulk } from '../src/commands/writes.js';
import { loadConfig } from '../src/config.js';
import { FINAL_STATUSES } from '../src/db/procrastinate.js';
import { migrate } from '../src/db/migrations.js';
import { cliActor } from '../src/queue/actor.js';
import type { PacingReport } from '../src/queue/pacer.js';
import { connectQueue } from '../src/queue/open.js';
import { previewPurge } from '../src/queue/purge.js';
import { previewRetryAll } from '../src/queue/retry-all.js';
import { cloneDatabase, dropDatabase, urlFor, withClient } from './databases.js';
import { cliEnv } from './reads.js';
import { timed } from './timing.js';
import { SimulatedWorker, type WorkerRun } from './worker.js';

/** The statuses both sides delete: jobq's default purge keeps failed jobs, so Procrastinate's call is given the same list. */
const PURGED = FINAL_STATUSES.filter((s) => s !== 'failed');

/**
 * Procrastinate 3.x `delete_old_jobs` (queries.sql), as its `remove_old_jobs` builtin task runs it:
 * every job joined to all its events to find each one's latest, in one statement.
 */
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
      AND ($2::varchar IS NULL OR job.queue_name = $2)
      AND latest_at < NOW() - ($3 || 'HOUR')::INTERVAL
)`;

/** What teams run to retry every failed job by hand. */
const PLAIN_RETRY = `UPDATE procrastinate_jobs SET status = 'todo' WHERE status = 'failed'`;

export interface BaselineSide {
  ms: number;
  rows: number;
  /** One statement, one transaction: its row locks are held for all of it. */
  lockHoldMs: number;
  worker: WorkerRun;
}

export interface JobqSide {
  previewMs: number;
  ms: number;
  rows: number;
  batches: number;
  /** Time the pacer backed off (included in ms), and how it paced: batch sizes, slow batches, pauses by signal. */
  pausesMs: number;
  pacing: { largestRows: number; finalRows: number; slowBatches: number; pauses: Record<string, { count: number; ms: number }> };
  lockHold: { maxMs: number; p95Ms: number };
  worker: WorkerRun;
}

export interface PurgeComparison {
  olderThanDays: number;
  idle: WorkerRun;
  procrastinate: BaselineSide;
  jobq: JobqSide;
  /** The next routine purge (one day less), right after: what a daily job costs from then on. */
  routine: { olderThanDays: number; procrastinate: { ms: number; rows: number }; jobq: { ms: number; rows: number } };
  left: { procrastinate: Record<string, number>; jobq: Record<string, number> };
}

export interface RetryAllComparison {
  failed: number;
  idle: WorkerRun;
  plainUpdate: BaselineSide;
  jobq: JobqSide;
}

interface BulkOptions {
  tag: string;
  queues: string[];
  idleMs: number;
  keep: boolean;
  log: (line: string) => void;
}

async function statusCounts(url: string): Promise<Record<string, number>> {
  return withClient(url, async (c) => {
    const rows = await c.query<{ status: string; n: string }>(`SELECT status::text AS status, count(*) AS n FROM procrastinate_jobs GROUP BY 1 ORDER BY 1`);
    return Object.fromEntries(rows.rows.map((r) => [r.status, Number(r.n)]));
  });
}

/** Runs `fn` while a simulated worker fetches on the same database; returns both. */
async function withWorker<T>(url: string, queues: string[], fn: () => Promise<T>): Promise<{ value: T; ms: number; worker: WorkerRun }> {
  const worker = new SimulatedWorker(url, queues);
  worker.start();
  try {
    const run = await timed(fn);
    return { ...run, worker: await worker.stop() };
  } catch (error) {
    await worker.stop().catch(() => undefined);
    throw error;
  }
}

async function plainStatement(url: string, text: string, values: unknown[] = []): Promise<number> {
  return withClient(url, async (c) => {
    await c.query('SET statement_timeout = 0');
    return (await c.query(text, values)).rowCount ?? 0;
  });
}

/** jobq as a team runs it: the CLI's configuration with nothing tuned (batch size, pause, timeouts). */
async function jobqContext(url: string) {
  const config = loadConfig(cliEnv(url));
  const ctx = await connectQueue(config);
  await migrate(ctx.db);
  return { ctx };
}

const pacingOf = (p: PacingReport) => ({ largestRows: p.largestRows, finalRows: p.finalRows, slowBatches: p.slowBatches, pauses: p.pauses });

/** jobq purge against delete_old_jobs, on two identical copies of `base`, each with a worker fetching alongside. */
export async function comparePurge(base: string, olderThanDays: number, o: BulkOptions): Promise<PurgeComparison> {
  const a = `${base}_${o.tag}_pp`;
  const b = `${base}_${o.tag}_pj`;
  await cloneDatabase(base, a);
  await cloneDatabase(base, b);
  try {
    o.log(`  idle worker baseline (${o.idleMs / 1000} s)...`);
    const idle = await SimulatedWorker.idle(urlFor(a), o.queues, o.idleMs);
    o.log(`  delete_old_jobs, older than ${olderThanDays} days...`);
    const p = await withWorker(urlFor(a), o.queues, () => plainStatement(urlFor(a), DELETE_OLD_JOBS, [PURGED, null, String(olderThanDays * 24)]));
    o.log(`  jobq purge --older-than ${olderThanDays}...`);
    const { ctx } = await jobqContext(urlFor(b));
    try {
      const preview = await timed(() => previewPurge(ctx, { olderThanDays }));
      const j = await withWorker(urlFor(b), o.queues, () => runBulk(ctx, { bulk: 'purge', params: { olderThanDays } }, cliActor()));
      if (j.value.bulk !== 'purge') throw new Error('purge ran as something else');
      const result = j.value.result;
      o.log(`  the routine purge after (older than ${olderThanDays - 1} days)...`);
      const routineP = await timed(() => plainStatement(urlFor(a), DELETE_OLD_JOBS, [PURGED, null, String((olderThanDays - 1) * 24)]));
      const routineJ = await timed(() => runBulk(ctx, { bulk: 'purge', params: { olderThanDays: olderThanDays - 1 } }, cliActor()));
      const routineRows = routineJ.value.bulk === 'purge' ? routineJ.value.result.total : 0;
      return {
        olderThanDays,
        idle,
        procrastinate: { ms: p.ms, rows: p.value, lockHoldMs: p.ms, worker: p.worker },
        jobq: {
          previewMs: preview.ms,
          ms: j.ms,
          rows: result.total,
          batches: result.batches,
          pausesMs: result.pacing.pausedMs,
          pacing: pacingOf(result.pacing),
          lockHold: result.lockHold,
          worker: j.worker,
        },
        routine: { olderThanDays: olderThanDays - 1, procrastinate: { ms: routineP.ms, rows: routineP.value }, jobq: { ms: routineJ.ms, rows: routineRows } },
        left: { procrastinate: await statusCounts(urlFor(a)), jobq: await statusCounts(urlFor(b)) },
      };
    } finally {
      await ctx.close();
    }
  } finally {
    if (!o.keep) for (const db of [a, b]) await dropDatabase(db);
  }
}

/** jobq retry-all of every failed job against a plain UPDATE, on two identical copies, each with a worker fetching alongside. */
export async function compareRetryAll(base: string, o: BulkOptions): Promise<RetryAllComparison> {
  const c = `${base}_${o.tag}_ru`;
  const d = `${base}_${o.tag}_rj`;
  await cloneDatabase(base, c);
  await cloneDatabase(base, d);
  try {
    const failed = await withClient(urlFor(c), async (client) => Number((await client.query(`SELECT count(*) AS n FROM procrastinate_jobs WHERE status = 'failed'`)).rows[0].n));
    o.log(`  idle worker baseline (${o.idleMs / 1000} s)...`);
    const idle = await SimulatedWorker.idle(urlFor(c), o.queues, o.idleMs);
    o.log(`  plain UPDATE of ${failed.toLocaleString('en')} failed jobs...`);
    const u = await withWorker(urlFor(c), o.queues, () => plainStatement(urlFor(c), PLAIN_RETRY));
    o.log('  jobq retry-all...');
    const { ctx } = await jobqContext(urlFor(d));
    try {
      const preview = await timed(() => previewRetryAll(ctx, {}));
      const j = await withWorker(urlFor(d), o.queues, () => runBulk(ctx, { bulk: 'retry-all', params: preview.value }, cliActor()));
      if (j.value.bulk !== 'retry-all') throw new Error('retry-all ran as something else');
      const result = j.value.result;
      return {
        failed,
        idle,
        plainUpdate: { ms: u.ms, rows: u.value, lockHoldMs: u.ms, worker: u.worker },
        jobq: {
          previewMs: preview.ms,
          ms: j.ms,
          rows: result.retried,
          batches: result.batches,
          pausesMs: result.pacing.pausedMs,
          pacing: pacingOf(result.pacing),
          lockHold: result.lockHold,
          worker: j.worker,
        },
      };
    } finally {
      await ctx.close();
    }
  } finally {
    if (!o.keep) for (const db of [c, d]) await dropDatabase(db);
  }
}
