import type { Pool } from '../db/pool.js';
import { catalogPing, catalogPrivileges, catalogTableEstimates } from '../db/queries/catalog.js';
import { detectSchema, isFailedIndex, type IndexInfo, type SchemaInfo } from '../db/schema.js';
import type { Feature } from '../db/procrastinate.js';
import { asJobqError, JobqError } from '../errors.js';

export interface IndexCheck {
  purpose: string;
  present: boolean;
  name: string | null;
  /** For a missing index: the statement that creates it (run by a DBA, never by jobq). */
  create: string | null;
}

export interface DoctorReport {
  ok: boolean;
  connection: { latencyMs: { min: number; median: number; max: number }; serverVersion: string | null };
  procrastinate: { found: boolean; generation: string | null; features: Feature[]; error: string | null };
  privileges: { role: string; database: string; read: boolean; updateJobs: boolean; deleteJobs: boolean; createSchema: boolean } | null;
  tables: { name: string; estimatedRows: number }[];
  indexes: { reliedOn: IndexCheck[]; recommended: IndexCheck[] };
  problems: string[];
}

interface IndexRule {
  purpose: string;
  table: string;
  pattern: RegExp;
  feature?: Feature;
  create?: string;
}

/** Procrastinate's own indexes that jobq's reads are built on. */
const RELIED_ON: IndexRule[] = [
  { purpose: 'queue names (stats)', table: 'procrastinate_jobs', pattern: /\(queue_name\)/ },
  { purpose: 'live jobs: todo/doing counts, stalled jobs', table: 'procrastinate_jobs', pattern: /\(id, lock\) WHERE/ },
  { purpose: 'due todo jobs (oldest waiting)', table: 'procrastinate_jobs', pattern: /\(priority DESC, id\)/ },
  { purpose: 'jobs held by a worker', table: 'procrastinate_jobs', pattern: /\(worker_id\)/, feature: 'workers' },
  { purpose: 'a job\'s events (timelines, failure times, purge)', table: 'procrastinate_events', pattern: /\(job_id\)/ },
];

/** Indexes Procrastinate does not ship that make jobq's failure views exact and cheap. */
const RECOMMENDED: IndexRule[] = [
  {
    purpose: 'failed jobs: exact failed counts and listings without walking the primary key',
    table: 'procrastinate_jobs',
    pattern: /WHERE \(?status = 'failed'/,
    create: `CREATE INDEX CONCURRENTLY jobq_failed_jobs_idx ON procrastinate_jobs (queue_name, id) WHERE status = 'failed';`,
  },
];

function check(rule: IndexRule, indexes: IndexInfo[]): IndexCheck {
  const found = indexes.find((i) => i.table === rule.table && i.valid && (rule.create ? isFailedIndex(i) : rule.pattern.test(i.definition)));
  return { purpose: rule.purpose, present: Boolean(found), name: found?.name ?? null, create: found ? null : rule.create ?? null };
}

async function measureLatency(pool: Pool): Promise<DoctorReport['connection']['latencyMs']> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    await pool.query(catalogPing());
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return { min: round(samples[0]!), median: round(samples[2]!), max: round(samples[4]!) };
}

/** Server, schema features, privileges, indexes and latency: what to check before trusting jobq. */
export async function runDoctor(pool: Pool): Promise<DoctorReport> {
  const problems: string[] = [];
  let latencyMs: DoctorReport['connection']['latencyMs'];
  try {
    latencyMs = await measureLatency(pool);
  } catch (error) {
    throw asJobqError(error);
  }
  let schema: SchemaInfo | null = null;
  let schemaError: string | null = null;
  try {
    schema = await detectSchema(pool);
  } catch (error) {
    const jobqError = asJobqError(error);
    if (jobqError.code !== 'not_procrastinate') throw jobqError;
    schemaError = jobqError.message;
    problems.push(jobqError.message);
  }
  const report: DoctorReport = {
    ok: false,
    connection: { latencyMs, serverVersion: schema?.serverVersion ?? null },
    procrastinate: { found: schema !== null, generation: schema?.generation ?? null, features: schema?.features ?? [], error: schemaError },
    privileges: null,
    tables: [],
    indexes: { reliedOn: [], recommended: [] },
    problems,
  };
  if (!schema) return report;
  try {
    const p = (await pool.query<{ role: string; database: string; jobs_select: boolean; jobs_update: boolean; jobs_delete: boolean; events_select: boolean; database_create: boolean }>(catalogPrivileges())).rows[0]!;
    report.privileges = { role: p.role, database: p.database, read: p.jobs_select && p.events_select, updateJobs: p.jobs_update, deleteJobs: p.jobs_delete, createSchema: p.database_create };
    if (!report.privileges.read) problems.push(`Role ${p.role} cannot read procrastinate_jobs/procrastinate_events: GRANT SELECT ON procrastinate_jobs, procrastinate_events, procrastinate_workers TO ${p.role};`);
    if (!p.jobs_update) problems.push(`Role ${p.role} cannot UPDATE procrastinate_jobs: retry, cancel and run-now will be refused.`);
    if (!p.jobs_delete) problems.push(`Role ${p.role} cannot DELETE from procrastinate_jobs: purge will be refused.`);
    report.tables = (await pool.query<{ table_name: string; estimated_rows: number }>(catalogTableEstimates())).rows.map((r) => ({ name: r.table_name, estimatedRows: r.estimated_rows }));
  } catch (error) {
    throw asJobqError(error);
  }
  report.indexes.reliedOn = RELIED_ON.filter((r) => !r.feature || schema.has(r.feature)).map((r) => check(r, schema.indexes));
  report.indexes.recommended = RECOMMENDED.map((r) => check(r, schema.indexes));
  for (const missing of report.indexes.reliedOn.filter((i) => !i.present)) {
    problems.push(`Procrastinate's index for ${missing.purpose} is missing: re-apply Procrastinate's migrations.`);
  }
  report.ok = problems.length === 0;
  return report;
}

export function assertDoctorUsable(report: DoctorReport): void {
  if (!report.procrastinate.found) throw new JobqError('not_procrastinate', report.procrastinate.error ?? 'Not a Procrastinate database.');
}
