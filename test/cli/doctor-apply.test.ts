import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main, type CliIo } from '../../src/cli.js';
import { RARE_INDEX_NAME } from '../../src/db/queries/jobs-indexes.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { factories } from '../helpers/factories.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real CLI (`node bin/jobq.mjs ...`) as a subprocess, without this process's database or jobq variables. */
function jobq(args: string[], env: Record<string, string>): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(JOB_QUEUE_|DATABASE_URL|JOBQ_|LOG_LEVEL)/.test(k)));
  return new Promise((resolve, reject) => {
    execFile('node', ['bin/jobq.mjs', ...args], { cwd: ROOT, env: { ...base, ...env }, timeout: 60_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(new Error(`jobq ${args.join(' ')} did not exit normally: ${stderr}`));
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

interface AuditEntry {
  action: string;
  outcome: string;
  message: string | null;
  filters: Record<string, unknown>;
  actor: { kind: string };
}

/** `jobq doctor --apply`: the recommended index built with CREATE INDEX CONCURRENTLY, confirmed, audited, idempotent. */
describe('jobq doctor --apply', () => {
  let db: TestDb;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await createTestDb('v3');
    const f = factories(db.worker, 'v3');
    await f.jobs(3, { queue: 'emails', status: 'failed' });
    await f.job({ queue: 'emails', status: 'cancelled' });
    await f.job({ queue: 'reports', status: 'succeeded' });
    env = { JOB_QUEUE_DATABASE_URL: db.url };
  });
  afterAll(async () => db?.drop());
  beforeEach(async () => {
    await db.worker.query(`DROP INDEX IF EXISTS ${RARE_INDEX_NAME}`);
    await db.worker.query('DROP SCHEMA IF EXISTS jobq CASCADE');
  });

  const index = async () =>
    (
      await db.worker.query<{ valid: boolean; definition: string }>(
        `SELECT x.indisvalid AS valid, pg_get_indexdef(x.indexrelid) AS definition FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE i.relname = $1`,
        [RARE_INDEX_NAME],
      )
    ).rows[0];
  const audit = async () => (JSON.parse((await jobq(['audit', '--json'], env)).stdout) as { entries: AuditEntry[] }).entries;

  it('shows what it will create and refuses without a terminal or --yes (exit 2), changing nothing', async () => {
    const run = await jobq(['doctor', '--apply'], env);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/Recommended {2}missing failed, cancelled and aborted jobs/);
    expect(run.stderr).toContain(
      `CREATE INDEX CONCURRENTLY ${RARE_INDEX_NAME} ON procrastinate_jobs (queue_name, status, id) INCLUDE (task_name) WHERE status IN ('failed', 'cancelled', 'aborted');`,
    );
    expect(run.stderr).toContain("Procrastinate's workers keep fetching, running and finishing jobs while it builds");
    expect(run.stderr).toContain('add --yes to create the indexes shown above. Nothing was changed.');
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(await index()).toBeUndefined();
  });

  it('creates the index with --yes, audits it, and a second run has nothing to do', async () => {
    const run = await jobq(['doctor', '--apply', '--yes'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`Created index ${RARE_INDEX_NAME} in \\d+\\.\\d s\\.`));
    expect(await index()).toMatchObject({ valid: true, definition: expect.stringContaining("WHERE (status = ANY (ARRAY['failed'::procrastinate_job_status") });
    const [entry] = await audit();
    expect(entry).toMatchObject({
      action: 'create_index',
      outcome: 'ok',
      actor: { kind: 'cli' },
      filters: { index: RARE_INDEX_NAME, table: 'procrastinate_jobs', schema: 'public' },
    });

    const doctor = await jobq(['doctor', '--json'], env);
    expect(JSON.parse(doctor.stdout).features).toEqual(expect.arrayContaining(['failed_index', 'rare_index']));

    const again = await jobq(['doctor', '--apply', '--yes'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Nothing to do: every recommended index exists and is valid.');
    expect(await audit()).toHaveLength(1);
  });

  it('asks on a terminal and creates only on yes', async () => {
    const output: string[] = [];
    const io = (answer: string): CliIo => ({
      out: (t) => output.push(t),
      err: (t) => output.push(t),
      env: { ...env },
      interactive: true,
      ask: async (q) => {
        output.push(q);
        return answer;
      },
    });
    expect(await main(['doctor', '--apply'], io('n'))).toBe(0);
    expect(output.join('\n')).toContain(`Create ${RARE_INDEX_NAME} now? [y/N]`);
    expect(output.join('\n')).toContain('Nothing changed.');
    expect(await index()).toBeUndefined();
    expect(await main(['doctor', '--apply'], io('y'))).toBe(0);
    expect(await index()).toMatchObject({ valid: true });
  });

  it('drops the INVALID index a failed build leaves, and says so', async () => {
    // An open writer: a concurrent build waits for it after adding its (still invalid) index.
    const blocker = await db.worker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`UPDATE procrastinate_jobs SET attempts = attempts WHERE id = (SELECT min(id) FROM procrastinate_jobs)`);
      const running = jobq(['doctor', '--apply', '--yes'], env);
      const deadline = Date.now() + 20_000;
      let pid: number | undefined;
      while (!pid) {
        if (Date.now() > deadline) throw new Error('the index build never waited for the open transaction');
        const row = await db.worker.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'CREATE INDEX CONCURRENTLY%' AND wait_event_type = 'Lock'`,
        );
        pid = row.rows[0]?.pid;
        if (!pid) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(await index()).toMatchObject({ valid: false });
      await db.worker.query('SELECT pg_cancel_backend($1)', [pid]);
      // The drop waits for the same writer, as a concurrent drop must.
      await blocker.query('ROLLBACK');
      const run = await running;
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`Could not create index ${RARE_INDEX_NAME}: `);
      expect(run.stdout).toContain('The INVALID index the build left was dropped: nothing changed');
      expect(await index()).toBeUndefined();
      const [dropped, failed] = await audit();
      expect(dropped).toMatchObject({ action: 'drop_index', outcome: 'ok', filters: { index: RARE_INDEX_NAME } });
      expect(failed).toMatchObject({ action: 'create_index', outcome: 'failed' });
      expect(failed!.message).toMatch(/cancel/i);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      blocker.release();
    }
  });

  it('drops an INVALID leftover of an earlier run before building again', async () => {
    await db.worker.query(`CREATE INDEX ${RARE_INDEX_NAME} ON procrastinate_jobs (queue_name, status, id) WHERE status IN ('failed', 'cancelled', 'aborted')`);
    // What an interrupted concurrent build leaves: the index in the catalog, marked invalid.
    await db.worker.query(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = $1::regclass`, [RARE_INDEX_NAME]);
    const run = await jobq(['doctor', '--apply', '--yes'], env);
    expect(run.stderr).toContain(`drop the INVALID index ${RARE_INDEX_NAME} left by an earlier build that failed`);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Dropped the INVALID index ${RARE_INDEX_NAME} left by an earlier build.`);
    expect(await index()).toMatchObject({ valid: true, definition: expect.stringContaining('INCLUDE (task_name)') });
    expect((await audit()).map((e) => [e.action, e.outcome])).toEqual([
      ['create_index', 'ok'],
      ['drop_index', 'ok'],
    ]);
  });

  it('is refused (and audited) while changes are switched off', async () => {
    const run = await jobq(['doctor', '--apply', '--yes'], { ...env, JOB_QUEUE_ENABLED: 'false' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('JOB_QUEUE_ENABLED=false');
    expect(await index()).toBeUndefined();
    expect((await audit())[0]).toMatchObject({ action: 'create_index', outcome: 'refused' });
  });

  it('points a Slack user to the CLI: the shared dispatch does not build indexes', async () => {
    const { parseCommand } = await import('../../src/commands/parse.js');
    expect(parseCommand(['doctor', '--apply'])).toEqual({ name: 'doctor', apply: true, yes: false });
    expect(() => parseCommand(['doctor', '--yes'])).toThrow(/--yes confirms --apply/);
    const { executeRead } = await import('../../src/commands/execute.js');
    const { queueContext } = await import('../helpers/db.js');
    await expect(executeRead(await queueContext(db), { name: 'doctor', apply: true, yes: true })).rejects.toThrow(/run `jobq doctor --apply` there/);
    expect(await index()).toBeUndefined();
  });
});
