import type { QueryConfig } from 'pg';
import type { Query } from '../database.js';

/**
 * Statements on jobq's own tables, all in the `jobq` schema. Procrastinate's tables are never
 * altered: everything the bot keeps for itself (migrations, audit log) lives here.
 */

export const JOBQ_SCHEMA = 'jobq';

/** One key for every jobq instance on a database: migrations run one instance at a time. */
const MIGRATION_LOCK_KEY = 0x6a6f6271; // 'jobq'

export interface JobqSchemaStateRow {
  schema_exists: boolean;
  migrations_table_exists: boolean;
  role: string;
  database: string;
}

/**
 * Read from the catalog (to_regclass would need USAGE on the schema) before any DDL: CREATE SCHEMA / CREATE TABLE ... IF NOT EXISTS check the CREATE privilege
 * before checking existence, so a role that an admin prepared for (schema created for it, no
 * CREATE on the database) must not issue them when there is nothing to create.
 */
export function jobqSchemaState(): Query<JobqSchemaStateRow> {
  return {
    text: `
      SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'jobq') AS schema_exists,
             EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = 'jobq' AND c.relname = 'schema_migrations') AS migrations_table_exists,
             current_user::text AS role,
             current_database()::text AS database`,
  };
}

/** Migrations wait for each other rather than give up after the pool's short lock timeout. */
export function jobqMigrationLockTimeout(): QueryConfig {
  return { text: `SELECT set_config('lock_timeout', '30s', true)` };
}

/** Serialises migrations of concurrently starting instances; released at commit. */
export function jobqMigrationLock(): QueryConfig {
  return { text: 'SELECT pg_advisory_xact_lock($1::bigint)', values: [MIGRATION_LOCK_KEY] };
}

export function jobqCreateSchema(): QueryConfig {
  return { text: 'CREATE SCHEMA IF NOT EXISTS jobq' };
}

export function jobqCreateMigrationsTable(): QueryConfig {
  return {
    text: `
      CREATE TABLE IF NOT EXISTS jobq.schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`,
  };
}

export interface JobqAppliedMigrationsRow {
  version: number;
}

export function jobqAppliedMigrations(): Query<JobqAppliedMigrationsRow> {
  return { text: 'SELECT version FROM jobq.schema_migrations ORDER BY version' };
}

export function jobqRecordMigration(version: number, name: string): QueryConfig {
  return { text: 'INSERT INTO jobq.schema_migrations (version, name) VALUES ($1::int, $2::text)', values: [version, name] };
}

/**
 * Migration 1: the audit log. Newest-first listing walks the primary key backwards (keyset
 * pagination), so no other index is needed. `running` marks a batched operation in progress:
 * its job_count grows inside each batch's own transaction, so it is exact even after a crash.
 */
export function jobqCreateAuditLog(): QueryConfig {
  return {
    text: `
      CREATE TABLE jobq.audit_log (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        actor_kind text NOT NULL CHECK (actor_kind IN ('slack', 'cli')),
        actor_id text NOT NULL,
        actor_name text,
        action text NOT NULL,
        filters jsonb NOT NULL DEFAULT '{}'::jsonb,
        job_count bigint NOT NULL DEFAULT 0,
        outcome text NOT NULL CHECK (outcome IN ('running', 'ok', 'refused', 'failed', 'stopped')),
        message text
      )`,
  };
}

export interface AuditRow {
  actorKind: string;
  actorId: string;
  actorName: string | null;
  action: string;
  filters: Record<string, unknown>;
  jobCount: number;
  outcome: string;
  message: string | null;
}

export interface AuditInsertRow {
  id: number;
}

/** A finished entry gets finished_at = at; a `running` one gets it when it ends. */
export function auditInsert(row: AuditRow): Query<AuditInsertRow> {
  return {
    text: `
      INSERT INTO jobq.audit_log (actor_kind, actor_id, actor_name, action, filters, job_count, outcome, message, finished_at)
      VALUES ($1::text, $2::text, $3::text, $4::text, $5::jsonb, $6::bigint, $7::text, $8::text,
              CASE WHEN $7::text = 'running' THEN NULL ELSE now() END)
      RETURNING id`,
    values: [row.actorKind, row.actorId, row.actorName, row.action, JSON.stringify(row.filters), row.jobCount, row.outcome, row.message],
  };
}

export function auditAddJobs(id: number, count: number): QueryConfig {
  return { text: 'UPDATE jobq.audit_log SET job_count = job_count + $2::bigint WHERE id = $1::bigint', values: [id, count] };
}

/** `details` are merged into the entry's filters (a bulk change's pacing, known only at its end). */
export function auditFinish(id: number, outcome: string, message: string | null, details: Record<string, unknown> | null = null): QueryConfig {
  return {
    text: `
      UPDATE jobq.audit_log SET outcome = $2::text, message = $3::text, finished_at = now(), filters = filters || coalesce($4::jsonb, '{}'::jsonb)
      WHERE id = $1::bigint RETURNING job_count`,
    values: [id, outcome, message, details === null ? null : JSON.stringify(details)],
  };
}

export interface AuditPageRow {
  id: number;
  at: Date;
  finished_at: Date | null;
  actor_kind: 'slack' | 'cli';
  actor_id: string;
  actor_name: string | null;
  action: string;
  filters: Record<string, unknown>;
  job_count: number;
  outcome: 'running' | 'ok' | 'refused' | 'failed' | 'stopped';
  message: string | null;
}

/** Newest first, strictly older than the cursor id (keyset pagination on the primary key). */
export function auditPage(cursor: number | null, limit: number): Query<AuditPageRow> {
  return {
    text: `
      SELECT id, at, finished_at, actor_kind, actor_id, actor_name, action, filters, job_count, outcome, message
      FROM jobq.audit_log
      WHERE $1::bigint IS NULL OR id < $1::bigint
      ORDER BY id DESC
      LIMIT $2::int`,
    values: [cursor, limit],
  };
}
