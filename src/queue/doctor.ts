import type { ReplicaStatus } from '../db/read-routing.js';
import type { Db } from '../db/database.js';
import { catalogPing, catalogConnection, catalogPrivileges, catalogTableEstimates, type PrivilegeCatalogRow } from '../db/queries/catalog.js';
import { workersSummary } from '../db/queries/workers.js';
import type { Query } from '../db/database.js';
import { jobsRareIndexCreate, RARE_INDEX_NAME } from '../db/queries/jobs-indexes.js';
import { isFailedIndex, isRareIndex, readSchema, resolveProcrastinateSchema, type IndexInfo, type SchemaFoundBy, type SchemaInfo } from '../db/schema.js';
import type { Feature } from '../db/procrastinate.js';
import { asJobqError, JobqError } from '../errors.js';
import { assessCapabilities, type Capability, grantStatements, type Need } from './capabilities.js';
import { DEFAULT_SETTINGS, type QueueContext, type QueueSettings } from './context.js';
import { listStalled } from './stalled.js';

export interface IndexCheck {
  purpose: string;
  present: boolean;
  name: string | null;
  /** For a missing recommended index: the statement that creates it (run by a DBA, or by `jobq doctor --apply` once confirmed). */
  create: string | null;
}

/** Something worth a look that does not stop jobq from working (the exit code stays 0). */
export interface DoctorWarning {
  code: string;
  message: string;
  hint?: string | undefined;
}

export interface DoctorReport {
  /** No problems: every capability has what it needs, and Procrastinate's schema is whole. */
  ok: boolean;
  connection: {
    latencyMs: { min: number; median: number; max: number };
    serverVersion: string | null;
    /** TLS as the server sees this connection (through a pooler: the pooler's own connection). */
    tls: { ssl: boolean; version: string | null };
    /** The port the server listens on; another port in the URL means a pooler or proxy in between. */
    serverPort: number;
    urlPort: number | null;
    pooler: string | null;
    /** The hot standby for heavy reads, when JOB_QUEUE_READ_DATABASE_URL is set. */
    replica: ReplicaStatus | null;
  };
  procrastinate: { found: boolean; generation: string | null; features: Feature[]; error: string | null; schema: string | null; foundBy: SchemaFoundBy | null };
  /** A summary of the capabilities below, kept for scripts that read it. */
  privileges: { role: string; database: string; read: boolean; updateJobs: boolean; deleteJobs: boolean; createSchema: boolean } | null;
  capabilities: Capability[];
  /** Every statement the capabilities' `grants` hold, merged per object: run them all as an admin. */
  grants: string[];
  tables: { name: string; estimatedRows: number }[];
  indexes: { reliedOn: IndexCheck[]; recommended: IndexCheck[] };
  warnings: DoctorWarning[];
  problems: string[];
}

export interface DoctorOptions {
  /** Thresholds for the stalled-jobs and live-worker warnings. */
  settings?: QueueSettings | undefined;
  /** Warnings found elsewhere (e.g. an alert channel jobq cannot post to), reported with the rest. */
  extraWarnings?: DoctorWarning[] | undefined;
  /** JOB_QUEUE_SCHEMA, when set. */
  schema?: string | null | undefined;
  /** The port in the database URL, to tell a pooler in between. */
  urlPort?: number | null | undefined;
  /** The read replica's state, when one is configured. */
  replica?: ReplicaStatus | null | undefined;
}

interface IndexRule {
  purpose: string;
  table: string;
  pattern: RegExp;
  feature?: Feature;
}

/** Procrastinate's own indexes that jobq's reads are built on. */
const RELIED_ON: IndexRule[] = [
  { purpose: 'queue names (stats)', table: 'procrastinate_jobs', pattern: /\(queue_name\)/ },
  { purpose: 'live jobs: todo/doing counts, stalled jobs', table: 'procrastinate_jobs', pattern: /\(id, lock\) WHERE/ },
  { purpose: 'due todo jobs (oldest waiting)', table: 'procrastinate_jobs', pattern: /\(priority DESC, id\)/ },
  { purpose: 'jobs held by a worker', table: 'procrastinate_jobs', pattern: /\(worker_id\)/, feature: 'workers' },
  { purpose: "a job's events (timelines, failure times, purge)", table: 'procrastinate_events', pattern: /\(job_id\)/ },
];

/** An index Procrastinate does not ship that jobq recommends, and that `jobq doctor --apply` creates. */
export interface RecommendedIndex {
  purpose: string;
  /** The name jobq creates it under (an equivalent index under another name counts as present). */
  name: string;
  covers: (index: IndexInfo) => boolean;
  create: () => Query;
}

