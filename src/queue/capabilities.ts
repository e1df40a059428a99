import { ident } from '../db/ident.js';
import { FUNCTIONS } from '../db/procrastinate.js';
import type { PrivilegeCatalogRow } from '../db/queries/catalog.js';
import { JOBQ_SCHEMA } from '../db/queries/jobq.js';
import type { SchemaInfo } from '../db/schema.js';

/**
 * What each of jobq's capabilities needs from the database, for the detected Procrastinate
 * schema, checked against the catalog. The truth is PostgreSQL's: Procrastinate's functions and
 * triggers run as the caller (none is SECURITY DEFINER), so a retry also needs INSERT on the
 * events table and USAGE on its id sequence, and a purge needs UPDATE on periodic defers.
 * Cascades and foreign-key checks run as the table owner and need nothing. test/reads/
 * doctor-privileges.test.ts runs every capability with exactly the grants printed here.
 */

export const CAPABILITIES = ['read', 'retry', 'retry-all', 'cancel', 'run-now', 'purge', 'jobq-state'] as const;
export type CapabilityName = (typeof CAPABILITIES)[number];

export const CAPABILITY_SUMMARY: Record<CapabilityName, string> = {
  read: 'stats, failed, job, stalled, workers, alerts',
  retry: 'a failed or stalled job back to todo',
  'retry-all': 'failed jobs back to todo, in batches',
  cancel: 'cancel a waiting job, ask a running one to abort',
  'run-now': 'make a scheduled job due now',
  purge: 'delete old finished jobs, in batches',
  'jobq-state': "jobq's own schema: migrations, audit log, confirmations, mutes, alerts",
};

/** The capabilities that change jobs: each records an audit entry, so each also needs `jobq-state`. */
export const AUDITED: readonly CapabilityName[] = ['retry', 'retry-all', 'cancel', 'run-now', 'purge'];

export type ObjectKind = 'database' | 'schema' | 'table' | 'sequence' | 'function';
export type PrivilegeName = 'CREATE' | 'USAGE' | 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE' | 'EXECUTE';

/** One privilege on one object, named as a GRANT names it. */
export interface Need {
  kind: ObjectKind;
  /** Schema-qualified, quoted only where needed; a function with its argument types. */
  object: string;
  privilege: PrivilegeName;
  /** Why jobq needs it (the statement, trigger or function that uses it). */
  why: string;
}

export interface Capability {
  name: CapabilityName;
  summary: string;
  ok: boolean;
  missing: Need[];
  /** Run as an admin, these make the capability work. */
  grants: string[];
  /** Statements that may replace `grants` (CREATE on the whole database instead of an admin-made schema). */
  alternatives: string[];
}

/** Privileges jobq's own statements need on each of its tables (src/db/queries/jobq*.ts). */
export const JOBQ_TABLE_NEEDS: Record<string, PrivilegeName[]> = {
  schema_migrations: ['SELECT', 'INSERT'],
  audit_log: ['SELECT', 'INSERT', 'UPDATE'],
  confirmations: ['SELECT', 'INSERT', 'UPDATE'],
  alert_cursor: ['SELECT', 'INSERT', 'UPDATE'],
  failure_alerts: ['SELECT', 'INSERT', 'DELETE'],
  health_alerts: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  mutes: ['SELECT', 'INSERT', 'UPDATE'],
  summary_ticks: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  seen_requests: ['SELECT', 'INSERT', 'DELETE'],
  leases: ['SELECT', 'INSERT', 'UPDATE'],
  pauses: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  final_counts: ['SELECT', 'INSERT', 'DELETE'],
  final_counts_state: ['SELECT', 'INSERT', 'UPDATE'],
};

/** A need before it is checked: the object as the catalog names it. */
type Requirement =
  | { kind: 'database'; privilege: 'CREATE'; why: string }
  | { kind: 'schema'; schema: string; privilege: PrivilegeName; why: string }
  | { kind: 'table'; schema: string; table: string; privilege: PrivilegeName; why: string }
  /** The sequence behind a serial column, whatever it is called. */
  | { kind: 'sequence'; schema: string; table: string; column: string; privilege: 'USAGE'; why: string }
  | { kind: 'function'; schema: string; name: string; nargs: number; privilege: 'EXECUTE'; why: string };

const TABLE_PRIVILEGE = { SELECT: 'select', INSERT: 'insert', UPDATE: 'update', DELETE: 'delete' } as const;

const WHY = {
  schema: "find Procrastinate's tables and functions",
  readJobs: 'jobs: counts, listings, a job and its state before a change',
  readEvents: 'events: timelines, failure and start times',
  readWorkers: 'workers and their heartbeats (3.1+)',
  lockJobs: 'row locks (SELECT ... FOR UPDATE needs UPDATE) and the status change',
  eventInsert: "Procrastinate's triggers record an event as the role that changes the job",
  eventSequence: 'the id of that event (nextval)',
  deleteJobs: 'deletes old finished jobs (their events go by cascade, as the owner)',
  periodicDefers: "Procrastinate's before-delete trigger unlinks the job from periodic defers as the role that deletes it",
};

