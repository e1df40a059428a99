import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { FINAL_STATUSES, REPORTED_STATUSES, type ReportedStatus } from '../../src/db/procrastinate.js';
import { leaseAcquire, type Fence } from '../../src/db/queries/jobq-leases.js';
import { jobsRareIndexCreate } from '../../src/db/queries/jobs-indexes.js';
import { detectSchema, indexedStatuses, isFailedIndex, isRareIndex } from '../../src/db/schema.js';
import { listFailed } from '../../src/queue/failed.js';
import { countFinalStatuses } from '../../src/queue/final-counts.js';
import { createQueueHandle } from '../../src/queue/handle.js';
import { getStats, type StatsResult } from '../../src/queue/stats.js';
import { statsText } from '../../src/render/text/reads.js';
import { FINAL_COUNTS_LEASE, startFinalCounts } from '../../src/schedules/final-counts.js';
import { queueContext, type TestDb, useMigratedDbs } from '../helpers/db.js';
import { SHAPES, type SchemaShape } from '../helpers/fixtures.js';
import { testLogger } from '../helpers/log.js';

/** Far below the fixtures' few thousand jobs: every test takes the large-table path. */
const LARGE = { exactCountMaxRows: 100 };

/**
 * Jobs ids [from, to] in bulk (triggers off, as Procrastinate's own bulk loads would not matter
 * here: only statuses are read), spread over 3 queues and 4 tasks, every status present and the
 * rare ones spread through the whole id range. 2.x also gets a few `aborting` jobs.
 */
async function seed(db: TestDb, shape: SchemaShape, from: number, to: number): Promise<void> {
  const client = await db.worker.connect();
  try {
    await client.query('SET session_replication_role = replica');
    await client.query(
      `INSERT INTO procrastinate_jobs (id, queue_name, task_name, status)
       SELECT g, (ARRAY['emails', 'reports', 'billing'])[1 + g % 3], 'app.t' || (g % 4),
              (CASE WHEN g % 50 = 1 THEN 'failed' WHEN g % 70 = 2 THEN 'cancelled' WHEN g % 90 = 3 THEN 'aborted'
                    WHEN g % 97 = 4 AND $3::boolean THEN 'aborting' WHEN g % 200 = 5 THEN 'todo' WHEN g % 300 = 6 THEN 'doing'
                    ELSE 'succeeded' END)::procrastinate_job_status
       FROM generate_series($1::bigint, $2::bigint) AS g`,
      [from, to, shape === 'v2'],
    );
    await client.query(`SELECT setval(pg_get_serial_sequence('procrastinate_jobs', 'id'), (SELECT max(id) FROM procrastinate_jobs))`);
    await client.query('SET session_replication_role = DEFAULT');
    await client.query('ANALYZE procrastinate_jobs');
  } finally {
    client.release();
  }
}

type Truth = Record<string, Record<string, number>>;

function byKey(rows: { key: string; status: string; n: string }[]): Truth {
  const out: Truth = {};
  for (const r of rows) {
    out[r.key] ??= {};
    out[r.key]![r.status] = Number(r.n);
  }
  return out;
}

/** The same counts by a plain GROUP BY over the whole table. */
async function truth(db: TestDb, column: 'queue_name' | 'task_name' | 'all' = 'all'): Promise<Truth> {
  const key = column === 'all' ? `queue_name || '/' || task_name` : column;
  const rows = await db.worker.query<{ key: string; status: string; n: string }>(
    `SELECT ${key} AS key, status::text AS status, count(*) AS n FROM procrastinate_jobs GROUP BY 1, 2`,
  );
  return byKey(rows.rows);
}

async function snapshot(db: TestDb): Promise<Truth> {
  const rows = await db.worker.query<{ key: string; status: string; n: string }>(
    `SELECT queue_name || '/' || task_name AS key, status, count AS n FROM jobq.final_counts WHERE jobs_schema = 'public'`,
  );
  return byKey(rows.rows);
}

