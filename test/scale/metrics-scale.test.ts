import type { QueryConfig } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectSchema } from '../../src/db/schema.js';
import { createQueueCollector, type QueueCollector } from '../../src/metrics/collector.js';
import { LOOKUP_CHUNK, TALLY_WINDOW } from '../../src/metrics/event-tally.js';
import { createMetrics, type Metrics } from '../../src/metrics/registry.js';
import { DEFAULT_SETTINGS } from '../../src/queue/context.js';
import { RECENT_EVENTS_CAP } from '../../src/queue/stats.js';
import { eventsInRange, eventsStartedBefore, eventsWithIds } from '../../src/db/queries/events-metrics.js';
import { eventsMaxId } from '../../src/db/queries/events.js';
import { jobsQueues } from '../../src/db/queries/jobs-metrics.js';
import type { TestDb } from '../helpers/db.js';
import { createScaleDb } from '../helpers/scale-db.js';
import { testLogger } from '../helpers/log.js';
import { recordingPool } from '../helpers/recording-pool.js';
import { parseExposition } from '../metrics/exposition.js';

const JOBS = Number(process.env.JOBQ_SCALE_JOBS ?? 1_000_000);
/** The page budget of test/scale/reads-scale.test.ts: about 1% of the 1M-job fixture. */
const PAGE_BUDGET = 2_500;
/** Jobs that run between two collections (three events each). */
const NEW_JOBS = 2_000;
const SCRAPES = 500;
/** The texts of the event counter's statements. */
const TALLY_STATEMENTS = new Set([eventsMaxId(), eventsInRange(0, 0), eventsWithIds([]), jobsQueues([]), eventsStartedBefore([], [])].map((q) => q.text));

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Shared Hit Blocks': number;
  'Shared Read Blocks': number;
  'Actual Rows': number;
  Plans?: PlanNode[];
}

function nodes(node: PlanNode, out: PlanNode[] = []): PlanNode[] {
  out.push(node);
  for (const child of node.Plans ?? []) nodes(child, out);
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)]!;

/**
 * The cost of /metrics on JOBS jobs (3 events each): a scrape is served from memory in
 * milliseconds and sends no statement; each statement of a collection is EXPLAIN ANALYZEd and
 * stays within the page budget of the reads (the 24-hour outcomes that getStats computes are
 * bounded by activity, as in reads-scale), none scanning jobs or events sequentially.
 */
