import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RECORDER = './test/helpers/record-imports.mjs';

/** Runs node with the import recorder; resolves to the modules the process resolved, as URLs. */
function loadedBy(nodeArgs: string[], dir: string): Promise<{ code: number; stdout: string; modules: string[] }> {
  const file = join(dir, `${nodeArgs.join('-').replace(/\W+/g, '_')}.txt`);
  return new Promise((resolve, reject) => {
    execFile('node', ['--import', RECORDER, ...nodeArgs], { cwd: ROOT, env: { ...process.env, JOBQ_RECORD_IMPORTS: file }, timeout: 20_000, encoding: 'utf8' }, (error, stdout) => {
      if (error && typeof error.code !== 'number') return reject(error);
      let modules: string[] = [];
      try {
        modules = readFileSync(file, 'utf8').split('\n').filter(Boolean);
      } catch {
        // Nothing recorded: the assertions below say so.
      }
      resolve({ code: error ? (error.code as number) : 0, stdout, modules });
    });
  });
}

const packages = (modules: string[]) => [...new Set(modules.flatMap((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? []))];
const compiled = (modules: string[]) => [...new Set(modules.flatMap((url) => /\/dist\/(.+)$/.exec(url)?.[1] ?? []))];

describe('jobq --help loads only the grammar', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jobq-help-loads-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the recorder sees packages a process imports (so the checks below can fail)', async () => {
    const run = await loadedBy(['--input-type=module', '-e', "await import('pg'); await import('@slack/bolt');"], dir);
    expect(run.code).toBe(0);
    expect(packages(run.modules)).toEqual(expect.arrayContaining(['pg', '@slack/bolt']));
  });

  for (const args of [['--help'], ['help', 'retry'], ['stats', '--help']]) {
    it(`jobq ${args.join(' ')}: no database driver, Slack, logger, schema library or queue core`, async () => {
      const run = await loadedBy(['bin/jobq.mjs', ...args], dir);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/jobq /);
      expect(compiled(run.modules)).toContain('cli.js');
      expect(packages(run.modules)).toEqual([]);
      const core = compiled(run.modules).filter((file) => /^(db|slack|alerts|sandbox|emulator)\//.test(file) || (file.startsWith('queue/') && file !== 'queue/limits.js'));
      expect(core).toEqual([]);
    });
  }
});