const only = (t: Truth, statuses: readonly string[]): Truth =>
  Object.fromEntries(
    Object.entries(t)
      .map(([k, v]) => [k, Object.fromEntries(Object.entries(v).filter(([s]) => statuses.includes(s)))] as const)
      .filter(([, v]) => Object.keys(v).length > 0),
  );

async function takeLease(db: TestDb, holder = 'test-leader'): Promise<Fence> {
  const row = (await db.pool.query(leaseAcquire(FINAL_COUNTS_LEASE, holder, 60_000))).rows[0];
  if (!row) throw new Error('lease not free');
  return { name: FINAL_COUNTS_LEASE, holder, token: Number(row.token) };
}

/** What stats shows per group for one status. */
const shown = (stats: StatsResult, status: ReportedStatus) => Object.fromEntries(stats.queues.filter((q) => q.counts[status] > 0).map((q) => [q.name, q.counts[status]]));
const truthOf = (t: Truth, status: string) => Object.fromEntries(Object.entries(t).flatMap(([k, v]) => (v[status] ? [[k, v[status]]] : [])));

describe.each(SHAPES)('background counts of final-status jobs on a %s schema', (shape: SchemaShape) => {
  const setup = useMigratedDbs(shape, LARGE);
  const counted = shape === 'v2' ? [...FINAL_STATUSES, 'aborting'] : [...FINAL_STATUSES];

  it('a pass counts every final-status job exactly, window by window, pacing itself', async () => {
    const { db, ctx } = await setup();
    await seed(db, shape, 1, 5_000);
    const fence = await takeLease(db);
    const result = await countFinalStatuses(ctx, { fence: () => fence, windowIds: 700 });
    expect(result).toMatchObject({ kind: 'counted', countedToId: 5_000, windows: 8 });
    expect(await snapshot(db)).toEqual(only(await truth(db), counted));
    if (result.kind !== 'counted') return;
    // A pause as long as each window's statement after all but the last: about twice the SQL time.
    expect(result.elapsedMs).toBeGreaterThanOrEqual(result.sqlMs * 1.3);
    const state = (await db.worker.query(`SELECT counted_to_id, groups FROM jobq.final_counts_state`)).rows[0];
    expect(state).toEqual({ counted_to_id: 5000, groups: result.groups });
  });

  it('stats adds the jobs created since the count, says how old it is, and never marks them estimated', async () => {
    const { db, ctx } = await setup();
    await seed(db, shape, 1, 3_000);
    const fence = await takeLease(db);
    expect((await countFinalStatuses(ctx, { fence: () => fence })).kind).toBe('counted');
    await seed(db, shape, 3_001, 3_450);

    for (const column of ['queue_name', 'task_name'] as const) {
      const stats = await getStats(ctx, { groupBy: column === 'queue_name' ? 'queue' : 'task' });
      expect(stats.countMethod).toMatchObject({ kind: 'counted', countedToId: 3_000, refreshSeconds: 600 });
      const t = await truth(db, column);
      for (const status of FINAL_STATUSES) expect(shown(stats, status), status).toEqual(truthOf(t, status));
      // 2.x's aborting is running: folded into doing, with the live doing jobs.
      const doing = Object.entries(t).map(([k, v]) => [k, (v.doing ?? 0) + (v.aborting ?? 0)] as const);
      expect(shown(stats, 'doing')).toEqual(Object.fromEntries(doing.filter(([, n]) => n > 0)));
      if (shape === 'v2') expect(Object.values(t).some((v) => (v.aborting ?? 0) > 0)).toBe(true);
      expect(stats.totals.estimated).toEqual([]);
      expect(stats.totals.counted).toEqual(['succeeded', 'failed', 'cancelled', 'aborted']);
      expect(stats.queues.every((q) => q.estimated.length === 0 && q.counted.length === 4)).toBe(true);
      const text = statsText(stats);
      expect(text).toMatch(/succeeded, failed, cancelled, aborted: exact as of \d+s ago \(counted in the background up to job 3000; newer jobs counted now\)/);
      expect(text).not.toContain('~');
    }
  });
});