/** What one capability needs from Procrastinate, for the detected schema. */
function procrastinateRequirements(name: Exclude<CapabilityName, 'jobq-state'>, schema: SchemaInfo, p: string): Requirement[] {
  const table = (t: string, privilege: PrivilegeName, why: string): Requirement => ({ kind: 'table', schema: p, table: t, privilege, why });
  const fn = (fnName: string, nargs: number, why: string): Requirement => ({ kind: 'function', schema: p, name: fnName, nargs, privilege: 'EXECUTE', why });
  const usage: Requirement = { kind: 'schema', schema: p, privilege: 'USAGE', why: WHY.schema };
  const reads = [
    usage,
    table('procrastinate_jobs', 'SELECT', WHY.readJobs),
    table('procrastinate_events', 'SELECT', WHY.readEvents),
    ...(schema.has('workers') ? [table('procrastinate_workers', 'SELECT', WHY.readWorkers)] : []),
  ];
  const recordsEvents = [
    table('procrastinate_events', 'INSERT', WHY.eventInsert),
    { kind: 'sequence', schema: p, table: 'procrastinate_events', column: 'id', privilege: 'USAGE', why: WHY.eventSequence } satisfies Requirement,
  ];
  const lock = table('procrastinate_jobs', 'UPDATE', WHY.lockJobs);
  switch (name) {
    case 'read':
      return reads;
    case 'retry': {
      // 3.4+: one function for failed and stalled jobs; before, a guarded update for failed jobs
      // and the `doing`-only function for stalled ones (2.x: its two-argument overload).
      const retryFn = schema.has('retry_failed')
        ? fn(FUNCTIONS.retryFailedV2, 5, 'retries a failed or stalled job')
        : schema.has('v1_functions')
          ? fn(FUNCTIONS.retryDoing.v1, 5, 'retries a stalled job')
          : fn(FUNCTIONS.retryDoing.legacy, 2, 'retries a stalled job');
      return [...reads, lock, ...recordsEvents, retryFn];
    }
    case 'retry-all':
      // The status trigger runs its INSERT for every retried job, but before 3.4 it has no
      // `retried` case, inserts no row, and so never takes an id from the sequence.
      return [
        usage,
        table('procrastinate_jobs', 'SELECT', WHY.readJobs),
        table('procrastinate_events', 'SELECT', 'events: failure times of the selection'),
        lock,
        recordsEvents[0]!,
        ...(schema.has('retried_event') ? [recordsEvents[1]!] : []),
        ...(schema.has('retry_failed') ? [fn(FUNCTIONS.retryFailedV2, 5, 'retries each failed job')] : []),
      ];
    case 'cancel':
      return [...reads, lock, ...recordsEvents, fn(schema.has('v1_functions') ? FUNCTIONS.cancel.v1 : FUNCTIONS.cancel.legacy, 3, 'cancels or aborts the job')];
    case 'run-now':
      return [...reads, table('procrastinate_jobs', 'UPDATE', 'sets scheduled_at'), ...recordsEvents];
    case 'purge':
      return [
        usage,
        table('procrastinate_jobs', 'SELECT', WHY.readJobs),
        table('procrastinate_events', 'SELECT', 'events: the age of each job'),
        table('procrastinate_jobs', 'UPDATE', 'row locks on each batch (SELECT ... FOR UPDATE needs UPDATE)'),
        table('procrastinate_jobs', 'DELETE', WHY.deleteJobs),
        table('procrastinate_periodic_defers', 'SELECT', WHY.periodicDefers),
        table('procrastinate_periodic_defers', 'UPDATE', WHY.periodicDefers),
      ];
  }
}

/**
 * jobq's own schema. Absent: the role creates it on first start (CREATE on the database), or an
 * admin makes it for the role. Present: the role must use it, create the tables still missing,
 * and read and write the tables that are there (they may belong to a role that ran jobq before).
 */
function jobqRequirements(c: PrivilegeCatalogRow): Requirement[] {
  if (!c.jobq_schema_exists) return [{ kind: 'database', privilege: 'CREATE', why: `create jobq's schema \`${JOBQ_SCHEMA}\`` }];
  const present = new Set(c.tables.filter((t) => t.schema === JOBQ_SCHEMA).map((t) => t.name));
  const needs: Requirement[] = [{ kind: 'schema', schema: JOBQ_SCHEMA, privilege: 'USAGE', why: "use jobq's tables" }];
  if (Object.keys(JOBQ_TABLE_NEEDS).some((t) => !present.has(t))) {
    needs.push({ kind: 'schema', schema: JOBQ_SCHEMA, privilege: 'CREATE', why: "create jobq's tables (migrations not applied yet)" });
  }
  for (const [table, privileges] of Object.entries(JOBQ_TABLE_NEEDS)) {
    if (!present.has(table)) continue;
    for (const privilege of privileges) needs.push({ kind: 'table', schema: JOBQ_SCHEMA, table, privilege, why: `jobq.${table}` });
  }
  return needs;
}

const qualified = (schema: string, name: string) => `${ident(schema)}.${ident(name)}`;

