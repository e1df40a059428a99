import type { QueryConfig } from 'pg';
import type { Query } from '../database.js';

/** What the catalog says about the Procrastinate objects of one schema. */
export interface CatalogRow {
  has_jobs: boolean;
  has_events: boolean;
  has_workers: boolean;
  has_abort_requested: boolean;
  has_worker_id: boolean;
  /** 3.10: procrastinate_paused_queues, jobs.lock_mode, jobs.deferred_at. */
  has_paused_queues: boolean;
  has_lock_mode: boolean;
  has_deferred_at: boolean;
  functions: string[];
  event_types: string[];
  server_version: string;
  server_version_num: number;
}

/**
 * A Procrastinate relation by name: through the search_path (to_regclass), or, when `$1` names a
 * schema, looked up in that schema's catalog rows. The catalog needs no USAGE on the schema,
 * which is how doctor reads a schema the role may not use yet.
 */
const relation = (name: string) =>
  `(CASE WHEN $1::text IS NULL THEN to_regclass('${name}')::oid
         ELSE (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1::text AND c.relname = '${name}') END)`;

/**
 * Catalog reads: what Procrastinate objects exist. to_regclass/to_regtype follow search_path,
 * so a Procrastinate schema outside `public` works when the role's search_path includes it.
 * `schema` reads one named schema instead (doctor, for a schema the role may not use).
 */
export function catalogProcrastinateObjects(schema: string | null = null): Query<CatalogRow> {
  return {
    text: `
      SELECT
        ${relation('procrastinate_jobs')} IS NOT NULL AS has_jobs,
        ${relation('procrastinate_events')} IS NOT NULL AS has_events,
        ${relation('procrastinate_workers')} IS NOT NULL AS has_workers,
        EXISTS (SELECT 1 FROM pg_attribute
                WHERE attrelid = ${relation('procrastinate_jobs')} AND attname = 'abort_requested' AND NOT attisdropped) AS has_abort_requested,
        EXISTS (SELECT 1 FROM pg_attribute
                WHERE attrelid = ${relation('procrastinate_jobs')} AND attname = 'worker_id' AND NOT attisdropped) AS has_worker_id,
        ${relation('procrastinate_paused_queues')} IS NOT NULL AS has_paused_queues,
        EXISTS (SELECT 1 FROM pg_attribute
                WHERE attrelid = ${relation('procrastinate_jobs')} AND attname = 'lock_mode' AND NOT attisdropped) AS has_lock_mode,
        EXISTS (SELECT 1 FROM pg_attribute
                WHERE attrelid = ${relation('procrastinate_jobs')} AND attname = 'deferred_at' AND NOT attisdropped) AS has_deferred_at,
        coalesce((SELECT array_agg(DISTINCT p.proname::text) FROM pg_proc p
                  WHERE p.proname LIKE 'procrastinate\\_%'
                    AND (CASE WHEN $1::text IS NULL THEN pg_function_is_visible(p.oid)
                              ELSE p.pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1::text) END)), '{}') AS functions,
        coalesce((SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e
                  WHERE e.enumtypid = (CASE WHEN $1::text IS NULL THEN to_regtype('procrastinate_job_event_type')::oid
                                            ELSE (SELECT t.oid FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                                                  WHERE n.nspname = $1::text AND t.typname = 'procrastinate_job_event_type') END)), '{}') AS event_types,
        current_setting('server_version') AS server_version,
        current_setting('server_version_num')::int AS server_version_num`,
    values: [schema],
  };
}

export interface CatalogProcrastinateSchemasRow {
  schema: string;
  path_position: number | null;
  usage: boolean;
  role: string;
}

/**
 * Every schema holding a procrastinate_jobs table, with its place on the search_path (null when
 * not on it). Read from pg_class by namespace: no USAGE on the schema is needed to find it.
 */
export function catalogProcrastinateSchemas(): Query<CatalogProcrastinateSchemasRow> {
  return {
    text: `
      SELECT n.nspname::text AS schema, array_position(current_schemas(false), n.nspname) AS path_position,
             has_schema_privilege(n.oid, 'USAGE') AS usage, current_user::text AS role
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = 'procrastinate_jobs' AND c.relkind IN ('r', 'p')
      ORDER BY array_position(current_schemas(false), n.nspname) NULLS LAST, n.nspname`,
  };
}

export interface CatalogIndexesRow {
  table_name: string;
  index_name: string;
  definition: string;
  valid: boolean;
}