describe(`metrics on ${JOBS.toLocaleString('en-US')} jobs`, () => {
  let db: TestDb;
  let metrics: Metrics;
  let collector: QueueCollector;
  let recorder: ReturnType<typeof recordingPool>;
  const figures: string[] = [];

  beforeAll(async () => {
    const started = performance.now();
    db = await createScaleDb(JOBS);
    await db.worker.query(`INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now()), (now() - interval '10 minutes')`);
    await db.worker.query(`UPDATE procrastinate_jobs SET worker_id = (SELECT min(id) FROM procrastinate_workers) WHERE status = 'doing' AND id % 2 = 0`);
    figures.push(`${JOBS} jobs ready in ${Math.round(performance.now() - started)} ms (generated or copied)`);
    recorder = recordingPool(db.pool);
    metrics = createMetrics({ maxQueues: 50 });
    const schema = await detectSchema(db.pool);
    // Final statuses sampled as on any large table, also when JOBQ_SCALE_JOBS asks for a smaller one.
    const settings = { ...DEFAULT_SETTINGS, exactCountMaxRows: Math.min(DEFAULT_SETTINGS.exactCountMaxRows, JOBS / 2) };
    collector = createQueueCollector({ context: async () => ({ db: recorder.pool, schema, settings }), metrics, intervalMs: 60_000, log: testLogger().log });
  }, 600_000);

  afterAll(async () => {
    for (const line of figures) console.log(line);
    await db?.drop();
  });

  async function explain(statement: QueryConfig) {
    const result = await db.pool.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>({
      text: `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${statement.text}`,
      values: statement.values ?? [],
    });
    const plan = result.rows[0]!['QUERY PLAN'][0].Plan;
    return { plan, pages: plan['Shared Hit Blocks'] + plan['Shared Read Blocks'] };
  }

  /** EXPLAIN ANALYZEs each statement that reads Procrastinate's tables: no sequential scan of jobs or events, and within the page budget. */
  async function check(statements: QueryConfig[]) {
    const reads = statements.filter((s) => /procrastinate_(jobs|events|workers|paused)/.test(s.text) && !/pg_class|pg_index|pg_attribute/.test(s.text));
    expect(reads.length).toBeGreaterThan(0);
    const byShape = new Map<string, { count: number; maxPages: number }>();
    for (const statement of reads) {
      const { plan, pages } = await explain(statement);
      const all = nodes(plan);
      const seq = all.filter((n) => n['Node Type'] === 'Seq Scan' && /procrastinate_(jobs|events)/.test(n['Relation Name'] ?? ''));
      expect(seq, `sequential scan in\n${statement.text}`).toEqual([]);
      const shape = statement.text.replace(/\s+/g, ' ').trim().slice(0, 80);
      const seen = byShape.get(shape) ?? { count: 0, maxPages: 0 };
      byShape.set(shape, { count: seen.count + 1, maxPages: Math.max(seen.maxPages, pages) });
      if (/FROM procrastinate_events e\s+JOIN procrastinate_jobs/.test(statement.text) && /interval '24 hours'/.test(statement.text)) {
        // getStats' recent outcomes: bounded by the last day's events, walked by the primary key (as in reads-scale).
        const events = all.find((n) => n['Relation Name'] === 'procrastinate_events')!;
        expect(events['Index Name']).toBe('procrastinate_events_pkey');
        expect(events['Actual Rows']).toBeLessThanOrEqual(RECENT_EVENTS_CAP);
        continue;
      }
      expect(pages, `${pages} pages touched by\n${statement.text}`).toBeLessThan(PAGE_BUDGET);
    }
    for (const [shape, s] of byShape) figures.push(`  ${String(s.maxPages).padStart(6)} pages max  x${String(s.count).padEnd(3)} ${shape}`);
  }

  it('collects with the bounded reads of stats', async () => {
    const started = performance.now();
    await collector.collect();
    figures.push(
      `first collection (stats, stalled, paused, workers; takes the event position): ${Math.round(performance.now() - started)} ms, ${recorder.statements.length} statements`,
    );
    await check(recorder.statements);
  }, 300_000);

  it('counts the events since the last collection with bounded statements', async () => {
    const before = recorder.statements.length;
    // Jobs that run between two collections, written through Procrastinate's triggers. Their
    // statements are measured as they run in production: on new rows not vacuumed yet. The jobs
    // running since before the first collection end too: their start times are looked up.
    const running = (await db.worker.query(`UPDATE procrastinate_jobs SET status = 'succeeded', attempts = 1 WHERE status = 'doing'`)).rowCount ?? 0;
    expect(running).toBeGreaterThan(0);
    await db.worker.query(`INSERT INTO procrastinate_jobs (queue_name, task_name, args) SELECT 'emails', 'app.tasks.send', '{}'::jsonb FROM generate_series(1, $1::int)`, [
      NEW_JOBS,
    ]);
    await db.worker.query(`UPDATE procrastinate_jobs SET status = 'doing' WHERE status = 'todo' AND task_name = 'app.tasks.send'`);
    await db.worker.query(`UPDATE procrastinate_jobs SET status = 'succeeded', attempts = 1 WHERE status = 'doing' AND task_name = 'app.tasks.send'`);
    const started = performance.now();
    await collector.collect();
    const ms = Math.round(performance.now() - started);
    const statements = recorder.statements.slice(before);
    const tally = statements.filter((s) => TALLY_STATEMENTS.has(s.text));
    figures.push(`next collection after ${NEW_JOBS * 3 + running} new events: ${ms} ms, ${statements.length} statements (${tally.length} of the event counter)`);
    const samples = parseExposition(await metrics.registry.metrics());
    const total = (name: string, labels: Record<string, string> = {}) =>
      samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
    expect(total('procrastinate_job_events_total', { type: 'succeeded' })).toBe(NEW_JOBS + running);
    expect(total('procrastinate_job_events_total')).toBe(NEW_JOBS * 3 + running);
    expect(total('procrastinate_job_duration_seconds_count')).toBe(NEW_JOBS + running);
    expect(collector.tally.pendingGaps).toBe(0);
    await check(tally);
    // The event counter reads TALLY_WINDOW ids per range, and looks each job's queue up once (at its deferral).
    expect(tally.filter((s) => s.text.includes('FROM procrastinate_events WHERE id > $1::bigint'))).toHaveLength(Math.ceil((NEW_JOBS * 3 + running) / TALLY_WINDOW));
    expect(tally.filter((s) => s.text.includes('FROM procrastinate_jobs WHERE id = ANY'))).toHaveLength(Math.ceil(running / LOOKUP_CHUNK) + Math.ceil(NEW_JOBS / LOOKUP_CHUNK));
    expect(tally.filter((s) => s.text.includes('unnest('))).toHaveLength(Math.ceil(running / LOOKUP_CHUNK));
  }, 300_000);

  it('serves a scrape from memory in milliseconds, sending no statement', async () => {
    const sent = recorder.statements.length;
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < SCRAPES; i++) {
      const started = performance.now();
      bytes = (await metrics.registry.metrics()).length;
      times.push(performance.now() - started);
    }
    expect(recorder.statements.length - sent).toBe(0);
    figures.push(
      `scrape: median ${median(times).toFixed(2)} ms, p99 ${p99(times).toFixed(2)} ms over ${SCRAPES} scrapes (${bytes} bytes); statements sent during scrapes: ${recorder.statements.length - sent}`,
    );
    expect(median(times)).toBeLessThan(20);
  });
});
