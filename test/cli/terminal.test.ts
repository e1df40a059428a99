import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { factories } from '../helpers/factories.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes start with ESC
const ANSI = /\u001b\[[0-9;]*m/g;
const LOCAL_TIME = /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d/;

interface Run {
  code: number;
  out: string;
}

/** This process's environment without database, jobq or colour variables, plus `extra`. */
function envWith(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(JOB_QUEUE_|DATABASE_URL|JOBQ_|NO_COLOR|FORCE_COLOR|COLUMNS|LINES|TZ$)/.test(k)));
  return { ...env, TERM: 'xterm-256color', ...extra };
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The real CLI on a pseudo-terminal, through util-linux `script`: stdout is a TTY, as for a person
 * at a terminal. `stty cols` sets the terminal's width, so no COLUMNS variable is needed.
 */
function onTerminal(args: string[], env: Record<string, string>, cols = 80): Promise<Run> {
  const command = `stty cols ${cols} rows 50; exec node bin/jobq.mjs ${args.map(quote).join(' ')}`;
  return new Promise((resolve, reject) => {
    execFile('script', ['-qefc', command, '/dev/null'], { cwd: ROOT, env: envWith(env), timeout: 30_000, encoding: 'utf8' }, (error, stdout) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: error ? Number(error.code) : 0, out: stdout.replace(/\r/g, '') });
    });
  });
}

/** The same CLI with stdout piped (a script, a file). */
function piped(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile('node', ['bin/jobq.mjs', ...args], { cwd: ROOT, env: envWith(env), timeout: 30_000, encoding: 'utf8' }, (error, stdout) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: error ? Number(error.code) : 0, out: stdout });
    });
  });
}

const widest = (text: string) => Math.max(...text.split('\n').map((line) => [...line.replace(ANSI, '')].length));

describe('the CLI at a terminal', () => {
  let db: TestDb;
  let env: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDb('v3');
    env = { JOB_QUEUE_DATABASE_URL: db.url };
    const f = factories(db.worker, 'v3');
    // Long names, so the natural table is far wider than 80 columns.
    await f.jobs(3, {
      queue: 'emails-transactional-eu-west',
      task: 'app.notifications.send_transactional_email',
      status: 'failed',
      args: { to: 'someone@example.com', template: 'x'.repeat(80) },
    });
    await f.jobs(2, { queue: 'reports-nightly', task: 'app.reports.render_monthly_pdf', status: 'succeeded' });
    await f.jobs(4, { queue: 'reports-nightly', task: 'app.reports.render_monthly_pdf' });
    await f.worker(300);
  });
  afterAll(async () => db?.drop());

  it('fits stats and failed into 80 columns, in colour, with relative times', async () => {
    const [stats, failed] = await Promise.all([onTerminal(['stats'], env), onTerminal(['failed'], env)]);
    expect(stats.code).toBe(0);
    expect(stats.out).toMatch(ANSI);
    expect(widest(stats.out)).toBeLessThanOrEqual(80);
    expect(stats.out).toContain('emails-transactional-eu-west');
    expect(stats.out).toMatch(/left out to fit 80 columns/);
    // Failures in the last hour are red; the dead worker is said in bold red.
    const lineOf = (text: string) => stats.out.split('\n').find((l) => l.includes(text)) ?? '';
    expect(lineOf('emails-transactional-eu-west')).toContain('\u001b[31memails-transactional-eu-west');
    expect(lineOf('Workers: 0 live of 1 registered')).toContain('\u001b[1m');
    expect(failed.code).toBe(0);
    expect(widest(failed.out)).toBeLessThanOrEqual(80);
    expect(failed.out.replace(ANSI, '')).toMatch(/just now|\d+ s ago/);
    expect(failed.out.replace(ANSI, '')).not.toMatch(LOCAL_TIME);
    expect(failed.out.replace(ANSI, '')).toMatch(/Shown: 3 of 3 failed jobs\./);
  });

  it('draws no colour with NO_COLOR or --no-color, and still fits', async () => {
    const [noColor, flag] = await Promise.all([onTerminal(['stats'], { ...env, NO_COLOR: '1' }), onTerminal(['failed', '--no-color'], env)]);
    for (const run of [noColor, flag]) {
      expect(run.code).toBe(0);
      expect(run.out).not.toMatch(ANSI);
      expect(widest(run.out)).toBeLessThanOrEqual(80);
    }
    expect(noColor.out).toContain('QUEUE');
  });

  it('uses the width of a wider terminal, showing every column', async () => {
    const wide = await onTerminal(['stats'], env, 200);
    expect(wide.out).toContain('CANCELLED');
    expect(wide.out).not.toMatch(/left out/);
  });

  it('piped: no colour, every column, local time with its offset (TZ honoured)', async () => {
    const [stats, failed] = await Promise.all([piped(['stats'], env), piped(['failed'], { ...env, TZ: 'Asia/Kolkata' })]);
    expect(stats.out).not.toMatch(ANSI);
    expect(stats.out).toContain('CANCELLED');
    expect(failed.out).toMatch(LOCAL_TIME);
    expect(failed.out).toMatch(/ \+05:30/);
    expect(failed.out).not.toMatch(/ ago/);
  });

  it('FORCE_COLOR colours piped output; COLUMNS fits it', async () => {
    const run = await piped(['stats'], { ...env, FORCE_COLOR: '1', COLUMNS: '60' });
    expect(run.out).toMatch(ANSI);
    expect(widest(run.out)).toBeLessThanOrEqual(60);
  });

  it('keeps --json free of colour and in ISO 8601 UTC, even on a terminal', async () => {
    const run = await onTerminal(['failed', '--json'], { ...env, FORCE_COLOR: '1' });
    expect(run.out).not.toMatch(ANSI);
    const out = JSON.parse(run.out) as { jobs: { failedAt: string }[]; total: { count: number; estimated: boolean } };
    expect(out.jobs[0]!.failedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(out.total).toEqual({ count: 3, estimated: false });
  });

  it('prints per-command help with every option described and an example', async () => {
    const run = await onTerminal(['purge', '--help'], {});
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/--older-than AGE\s+How long ago a job finished/);
    expect(run.out).toMatch(/--include-failed\s+Delete failed jobs too/);
    expect(run.out).toMatch(/--no-color\s+No colour/);
    expect(run.out).toMatch(/Examples:\n {2}jobq purge --older-than 30d/);
  });
});