describe('background counts: when not to trust them', () => {
  const setup = useMigratedDbs('v3', LARGE);

  it('without a count, or with one too old, stats samples and prints a bound for every estimate', async () => {
    const { db, ctx } = await setup();
    await seed(db, 'v3', 1, 4_000);
    const none = await getStats(ctx);
    expect(none.countMethod).toMatchObject({ kind: 'sampled', fallback: 'no_count', countAgeSeconds: null });
    expect(statsText(none)).toContain('No background count to use yet');

    const fence = await takeLease(db);
    expect((await countFinalStatuses(ctx, { fence: () => fence })).kind).toBe('counted');
    expect((await getStats(ctx)).countMethod.kind).toBe('counted');
    // Older than 3 refresh intervals (3 × 600 s): the leader is gone, its count is not shown.
    await db.worker.query(`UPDATE jobq.final_counts_state SET started_at = now() - interval '2 hours'`);
    const stale = await getStats(ctx);
    expect(stale.countMethod).toMatchObject({ kind: 'sampled', fallback: 'count_too_old' });
    if (stale.countMethod.kind === 'sampled') expect(stale.countMethod.countAgeSeconds).toBeGreaterThanOrEqual(7_200);
    expect(stale.totals.estimated).toEqual(['succeeded', 'failed', 'cancelled', 'aborted']);
    for (const status of stale.totals.estimated) expect(stale.totals.margins[status]).toBeGreaterThan(0);
    for (const q of stale.queues) for (const status of q.estimated) expect(q.margins[status]).toBeGreaterThan(0);
    const text = statsText(stale);
    expect(text).toContain('~ approximate: succeeded, failed, cancelled, aborted estimated from a');
    expect(text).toContain('± is a rough 95% bound');
    expect(text).toMatch(/The background count is 2h 0m old, too old to show/);
    // Every estimated cell carries its bound.
    expect(text.match(/~[\d,.kM]+ ±[\d,.kM]+/g)?.length).toBe(stale.queues.length * 4);
  });

  it('a count too far behind the newest jobs is not used', async () => {
    const { db, ctx } = await setup();
    await seed(db, 'v3', 1, 2_000);
    const fence = await takeLease(db);
    expect((await countFinalStatuses(ctx, { fence: () => fence })).kind).toBe('counted');
    // Jobs keep coming: more than a window of ids past the count.
    await seed(db, 'v3', 200_000, 200_100);
    expect((await getStats(ctx)).countMethod).toMatchObject({ kind: 'sampled', fallback: 'count_behind' });
  });

  it("the sample's bound holds the truth on a table the sample does not cover whole", async () => {
    const { db } = await setup();
    await seed(db, 'v3', 1, 60_000);
    const stats = await getStats(await queueContext(db, { exactCountMaxRows: 0 }));
    expect(stats.countMethod.kind).toBe('sampled');
    if (stats.countMethod.kind === 'sampled') expect(stats.countMethod.samplePercent).toBeLessThan(50);
    const t = await truth(db, 'queue_name');
    for (const status of ['succeeded', 'failed', 'cancelled', 'aborted'] as const) {
      const exact = Object.values(t).reduce((n, v) => n + (v[status] ?? 0), 0);
      expect(Math.abs(stats.totals.counts[status] - exact), `${status}: ${stats.totals.counts[status]} ±${stats.totals.margins[status]} vs ${exact}`).toBeLessThanOrEqual(
        stats.totals.margins[status]!,
      );
    }
  });
});