export const RECOMMENDED_INDEXES: readonly RecommendedIndex[] = [
  {
    purpose: 'failed, cancelled and aborted jobs: exact counts at any size, failed listings and retry-all without walking the primary key',
    name: RARE_INDEX_NAME,
    covers: isRareIndex,
    create: jobsRareIndexCreate,
  },
];

function check(rule: IndexRule, indexes: IndexInfo[]): IndexCheck {
  const found = indexes.find((i) => i.table === rule.table && i.valid && rule.pattern.test(i.definition));
  return { purpose: rule.purpose, present: Boolean(found), name: found?.name ?? null, create: null };
}

function checkRecommended(rule: RecommendedIndex, indexes: IndexInfo[]): IndexCheck {
  const found = indexes.find(rule.covers);
  return { purpose: rule.purpose, present: Boolean(found), name: found?.name ?? null, create: found ? null : `${rule.create().text};` };
}

/** jobq's older failed-only index, once the recommended one covers failed jobs too: only upkeep on every write. */
function supersededIndexes(indexes: IndexInfo[]): DoctorWarning[] {
  const rare = indexes.find(isRareIndex);
  if (!rare) return [];
  return indexes
    .filter((i) => isFailedIndex(i) && !isRareIndex(i))
    .map((i) => ({
      code: 'index_superseded',
      message: `Index ${i.name} on failed jobs is covered by ${rare.name}, which jobq now uses for failed, cancelled and aborted jobs.`,
      hint: `Drop it to save its upkeep on every job update: \`DROP INDEX CONCURRENTLY ${i.name};\``,
    }));
}

