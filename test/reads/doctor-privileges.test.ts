import { pausesForget, pausesNotes, pausesRecord } from '../../src/db/queries/jobq-pauses.js';
import { leaseAcquire, leaseRelease, leaseRenew } from '../../src/db/queries/jobq-leases.js';
import { seenRequestsPrune, seenRequestsRecord } from '../../src/db/queries/jobq-requests.js';
import * as finalCountQueries from '../../src/db/queries/jobq-final-counts.js';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { main, type CliIo } from '../../src/cli.js';
import { migrate } from '../../src/db/migrations.js';
import { dbFromUrl } from '../../src/db/connect.js';
import * as jobqQueries from '../../src/db/queries/jobq.js';
import * as alertQueries from '../../src/db/queries/jobq-alerts.js';
import * as confirmationQueries from '../../src/db/queries/jobq-confirmations.js';
import { AUDITED, CAPABILITIES, JOBQ_TABLE_NEEDS, type CapabilityName, type Need } from '../../src/queue/capabilities.js';
import type { DoctorReport } from '../../src/queue/doctor.js';
import { admin, createTestDb, type TestDb } from '../helpers/db.js';
import { factories, type Factories } from '../helpers/factories.js';
import { SHAPES, type SchemaShape } from '../helpers/fixtures.js';

/**
 * The round trip that proves `jobq doctor` tells the truth about privileges: a role gets exactly
 * the statements doctor prints, then does every thing jobq does, through the CLI, against real
 * rows. Each capability is also run alone with only its own grants, and with each of its
 * privileges taken away in turn (each one must be needed). "Hardened" databases have revoked
 * PUBLIC's default USAGE on the schema and EXECUTE on functions, so those show up too.
 */

interface Run {
  code: number;
  out: string;
  err: string;
}

async function jobq(url: string, argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    env: { JOB_QUEUE_DATABASE_URL: url, JOBQ_BATCH_PAUSE_MS: '0' },
    interactive: false,
    ask: async () => 'no',
  };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Runs a command that must succeed; its JSON output, or an error that says why it did not. */
async function ok<T = Record<string, unknown>>(url: string, argv: string[]): Promise<T> {
  const run = await jobq(url, [...argv, '--json']);
  if (run.code !== 0) throw new Error(`jobq ${argv.join(' ')} exited ${run.code}: ${run.out} ${run.err}`);
  return JSON.parse(run.out) as T;
}

interface Subject {
  db: TestDb;
  f: Factories;
  shape: SchemaShape;
  role: string;
  /** The role's connection string (the test server trusts local connections). */
  url: string;
  doctor(): Promise<{ code: number; report: DoctorReport }>;
  /** Runs statements as the admin (the fixture's owner). */
  asAdmin(statements: string[]): Promise<void>;
}

/** One fresh database and one role without any privilege per call; both dropped after the test. */
function useRoleDb(shape: SchemaShape) {
  const made: { db: TestDb; role: string }[] = [];
  afterEach(async () => {
    for (const { db, role } of made.splice(0)) {
      await db.worker.query(`DROP OWNED BY ${role}`);
      await db.drop();
      await admin((c) => c.query(`DROP ROLE IF EXISTS ${role}`));
    }
  });
  return async (options: { hardened?: boolean } = {}): Promise<Subject> => {
    const db = await createTestDb(shape);
    const role = `jobq_cap_${randomBytes(5).toString('hex')}`;
    await db.worker.query(`CREATE ROLE ${role} LOGIN`);
    made.push({ db, role });
    if (options.hardened) {
      await db.worker.query('REVOKE USAGE ON SCHEMA public FROM PUBLIC; REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC');
    }
    const url = new URL(db.url);
    url.username = role;
    url.password = '';
    const subject: Subject = {
      db,
      f: factories(db.worker, shape),
      shape,
      role,
      url: url.toString(),
      async doctor() {
        const run = await jobq(subject.url, ['doctor', '--json']);
        return { code: run.code, report: JSON.parse(run.out) as DoctorReport };
      },
      async asAdmin(statements) {
        for (const statement of statements) await db.worker.query(statement);
      },
    };
    return subject;
  };
}

const capability = (report: DoctorReport, name: CapabilityName) => report.capabilities.find((c) => c.name === name)!;
const unique = (prefix: string) => `${prefix}_${randomBytes(3).toString('hex')}`;

/** A running job that counts as stalled on every shape: it started two hours ago (and holds no worker). */
async function stalledJob(f: Factories, queue: string): Promise<number> {
  const id = await f.job({ status: 'doing', queue });
  await f.age(id, 7_200);
  return id;
}