describe('background counts: only the leader writes', () => {
  const setup = useMigratedDbs('v3', LARGE);

  it('a replica that is not leader, or one deposed mid-pass, writes nothing', async () => {
    const { db, ctx } = await setup();
    await seed(db, 'v3', 1, 3_000);
    expect(await countFinalStatuses(ctx, { fence: () => null })).toEqual({ kind: 'abandoned', reason: 'not_leader' });

    // Leader at the start, deposed before the third window: it stops there.
    const fence = await takeLease(db);
    let checks = 0;
    const deposed = await countFinalStatuses(ctx, { fence: () => (++checks <= 2 ? fence : null), windowIds: 500 });
    expect(deposed).toEqual({ kind: 'abandoned', reason: 'not_leader' });
    expect(checks).toBe(3);
    expect((await db.worker.query('SELECT count(*)::int AS n FROM jobq.final_counts_state')).rows[0]!.n).toBe(0);
  });

  it('a leader frozen past its lease is refused by the database at the swap', async () => {
    const { db, ctx } = await setup();
    await seed(db, 'v3', 1, 3_000);
    const stale = await takeLease(db, 'frozen');
    // The lease expires and another replica takes it; the frozen one still believes it leads.
    await db.worker.query(`UPDATE jobq.leases SET expires_at = now() - interval '1 second' WHERE name = $1`, [FINAL_COUNTS_LEASE]);
    const current = await takeLease(db, 'new-leader');
    expect(current.token).toBe(stale.token + 1);
    expect(await countFinalStatuses(ctx, { fence: () => stale })).toEqual({ kind: 'abandoned', reason: 'not_leader' });
    expect((await db.worker.query('SELECT count(*)::int AS n FROM jobq.final_counts')).rows[0]!.n).toBe(0);
    expect((await countFinalStatuses(ctx, { fence: () => current })).kind).toBe('counted');
    expect(await snapshot(db)).toEqual(only(await truth(db), FINAL_STATUSES));
  });

  it('of two replicas running the refresh, the elected one counts; the other does not', async () => {
    const { db } = await setup();
    await seed(db, 'v3', 1, 3_000);
    const config = loadConfig({ JOB_QUEUE_DATABASE_URL: db.url, JOBQ_EXACT_COUNT_MAX_ROWS: '100', JOBQ_LEADER_CHECK_SECONDS: '0.1' });
    const sinks = [testLogger(), testLogger()];
    const replicas = sinks.map((sink) => {
      const queue = createQueueHandle(config, sink.log);
      return { queue, counts: startFinalCounts({ queue, log: sink.log, refreshSeconds: 600, leaderCheckMs: 100, migrated: async () => undefined }) };
    });
    try {
      await Promise.all(replicas.map((r) => r.counts.ready));
      const deadline = Date.now() + 15_000;
      while ((await db.worker.query('SELECT count(*)::int AS n FROM jobq.final_counts_state')).rows[0]!.n === 0) {
        if (Date.now() > deadline) throw new Error('no count was made');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(replicas.map((r) => r.counts.isLeader()).filter(Boolean)).toHaveLength(1);
      const counters = sinks.map((s) => s.lines().filter((l) => l.msg === 'final-status jobs counted').length);
      expect(counters.sort()).toEqual([0, 1]);
      expect(await snapshot(db)).toEqual(only(await truth(db), FINAL_STATUSES));
    } finally {
      for (const r of replicas) {
        await r.counts.stop();
        await r.queue.close();
      }
    }
  });
});

describe('the recommended index over failed, cancelled and aborted jobs', () => {
  const setup = useMigratedDbs('v3', LARGE);

  it('is recognised in the form PostgreSQL stores, as is the older failed-only form', async () => {
    const { db } = await setup();
    await db.worker.query(`CREATE INDEX old_failed ON procrastinate_jobs (queue_name, id) WHERE status = 'failed'`);
    await db.worker.query(`CREATE INDEX rare_list ON procrastinate_jobs (queue_name, id) WHERE status IN ('failed', 'cancelled', 'aborted')`);
    await db.worker.query(`CREATE INDEX wider_list ON procrastinate_jobs (id) WHERE status IN ('aborted', 'succeeded', 'cancelled', 'failed')`);
    await db.worker.query(`CREATE INDEX two_of_three ON procrastinate_jobs (id) WHERE status IN ('failed', 'cancelled')`);
    await db.worker.query(`CREATE INDEX narrower ON procrastinate_jobs (id) WHERE status IN ('failed', 'cancelled', 'aborted') AND queue_name = 'emails'`);
    await db.worker.query(`CREATE INDEX no_failed ON procrastinate_jobs (id) WHERE status IN ('cancelled', 'aborted')`);
    const schema = await detectSchema(db.pool);
    const byName = new Map(schema.indexes.map((i) => [i.name, i]));
    expect(byName.get('rare_list')!.definition).toContain("status = ANY (ARRAY['failed'::procrastinate_job_status, 'cancelled'::procrastinate_job_status");
    const verdicts = ['old_failed', 'rare_list', 'wider_list', 'two_of_three', 'narrower', 'no_failed'].map((n) => [n, isFailedIndex(byName.get(n)!), isRareIndex(byName.get(n)!)]);
    expect(verdicts).toEqual([
      ['old_failed', true, false],
      ['rare_list', true, true],
      ['wider_list', true, true],
      ['two_of_three', true, false],
      ['narrower', false, false],
      ['no_failed', false, false],
    ]);
    expect(schema.features).toEqual(expect.arrayContaining(['failed_index', 'rare_index']));
    // A schema-qualified type, as the catalog prints it when Procrastinate's schema is off the search_path.
    expect(indexedStatuses(`CREATE INDEX x ON app.procrastinate_jobs USING btree (id) WHERE (status = 'failed'::app.procrastinate_job_status)`)).toEqual(new Set(['failed']));
  });

  it('makes failed, cancelled and aborted exact at any size; failed listings use it', async () => {
    const { db } = await setup();
    await seed(db, 'v3', 1, 4_000);
    await db.worker.query(jobsRareIndexCreate().text);
    await db.worker.query('ANALYZE procrastinate_jobs');
    const ctx = await queueContext(db, { exactCountMaxRows: 0 });
    expect(ctx.schema.features).toEqual(expect.arrayContaining(['failed_index', 'rare_index']));
    const stats = await getStats(ctx);
    // No background count here: only succeeded is left to the sample.
    expect(stats.countMethod).toMatchObject({ kind: 'sampled', fallback: 'no_count' });
    expect(stats.totals.estimated).toEqual(['succeeded']);
    const t = await truth(db, 'queue_name');
    for (const status of ['failed', 'cancelled', 'aborted'] as const) expect(shown(stats, status), status).toEqual(truthOf(t, status));
    expect(statsText(stats)).toContain('todo, doing, failed, cancelled, aborted: exact.');

    const fence = await takeLease(db);
    expect((await countFinalStatuses(ctx, { fence: () => fence })).kind).toBe('counted');
    const counted = await getStats(ctx);
    expect(counted.totals.counted).toEqual(['succeeded']);
    for (const status of REPORTED_STATUSES) expect(shown(counted, status), status).toEqual(truthOf(t, status));

    const page = await listFailed(ctx, { queue: 'reports', limit: 5 });
    const expected = await db.worker.query<{ id: string }>(`SELECT id FROM procrastinate_jobs WHERE status = 'failed' AND queue_name = 'reports' ORDER BY id DESC LIMIT 5`);
    expect(page.jobs.map((j) => j.id)).toEqual(expected.rows.map((r) => Number(r.id)));
  });
});

describe('JOBQ_COUNTS_REFRESH_SECONDS', () => {
  it('defaults to 10 minutes and names itself when it is not a positive number', () => {
    expect(loadConfig({}).JOBQ_COUNTS_REFRESH_SECONDS).toBe(600);
    expect(loadConfig({ JOBQ_COUNTS_REFRESH_SECONDS: '120' }).JOBQ_COUNTS_REFRESH_SECONDS).toBe(120);
    for (const bad of ['soon', '0', '-5']) {
      expect(() => loadConfig({ JOBQ_COUNTS_REFRESH_SECONDS: bad })).toThrow(/^Invalid configuration: JOBQ_COUNTS_REFRESH_SECONDS: [^\n]+$/);
    }
  });
});
