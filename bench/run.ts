/**
 * Issue 11's benchmark: jobq against what teams run today, on a generated Procrastinate table.
 *
 *   npm run bench -- --jobs 1000000 [--shape v3|v310] [--days 30] [--keep] [--reuse DBNAME]
 *                    [--name DBNAME] [--generate-only] [--json out.json] [--runs 5] [--naive-runs 3]
 *                    [--concurrency 50] [--idle-seconds 10] [--older-than DAYS]
 *                    [--sections reads,accuracy,health,concurrency,purge,retry-all,alert-poll] [--strict]
 *
 * Needs a PostgreSQL where the role may CREATE DATABASE: TEST_DATABASE_URL, else
 * postgres://postgres@127.0.0.1:5432/postgres. Prints a table; --json writes everything measured.
 * Exits 1 when a statement exceeds its page budget (or, with --strict, when any target is missed).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_OPTIONS, runBench } from './bench.js';
import { renderReport, SECTIONS, type Section } from './report.js';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: String(DEFAULT_OPTIONS.jobs) },
    shape: { type: 'string', default: DEFAULT_OPTIONS.shape },
    days: { type: 'string', default: String(DEFAULT_OPTIONS.days) },
    name: { type: 'string' },
    reuse: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'generate-only': { type: 'boolean', default: false },
    json: { type: 'string' },
    runs: { type: 'string', default: String(DEFAULT_OPTIONS.runs) },
    'naive-runs': { type: 'string', default: String(DEFAULT_OPTIONS.naiveRuns) },
    concurrency: { type: 'string', default: String(DEFAULT_OPTIONS.concurrency) },
    'idle-seconds': { type: 'string', default: String(DEFAULT_OPTIONS.idleMs / 1000) },
    'older-than': { type: 'string' },
    sections: { type: 'string', default: SECTIONS.join(',') },
    strict: { type: 'boolean', default: false },
  },
});

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

function count(name: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be a whole number of at least ${min}; got ${value}`);
  return n;
}

const shape = args.shape;
if (shape !== 'v3' && shape !== 'v310') fail(`--shape must be v3 or v310; got ${shape}`);
const sections = args.sections.split(',').map((s) => s.trim()) as Section[];
const unknown = sections.filter((s) => !SECTIONS.includes(s));
if (unknown.length > 0) fail(`unknown section(s) ${unknown.join(', ')}; known: ${SECTIONS.join(', ')}`);
if (args.name && !/^[a-z_][a-z0-9_]*$/.test(args.name)) fail('--name must be a lowercase database name');

const report = await runBench({
  jobs: count('jobs', args.jobs, 100),
  shape,
  days: count('days', args.days, 2),
  name: args.name,
  reuse: args.reuse,
  keep: args.keep || args['generate-only'],
  generateOnly: args['generate-only'],
  runs: count('runs', args.runs, 1),
  naiveRuns: count('naive-runs', args['naive-runs'], 1),
  concurrency: count('concurrency', args.concurrency, 1),
  idleMs: count('idle-seconds', args['idle-seconds'], 1) * 1000,
  olderThanDays: args['older-than'] === undefined ? undefined : count('older-than', args['older-than'], 2),
  sections,
  command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
  log: (line) => process.stdout.write(`${line}\n`),
});

if (args['generate-only']) {
  process.stdout.write(`Kept ${report.meta.database}: ${report.meta.table.jobs.toLocaleString('en-US')} jobs, ${report.meta.table.size}\n`);
} else {
  process.stdout.write(`\n${renderReport(report)}\n`);
}
if (args.json) {
  writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`JSON written to ${args.json}\n`);
}
const overBudget = report.plans.filter((p) => p.verdict === 'MISS').length;
const missed = report.targets.filter((t) => t.verdict === 'MISS').length;
if (overBudget > 0) process.stdout.write(`${overBudget} statement(s) over their page budget\n`);
process.exitCode = overBudget > 0 || (args.strict && missed > 0) ? 1 : 0;