/** Indexes on Procrastinate's jobs and events tables, with their definitions. */
export function catalogIndexes(schema: string | null = null): Query<CatalogIndexesRow> {
  return {
    text: `
      SELECT c.relname::text AS table_name, i.relname::text AS index_name, pg_get_indexdef(x.indexrelid) AS definition,
             x.indisvalid AS valid
      FROM pg_index x
      JOIN pg_class i ON i.oid = x.indexrelid
      JOIN pg_class c ON c.oid = x.indrelid
      WHERE x.indrelid IN (${relation('procrastinate_jobs')}, ${relation('procrastinate_events')})
      ORDER BY 1, 2`,
    values: [schema],
  };
}

export interface PrivilegeCatalogRow {
  role: string;
  database: string;
  database_create: boolean;
  /** Where Procrastinate's tables are; null when no schema on the search path holds them. */
  procrastinate_schema: string | null;
  procrastinate_schema_usage: boolean;
  jobq_schema_exists: boolean;
  jobq_schema_usage: boolean;
  jobq_schema_create: boolean;
  tables: { schema: string; name: string; select: boolean; insert: boolean; update: boolean; delete: boolean }[];
  /** Sequences owned by a serial column (identity columns need no privilege on theirs). */
  sequences: { schema: string; name: string; table: string; column: string; usage: boolean }[];
  functions: { schema: string; name: string; args: string; nargs: number; execute: boolean }[];
}

/**
 * Every privilege doctor weighs, in one read of the catalog: the database, Procrastinate's
 * schema with its tables, serial sequences and functions, and jobq's own schema with its tables.
 * Objects are checked by oid, which needs no USAGE on their schema. Procrastinate's schema is
 * the one given (JOB_QUEUE_SCHEMA, or the one jobq resolved), else where the search_path finds
 * procrastinate_jobs; the search_path skips a schema the role may not use, so such a schema that
 * the search_path names is looked at too.
 */
export function catalogPrivileges(schema: string | null = null): Query<PrivilegeCatalogRow> {
  return {
    values: [schema],
    text: `
      WITH search_path AS (
        SELECT array_agg(CASE WHEN s.name = '$user' THEN current_user::text ELSE s.name END) AS names
        FROM unnest(string_to_array(current_setting('search_path'), ',')) AS raw(entry),
             LATERAL (SELECT btrim(btrim(raw.entry), '"') AS name) s
      ), procrastinate AS (
        SELECT n.oid, n.nspname::text AS name
        FROM pg_namespace n
        WHERE n.oid = coalesce(
          (SELECT oid FROM pg_namespace WHERE nspname = $1::text),
          (SELECT c.relnamespace FROM pg_class c WHERE c.oid = to_regclass('procrastinate_jobs')),
          (SELECT c.relnamespace FROM pg_class c JOIN pg_namespace cn ON cn.oid = c.relnamespace, search_path sp
           WHERE c.relname = 'procrastinate_jobs' AND c.relkind IN ('r', 'p') AND cn.nspname::text = ANY (sp.names)
           ORDER BY array_position(sp.names, cn.nspname::text) LIMIT 1))
      ), jobq AS (
        SELECT oid, nspname::text AS name FROM pg_namespace WHERE nspname = 'jobq'
      ), owned AS (
        SELECT oid, name FROM procrastinate UNION ALL SELECT oid, name FROM jobq
      )
      SELECT current_user::text AS role,
             current_database()::text AS database,
             has_database_privilege(current_database(), 'CREATE') AS database_create,
             (SELECT name FROM procrastinate) AS procrastinate_schema,
             coalesce((SELECT has_schema_privilege(oid, 'USAGE') FROM procrastinate), false) AS procrastinate_schema_usage,
             EXISTS (SELECT 1 FROM jobq) AS jobq_schema_exists,
             coalesce((SELECT has_schema_privilege(oid, 'USAGE') FROM jobq), false) AS jobq_schema_usage,
             coalesce((SELECT has_schema_privilege(oid, 'CREATE') FROM jobq), false) AS jobq_schema_create,
             coalesce((
               SELECT jsonb_agg(jsonb_build_object(
                        'schema', o.name, 'name', c.relname::text,
                        'select', has_table_privilege(c.oid, 'SELECT'), 'insert', has_table_privilege(c.oid, 'INSERT'),
                        'update', has_table_privilege(c.oid, 'UPDATE'), 'delete', has_table_privilege(c.oid, 'DELETE')) ORDER BY o.name, c.relname)
               FROM pg_class c JOIN owned o ON o.oid = c.relnamespace
               WHERE c.relkind IN ('r', 'p') AND (o.name = 'jobq' OR c.relname LIKE 'procrastinate\\_%')), '[]') AS tables,
             coalesce((
               SELECT jsonb_agg(jsonb_build_object(
                        'schema', p.name, 'name', s.relname::text, 'table', t.relname::text, 'column', a.attname::text,
                        'usage', has_sequence_privilege(s.oid, 'USAGE')) ORDER BY s.relname)
               FROM procrastinate p
               JOIN pg_class s ON s.relnamespace = p.oid AND s.relkind = 'S'
               JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a'
               JOIN pg_class t ON t.oid = d.refobjid
               JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid), '[]') AS sequences,
             coalesce((
               SELECT jsonb_agg(jsonb_build_object(
                        'schema', p.name, 'name', f.proname::text, 'args', oidvectortypes(f.proargtypes), 'nargs', f.pronargs,
                        'execute', has_function_privilege(f.oid, 'EXECUTE')) ORDER BY f.proname, f.pronargs)
               FROM procrastinate p JOIN pg_proc f ON f.pronamespace = p.oid
               WHERE f.proname LIKE 'procrastinate\\_%'), '[]') AS functions`,
  };
}

