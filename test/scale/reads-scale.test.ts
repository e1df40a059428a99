import type { QueryConfig } from 'pg';
import type { Db } from '../../src/db/database.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECENT_EVENTS_CAP, getStats } from '../../src/queue/stats.js';
import { listFailed } from '../../src/queue/failed.js';
import { getJob } from '../../src/queue/job.js';
import { listStalled } from '../../src/queue/stalled.js';
import { listWorkers } from '../../src/queue/workers.js';
import { detectSchema } from '../../src/db/schema.js';
import { migrate } from '../../src/db/migrations.js';
import { purge } from '../../src/queue/purge.js';
import { DEFAULT_SETTINGS, type QueueContext } from '../../src/queue/context.js';
import type { TestDb } from '../helpers/db.js';
import { createScaleDb } from '../helpers/scale-db.js';
import { JOBS, PAGE_BUDGET, type PlanNode, findNode, scans } from '../helpers/plans.js';
import { recordingPool } from '../helpers/recording-pool.js';

/**
 * Each statement every read sends is EXPLAIN ANALYZEd on a table of JOBS jobs (3 events each):
 * none may sequentially scan jobs or events, and none may touch more than PAGE_BUDGET pages. This is the "no full scan on every call" rule, checked on the real plans.
 */
describe(`reads stay index-bound on ${JOBS.toLocaleString('en-US')} jobs`, () => {
  let db: TestDb;
  let tablePages = 0;
  const explained: { op: string; text: string; pages: number; seq: string[] }[] = [];

  beforeAll(async () => {
    const started = performance.now();
    db = await createScaleDb(JOBS);
    // A few live workers and stalled jobs so stalled/workers have rows to find.
    await db.worker.query(`INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now()), (now() - interval '10 minutes')`);
    await db.worker.query(`UPDATE procrastinate_jobs SET worker_id = (SELECT min(id) FROM procrastinate_workers) WHERE status = 'doing' AND id % 2 = 0`);
    const pages = await db.worker.query<{ pages: string }>(`SELECT sum(relpages)::bigint AS pages FROM pg_class WHERE relname IN ('procrastinate_jobs', 'procrastinate_events')`);
    tablePages = Number(pages.rows[0]!.pages);
    console.log(`${JOBS} jobs ready in ${Math.round(performance.now() - started)} ms (generated or copied); jobs+events = ${tablePages} pages`);
  }, 600_000);

  afterAll(async () => {
    for (const e of explained) console.log(`${e.op.padEnd(8)} ${String(e.pages).padStart(7)} pages  ${e.text.replace(/\s+/g, ' ').slice(0, 90)}`);
    await db?.drop();
  });

  async function explain(pool: Db, statement: QueryConfig) {
    const result = await pool.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>({
      text: `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${statement.text}`,
      values: statement.values ?? [],
    });
    const plan = result.rows[0]!['QUERY PLAN'][0].Plan;
    return { plan, pages: plan['Shared Hit Blocks'] + plan['Shared Read Blocks'] };
  }

  async function check(op: string, run: (ctx: QueueContext) => Promise<unknown>) {
    const recorder = recordingPool(db.pool);
    const schema = await detectSchema(db.pool);
    await run({ db: recorder.pool, schema, settings: DEFAULT_SETTINGS });
    const reads = recorder.statements.filter((s) => /procrastinate_(jobs|events)/.test(s.text) && !/pg_class|pg_index|pg_attribute/.test(s.text));
    expect(reads.length).toBeGreaterThan(0);
    for (const statement of reads) {
      const { plan, pages } = await explain(db.pool, statement);
      const seq = scans(plan)
        .filter((s) => s.type === 'Seq Scan' && /procrastinate_(jobs|events)/.test(s.relation))
        .map((s) => s.relation);
      explained.push({ op, text: statement.text, pages, seq });
      expect(seq, `${op}: sequential scan in\n${statement.text}`).toEqual([]);
      if (/FROM procrastinate_events e\s+JOIN procrastinate_jobs/.test(statement.text)) {
        // Recent outcomes: bounded by activity (events since 24h ago, at most RECENT_EVENTS_CAP),
        // walked by the events primary key, one jobs lookup each; not by the size of either table.
        const eventScan = findNode(plan, (n) => n['Relation Name'] === 'procrastinate_events')!;
        expect(eventScan['Index Name']).toBe('procrastinate_events_pkey');
        expect(eventScan['Actual Rows']).toBeLessThanOrEqual(RECENT_EVENTS_CAP);
        continue;
      }
      expect(pages, `${op}: ${pages} of ${tablePages} pages touched by\n${statement.text}`).toBeLessThan(PAGE_BUDGET);
    }
  }

  it('stats by queue', () => check('stats', (ctx) => getStats(ctx)));
  it('stats by task', () => check('stats/t', (ctx) => getStats(ctx, { groupBy: 'task' })));
  it('failed, first page and a queue filter', () =>
    check('failed', async (ctx) => {
      const page = await listFailed(ctx, { limit: 50 });
      expect(page.jobs).toHaveLength(50);
      await listFailed(ctx, { queue: 'emails', limit: 20, cursor: page.nextCursor ?? undefined });
    }));
  it('job detail', () => check('job', (ctx) => getJob(ctx, Math.floor(JOBS / 2))));
  it('stalled', () => check('stalled', (ctx) => listStalled(ctx)));
  it('workers', () => check('workers', (ctx) => listWorkers(ctx)));

  it('marks final-status counts as estimates and keeps todo/doing exact', async () => {
    const schema = await detectSchema(db.pool);
    const stats = await getStats({ db: db.pool, schema, settings: DEFAULT_SETTINGS });
    expect(stats.countMethod.kind).toBe('sampled');
    expect(stats.totals.estimated).toEqual(['succeeded', 'failed', 'cancelled', 'aborted']);
    const exact = await db.worker.query<{ todo: string; doing: string; succeeded: string }>(
      `SELECT count(*) FILTER (WHERE status = 'todo') AS todo, count(*) FILTER (WHERE status = 'doing') AS doing, count(*) FILTER (WHERE status = 'succeeded') AS succeeded FROM procrastinate_jobs`,
    );
    expect(stats.totals.counts.todo).toBe(Number(exact.rows[0]!.todo));
    expect(stats.totals.counts.doing).toBe(Number(exact.rows[0]!.doing));
    const succeeded = Number(exact.rows[0]!.succeeded);
    expect(Math.abs(stats.totals.counts.succeeded - succeeded) / succeeded).toBeLessThan(0.1);
  });

  // Last: it changes the table. A routine purge of the oldest day out of 60.
  it('purges the oldest day in bounded batches, touching only the ids that can be old enough', async () => {
    await migrate(db.pool);
    const schema = await detectSchema(db.pool);
    const ctx = { db: db.pool, schema, settings: { ...DEFAULT_SETTINGS, batchPauseMs: 0 } };
    // The cutoff is now() - 59 days when each statement runs: a job can cross it between the
    // count and the purge, so the purge may take a few more than counted before it.
    const countOld = async () =>
      Number(
        (
          await db.worker.query<{ n: string }>(
            `SELECT count(*) AS n FROM procrastinate_jobs j WHERE j.status IN ('succeeded', 'cancelled', 'aborted')
             AND (SELECT max(at) FROM procrastinate_events e WHERE e.job_id = j.id) < now() - interval '59 days'`,
          )
        ).rows[0]!.n,
      );
    const expected = await countOld();
    expect(expected).toBeGreaterThan(5_000);
    const result = await purge(ctx, { olderThanDays: 59 }, { kind: 'cli', id: 'scale-test' });
    console.log(
      `purge: ${result.total} rows in ${result.batches} batches over ids up to ${result.toId}; lock hold max ${result.lockHold.maxMs.toFixed(1)} ms, p95 ${result.lockHold.p95Ms.toFixed(1)} ms`,
    );
    // About one job of this table crosses the cutoff every five seconds.
    expect(result.total).toBeGreaterThanOrEqual(expected);
    expect(result.total).toBeLessThanOrEqual(expected + 20);
    expect(await countOld()).toBeLessThanOrEqual(20);
    // Batches grow from the pacer's start size: never more of them than at that size.
    expect(result.pacing.batches).toBe(result.batches);
    expect(result.batches).toBeLessThanOrEqual(Math.ceil(expected / result.pacing.firstRows) + 2);
    // Only ids below the first job young enough are candidates: a sliver of the table.
    expect(result.toId).toBeLessThan(JOBS / 40);
    // Every batch is its own short transaction: none holds its row locks for long.
    expect(result.lockHold.maxMs).toBeLessThan(1_000);
  });
});
