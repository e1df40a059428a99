import type { Db } from './database.js';
import { catalogIndexes, catalogProcrastinateObjects } from './queries/catalog.js';
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
  /** Release line as far as the catalog tells: '2.x', '3.0', '3.1+', '3.2-3.3', '3.4+'. */
  generation: string;
  features: Feature[];
  has(feature: Feature): boolean;
  serverVersion: string;
  serverVersionNum: number;
  eventTypes: string[];
  functions: string[];
  indexes: IndexInfo[];
}

interface CatalogRow {
  has_jobs: boolean;
  has_events: boolean;
  has_workers: boolean;
  has_abort_requested: boolean;
  has_worker_id: boolean;
  functions: string[];
  event_types: string[];
  server_version: string;
  server_version_num: number;
}

/** A partial index covering failed jobs turns failed listings and counts into index reads. */
export function isFailedIndex(index: IndexInfo): boolean {
  return index.table === 'procrastinate_jobs' && index.valid && /WHERE\s*\(?\s*\(?status\s*=\s*'failed'/i.test(index.definition);
}

/**
 * Reads the catalog once and names the features present (not a version string: 3.x has none).
 * `schema` reads that schema's catalog instead of following the search_path: doctor uses it
 * for a schema the role may not use yet (the search_path skips those).
 */
export async function detectSchema(pool: Db, options: { schema?: string | null } = {}): Promise<SchemaInfo> {
  let row: CatalogRow;
  let indexes: IndexInfo[];
  try {
    const result = await pool.query<CatalogRow>(catalogProcrastinateObjects(options.schema ?? null));
    row = result.rows[0]!;
    if (!row.has_jobs || !row.has_events) {
      throw new JobqError('not_procrastinate', 'This database has no Procrastinate tables (procrastinate_jobs, procrastinate_events): it is not a Procrastinate database, or they live in a schema outside the search_path.', {
        hint: 'Point JOB_QUEUE_DATABASE_URL at the database your Procrastinate app uses; if its tables are in another schema, add ?options=-c%20search_path%3Dthat_schema to the URL.',
        runbookSection: 'database-connectivity',
      });
    }
    const indexResult = await pool.query<{ table_name: string; index_name: string; definition: string; valid: boolean }>(catalogIndexes(options.schema ?? null));
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
  if (fns.has('procrastinate_defer_jobs_v1')) features.push('batch_defer');
  if (fns.has('procrastinate_retry_job_v2') && events.has('retried')) features.push('retry_failed');
  if (events.has('retried')) features.push('retried_event');
  if (indexes.some(isFailedIndex)) features.push('failed_index');

  const has = (feature: Feature) => features.includes(feature);
  const generation = has('retry_failed') ? '3.4+' : has('batch_defer') ? '3.2-3.3' : has('workers') ? '3.1' : has('v1_functions') ? '3.0' : '2.x';
  return {
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
