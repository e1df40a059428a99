import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Started {
  child: ChildProcess;
  url: string;
  readyMs: number;
  output: () => string;
}

/** `npm start` exactly as the README says, with no Slack and no database configured. */
function npmStart(extra: Record<string, string> = {}): Promise<Started> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SLACK_|JOB_QUEUE_|DATABASE_URL|JOBQ_)/.test(k)));
  const started = performance.now();
  // Its own process group, so the test can signal npm and everything under it, like Ctrl-C does.
  const child = spawn('npm', ['start'], { cwd: ROOT, env: { ...env, JOBQ_SANDBOX_PORT: '0', ...extra }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sandbox not ready in 30 s:\n${out}`)), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${out}`));
    });
    const check = setInterval(() => {
      const match = /Open (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) {
        clearInterval(check);
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, url: match[1]!, readyMs: performance.now() - started, output: () => out });
      }
    }, 50);
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Ctrl-C: SIGINT to the whole process group. Resolves true when npm ended cleanly: exit 0, or
 * re-raising the SIGINT it received (what npm does once its child has exited).
 */
async function interrupt(s: Started): Promise<boolean> {
  const exited = new Promise<boolean>((resolve) => s.child.on('exit', (code, signal) => resolve(code === 0 || signal === 'SIGINT')));
  process.kill(-s.child.pid!, 'SIGINT');
  return exited;
}

describe('npm start without Slack credentials', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('is ready in seconds, serves the page and the bot, and Ctrl-C leaves no process behind', { timeout: 60_000 }, async () => {
    const s = await npmStart();
    expect(s.readyMs).toBeLessThan(20_000);
    expect(s.output()).toContain('embedded PostgreSQL (PGlite');
    const page = await fetch(s.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    const health = /health: (http:\/\/127\.0\.0\.1:\d+\/healthz)/.exec(s.output())![1]!;
    expect((await fetch(health.replace('healthz', 'readyz'))).status).toBe(200);
    expect(await interrupt(s)).toBe(true);
    expect(s.output()).toContain('Stopping the sandbox');
    await expect.poll(() => alive(s.child.pid!), { timeout: 10_000 }).toBe(false);
  });

  it('keeps its data on disk when asked, and refuses a second process on the same directory', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobq-sandbox-'));
    dirs.push(dir);
    const first = await npmStart({ JOBQ_SANDBOX_DATA_DIR: dir, JOBQ_SANDBOX_SIMULATE: 'false' });
    try {
      await expect(npmStart({ JOBQ_SANDBOX_DATA_DIR: dir })).rejects.toThrow(/in use by process/);
    } finally {
      expect(await interrupt(first)).toBe(true);
    }
    const again = await npmStart({ JOBQ_SANDBOX_DATA_DIR: dir, JOBQ_SANDBOX_SIMULATE: 'false' });
    expect(again.output()).toContain(`data in ${dir}`);
    expect(await interrupt(again)).toBe(true);
  });
});