/** Whether the role holds the requirement, and the need as a GRANT names it; null when the object does not exist. */
function check(r: Requirement, c: PrivilegeCatalogRow): { held: boolean; need: Need } | null {
  switch (r.kind) {
    case 'database':
      return { held: c.database_create, need: { kind: 'database', object: ident(c.database), privilege: r.privilege, why: r.why } };
    case 'schema': {
      const held = r.schema === JOBQ_SCHEMA ? (r.privilege === 'USAGE' ? c.jobq_schema_usage : c.jobq_schema_create) : c.procrastinate_schema_usage;
      return { held, need: { kind: 'schema', object: ident(r.schema), privilege: r.privilege, why: r.why } };
    }
    case 'table': {
      const row = c.tables.find((t) => t.schema === r.schema && t.name === r.table);
      if (!row) return null;
      return {
        held: row[TABLE_PRIVILEGE[r.privilege as keyof typeof TABLE_PRIVILEGE]],
        need: { kind: 'table', object: qualified(r.schema, r.table), privilege: r.privilege, why: r.why },
      };
    }
    case 'sequence': {
      // An identity column (or no sequence at all) needs no privilege: nothing to check.
      const row = c.sequences.find((s) => s.schema === r.schema && s.table === r.table && s.column === r.column);
      if (!row) return { held: true, need: { kind: 'sequence', object: `${qualified(r.schema, r.table)}.${ident(r.column)}`, privilege: r.privilege, why: r.why } };
      return { held: row.usage, need: { kind: 'sequence', object: qualified(r.schema, row.name), privilege: r.privilege, why: r.why } };
    }
    case 'function': {
      const row = c.functions.find((f) => f.schema === r.schema && f.name === r.name && f.nargs === r.nargs);
      if (!row) return null;
      return { held: row.execute, need: { kind: 'function', object: `${qualified(r.schema, r.name)}(${row.args})`, privilege: 'EXECUTE', why: r.why } };
    }
  }
}

const PRIVILEGE_ORDER: PrivilegeName[] = ['USAGE', 'CREATE', 'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'EXECUTE'];
const KIND_ORDER: ObjectKind[] = ['database', 'schema', 'table', 'sequence', 'function'];

/**
 * The statements that grant `needs`, one per object with its privileges merged, in a stable
 * order: Procrastinate's schema and objects first, jobq's last. A missing jobq schema is made
 * for the role (least privilege: no CREATE on the whole database).
 */
export function grantStatements(needs: Need[], role: string): string[] {
  const byObject = new Map<string, { kind: ObjectKind; object: string; privileges: Set<PrivilegeName> }>();
  for (const need of needs) {
    const key = `${need.kind} ${need.object}`;
    const entry = byObject.get(key) ?? { kind: need.kind, object: need.object, privileges: new Set<PrivilegeName>() };
    entry.privileges.add(need.privilege);
    byObject.set(key, entry);
  }
  const isJobq = (e: { kind: ObjectKind; object: string }) => e.kind === 'database' || e.object === JOBQ_SCHEMA || e.object.startsWith(`${JOBQ_SCHEMA}.`);
  const entries = [...byObject.values()].sort(
    (a, b) => Number(isJobq(a)) - Number(isJobq(b)) || KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || a.object.localeCompare(b.object),
  );
  return entries.map((e) => {
    if (e.kind === 'database') return `CREATE SCHEMA ${JOBQ_SCHEMA} AUTHORIZATION ${ident(role)};`;
    const privileges = PRIVILEGE_ORDER.filter((p) => e.privileges.has(p)).join(', ');
    return `GRANT ${privileges} ON ${e.kind.toUpperCase()} ${e.object} TO ${ident(role)};`;
  });
}

/**
 * Every capability, checked against the catalog, with the statements that complete it; and the
 * objects the detected schema should have but does not (no GRANT can help those).
 */
export function assessCapabilities(schema: SchemaInfo, c: PrivilegeCatalogRow): { capabilities: Capability[]; absent: string[] } {
  const p = c.procrastinate_schema!;
  const absent = new Set<string>();
  const capabilities = CAPABILITIES.map((name): Capability => {
    const requirements = name === 'jobq-state' ? jobqRequirements(c) : procrastinateRequirements(name, schema, p);
    const missing: Need[] = [];
    for (const r of requirements) {
      const result = check(r, c);
      if (!result) {
        if (r.kind === 'function') absent.add(`function ${qualified(r.schema, r.name)} (${r.nargs} arguments)`);
        if (r.kind === 'table') absent.add(`table ${qualified(r.schema, r.table)}`);
        continue;
      }
      if (!result.held && !missing.some((m) => m.kind === result.need.kind && m.object === result.need.object && m.privilege === result.need.privilege)) missing.push(result.need);
    }
    const createsSchema = missing.some((m) => m.kind === 'database');
    return {
      name,
      summary: CAPABILITY_SUMMARY[name],
      ok: missing.length === 0,
      missing,
      grants: grantStatements(missing, c.role),
      alternatives: createsSchema ? [`GRANT CREATE ON DATABASE ${ident(c.database)} TO ${ident(c.role)};`] : [],
    };
  });
  return { capabilities, absent: [...absent] };
}
