import type { Db, Queryable } from './database.js';
import { ident } from './ident.js';
import { catalogIndexes, catalogProcrastinateObjects, catalogProcrastinateSchemas, type CatalogRow } from './queries/catalog.js';
import type { Feature } from './procrastinate.js';
import { JobqError, asJobqError } from '../errors.js';

export interface IndexInfo {
  table: string;
  name: string;
  definition: string;
  valid: boolean;
}

/** What this database's Procrastinate schema can do. Every query adapts to it. */
export interface SchemaInfo {
  /** The PostgreSQL schema holding Procrastinate's tables, and how jobq found it. */
  schema: string;
  foundBy: SchemaFoundBy;
  /** Release line as far as the catalog tells: '2.x', '3.0', '3.1', '3.2-3.3', '3.4+', '3.10 (pre-migration)', '3.10'. */
  generation: string;
  features: Feature[];
  has(feature: Feature): boolean;
  serverVersion: string;
  serverVersionNum: number;
  eventTypes: string[];
  functions: string[];
  indexes: IndexInfo[];
}

export type SchemaFoundBy = 'JOB_QUEUE_SCHEMA' | 'search_path' | 'public';

const notProcrastinate = (message: string, hint: string) => new JobqError('not_procrastinate', message, { hint, runbookSection: 'database-connectivity' });

/**
 * Where Procrastinate's tables are: JOB_QUEUE_SCHEMA when set, else the first schema on the
 * search_path that holds them, else `public`. Read from the catalog by name, so it does not
 * depend on a search_path a pooler may drop (the URL's `options`).
 */
export async function resolveProcrastinateSchema(
  db: Queryable,
  configured?: string | null,
  options: { requireUsage?: boolean } = {},
): Promise<{ schema: string; foundBy: SchemaFoundBy }> {
  let rows: { schema: string; path_position: number | null; usage: boolean; role: string }[];
  try {
    rows = (await db.query(catalogProcrastinateSchemas())).rows;
  } catch (error) {
    throw asJobqError(error);
  }
  const found = pickSchema(rows, configured);
  const row = rows.find((r) => r.schema === found.schema)!;
  if (options.requireUsage !== false && !row.usage) {
    throw new JobqError('db_permission', `The database role ${row.role} may not use schema ${found.schema}, where Procrastinate's tables are.`, {
      hint: `Run \`GRANT USAGE ON SCHEMA ${ident(found.schema)} TO ${ident(row.role)};\` as its owner; \`jobq doctor\` lists every grant jobq needs.`,
      runbookSection: 'database-connectivity',
    });
  }
  return found;
}

function pickSchema(rows: { schema: string; path_position: number | null }[], configured: string | null | undefined): { schema: string; foundBy: SchemaFoundBy } {
  const names = rows.map((r) => r.schema);
  const elsewhere = names.length ? ` procrastinate_jobs exists in: ${names.join(', ')}.` : '';
  if (configured) {
    if (names.includes(configured)) return { schema: configured, foundBy: 'JOB_QUEUE_SCHEMA' };
    throw notProcrastinate(
      `JOB_QUEUE_SCHEMA=${configured}, but that schema has no Procrastinate tables.${elsewhere}`,
      names.length ? `Set JOB_QUEUE_SCHEMA to ${names[0]}, or unset it.` : 'Point JOB_QUEUE_DATABASE_URL at the database your Procrastinate app uses.',
    );
  }
  const onPath = rows.find((r) => r.path_position !== null);
  if (onPath) return { schema: onPath.schema, foundBy: 'search_path' };
  if (names.includes('public')) return { schema: 'public', foundBy: 'public' };
  if (names.length) {
    throw notProcrastinate(
      `Procrastinate's tables are not on the search_path or in public.${elsewhere}`,
      `Set JOB_QUEUE_SCHEMA=${names[0]} (a search_path in the URL's options is dropped by connection poolers).`,
    );
  }
  throw notProcrastinate(
    'This database has no Procrastinate tables (procrastinate_jobs, procrastinate_events): it is not a Procrastinate database.',
    'Point JOB_QUEUE_DATABASE_URL at the database your Procrastinate app uses.',
  );
}

