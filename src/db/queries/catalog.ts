import type { QueryConfig } from 'pg';

/**
 * Catalog reads: what Procrastinate objects exist. to_regclass/to_regtype follow search_path,
 * so a Procrastinate schema outside `public` works when the role's search_path includes it.
 */
export function catalogProcrastinateObjects(): QueryConfig {
  return {
    text: `
      SELECT
        to_regclass('procrastinate_jobs') IS NOT NULL AS has_jobs,
        to_regclass('procrastinate_events') IS NOT NULL AS has_events,
        to_regclass('procrastinate_workers') IS NOT NULL AS has_workers,
        EXISTS (SELECT 1 FROM pg_attribute
                WHERE attrelid = to_regclass('procrastinate_jobs') AND attname = 'abort_requested' AND NOT attisdropped) AS has_abort_requested,
        EXISTS (SELECT 1 FROM pg_attribute
                WHERE attrelid = to_regclass('procrastinate_jobs') AND attname = 'worker_id' AND NOT attisdropped) AS has_worker_id,
        coalesce((SELECT array_agg(DISTINCT p.proname::text) FROM pg_proc p
                  WHERE p.proname LIKE 'procrastinate\\_%' AND pg_function_is_visible(p.oid)), '{}') AS functions,
        coalesce((SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e
                  WHERE e.enumtypid = to_regtype('procrastinate_job_event_type')), '{}') AS event_types,
        current_setting('server_version') AS server_version,
        current_setting('server_version_num')::int AS server_version_num`,
  };
}

/** Indexes on Procrastinate's jobs and events tables, with their definitions. */
export function catalogIndexes(): QueryConfig {
  return {
    text: `
      SELECT c.relname::text AS table_name, i.relname::text AS index_name, pg_get_indexdef(x.indexrelid) AS definition,
             x.indisvalid AS valid
      FROM pg_index x
      JOIN pg_class i ON i.oid = x.indexrelid
      JOIN pg_class c ON c.oid = x.indrelid
      WHERE x.indrelid IN (to_regclass('procrastinate_jobs'), to_regclass('procrastinate_events'))
      ORDER BY 1, 2`,
  };
}

/** What the connected role may do on Procrastinate's tables and in the database. */
export function catalogPrivileges(): QueryConfig {
  return {
    text: `
      SELECT current_user AS role,
             has_table_privilege('procrastinate_jobs', 'SELECT') AS jobs_select,
             has_table_privilege('procrastinate_jobs', 'UPDATE') AS jobs_update,
             has_table_privilege('procrastinate_jobs', 'DELETE') AS jobs_delete,
             has_table_privilege('procrastinate_events', 'SELECT') AS events_select,
             has_database_privilege(current_database(), 'CREATE') AS database_create,
             current_database() AS database`,
  };
}

/** Planner's row estimates: free, and good enough to decide between exact counts and samples. */
export function catalogTableEstimates(): QueryConfig {
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