export interface CatalogTableEstimatesRow {
  table_name: string;
  estimated_rows: number;
}

/** Planner's row estimates: free, and good enough to decide between exact counts and samples. */
export function catalogTableEstimates(): Query<CatalogTableEstimatesRow> {
  return {
    text: `
      SELECT c.relname::text AS table_name, greatest(c.reltuples, 0)::bigint AS estimated_rows, c.relpages::bigint AS pages
      FROM pg_class c
      WHERE c.oid IN (to_regclass('procrastinate_jobs'), to_regclass('procrastinate_events'), to_regclass('procrastinate_workers'))`,
  };
}

export function catalogPing(): QueryConfig {
  return { text: 'SELECT 1 AS ok' };
}

export interface CatalogWalPositionRow {
  lsn: string | null;
}

/** On the primary: the WAL position now. A replica that replayed up to it is not behind. */
export function catalogWalPosition(): Query<CatalogWalPositionRow> {
  return { text: `SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS lsn` };
}

export interface CatalogReplicaLagRow {
  in_recovery: boolean;
  lag_seconds: number | null;
}

/**
 * On a replica: whether it is a standby, and how far behind a position of the primary it is. At
 * or past that position it is current (0); otherwise the age of the last transaction it replayed.
 */
export function catalogReplicaLag(primaryLsn: string | null): Query<CatalogReplicaLagRow> {
  return {
    text: `
      SELECT pg_is_in_recovery() AS in_recovery,
             -- NULL: behind, and no transaction replayed since it started, so how far is unknown.
             CASE WHEN NOT pg_is_in_recovery() THEN 0
                  WHEN $1::pg_lsn IS NOT NULL AND pg_last_wal_replay_lsn() >= $1::pg_lsn THEN 0
                  ELSE greatest(0, extract(epoch FROM now() - pg_last_xact_replay_timestamp()))::float8 END AS lag_seconds`,
    values: [primaryLsn],
  };
}

export interface CatalogConnectionRow {
  ssl: boolean;
  tls_version: string | null;
  server_port: number;
  in_recovery: boolean;
}

/** How this connection reaches the server: TLS in use (as the server sees it) and the port it listens on. */
export function catalogConnection(): Query<CatalogConnectionRow> {
  return {
    text: `
      SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false) AS ssl,
             (SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS tls_version,
             current_setting('port')::int AS server_port,
             pg_is_in_recovery() AS in_recovery`,
  };
}

export interface CatalogLockWaitersRow {
  waiters: number;
}

/**
 * Sessions waiting for a lock this session holds (a worker queued behind a bulk batch's rows, a
 * migration behind its table locks). Run inside the batch, just before it commits: waiters queue
 * until then, and the batch's own backend is the one to ask about (through a pooler too, since
 * one transaction keeps one server connection). pg_locks and pg_blocking_pids need no privilege
 * and see every role's sessions; ungranted locks are few, so pg_blocking_pids runs on few rows.
 */
export function catalogLockWaiters(): Query<CatalogLockWaitersRow> {
  return {
    text: `SELECT count(DISTINCT l.pid)::int AS waiters FROM pg_locks l WHERE NOT l.granted AND pg_backend_pid() = ANY (pg_blocking_pids(l.pid))`,
  };
}