async function measureLatency(pool: Db): Promise<DoctorReport['connection']['latencyMs']> {
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

/** Server, schema features, what the role may do (with the GRANTs it lacks), indexes, latency and warnings. */
export async function runDoctor(pool: Db, options: DoctorOptions = {}): Promise<DoctorReport> {
  const settings = options.settings ?? DEFAULT_SETTINGS;
  const problems: string[] = [];
  let latencyMs: DoctorReport['connection']['latencyMs'];
  let catalog: PrivilegeCatalogRow;
  let link: { ssl: boolean; tls_version: string | null; server_port: number; in_recovery: boolean };
  try {
    latencyMs = await measureLatency(pool);
    link = (await pool.query(catalogConnection())).rows[0]!;
  } catch (error) {
    throw asJobqError(error);
  }
  const { schema, error: schemaError } = await detect(pool, options.schema ?? null);
  // The rest of the report reads the tables where every command would: in that schema.
  if (schema) pool.useSchema(schema.schema);
  try {
    catalog = (await pool.query(catalogPrivileges(schema?.schema ?? null))).rows[0]!;
  } catch (error) {
    throw asJobqError(error);
  }
  if (schemaError) problems.push(schemaError);
  if (link.in_recovery)
    problems.push(
      'JOB_QUEUE_DATABASE_URL points at a hot standby (read-only): changes, the audit log and alerting need the primary. Put the standby in JOB_QUEUE_READ_DATABASE_URL instead.',
    );
  const report: DoctorReport = {
    ok: false,
    connection: {
      latencyMs,
      serverVersion: schema?.serverVersion ?? null,
      tls: { ssl: link.ssl, version: link.tls_version },
      serverPort: link.server_port,
      urlPort: options.urlPort ?? null,
      pooler:
        options.urlPort && options.urlPort !== link.server_port
          ? `reached on port ${options.urlPort} while the server listens on ${link.server_port}: a pooler or proxy (PgBouncer, RDS Proxy...) is in between`
          : null,
      replica: options.replica ?? null,
    },
    procrastinate: {
      found: schema !== null,
      generation: schema?.generation ?? null,
      features: schema?.features ?? [],
      error: schemaError,
      schema: schema?.schema ?? null,
      foundBy: schema?.foundBy ?? null,
    },
    privileges: null,
    capabilities: [],
    grants: [],
    tables: [],
    indexes: { reliedOn: [], recommended: [] },
    warnings: [],
    problems,
  };
  if (!schema) {
    report.warnings.push(...(options.extraWarnings ?? []));
    return report;
  }

  const { capabilities, absent } = assessCapabilities(schema, catalog);
  report.capabilities = capabilities;
  report.grants = grantStatements(
    capabilities.flatMap((c) => c.missing),
    catalog.role,
  );
  report.privileges = legacyPrivileges(catalog, capabilities);
  for (const c of capabilities.filter((c) => !c.ok)) {
    const what = c.name === 'jobq-state' ? "keep jobq's own state" : c.name;
    const more = c.missing.length > 1 ? ` and ${c.missing.length - 1} more privilege(s)` : '';
    problems.push(`Role ${catalog.role} cannot ${what}: it lacks ${describeNeed(c.missing[0]!)}${more} (doctor prints the GRANT statements that add them).`);
  }
  for (const object of absent) problems.push(`Procrastinate's ${object} is missing: re-apply Procrastinate's migrations.`);

  report.indexes.reliedOn = RELIED_ON.filter((r) => !r.feature || schema.has(r.feature)).map((r) => check(r, schema.indexes));
  report.indexes.recommended = RECOMMENDED_INDEXES.map((r) => checkRecommended(r, schema.indexes));
  report.warnings.push(...supersededIndexes(schema.indexes));
  for (const missing of report.indexes.reliedOn.filter((i) => !i.present)) {
    problems.push(`Procrastinate's index for ${missing.purpose} is missing: re-apply Procrastinate's migrations.`);
  }
  try {
    report.tables = (await pool.query(catalogTableEstimates())).rows.map((r) => ({ name: r.table_name, estimatedRows: r.estimated_rows }));
    // The queue's health needs reads; without them the read capability is already a problem.
    if (capabilities.find((c) => c.name === 'read')!.ok) report.warnings.push(...(await queueWarnings({ db: pool, schema, settings })));
  } catch (error) {
    throw asJobqError(error);
  }
  if (options.replica && !options.replica.usable) {
    report.warnings.push({
      code: 'replica_unused',
      message: `Heavy reads use the primary: ${options.replica.reason ?? 'the replica is not usable'}.`,
      hint: "Check JOB_QUEUE_READ_DATABASE_URL and the standby's replication; JOBQ_READ_MAX_LAG_SECONDS sets how far behind it may be.",
    });
  }
  report.warnings.push(...(options.extraWarnings ?? []));
  report.ok = problems.length === 0;
  return report;
}

/**
 * Procrastinate's schema as every command finds it (JOB_QUEUE_SCHEMA, the search_path, then
 * public), read from the catalog by name: a schema the role may not use yet is still found, so the
 * report can say what to grant.
 */
async function detect(pool: Db, configured: string | null): Promise<{ schema: SchemaInfo | null; error: string | null }> {
  try {
    const found = await resolveProcrastinateSchema(pool, configured, { requireUsage: false });
    return { schema: await readSchema(pool, found.schema, found.foundBy), error: null };
  } catch (error) {
    const jobqError = asJobqError(error);
    if (jobqError.code !== 'not_procrastinate') throw jobqError;
    return { schema: null, error: jobqError.hint ? `${jobqError.message} ${jobqError.hint}` : jobqError.message };
  }
}

async function queueWarnings(ctx: QueueContext): Promise<DoctorWarning[]> {
  const warnings: DoctorWarning[] = [];
  const stalled = await listStalled(ctx, { limit: 200 });
  if (stalled.jobs.length > 0) {
    const count = `${stalled.jobs.length}${stalled.truncated ? '+' : ''}`;
    const { heartbeatSeconds, runningSeconds } = stalled.thresholds;
    const worker = heartbeatSeconds === null ? '' : `with their worker gone or silent (no heartbeat for ${heartbeatSeconds}s), or `;
    warnings.push({
      code: 'stalled_jobs',
      message: `${count} stalled job(s): running ${worker}for longer than ${runningSeconds}s.`,
      hint: 'List them with `jobq stalled`; retry a job once you know its worker is gone.',
    });
  }
  if (ctx.schema.has('workers')) {
    const row = (await ctx.db.query(workersSummary(ctx.settings.stalledHeartbeatSeconds))).rows[0]!;
    if (row.live === 0) {
      warnings.push({
        code: 'no_live_worker',
        message:
          row.total === 0
            ? 'No Procrastinate worker is registered: nothing runs the jobs.'
            : `No live Procrastinate worker: none of the ${row.total} registered sent a heartbeat in the last ${ctx.settings.stalledHeartbeatSeconds}s.`,
        hint: 'Jobs wait in todo until a worker runs. Check the worker deployment (`jobq workers`).',
      });
    }
  }
  return warnings;
}

function legacyPrivileges(catalog: PrivilegeCatalogRow, capabilities: Capability[]): NonNullable<DoctorReport['privileges']> {
  const jobs = catalog.tables.find((t) => t.schema === catalog.procrastinate_schema && t.name === 'procrastinate_jobs');
  return {
    role: catalog.role,
    database: catalog.database,
    read: capabilities.find((c) => c.name === 'read')!.ok,
    updateJobs: jobs?.update ?? false,
    deleteJobs: jobs?.delete ?? false,
    createSchema: catalog.database_create,
  };
}

export function describeNeed(need: Need): string {
  return `${need.privilege} on ${need.kind} ${need.object}`;
}

export function assertDoctorUsable(report: DoctorReport): void {
  if (!report.procrastinate.found) throw new JobqError('not_procrastinate', report.procrastinate.error ?? 'Not a Procrastinate database.');
}