/** What each capability does, as the role, through the CLI; throws on the first thing that fails. */
const EXERCISES: Record<CapabilityName, (s: Subject) => Promise<void>> = {
  async read({ f, url, shape }) {
    const queue = unique('read');
    const failed = await f.job({ status: 'failed', queue });
    const stalled = await stalledJob(f, queue);
    const stats = await ok<{ queues: { name: string }[] }>(url, ['stats']);
    expect(stats.queues.map((q) => q.name)).toContain(queue);
    const page = await ok<{ jobs: { id: number }[] }>(url, ['failed', '--queue', queue]);
    expect(page.jobs.map((j) => j.id)).toEqual([failed]);
    expect(await ok(url, ['job', String(failed)])).toMatchObject({ job: { id: failed, status: 'failed' } });
    const stalledList = await ok<{ jobs: { id: number }[] }>(url, ['stalled']);
    expect(stalledList.jobs.map((j) => j.id)).toContain(stalled);
    if (shape === 'v3') await ok(url, ['workers']);
  },

  async retry({ f, url }) {
    const queue = unique('retry');
    const failed = await f.job({ status: 'failed', queue });
    expect(await ok(url, ['retry', String(failed)])).toMatchObject({ jobId: failed, previousStatus: 'failed', status: 'todo' });
    expect(await f.status(failed)).toBe('todo');
    const stalled = await stalledJob(f, queue);
    expect(await ok(url, ['retry', String(stalled)])).toMatchObject({ jobId: stalled, previousStatus: 'doing', status: 'todo' });
    expect(await f.status(stalled)).toBe('todo');
  },

  async 'retry-all'({ f, url }) {
    const queue = unique('bulk');
    const ids = await f.jobs(2, { status: 'failed', queue });
    const out = await ok<{ result: { retried: number } }>(url, ['retry-all', '--queue', queue, '--yes']);
    expect(out.result.retried).toBe(2);
    for (const id of ids) expect(await f.status(id)).toBe('todo');
  },

  async cancel({ f, url, shape }) {
    const queue = unique('cancel');
    const waiting = await f.job({ queue });
    expect(await ok(url, ['cancel', String(waiting)])).toMatchObject({ jobId: waiting, outcome: 'cancelled' });
    expect(await f.status(waiting)).toBe('cancelled');
    const running = await f.job({ status: 'doing', queue });
    expect(await ok(url, ['cancel', String(running)])).toMatchObject({ jobId: running, outcome: 'abort_requested' });
    expect(await f.events(running)).toContain('abort_requested');
    expect(await f.status(running)).toBe(shape === 'v3' ? 'doing' : 'aborting');
  },

  async 'run-now'({ f, url, db }) {
    const id = await f.job({ queue: unique('later'), scheduledAt: new Date(Date.now() + 3_600_000) });
    expect(await ok(url, ['run-now', String(id)])).toMatchObject({ jobId: id });
    const due = await db.worker.query<{ due: boolean }>('SELECT scheduled_at <= now() AS due FROM procrastinate_jobs WHERE id = $1', [id]);
    expect(due.rows[0]!.due).toBe(true);
    expect((await f.events(id)).filter((e) => e === 'scheduled')).toHaveLength(2);
  },

  async purge({ f, url, db }) {
    const queue = unique('old');
    const ids = await f.jobs(2, { status: 'succeeded', queue });
    for (const id of ids) await f.age(id, 3 * 86_400);
    // A periodic defer pointing at a purged job: Procrastinate's delete trigger unlinks it.
    const stamp = Number(`${Date.now()}${randomBytes(1)[0]}`);
    await db.worker.query(`INSERT INTO procrastinate_periodic_defers (task_name, defer_timestamp, job_id) VALUES ('app.tick', $1, $2)`, [stamp, ids[0]]);
    const out = await ok<{ result: { total: number } }>(url, ['purge', '--older-than', '1', '--queue', queue, '--yes']);
    expect(out.result.total).toBe(2);
    for (const id of ids) expect(await f.status(id)).toBeUndefined();
    const defer = await db.worker.query<{ job_id: string | null }>('SELECT job_id FROM procrastinate_periodic_defers WHERE defer_timestamp = $1', [stamp]);
    expect(defer.rows[0]!.job_id).toBeNull();
  },

  async 'jobq-state'({ url }) {
    const target = unique('emails');
    expect(await ok(url, ['mute', target, '1h', 'deploying'])).toMatchObject({ target });
    const mutes = await ok<{ mutes: { target: string }[] }>(url, ['mutes']);
    expect(mutes.mutes.map((m) => m.target)).toContain(target);
    const audit = await ok<{ entries: { action: string; outcome: string }[] }>(url, ['audit']);
    expect(audit.entries[0]).toMatchObject({ action: 'mute', outcome: 'ok' });
    await ok(url, ['unmute', target]);
  },
};

