import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { dbFromUrl } from '../../src/db/connect.js';
import type { Db } from '../../src/db/database.js';
import { detectSchema } from '../../src/db/schema.js';
import { JobqError } from '../../src/errors.js';
import { main, type CliIo } from '../../src/cli.js';
import { CAPABILITIES } from '../../src/queue/capabilities.js';
import { DEFAULT_SETTINGS } from '../../src/queue/context.js';
import { assertDoctorUsable, runDoctor } from '../../src/queue/doctor.js';
import { doctorBlocks } from '../../src/render/blocks/reads.js';
import { doctorText } from '../../src/render/text/reads.js';
import { factories } from '../helpers/factories.js';
import { adminUrl, createTestDb, type TestDb } from '../helpers/db.js';
import { SHAPES, type SchemaShape } from '../helpers/fixtures.js';

const RELIED_ON_NAMES: Record<SchemaShape, (string | null)[]> = {
  v3: [
    'procrastinate_jobs_queue_name_idx_v1',
    'procrastinate_jobs_id_lock_idx_v1',
    'procrastinate_jobs_priority_idx_v1',
    'idx_procrastinate_jobs_worker_not_null',
    'procrastinate_events_job_id_fkey_v1',
  ],
  v2: ['procrastinate_jobs_queue_name_idx', 'procrastinate_jobs_id_lock_idx', 'procrastinate_jobs_priority_idx', 'procrastinate_events_job_id_fkey'],
};

