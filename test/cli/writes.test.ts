import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main, type CliIo } from '../../src/cli.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { factories, type Factories } from '../helpers/factories.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function jobq(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(JOB_QUEUE_|DATABASE_URL|JOBQ_)/.test(k)));
  return new Promise((resolve) => {
    execFile('node', ['bin/jobq.mjs', ...args], { cwd: ROOT, env: { ...base, ...env }, timeout: 30_000, encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

/** The CLI's changes: previews, confirmation, --yes/--dry-run, JSON, audit, emergency stop. */
describe('jobq CLI changes', () => {
  let db: TestDb;
  let f: Factories;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await createTestDb('v3');
    f = factories(db.worker, 'v3');
    env = { JOB_QUEUE_DATABASE_URL: db.url, JOBQ_BATCH_PAUSE_MS: '0' };
  });
  afterAll(async () => db?.drop());
  beforeEach(async () => {
    await db.worker.query('DELETE FROM procrastinate_jobs');
  });

  it('retries one job and prints JSON with --json', async () => {
    const id = await f.job({ status: 'failed', task: 'app.send' });
    const run = await jobq(['retry', String(id), '--json'], env);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ jobId: id, status: 'todo', previousStatus: 'failed', method: 'retry_job_v2' });
    expect(await f.status(id)).toBe('todo');
  });

  it('refuses to retry a job that is not failed, with exit 1 and the reason', async () => {
    const id = await f.job({ status: 'succeeded' });
    const run = await jobq(['retry', String(id)], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/`succeeded`/);
    expect(run.stderr).toContain('#retrying-jobs-safely');
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it('previews retry-all and changes nothing with --dry-run', async () => {
    const ids = await f.jobs(3, { queue: 'emails', status: 'failed' });
    const run = await jobq(['retry-all', '--queue', 'emails', '--dry-run'], env);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('3 failed jobs would go back to todo');
    expect(run.stdout).toContain('Dry run: nothing changed.');
    for (const id of ids) expect(await f.status(id)).toBe('failed');
  });

  it('will not change anything from a script without --yes (exit 2)', async () => {
    const [id] = await f.jobs(2, { queue: 'emails', status: 'failed' });
    const run = await jobq(['retry-all', '--queue', 'emails'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('add --yes');
    expect(await f.status(id!)).toBe('failed');
  });

  it('runs retry-all with --yes and reports the result as JSON', async () => {
    const emails = await f.jobs(4, { queue: 'emails', status: 'failed' });
    const other = await f.job({ queue: 'reports', status: 'failed' });
    const run = await jobq(['retry-all', '--queue', 'emails', '--yes', '--json'], env);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { preview: { total: number }; result: { retried: number; stopped: boolean } };
    expect(out.preview.total).toBe(4);
    expect(out.result).toMatchObject({ retried: 4, stopped: false });
    for (const id of emails) expect(await f.status(id)).toBe('todo');
    expect(await f.status(other)).toBe('failed');
  });

  it('asks on a terminal and goes ahead only on yes', async () => {
    const ids = await f.jobs(2, { queue: 'emails', status: 'failed' });
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
    expect(await main(['retry-all', '--queue', 'emails'], io('n'))).toBe(0);
    expect(output.join('\n')).toContain('Retry 2 jobs? [y/N]');
    expect(await f.status(ids[0]!)).toBe('failed');
    expect(await main(['retry-all', '--queue', 'emails'], io('yes'))).toBe(0);
    expect(await f.status(ids[0]!)).toBe('todo');
  });

  it('purges old finished jobs after the preview, never todo', async () => {
    const old = await f.job({ status: 'succeeded' });
    const oldTodo = await f.job({});
    const recent = await f.job({ status: 'succeeded' });
    await f.age(old, 40 * 86400);
    await f.age(oldTodo, 40 * 86400);
    const run = await jobq(['purge', '--older-than', '30', '--yes'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Deleted 1 job \(1 succeeded\)/);
    expect(await f.status(old)).toBeUndefined();
    expect(await f.status(oldTodo)).toBe('todo');
    expect(await f.status(recent)).toBe('succeeded');
  });

  it('refuses every change when JOB_QUEUE_ENABLED=false, audits it, and keeps reads working', async () => {
    const id = await f.job({ status: 'failed' });
    const run = await jobq(['retry', String(id)], { ...env, JOB_QUEUE_ENABLED: 'false' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('JOB_QUEUE_ENABLED=false');
    expect(run.stderr).toContain('#emergency-stop');
    expect(await f.status(id)).toBe('failed');
    expect((await jobq(['failed'], { ...env, JOB_QUEUE_ENABLED: 'false' })).code).toBe(0);
    const audit = await jobq(['audit', '--json'], env);
    const entries = (JSON.parse(audit.stdout) as { entries: { action: string; outcome: string; actor: { kind: string } }[] }).entries;
    expect(entries[0]).toMatchObject({ action: 'retry', outcome: 'refused', actor: { kind: 'cli' } });
  });

  it('mutes, lists and unmutes from the terminal, audited', async () => {
    const muted = await jobq(['mute', 'emails', '2h', 'deploying', 'the', 'fix', '--json'], env);
    expect(muted.code).toBe(0);
    expect(JSON.parse(muted.stdout)).toMatchObject({ target: 'emails', reason: 'deploying the fix' });
    const listed = JSON.parse((await jobq(['mutes', '--json'], env)).stdout) as { mutes: { target: string }[] };
    expect(listed.mutes.map((m) => m.target)).toEqual(['emails']);
    const ended = await jobq(['unmute', 'emails'], env);
    expect(ended.code).toBe(0);
    expect(ended.stdout).toContain('Unmuted emails');
    expect(JSON.parse((await jobq(['mutes', '--json'], env)).stdout)).toEqual({ mutes: [] });
    expect((await jobq(['mute', 'emails'], env)).code).toBe(2);
    const audit = JSON.parse((await jobq(['audit', '--json'], env)).stdout) as { entries: { action: string; outcome: string }[] };
    expect(audit.entries.slice(0, 2).map((e) => e.action)).toEqual(['unmute', 'mute']);
  });
});