/** A status literal as pg_get_indexdef prints it: `'failed'::procrastinate_job_status`, maybe schema-qualified. */
const STATUS_LITERAL = String.raw`'(\w+)'(?:::[\w."]+)?`;
const SINGLE_STATUS = new RegExp(String.raw`^status\s*=\s*${STATUS_LITERAL}$`, 'i');
const ANY_STATUS = /^status\s*=\s*ANY\s*\(\s*\(?ARRAY\[(.*)\]\)?(?:::[\w."]+\[\])?\s*\)$/i;

function withoutOuterParens(text: string): string {
  let t = text.trim();
  while (t.startsWith('(') && t.endsWith(')')) {
    let depth = 0;
    // Only when the first parenthesis closes at the very end: `(a) AND (b)` keeps its own.
    const closesAtEnd = [...t].every((c, i) => {
      depth += c === '(' ? 1 : c === ')' ? -1 : 0;
      return depth > 0 || i === t.length - 1;
    });
    if (!closesAtEnd) break;
    t = t.slice(1, -1).trim();
  }
  return t;
}

/**
 * The statuses a partial index admits when its predicate is a condition on the status alone, as
 * PostgreSQL stores it: `status = 'failed'` stays so, and `status IN ('failed', 'cancelled')`
 * becomes `status = ANY (ARRAY['failed'::procrastinate_job_status, ...])`. Null for any other
 * predicate (or none): such an index does not hold every job of those statuses.
 */
export function indexedStatuses(definition: string): Set<string> | null {
  const where = /\sWHERE\s+(.*)$/is.exec(definition)?.[1];
  if (!where) return null;
  const predicate = withoutOuterParens(where);
  const single = SINGLE_STATUS.exec(predicate);
  if (single) return new Set([single[1]!]);
  const list = ANY_STATUS.exec(predicate);
  if (!list) return null;
  const items = list[1]!.split(',').map((item) => new RegExp(`^${STATUS_LITERAL}$`).exec(item.trim()));
  return items.every(Boolean) ? new Set(items.map((m) => m![1]!)) : null;
}

const coversStatuses = (index: IndexInfo, statuses: readonly string[]) => {
  if (index.table !== 'procrastinate_jobs' || !index.valid) return false;
  const covered = indexedStatuses(index.definition);
  return covered !== null && statuses.every((s) => covered.has(s));
};

/**
 * A partial index holding every failed job turns failed listings and counts into index reads:
 * jobq's older `WHERE status = 'failed'` one, or its recommended one over the rare final statuses.
 */
export function isFailedIndex(index: IndexInfo): boolean {
  return coversStatuses(index, ['failed']);
}

/** The rare final statuses: few rows, so one partial index over them stays small. */
export const RARE_STATUSES = ['failed', 'cancelled', 'aborted'] as const;

/** jobq's recommended partial index: every failed, cancelled and aborted job, so their counts are exact reads of it. */
export function isRareIndex(index: IndexInfo): boolean {
  return coversStatuses(index, RARE_STATUSES);
}

/**
 * Finds Procrastinate's schema (see resolveProcrastinateSchema), reads its catalog once and names
 * the features present (not a version string: 3.x has none). Every later transaction on `db`
 * then resolves names in that schema first, so statements (and Procrastinate's own functions and
 * triggers, which name their tables unqualified) reach the right tables through any pooler.
 */
export async function detectSchema(db: Db, options: { configured?: string | null } = {}): Promise<SchemaInfo> {
  const found = await resolveProcrastinateSchema(db, options.configured);
  const info = await readSchema(db, found.schema, found.foundBy);
  db.useSchema(found.schema);
  return info;
}

/** The features of the Procrastinate tables in one schema, from that schema's catalog. */
export async function readSchema(db: Queryable, schema: string, foundBy: SchemaFoundBy): Promise<SchemaInfo> {
  let row: CatalogRow;
  let indexes: IndexInfo[];
  try {
    const result = await db.query(catalogProcrastinateObjects(schema));
    row = result.rows[0]!;
    if (!row.has_jobs || !row.has_events) {
      throw notProcrastinate(
        `Schema ${schema} has procrastinate_jobs but not procrastinate_events: Procrastinate's migrations were not fully applied.`,
        "Re-apply Procrastinate's migrations (procrastinate schema apply), or point JOB_QUEUE_SCHEMA at the complete schema.",
      );
    }
    const indexResult = await db.query(catalogIndexes(schema));
    indexes = indexResult.rows.map((r) => ({ table: r.table_name, name: r.index_name, definition: r.definition, valid: r.valid }));
  } catch (error) {
    throw asJobqError(error);
  }
  const fns = new Set(row.functions);
  const events = new Set(row.event_types);
  const features: Feature[] = [];
  if (fns.has('procrastinate_finish_job_v1') || fns.has('procrastinate_cancel_job_v1')) features.push('v1_functions');
  if (row.has_abort_requested) features.push('abort_requested');
  if (row.has_workers && row.has_worker_id) features.push('workers');
  if (fns.has('procrastinate_defer_jobs_v1') || fns.has('procrastinate_defer_jobs_v2')) features.push('batch_defer');
  if (fns.has('procrastinate_retry_job_v2') && events.has('retried')) features.push('retry_failed');
  if (events.has('retried')) features.push('retried_event');
  if (indexes.some(isFailedIndex)) features.push('failed_index');
  if (indexes.some(isRareIndex)) features.push('rare_index');
  // 3.10 is told by its pause table and the fetch that honours it; each function is detected by
  // name, never assumed from a version (a database can sit between its pre- and post-migration).
  if (row.has_paused_queues && fns.has('procrastinate_fetch_job_v3')) features.push('pause_queues');
  if (row.has_lock_mode) features.push('lock_mode');
  if (row.has_deferred_at) features.push('deferred_at');

  const has = (feature: Feature) => features.includes(feature);
  const generation = has('pause_queues')
    ? fns.has('procrastinate_fetch_job_v2')
      ? '3.10 (pre-migration)'
      : '3.10'
    : has('retry_failed')
      ? '3.4+'
      : has('batch_defer')
        ? '3.2-3.3'
        : has('workers')
          ? '3.1'
          : has('v1_functions')
            ? '3.0'
            : '2.x';
  return {
    schema,
    foundBy,
    generation,
    features,
    has,
    serverVersion: row.server_version,
    serverVersionNum: row.server_version_num,
    eventTypes: row.event_types,
    functions: [...fns].sort(),
    indexes,
  };
}