describe.each(SHAPES)('runDoctor on a %s schema', (shape: SchemaShape) => {
  let db: TestDb | undefined;
  afterEach(async () => {
    await db?.drop();
    db = undefined;
  });

  it('reports features, privileges, and the indexes jobq relies on', async () => {
    db = await createTestDb(shape);
    const report = await runDoctor(db.pool);
    const schema = await detectSchema(db.pool);
    expect(report.procrastinate).toEqual({
      found: true,
      generation: shape === 'v3' ? '3.4+' : '2.x',
      features: schema.features,
      error: null,
      schema: 'public',
      foundBy: 'search_path',
    });
    expect(report.connection.serverVersion).toBe(schema.serverVersion);
    const { min, median, max } = report.connection.latencyMs;
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeGreaterThan(0);
    expect(min).toBeLessThanOrEqual(median);
    expect(median).toBeLessThanOrEqual(max);
    expect(report.privileges).toEqual({ role: 'postgres', database: db.name, read: true, updateJobs: true, deleteJobs: true, createSchema: true });
    expect(report.capabilities.map((c) => [c.name, c.ok])).toEqual(CAPABILITIES.map((name) => [name, true]));
    expect(report.grants).toEqual([]);
    expect(report.tables.map((t) => t.name).sort()).toEqual(
      shape === 'v3' ? ['procrastinate_events', 'procrastinate_jobs', 'procrastinate_workers'] : ['procrastinate_events', 'procrastinate_jobs'],
    );
    expect(report.indexes.reliedOn.map((i) => i.name)).toEqual(RELIED_ON_NAMES[shape]);
    expect(report.indexes.reliedOn.every((i) => i.present && i.create === null)).toBe(true);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('recommends one index over failed, cancelled and aborted jobs with its CREATE INDEX statement, then sees it', async () => {
    db = await createTestDb(shape);
    const before = await runDoctor(db.pool);
    expect(before.indexes.recommended).toHaveLength(1);
    const [missing] = before.indexes.recommended;
    expect(missing).toMatchObject({ present: false, name: null });
    expect(missing!.create).toMatch(/^CREATE INDEX CONCURRENTLY \w+ ON procrastinate_jobs .*WHERE status IN \('failed', 'cancelled', 'aborted'\);$/);
    expect(before.procrastinate.features).not.toContain('failed_index');
    expect(before.procrastinate.features).not.toContain('rare_index');
    // A recommendation, not a problem: the report stays ok.
    expect(before.ok).toBe(true);

    await db.worker.query(missing!.create!);
    const after = await runDoctor(db.pool);
    expect(after.indexes.recommended[0]).toMatchObject({ present: true, name: 'jobq_failed_cancelled_aborted_idx', create: null });
    expect(after.procrastinate.features).toEqual(expect.arrayContaining(['failed_index', 'rare_index']));
    expect(after.warnings.map((w) => w.code)).not.toContain('index_superseded');
  });

  it("keeps the older failed-only index's uses, still recommends the new one, and says when the old one is superseded", async () => {
    db = await createTestDb(shape);
    await db.worker.query(`CREATE INDEX jobq_failed_jobs_idx ON procrastinate_jobs (queue_name, id) WHERE status = 'failed'`);
    const old = await runDoctor(db.pool);
    expect(old.procrastinate.features).toContain('failed_index');
    expect(old.procrastinate.features).not.toContain('rare_index');
    expect(old.indexes.recommended[0]).toMatchObject({ present: false });
    expect(old.warnings.map((w) => w.code)).not.toContain('index_superseded');

    await db.worker.query(old.indexes.recommended[0]!.create!);
    const both = await runDoctor(db.pool);
    expect(both.indexes.recommended[0]).toMatchObject({ present: true, name: 'jobq_failed_cancelled_aborted_idx' });
    const superseded = both.warnings.find((w) => w.code === 'index_superseded');
    expect(superseded?.message).toContain('jobq_failed_jobs_idx');
    expect(superseded?.hint).toContain('DROP INDEX CONCURRENTLY jobq_failed_jobs_idx');
    expect(both.ok).toBe(true);
  });

  it('reports a missing Procrastinate index as a problem', async () => {
    db = await createTestDb(shape);
    const name = RELIED_ON_NAMES[shape][0]!;
    await db.worker.query(`DROP INDEX ${name}`);
    const report = await runDoctor(db.pool);
    const queueNames = report.indexes.reliedOn.find((i) => i.purpose.startsWith('queue names'))!;
    expect(queueNames).toMatchObject({ present: false, name: null });
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatch(/queue names.*missing/);
    expect(report.ok).toBe(false);
  });

  describe('with a restricted role', () => {
    let role: string | undefined;
    let rolePool: Db | undefined;
    afterEach(async () => {
      await rolePool?.end();
      rolePool = undefined;
      if (role) {
        await db?.worker.query(`DROP OWNED BY ${role}`);
        await db?.drop();
        db = undefined;
        const admin = new pg.Client({ connectionString: adminUrl() });
        await admin.connect();
        try {
          await admin.query(`DROP ROLE IF EXISTS ${role}`);
        } finally {
          await admin.end();
        }
        role = undefined;
      }
    });

    const connectAs = async (grants: string | null) => {
      db = await createTestDb(shape);
      role = `jobq_ro_${randomBytes(4).toString('hex')}`;
      await db.worker.query(`CREATE ROLE ${role} LOGIN`);
      if (grants) await db.worker.query(`GRANT SELECT ON ${grants} TO ${role}`);
      const url = new URL(db.url);
      url.username = role;
      url.password = '';
      rolePool = dbFromUrl({ url: url.toString(), statementTimeoutMs: 10_000, lockTimeoutMs: 1_000, max: 2 });
      return { role, pool: rolePool };
    };

    it('shows a SELECT-only role cannot update or delete jobs', async () => {
      const tables = shape === 'v3' ? 'procrastinate_jobs, procrastinate_events, procrastinate_workers' : 'procrastinate_jobs, procrastinate_events';
      const { role, pool } = await connectAs(tables);
      const report = await runDoctor(pool);
      expect(report.procrastinate.found).toBe(true);
      expect(report.privileges).toMatchObject({ role, read: true, updateJobs: false, deleteJobs: false, createSchema: false });
      expect(report.problems.some((p) => p.startsWith(`Role ${role} cannot retry: it lacks UPDATE on table public.procrastinate_jobs`))).toBe(true);
      expect(report.capabilities.find((c) => c.name === 'purge')!.missing.map((m) => `${m.privilege} ${m.object}`)).toContain('DELETE public.procrastinate_jobs');
      expect(report.ok).toBe(false);
    });

    it('shows a role that cannot read the tables, with the GRANT to run', async () => {
      const { role, pool } = await connectAs(null);
      const report = await runDoctor(pool);
      expect(report.privileges).toMatchObject({ role, read: false, updateJobs: false });
      expect(report.problems.some((p) => p.startsWith(`Role ${role} cannot read: it lacks SELECT on table public.procrastinate_jobs`))).toBe(true);
      expect(report.grants).toContain(`GRANT SELECT, INSERT ON TABLE public.procrastinate_events TO ${role};`);
      expect(doctorText(report)).toContain(`  GRANT SELECT, UPDATE, DELETE ON TABLE public.procrastinate_jobs TO ${role};`);
      expect(report.ok).toBe(false);
    });
  });

  describe('warnings', () => {
    const io = (out: string[]): CliIo => ({ out: (t) => out.push(t), err: (t) => out.push(t), env: { JOB_QUEUE_DATABASE_URL: db!.url }, interactive: false, ask: async () => '' });

    it('lists stalled jobs, no live worker and extra warnings without failing the report', async () => {
      db = await createTestDb(shape);
      const f = factories(db.worker, shape);
      const stalled = await f.job({ status: 'doing' });
      await f.age(stalled, 7_200);
      if (shape === 'v3') await f.worker(600);
      const extra = { code: 'alert_channel', message: 'jobq cannot post to #ops-alerts (not_in_channel).', hint: 'Invite the bot to #ops-alerts.' };
      const report = await runDoctor(db.pool, { settings: DEFAULT_SETTINGS, extraWarnings: [extra] });
      expect(report.warnings.map((w) => w.code)).toEqual(shape === 'v3' ? ['stalled_jobs', 'no_live_worker', 'alert_channel'] : ['stalled_jobs', 'alert_channel']);
      expect(report.warnings[0]!.message).toMatch(/^1 stalled job\(s\)/);
      if (shape === 'v3') expect(report.warnings[1]!.message).toMatch(/none of the 1 registered sent a heartbeat in the last 30s/);
      expect(report.ok).toBe(true);
      expect(report.problems).toEqual([]);

      const text = doctorText(report);
      expect(text).toContain('Warnings:');
      expect(text).toContain(extra.message);
      // Warnings are counted in the summary: "No problems found" would read as an all-clear.
      expect(text.split('\n').at(-1)).toBe(shape === 'v3' ? 'No problems, 3 warnings.' : 'No problems, 2 warnings.');
      expect(text).not.toContain('No problems found');
      const blocks = JSON.stringify(doctorBlocks(report, { runbookBase: 'https://example.com/runbook' }));
      expect(blocks).toContain('#ops-alerts (not_in_channel)');
      expect(blocks).toContain('✅ *retry*');

      // Warnings do not change the exit code.
      const out: string[] = [];
      expect(await main(['doctor'], io(out))).toBe(0);
      expect(out.join('\n')).toMatch(/stalled job/);
    });

    it('a live worker and no stalled job: no warnings', async () => {
      db = await createTestDb(shape);
      const f = factories(db.worker, shape);
      await f.job({ status: 'doing', ...(shape === 'v3' ? { workerId: await f.worker() } : {}) });
      const report = await runDoctor(db.pool);
      expect(report.warnings).toEqual([]);
    });

    it('exits 1 when a relied-on index is missing', async () => {
      db = await createTestDb(shape);
      await db.worker.query(`DROP INDEX ${RELIED_ON_NAMES[shape][0]}`);
      const out: string[] = [];
      expect(await main(['doctor'], io(out))).toBe(1);
      expect(out.join('\n')).toMatch(/queue names.*missing/);
    });
  });

  it('renders the grants in Slack blocks, with the schema alternative', async () => {
    db = await createTestDb(shape);
    const role = `jobq_ro_${randomBytes(4).toString('hex')}`;
    await db.worker.query(`CREATE ROLE ${role} LOGIN`);
    const url = new URL(db.url);
    url.username = role;
    const pool = dbFromUrl({ url: url.toString(), statementTimeoutMs: 10_000, lockTimeoutMs: 1_000, max: 1 });
    try {
      const report = await runDoctor(pool);
      const message = doctorBlocks(report, { runbookBase: 'https://example.com/runbook' });
      const json = JSON.stringify(message);
      expect(message.text).toMatch(/^jobq doctor: 7 problems\./);
      expect(json).toContain('❌ *retry*: missing');
      expect(json).toContain(`CREATE SCHEMA jobq AUTHORIZATION ${role};   -- or: GRANT CREATE ON DATABASE ${db.name} TO ${role};`);
      for (const statement of report.grants.filter((g) => !g.startsWith('CREATE SCHEMA'))) expect(json).toContain(statement);
    } finally {
      await pool.end();
      await db.worker.query(`DROP OWNED BY ${role}`);
      await db.drop();
      db = undefined;
      await dropRole(role);
    }
  });
});

async function dropRole(role: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
  } finally {
    await admin.end();
  }
}

describe('runDoctor on a database without Procrastinate', () => {
  let db: TestDb | undefined;
  afterEach(async () => {
    await db?.drop();
    db = undefined;
  });

  it('says Procrastinate was not found instead of failing', async () => {
    db = await createTestDb('empty');
    const report = await runDoctor(db.pool);
    expect(report.procrastinate.found).toBe(false);
    expect(report.procrastinate.generation).toBeNull();
    expect(report.procrastinate.features).toEqual([]);
    expect(report.procrastinate.error).toMatch(/not a Procrastinate database/);
    expect(report.problems).toEqual([report.procrastinate.error]);
    expect(report.privileges).toBeNull();
    expect(report.ok).toBe(false);
    expect(report.connection.latencyMs.max).toBeGreaterThan(0);
    let error: unknown;
    try {
      assertDoctorUsable(report);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(JobqError);
    expect((error as JobqError).code).toBe('not_procrastinate');
  });
});
