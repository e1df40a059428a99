import type { QueryConfig } from 'pg';
import { JobqError, asJobqError } from '../errors.js';
import { ident } from './ident.js';
import type { Db } from './database.js';
import {
  jobqAppliedMigrations,
  jobqCreateAuditLog,
  jobqCreateMigrationsTable,
  jobqCreateSchema,
  jobqMigrationLock,
  jobqMigrationLockTimeout,
  jobqRecordMigration,
  jobqSchemaState,
} from './queries/jobq.js';
import { confirmationsCreateTable, confirmationsWidenKinds } from './queries/jobq-confirmations.js';
import { alertsCreateTables } from './queries/jobq-alerts.js';
import { seenRequestsCreateTable } from './queries/jobq-requests.js';
import { leasesCreateTable } from './queries/jobq-leases.js';
import { pausesCreateTable } from './queries/jobq-pauses.js';
import { finalCountsCreateTables } from './queries/jobq-final-counts.js';

interface Migration {
  version: number;
  name: string;
  statements: () => QueryConfig[];
}

/** jobq's own schema, in order. Append only: a released migration never changes. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'audit log', statements: () => [jobqCreateAuditLog()] },
  { version: 2, name: 'slack confirmations', statements: () => [confirmationsCreateTable()] },
  { version: 3, name: 'alerts, silences and summaries', statements: () => alertsCreateTables() },
  { version: 4, name: 'seen slack requests', statements: () => [seenRequestsCreateTable()] },
  { version: 5, name: 'leadership leases', statements: () => [leasesCreateTable()] },
  { version: 6, name: 'who paused a queue, and why', statements: () => [pausesCreateTable()] },
  { version: 7, name: 'confirmations for pausing', statements: () => [confirmationsWidenKinds()] },
  { version: 8, name: 'background counts of final-status jobs', statements: () => finalCountsCreateTables() },
];

export interface MigrateResult {
  /** Versions applied by this call (empty when the schema was already current). */
  applied: number[];
  current: number;
}

/**
 * Creates and migrates the `jobq` schema, idempotently. Runs in one transaction under an
 * advisory lock, so instances starting together wait for each other and none sees a half-made
 * schema. Needs CREATE on the database only the first time (or an admin-created schema).
 */
export async function migrate(pool: Db): Promise<MigrateResult> {
  let who = { role: 'the jobq role', database: 'the database', schemaExists: false };
  try {
    return await pool.transaction(async (client) => {
      await client.query(jobqMigrationLockTimeout());
      await client.query(jobqMigrationLock());
      const state = (await client.query(jobqSchemaState())).rows[0]!;
      who = { role: state.role, database: state.database, schemaExists: state.schema_exists };
      if (!state.schema_exists) await client.query(jobqCreateSchema());
      if (!state.migrations_table_exists) await client.query(jobqCreateMigrationsTable());
      const done = new Set((await client.query(jobqAppliedMigrations())).rows.map((r) => r.version));
      const applied: number[] = [];
      for (const migration of MIGRATIONS) {
        if (done.has(migration.version)) continue;
        for (const statement of migration.statements()) await client.query(statement);
        await client.query(jobqRecordMigration(migration.version, migration.name));
        applied.push(migration.version);
      }
      return { applied, current: Math.max(0, ...done, ...applied) };
    });
  } catch (error) {
    if ((error as { code?: string }).code === '42501') throw permissionError(who, error);
    throw asJobqError(error);
  }
}

function permissionError(who: { role: string; database: string; schemaExists: boolean }, cause: unknown): JobqError {
  const role = ident(who.role);
  const database = ident(who.database);
  if (who.schemaExists) {
    return new JobqError(
      'db_permission',
      `The database role ${who.role} may not create jobq's tables in the existing schema \`jobq\` (database ${who.database}), where jobq keeps its audit log. Procrastinate's tables are not touched.`,
      {
        hint: `Have the schema's owner run \`GRANT USAGE, CREATE ON SCHEMA jobq TO ${role};\` (or \`ALTER SCHEMA jobq OWNER TO ${role};\`), then start jobq again.`,
        runbookSection: 'database-connectivity',
        cause,
      },
    );
  }
  return new JobqError(
    'db_permission',
    `The database role ${who.role} may not create jobq's own schema \`jobq\` in database ${who.database}, where jobq keeps its audit log. Procrastinate's tables are not touched.`,
    {
      hint: `Either grant it: \`GRANT CREATE ON DATABASE ${database} TO ${role};\`, or have an admin run \`CREATE SCHEMA jobq AUTHORIZATION ${role};\`, then start jobq again.`,
      runbookSection: 'database-connectivity',
      cause,
    },
  );
}
