import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { main } from '../src/cli.js';
import type { CliIo } from '../src/cli/io.js';
import { executeCommand, type Caller } from '../src/commands/execute.js';
import { parseCommand } from '../src/commands/parse.js';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/db/migrations.js';
import { cliActor } from '../src/queue/actor.js';
import { connectQueue } from '../src/queue/open.js';
import { recordingPool } from '../test/helpers/recording-pool.js';
import { naiveFor } from './naive.js';
import { checkStatement, isCheckable, type StatementCheck } from './plans.js';
import { median, medianOf, timed } from './timing.js';

const execFileAsync = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/jobq.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

export interface ReadSpec {
  name: string;
  argv: string[];
}

export interface ReadResult {
  name: string;
  command: string;
  /** `main(argv)` in this process: config, pool, schema detection, the read, the text, closing. */
  endToEndMs: number;
  /** `node bin/jobq.mjs <argv>` as a new process (null when dist/ is not built). */
  processMs: number | null;
  /** The statements the read sent, each run alone (median), added up: what the database needs at least. */
  floorMs: number;
  statements: number;
  naive: { name: string; source: string; ms: number; rows: number }[];
  /** Anything jobq printed on stderr, or its exit code when not 0 (doctor exits 1 when it finds a problem). */
  note: string | null;
}

export function readSpecs(jobId: number, queue: string): ReadSpec[] {
  return [
    { name: 'stats', argv: ['stats'] },
    { name: 'failed', argv: ['failed'] },
    { name: 'failed --queue', argv: ['failed', '--queue', queue] },
    { name: 'job', argv: ['job', String(jobId)] },
    { name: 'stalled', argv: ['stalled'] },
    { name: 'workers', argv: ['workers'] },
    { name: 'doctor', argv: ['doctor'] },
    { name: 'audit', argv: ['audit'] },
  ];
}

/** The environment a team gives the CLI: the database URL and nothing tuned. */
export const cliEnv = (url: string): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, JOB_QUEUE_DATABASE_URL: url, LOG_LEVEL: 'warn' });

function captureIo(env: NodeJS.ProcessEnv): CliIo & { output: string[]; errors: string[] } {
  const output: string[] = [];
  const errors: string[] = [];
  return {
    output,
    errors,
    out: (text) => void output.push(text),
    err: (text) => void errors.push(text),
    env,
    interactive: false,
    ask: async () => 'no',
  };
}

/**
 * Every read, three ways: jobq end to end (in this process, and as a new `jobq` process), the
 * SQL floor (jobq's own statements, recorded, run alone), and what teams run instead. Each
 * statement jobq sent gets an EXPLAIN (ANALYZE, BUFFERS) verdict against its page budget.
 */
export async function measureReads(
  url: string,
  specs: ReadSpec[],
  options: { runs: number; naiveRuns: number; queue: string; jobId: number },
): Promise<{ reads: ReadResult[]; plans: StatementCheck[] }> {
  const env = cliEnv(url);
  const config = loadConfig(env);
  const ctx = await connectQueue(config);
  const plain = new pg.Client({ connectionString: url });
  await plain.connect();
  if (ctx.schema.schema) await plain.query(`SET search_path = ${pg.escapeIdentifier(ctx.schema.schema)}, pg_temp`);
  const reads: ReadResult[] = [];
  const plans: StatementCheck[] = [];
  try {
    const caller: Caller = { actor: cliActor(), assertMayWrite: async () => undefined, writesEnabled: true, migrated: async () => void (await migrate(ctx.db)) };
    for (const spec of specs) {
      let note: string | null = null;
      const endToEndMs = await medianOf(options.runs, async () => {
        const io = captureIo(env);
        const code = await main(spec.argv, io);
        if (code !== 0) note = `exit ${code}${io.errors.length ? `: ${io.errors.join(' ').slice(0, 200)}` : ''}`;
        if (code !== 0 && spec.name !== 'doctor') throw new Error(`jobq ${spec.argv.join(' ')} failed: ${io.errors.join('\n')}`);
      });
      const processMs = existsSync(DIST)
        ? await medianOf(Math.min(options.runs, 3), async () => {
            await execFileAsync(process.execPath, [BIN, ...spec.argv], { env }).catch((error: { code?: number }) => {
              if (!(spec.name === 'doctor' && error.code === 1)) throw error;
            });
          })
        : null;

      // The statements this read sends, recorded on a pool that runs them for real.
      const recorder = recordingPool(ctx.db);
      await executeCommand(async () => ({ ...ctx, db: recorder.pool, reader: undefined }), parseCommand(spec.argv), caller);
      const statements = recorder.statements.filter(isCheckable);
      let floorMs = 0;
      for (const statement of statements) {
        floorMs += await medianOf(options.runs, () => plain.query({ text: statement.text, values: statement.values ?? [] }));
        plans.push(await checkStatement(plain, ctx.schema.schema, `read:${spec.name}`, statement));
      }

      const naive = [];
      for (const q of naiveFor(spec.name, options.jobId, options.queue)) {
        let rows = 0;
        const times: number[] = [];
        for (let i = 0; i < options.naiveRuns; i++) {
          const run = await timed(() => plain.query(q.statement));
          times.push(run.ms);
          rows = run.value.rowCount ?? 0;
        }
        naive.push({ name: q.name, source: q.source, ms: median(times), rows });
      }
      reads.push({ name: spec.name, command: `jobq ${spec.argv.join(' ')}`, endToEndMs, processMs, floorMs, statements: statements.length, naive, note });
    }
  } finally {
    await plain.end();
    await ctx.close();
  }
  return { reads, plans };
}