/** Must fail for want of a privilege (or, without USAGE on the schema, for want of the tables). */
async function expectRefused(exercise: Promise<void>, need: Need): Promise<void> {
  let error: unknown;
  try {
    await exercise;
  } catch (e) {
    error = e;
  }
  expect(error, `still works without ${need.privilege} on ${need.kind} ${need.object}`).toBeInstanceOf(Error);
  expect((error as Error).message).toMatch(/"code": "(db_permission|not_procrastinate)"/);
}

const revoke = (need: Need, role: string) => `REVOKE ${need.privilege} ON ${need.kind.toUpperCase()} ${need.object} FROM ${role}`;
const grant = (need: Need, role: string) => `GRANT ${need.privilege} ON ${need.kind.toUpperCase()} ${need.object} TO ${role}`;

describe.each(SHAPES)('jobq doctor and the privileges of a %s database', (shape: SchemaShape) => {
  const setup = useRoleDb(shape);

  describe.each([
    ['default', false],
    ['hardened', true],
  ])('a role with no privileges (%s database)', (_label, hardened) => {
    it('misses every capability (exit 1); exactly the printed statements make everything work (exit 0)', async () => {
      const s = await setup({ hardened });
      const before = await s.doctor();
      expect(before.code).toBe(1);
      expect(before.report.ok).toBe(false);
      expect(before.report.procrastinate).toMatchObject({ found: true, schema: 'public' });
      expect(before.report.capabilities.map((c) => c.name)).toEqual([...CAPABILITIES]);
      for (const c of before.report.capabilities) {
        expect(c.ok, c.name).toBe(false);
        expect(c.grants.length, c.name).toBeGreaterThan(0);
      }
      expect(before.report.grants.some((g) => g === `GRANT USAGE ON SCHEMA public TO ${s.role};`)).toBe(hardened);
      expect(before.report.grants.some((g) => g.startsWith('GRANT EXECUTE ON FUNCTION'))).toBe(hardened);
      expect(before.report.grants).toContain(`CREATE SCHEMA jobq AUTHORIZATION ${s.role};`);
      expect(capability(before.report, 'jobq-state').alternatives).toEqual([`GRANT CREATE ON DATABASE ${s.db.name} TO ${s.role};`]);

      await s.asAdmin(before.report.grants);
      const after = await s.doctor();
      expect(after.report.problems).toEqual([]);
      expect(after.report.capabilities.every((c) => c.ok && c.missing.length === 0 && c.grants.length === 0)).toBe(true);
      expect(after.report.grants).toEqual([]);
      expect(after.code).toBe(0);

      // Purge first: it finds old jobs by id (ids grow with time), and its aged jobs must not be
      // newer than the fresh jobs the other exercises make.
      for (const name of ['purge', ...CAPABILITIES.filter((c) => c !== 'purge')] as CapabilityName[]) await EXERCISES[name](s);
    });
  });

  describe.each(CAPABILITIES.filter((c) => c !== 'jobq-state'))('%s alone (hardened database)', (name) => {
    it('works with only its own grants, and needs every one of them', async () => {
      const s = await setup({ hardened: true });
      const before = (await s.doctor()).report;
      const own = capability(before, name);
      // Changes are audited: a write also needs jobq's own state, which is not under test here.
      await s.asAdmin([...own.grants, ...(AUDITED.includes(name) ? capability(before, 'jobq-state').grants : [])]);
      const after = await s.doctor();
      expect(capability(after.report, name)).toMatchObject({ ok: true, missing: [], grants: [] });
      expect(after.code).toBe(1); // the other capabilities still lack something (purge's DELETE, retry's INSERT)
      await EXERCISES[name](s);

      for (const need of own.missing) {
        await s.asAdmin([revoke(need, s.role)]);
        const without = await s.doctor();
        expect(capability(without.report, name).missing).toEqual([need]);
        await expectRefused(EXERCISES[name](s), need);
        await s.asAdmin([grant(need, s.role)]);
      }
      await EXERCISES[name](s);
    });
  });

  it('tells a SELECT-only role exactly what else each capability needs (issue 9)', async () => {
    const s = await setup();
    const tables = shape === 'v3' ? 'procrastinate_jobs, procrastinate_events, procrastinate_workers' : 'procrastinate_jobs, procrastinate_events';
    await s.asAdmin([`GRANT SELECT ON ${tables} TO ${s.role}`]);
    const { code, report } = await s.doctor();
    expect(code).toBe(1);
    const r = s.role;
    const jobsUpdate = `GRANT UPDATE ON TABLE public.procrastinate_jobs TO ${r};`;
    const eventsInsert = `GRANT INSERT ON TABLE public.procrastinate_events TO ${r};`;
    const sequence = `GRANT USAGE ON SEQUENCE public.procrastinate_events_id_seq TO ${r};`;
    expect(capability(report, 'read')).toMatchObject({ ok: true, grants: [] });
    for (const name of ['retry', 'cancel', 'run-now'] as const) expect(capability(report, name).grants, name).toEqual([eventsInsert, jobsUpdate, sequence]);
    // Before 3.4, a retried failed job writes no event, so no id is taken from the sequence.
    expect(capability(report, 'retry-all').grants).toEqual(shape === 'v3' ? [eventsInsert, jobsUpdate, sequence] : [eventsInsert, jobsUpdate]);
    expect(capability(report, 'purge').grants).toEqual([
      `GRANT UPDATE, DELETE ON TABLE public.procrastinate_jobs TO ${r};`,
      `GRANT SELECT, UPDATE ON TABLE public.procrastinate_periodic_defers TO ${r};`,
    ]);
    expect(capability(report, 'jobq-state').grants).toEqual([`CREATE SCHEMA jobq AUTHORIZATION ${r};`]);
    expect(report.grants).toEqual([
      `GRANT INSERT ON TABLE public.procrastinate_events TO ${r};`,
      `GRANT UPDATE, DELETE ON TABLE public.procrastinate_jobs TO ${r};`,
      `GRANT SELECT, UPDATE ON TABLE public.procrastinate_periodic_defers TO ${r};`,
      sequence,
      `CREATE SCHEMA jobq AUTHORIZATION ${r};`,
    ]);
    expect(report.privileges).toMatchObject({ role: r, read: true, updateJobs: false, deleteJobs: false, createSchema: false });

    // The sequence of failures, in one go: after the printed grants the retry works.
    await s.asAdmin(report.grants);
    expect((await s.doctor()).code).toBe(0);
    await EXERCISES.retry(s);
  });

  it("reads jobq's own tables made by another role, and lists the grants on each", async () => {
    const s = await setup();
    await migrate(s.db.pool); // as the admin: jobq's schema and tables belong to someone else
    const { report } = await s.doctor();
    const state = capability(report, 'jobq-state');
    expect(state.alternatives).toEqual([]);
    expect(state.grants[0]).toBe(`GRANT USAGE ON SCHEMA jobq TO ${s.role};`);
    expect(state.grants).not.toContainEqual(expect.stringContaining('CREATE'));
    expect(state.grants.slice(1).sort()).toEqual(
      Object.entries(JOBQ_TABLE_NEEDS)
        .map(([table, privileges]) => `GRANT ${privileges.join(', ')} ON TABLE jobq.${table} TO ${s.role};`)
        .sort(),
    );
    await s.asAdmin(state.grants);
    expect(capability((await s.doctor()).report, 'jobq-state').ok).toBe(true);
    await EXERCISES['jobq-state'](s);
    await everyJobqStatement(s.url);

    // Each table privilege is used by one of jobq's statements.
    for (const need of state.missing.filter((m) => m.kind === 'table')) {
      await s.asAdmin([revoke(need, s.role)]);
      await expect(everyJobqStatement(s.url), `${need.privilege} on ${need.object}`).rejects.toMatchObject({ code: '42501' });
      await s.asAdmin([grant(need, s.role)]);
    }
  });

  it("knows every table jobq's migrations make", async () => {
    const s = await setup();
    await migrate(s.db.pool);
    const tables = await s.db.worker.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = 'jobq' ORDER BY 1`);
    expect(tables.rows.map((r) => r.tablename)).toEqual(Object.keys(JOBQ_TABLE_NEEDS).sort());
  });
});

/**
 * One call of every statement jobq sends to its own tables (DDL aside), as the role, in one
 * transaction that is rolled back: the grants doctor prints for jobq's tables must cover them.
 */
async function everyJobqStatement(url: string): Promise<void> {
  const pool = dbFromUrl({ url: url, statementTimeoutMs: 10_000, lockTimeoutMs: 1_000, max: 1 });
  const q = jobqQueries;
  const a = alertQueries;
  const c = confirmationQueries;
  const rollback = new Error('rolled back on purpose');
  try {
    await pool.transaction(async (client) => {
      await client.query(q.jobqSchemaState());
      await client.query(q.jobqAppliedMigrations());
      await client.query(q.jobqRecordMigration(9_999, 'privilege check'));
      const audit = (
        await client.query<{ id: number }>(
          q.auditInsert({ actorKind: 'cli', actorId: 'doctor-test', actorName: null, action: 'retry_all', filters: {}, jobCount: 0, outcome: 'running', message: null }),
        )
      ).rows[0]!.id;
      await client.query(q.auditAddJobs(audit, 1));
      await client.query(q.auditFinish(audit, 'ok', 'done'));
      await client.query(q.auditPage(null, 5));
      await client.query(a.cursorInit('doctor-test', 0));
      await client.query(a.cursorGet('doctor-test'));
      const token = (await client.query<{ token: number }>(leaseAcquire('doctor-test', 'me', 60_000))).rows[0]!.token;
      const fence = { name: 'doctor-test', holder: 'me', token };
      await client.query(leaseRenew(fence, 60_000));
      await client.query(a.cursorBeginBatch('doctor-test', 0, 10, { groups: [] }, fence));
      await client.query(a.cursorFinishBatch('doctor-test', 0, 10));
      await client.query(a.cursorAdvance('doctor-test', 10, 20));
      const failure = { batchHi: 20, queue: 'q', task: 't', kind: 'post' as const, channel: 'C1', parentTs: '1.1', failures: 1, total: 1, firstFailedAt: new Date() };
      await client.query(a.failureAlertsInsert(failure));
      await client.query(a.failureAlertsOfBatch(20));
      await client.query(a.failureAlertsOpen('C1', [{ queue: 'q', task: 't' }], 3_600, 30));
      await client.query(a.failureAlertsPrune(30));
      await client.query(a.healthAlertsOpen('k', 'no_workers', 'C1', 'summary', fence));
      await client.query(a.healthAlertsAll());
      await client.query(a.healthAlertsPosted('k', '1.2', 'summary'));
      await client.query(a.healthAlertsClose('k'));
      await client.query(a.mutesInsert('q', 3_600, null, 'U1'));
      await client.query(a.mutesActive());
      await client.query(a.mutesCount([1], 1, 1));
      await client.query(a.mutesEnd('q', 'U1'));
      await client.query(a.mutesExpire());
      await client.query(a.mutesClaimNotes(5, fence));
      await client.query(a.mutesUnclaimNote(1));
      await client.query(a.summaryTicksClaim('daily', new Date(), 'C1', fence));
      await client.query(a.summaryTicksPrevious('daily', new Date()));
      await client.query(a.summaryTicksPosted('daily', new Date(), '1.3'));
      await client.query(a.summaryTicksPrune(30));
      await client.query(seenRequestsRecord('doctor-test-signature', Date.now() / 1000 + 300));
      await client.query(seenRequestsPrune());
      const fc = finalCountQueries;
      await client.query(fc.finalCountsLockLease(fence));
      await client.query(fc.finalCountsClear('public'));
      await client.query(fc.finalCountsInsert('public', [{ queue: 'q', task: 't', status: 'succeeded', count: 1 }]));
      await client.query(fc.finalCountsStateSet('public', 10, 1, 1));
      await client.query(fc.finalCountsState('public'));
      await client.query(fc.finalCountsByGroup('public', 'queue_name', ['succeeded']));
      await client.query(leaseRelease(fence));
      await client.query(pausesRecord(['q'], 'jobq', 'U1', 'why'));
      await client.query(pausesNotes(['q']));
      await client.query(pausesForget(['q'], 'jobq'));
      await client.query(c.confirmationsInsert({ id: 'x1', kind: 'purge', params: {}, requestedBy: 'U1', channelId: 'C1', ttlSeconds: 60 }));
      await client.query(c.confirmationsClaim('x1', 'U1'));
      await client.query(c.confirmationsFinish('x1', {}));
      await client.query(c.confirmationsCancel('x1', 'U1'));
      await client.query(c.confirmationsById('x1'));
      throw rollback;
    });
  } catch (error) {
    if (error !== rollback) throw error;
  } finally {
    await pool.end();
  }
}
