import { redactSecrets } from './redact.js';

import type { RunbookSection } from './runbook-sections.js';

export type { RunbookSection };

export type JobqErrorCode =
  | 'config_missing'
  | 'config_invalid'
  | 'usage'
  | 'db_unreachable'
  | 'busy'
  | 'db_timeout'
  | 'db_permission'
  | 'not_procrastinate'
  | 'not_found'
  | 'wrong_status'
  | 'conflict'
  | 'unsupported'
  | 'expired'
  | 'forbidden'
  | 'disabled'
  | 'internal';

/** An error that says what happened and what to do next. Everything user-facing throws these. */
export class JobqError extends Error {
  readonly code: JobqErrorCode;
  readonly hint: string | undefined;
  readonly runbookSection: RunbookSection | undefined;

  constructor(code: JobqErrorCode, message: string, options: { hint?: string; runbookSection?: RunbookSection; cause?: unknown } = {}) {
    super(redactSecrets(message), { cause: options.cause });
    this.name = 'JobqError';
    this.code = code;
    this.hint = options.hint;
    this.runbookSection = options.runbookSection;
  }

  /** Usage errors exit 2, everything else operational exits 1. */
  get exitCode(): number {
    return this.code === 'usage' ? 2 : 1;
  }
}

const PG_UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', '57P03', '3D000', '28P01', '28000']);

/** Turns anything thrown (pg errors included) into a JobqError without leaking secrets. */
export function asJobqError(error: unknown): JobqError {
  if (error instanceof JobqError) return error;
  const err = error as { code?: string; message?: string } | undefined;
  const code = err?.code ?? '';
  const message = redactSecrets(err?.message ?? String(error));
  if (PG_UNREACHABLE.has(code) || (/connect|Connection terminated|timeout expired/i.test(message) && !code.startsWith('57'))) {
    return new JobqError('db_unreachable', `Cannot reach the database: ${message}`, {
      hint: 'Check JOB_QUEUE_DATABASE_URL, that PostgreSQL is up, and that this host may connect to it.',
      runbookSection: 'database-connectivity',
      cause: error,
    });
  }
  if (code === '57014') {
    return new JobqError('db_timeout', 'The query took longer than the statement timeout and was cancelled.', {
      hint: 'Raise JOBQ_STATEMENT_TIMEOUT_MS, or run `jobq doctor` to see which recommended indexes are missing.',
      runbookSection: 'database-connectivity',
      cause: error,
    });
  }
  if (code === '55P03') {
    return new JobqError(
      'conflict',
      'jobq waited too long for a lock held by another session (a worker, a migration, a VACUUM FULL); nothing was changed. Try again in a moment.',
      {
        runbookSection: 'retrying-jobs-safely',
        cause: error,
      },
    );
  }
  if (code === '42501') {
    return new JobqError('db_permission', `The database role lacks a privilege: ${message}`, {
      hint: 'Run `jobq doctor` to see which privileges the role has and which it needs.',
      runbookSection: 'database-connectivity',
      cause: error,
    });
  }
  return new JobqError('internal', `Unexpected error: ${message}`, { runbookSection: 'troubleshooting', cause: error });
}
