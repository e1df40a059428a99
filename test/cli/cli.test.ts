import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { factories } from '../helpers/factories.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STACK_LINE = /^\s{4}at /m;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of this process without any database or jobq variable, plus `extra`. */
function envWith(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'JOB_QUEUE_DATABASE_URL' || key === 'DATABASE_URL' || key.startsWith('JOBQ_') || key === 'LOG_LEVEL') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** Runs the real CLI (`node bin/jobq.mjs ...`) as a subprocess. */
function jobq(args: string[], extraEnv: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile('node', ['bin/jobq.mjs', ...args], { cwd: ROOT, env: envWith(extraEnv), timeout: 20_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(new Error(`jobq ${args.join(' ')} did not exit normally (${error.signal ?? error.code}): ${stderr}`));
        return;
      }
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

const json = (run: Run): unknown => {
  try {
    return JSON.parse(run.stdout);
  } catch {
    throw new Error(`not JSON (exit ${run.code}): ${run.stdout}\n${run.stderr}`);
  }
};

describe('jobq CLI', () => {
  let db: TestDb;
  let empty: TestDb;
  let env: Record<string, string>;
  const ids = { failed: [] as number[], todo: 0, succeeded: 0 };

  beforeAll(async () => {
    [db, empty] = await Promise.all([createTestDb('v3'), createTestDb('empty')]);
    env = { JOB_QUEUE_DATABASE_URL: db.url };
    const f = factories(db.worker, 'v3');
    ids.failed.push(await f.job({ queue: 'emails', task: 'app.send', status: 'failed', args: { to: 'a@example.com' } }));
    ids.succeeded = await f.job({ queue: 'emails', task: 'app.send', status: 'succeeded' });
    ids.failed.push(await f.job({ queue: 'reports', task: 'app.render', status: 'failed' }));
    ids.todo = await f.job({ queue: 'emails', task: 'app.send', scheduledAt: new Date(Date.now() + 3_600_000) });
    ids.failed.push(await f.job({ queue: 'emails', task: 'app.send', status: 'failed' }));
    await f.job({ queue: 'emails', status: 'doing' });
  });
  afterAll(async () => {
    await Promise.all([db?.drop(), empty?.drop()]);
  });

  describe('JSON output', () => {
    it('stats --json gives counts per queue', async () => {
      const run = await jobq(['stats', '--json'], env);
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      const out = json(run) as { queues: Record<string, unknown>[]; countMethod: unknown; workers: unknown };
      expect(out.queues.map((q) => q.name)).toEqual(['emails', 'reports']);
      for (const q of out.queues) {
        expect(Object.keys(q)).toEqual(expect.arrayContaining(['name', 'counts', 'estimated', 'oldestTodoAgeSeconds']));
        expect(Object.keys(q.counts as object).sort()).toEqual(['aborted', 'cancelled', 'doing', 'failed', 'succeeded', 'todo']);
        expect(q.estimated).toEqual([]);
      }
      expect(out.queues[0]!.counts).toEqual({ todo: 1, doing: 1, succeeded: 1, failed: 2, cancelled: 0, aborted: 0 });
      expect(out.queues[1]!.counts).toEqual({ todo: 0, doing: 0, succeeded: 0, failed: 1, cancelled: 0, aborted: 0 });
      // The only todo job is scheduled in an hour: nothing is waiting yet.
      expect(out.queues[0]!.oldestTodoAgeSeconds).toBeNull();
      expect(out.countMethod).toEqual({ kind: 'exact' });
      expect(out.workers).toEqual({ live: 0, total: 0 });
    });

    it('failed --json lists failed jobs newest first with a cursor', async () => {
      const [all, one] = await Promise.all([jobq(['failed', '--json'], env), jobq(['failed', '--limit', '1', '--queue', 'emails', '--json'], env)]);
      expect(all.code).toBe(0);
      const out = json(all) as { jobs: Record<string, unknown>[]; nextCursor: number | null };
      expect(out.jobs.map((j) => j.id)).toEqual([...ids.failed].reverse());
      for (const j of out.jobs) {
        expect(Object.keys(j)).toEqual(expect.arrayContaining(['id', 'queue', 'task', 'attempts', 'failedAt']));
        expect(Number.isNaN(Date.parse(j.failedAt as string))).toBe(false);
      }
      expect(out.jobs.at(-1)).toMatchObject({ id: ids.failed[0], queue: 'emails', task: 'app.send', attempts: 1 });
      expect(out.nextCursor).toBeNull();
      expect(one.code).toBe(0);
      const page = json(one) as { jobs: { id: number }[]; nextCursor: number | null };
      expect(page.jobs.map((j) => j.id)).toEqual([ids.failed[2]]);
      expect(page.nextCursor).toBe(ids.failed[2]);
    });

    it('job ID --json gives the job and its events', async () => {
      const run = await jobq(['job', String(ids.failed[0]), '--json'], env);
      expect(run.code).toBe(0);
      const out = json(run) as { job: Record<string, unknown>; events: { type: string; at: string }[]; actions: string[] };
      expect(out.job).toMatchObject({ id: ids.failed[0], queue: 'emails', task: 'app.send', status: 'failed', attempts: 1, args: { to: 'a@example.com' } });
      expect(out.events.map((e) => e.type)).toEqual(['deferred', 'started', 'failed']);
      expect(out.events.every((e) => !Number.isNaN(Date.parse(e.at)))).toBe(true);
      expect(out.actions).toEqual(['retry']);
    });

    it('doctor --json has the features array', async () => {
      const run = await jobq(['doctor', '--json'], env);
      expect(run.code).toBe(0);
      const out = json(run) as { features: string[]; procrastinate: { found: boolean } };
      expect(Array.isArray(out.features)).toBe(true);
      expect(out.features).toEqual(expect.arrayContaining(['v1_functions', 'workers', 'retry_failed']));
      expect(out.procrastinate.found).toBe(true);
    });

    it('usage errors in JSON mode are JSON on stdout, exit 2', async () => {
      const run = await jobq(['failed', '--limit', '0', '--json'], env);
      expect(run.code).toBe(2);
      expect((json(run) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'usage', message: expect.stringMatching(/--limit/) });
    });
  });

  describe('text output', () => {
    it('prints tables and a job', async () => {
      const [stats, failed, job] = await Promise.all([jobq(['stats'], env), jobq(['failed'], env), jobq(['job', String(ids.todo)], env)]);
      expect(stats.code).toBe(0);
      expect(stats.stdout).toMatch(/QUEUE/);
      expect(stats.stdout).toMatch(/emails/);
      expect(failed.code).toBe(0);
      const rowIds = failed.stdout
        .split('\n')
        .map((line) => /^\s*(\d+)\s/.exec(line)?.[1])
        .filter(Boolean)
        .map(Number);
      expect(rowIds).toEqual([...ids.failed].reverse());
      expect(job.code).toBe(0);
      expect(job.stdout).toMatch(new RegExp(`^Job ${ids.todo}: todo`));
      expect(job.stdout).toContain(`jobq run-now ${ids.todo}`);
    });

    it('--help and help COMMAND exit 0 without a database', async () => {
      const [help, helpFailed, flagHelp] = await Promise.all([jobq(['--help'], {}), jobq(['help', 'failed'], {}), jobq(['failed', '--help'], {})]);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/Usage: jobq COMMAND/);
      expect(help.stdout).toMatch(/failed/);
      expect(helpFailed.code).toBe(0);
      expect(helpFailed.stdout).toMatch(/^jobq failed .*--limit N/);
      expect(flagHelp.code).toBe(0);
      expect(flagHelp.stdout).toBe(helpFailed.stdout);
    });
  });

  describe('exit codes and error messages', () => {
    it('exits 2 on usage errors, with a message and no stack trace', async () => {
      const cases: [string[], RegExp][] = [
        [['job', 'abc'], /"abc" is not a job id/],
        [['frobnicate'], /Unknown command "frobnicate"/],
        [['stats', '--bogus'], /bogus/],
        [['failed', '--limit', '0'], /--limit/],
        [['failed', '--limit', '101'], /--limit/],
        [['job'], /Which job/],
        [['stats', '--by', 'color'], /--by/],
      ];
      const runs = await Promise.all(cases.map(([args]) => jobq(args, env)));
      runs.forEach((run, i) => {
        const [args, message] = cases[i]!;
        expect(run.code, args.join(' ')).toBe(2);
        expect(run.stderr, args.join(' ')).toMatch(message);
        expect(run.stderr).toMatch(/^jobq: /);
        expect(run.stderr).not.toMatch(STACK_LINE);
        expect(run.stdout).toBe('');
      });
    });

    it('exits 1 when the server is unreachable, without leaking the password', async () => {
      const url = 'postgres://postgres:hunter2@127.0.0.1:1/x';
      const runs = await Promise.all([
        jobq(['stats'], { JOB_QUEUE_DATABASE_URL: url }),
        jobq(['failed', '--json'], { JOB_QUEUE_DATABASE_URL: url }),
        jobq(['doctor'], { JOB_QUEUE_DATABASE_URL: url }),
        jobq(['stats'], { DATABASE_URL: url }),
      ]);
      for (const run of runs) {
        expect(run.code).toBe(1);
        expect(run.stdout + run.stderr).toMatch(/Cannot reach the database/);
        expect(run.stdout + run.stderr).not.toContain('hunter2');
        expect(run.stderr).not.toMatch(STACK_LINE);
      }
      expect((json(runs[1]!) as { error: { code: string } }).error.code).toBe('db_unreachable');
    });

    it('exits 1 on a database that is not Procrastinate', async () => {
      const [stats, doctor] = await Promise.all([jobq(['stats'], { JOB_QUEUE_DATABASE_URL: empty.url }), jobq(['doctor'], { JOB_QUEUE_DATABASE_URL: empty.url })]);
      expect(stats.code).toBe(1);
      expect(stats.stderr).toMatch(/not a Procrastinate database/);
      expect(stats.stderr).not.toMatch(STACK_LINE);
      expect(doctor.code).toBe(1);
      expect(doctor.stdout).toMatch(/NOT FOUND/);
      expect(doctor.stderr).not.toMatch(STACK_LINE);
    });

    it('exits 1 on a job that does not exist', async () => {
      const run = await jobq(['job', '99999999'], env);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/no job 99999999/);
      expect(run.stderr).not.toMatch(STACK_LINE);
    });
  });

  describe('configuration', () => {
    it('names JOB_QUEUE_DATABASE_URL when no database is configured', async () => {
      const run = await jobq(['stats'], {});
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/JOB_QUEUE_DATABASE_URL/);
      expect(run.stderr).not.toMatch(STACK_LINE);
    });

    it('falls back to DATABASE_URL, and prefers JOB_QUEUE_DATABASE_URL when both are set', async () => {
      const [fallback, both] = await Promise.all([
        jobq(['stats', '--json'], { DATABASE_URL: db.url }),
        jobq(['stats', '--json'], { JOB_QUEUE_DATABASE_URL: db.url, DATABASE_URL: 'postgres://postgres:hunter2@127.0.0.1:1/x' }),
      ]);
      expect(fallback.code).toBe(0);
      expect((json(fallback) as { queues: { name: string }[] }).queues.map((q) => q.name)).toEqual(['emails', 'reports']);
      expect(both.code).toBe(0);
      expect((json(both) as { queues: { name: string }[] }).queues.map((q) => q.name)).toEqual(['emails', 'reports']);
    });

    it('names the variable holding a malformed URL without echoing its value', async () => {
      const runs = await Promise.all([
        jobq(['stats'], { JOB_QUEUE_DATABASE_URL: 'not a url' }),
        jobq(['stats'], { DATABASE_URL: 'not a url' }),
        jobq(['stats'], { JOB_QUEUE_DATABASE_URL: 'mysql://root:hunter2@db.example.com/app' }),
        jobq(['stats', '--json'], { JOB_QUEUE_DATABASE_URL: 'postgres://root:hunter2@bad host/app' }),
      ]);
      const names = ['JOB_QUEUE_DATABASE_URL', 'DATABASE_URL', 'JOB_QUEUE_DATABASE_URL', 'JOB_QUEUE_DATABASE_URL'];
      runs.forEach((run, i) => {
        const output = run.stdout + run.stderr;
        expect(run.code).toBe(1);
        expect(output).toMatch(new RegExp(`\\b${names[i]}\\b`));
        expect(output).not.toContain('not a url');
        expect(output).not.toContain('hunter2');
        expect(output).not.toContain('db.example.com');
        expect(output).not.toContain('bad host');
        expect(run.stderr).not.toMatch(STACK_LINE);
      });
    });
  });
});
