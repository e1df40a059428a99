import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { JobqError } from '../../src/errors.js';
import { startSandbox } from '../../src/sandbox/run.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { testLogger } from '../helpers/log.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A port some other program holds, for the length of the test. */
async function occupied(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

async function freePort(): Promise<number> {
  const { port, server } = await occupied();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `npm start` as the README says, to completion: its exit code and everything it printed. */
function npmStart(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SLACK_|JOB_QUEUE_|DATABASE_URL|JOBQ_|PORT$)/.test(k)));
  const child = spawn('npm', ['start'], { cwd: ROOT, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

/** Port clashes explained with the variable to set, and PORT honoured as the README says. */
describe('the sandbox and its ports', () => {
  let db: TestDb;
  const closers: (() => Promise<unknown>)[] = [];
  beforeAll(async () => {
    db = await createTestDb('v3');
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    await db?.drop();
  });

  it('a second `npm start` on a taken page port says to set JOBQ_SANDBOX_PORT, without a stack trace', { timeout: 60_000 }, async () => {
    const { port, server } = await occupied();
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    const run = await npmStart({ JOBQ_SANDBOX_PORT: String(port) });
    expect(run.code).toBe(1);
    expect(run.output).toContain(`Port ${port} (the sandbox's web page) is already in use`);
    expect(run.output).toContain(`Set JOBQ_SANDBOX_PORT to a free port (e.g. JOBQ_SANDBOX_PORT=${port + 1} npm start)`);
    expect(run.output).not.toMatch(/^\s+at /m);
  });

  it('answers /healthz on PORT when it is set, and names PORT when it is taken', { timeout: 60_000 }, async () => {
    const config = loadConfig({ JOB_QUEUE_DATABASE_URL: db.url });
    const port = await freePort();
    const before = process.env.PORT;
    process.env.PORT = String(port);
    try {
      const sandbox = await startSandbox(loadConfig({ JOB_QUEUE_DATABASE_URL: db.url, PORT: String(port) }), testLogger().log, { port: 0 });
      closers.push(() => sandbox.stop());
      expect(sandbox.bot.port).toBe(port);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      if (before === undefined) delete process.env.PORT;
      else process.env.PORT = before;
    }

    const taken = await occupied();
    closers.push(() => new Promise((resolve) => taken.server.close(resolve)));
    const error = (await startSandbox(config, testLogger().log, { port: 0, botPort: taken.port }).catch((e: unknown) => e)) as JobqError;
    expect(error.message).toBe(`Port ${taken.port} (the bot's /healthz and /readyz) is already in use: another jobq sandbox, or another program, is listening on it.`);
    expect(error.hint).toContain('Set PORT to a free port');
  });
});
