import type { QueryConfig } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.js';
import { detectSchema } from '../../src/db/schema.js';
import { DEFAULT_SETTINGS, type QueueContext } from '../../src/queue/context.js';
import { listFailed } from '../../src/queue/failed.js';
import { failedTotal } from '../../src/queue/failed-total.js';
import { knownQueues, knownTasks, queueExists, TASK_NAMES_RECENT_JOBS } from '../../src/queue/names.js';
import { getOverview } from '../../src/queue/overview.js';
import { RECENT_EVENTS_CAP } from '../../src/queue/stats.js';
import type { TestDb } from '../helpers/db.js';
import { ISSUE_11_QUEUES } from '../helpers/generate.js';
import { createScaleDb } from '../helpers/scale-db.js';
import { JOBS, PAGE_BUDGET, type PlanNode, findNode, scans } from '../helpers/plans.js';
import { recordingPool } from '../helpers/recording-pool.js';

/**
 * What the readable views added to the reads: the known names behind "did you mean", the total of
 * a failed list, the App Home's overview. Each statement EXPLAIN ANALYZEd on JOBS jobs, as in
 * reads-scale.test.ts: no sequential scan of jobs or events, fewer than PAGE_BUDGET pages.
 */
describe(`readable views stay index-bound on ${JOBS.toLocaleString('en-US')} jobs`, () => {
  let db: TestDb;

  beforeAll(async () => {
    db = await createScaleDb(JOBS);
  }, 600_000);
  afterAll(async () => db?.drop());

  async function explain(pool: Db, statement: QueryConfig) {
    const result = await pool.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>({ text: `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${statement.text}`, values: statement.values ?? [] });
    const plan = result.rows[0]!['QUERY PLAN'][0].Plan;
    return { plan, pages: plan['Shared Hit Blocks'] + plan['Shared Read Blocks'] };
  }

  async function check(op: string, run: (ctx: QueueContext) => Promise<unknown>) {
    const recorder = recordingPool(db.pool);
    const schema = await detectSchema(db.pool);
    // Final-status counts are exact (a full scan) below JOBQ_EXACT_COUNT_MAX_ROWS: sampled here at any JOBS.
    await run({ db: recorder.pool, schema, settings: { ...DEFAULT_SETTINGS, exactCountMaxRows: Math.min(DEFAULT_SETTINGS.exactCountMaxRows, Math.floor(JOBS / 4)) } });
    const reads = recorder.statements.filter((s) => /procrastinate_(jobs|events)/.test(s.text) && !/pg_class|pg_index|pg_attribute/.test(s.text));
    expect(reads.length).toBeGreaterThan(0);
    for (const statement of reads) {
      const { plan, pages } = await explain(db.pool, statement);
      const seq = scans(plan).filter((s) => s.type === 'Seq Scan' && /procrastinate_(jobs|events)/.test(s.relation));
      expect(seq, `${op}: sequential scan in\n${statement.text}`).toEqual([]);
      if (/FROM procrastinate_events e\s+JOIN procrastinate_jobs/.test(statement.text)) {
        // Recent outcomes (the stats the overview reuses): bounded by the events of a day, as in reads-scale.
        expect(findNode(plan, (n) => n['Relation Name'] === 'procrastinate_events')!['Actual Rows']).toBeLessThanOrEqual(RECENT_EVENTS_CAP);
        continue;
      }
      expect(pages, `${op}: ${pages} pages touched by\n${statement.text}`).toBeLessThan(PAGE_BUDGET);
    }
  }

  it('known queue names and one queue probe', () =>
    check('names/queues', async (ctx) => {
      expect((await knownQueues(ctx)).names).toEqual(ISSUE_11_QUEUES.map((q) => q.name).sort());
      expect(await queueExists(ctx, 'emails')).toBe(true);
      expect(await queueExists(ctx, 'email')).toBe(false);
    }));

  it('task names from the newest jobs, said to be incomplete', () =>
    check('names/tasks', async (ctx) => {
      const tasks = await knownTasks(ctx);
      expect(tasks.complete).toBe(false);
      expect(tasks.examinedJobs).toBe(TASK_NAMES_RECENT_JOBS);
      expect(tasks.names).toHaveLength(10);
    }));

  it('the total of a failed list', () =>
    check('failed/total', async (ctx) => {
      for (const query of [{}, { queue: 'reports' }, { task: 'app.tasks.task_7' }]) {
        const page = await listFailed(ctx, { ...query, limit: 20 });
        const total = await failedTotal(ctx, query, page);
        // About 1% of the jobs fail in the generated table; estimated from a block sample.
        expect(total?.estimated, JSON.stringify({ query, total, next: page.nextCursor })).toBe(true);
        expect(total!.count).toBeGreaterThanOrEqual(page.jobs.length);
      }
    }));

  it("the App Home's overview", () =>
    check('overview', async (ctx) => {
      const overview = await getOverview(ctx);
      expect(overview.stats.queues.length).toBe(ISSUE_11_QUEUES.length);
      expect(overview.alerts).toEqual([]);
    }));
});
