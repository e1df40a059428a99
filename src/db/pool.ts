import pg from 'pg';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { redactSecrets } from '../redact.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

// int8 (bigint ids and counts) as JS numbers: job ids stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export interface PoolOptions {
  connectionString: string;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
  max: number;
}

export function poolOptionsFrom(config: Config, connectionString: string): PoolOptions {
  return {
    connectionString,
    statementTimeoutMs: config.JOBQ_STATEMENT_TIMEOUT_MS,
    lockTimeoutMs: config.JOBQ_LOCK_TIMEOUT_MS,
    max: config.JOBQ_POOL_MAX,
  };
}

/**
 * A small pool that can never become a problem for Procrastinate's workers: every statement is
 * cut at the statement timeout, every lock wait at the lock timeout (so a write of ours waits
 * behind a worker for at most a moment, then gives up instead of queueing workers behind it),
 * and a transaction left idle is ended by the server.
 */
export function createPool(options: PoolOptions, log?: Logger): Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    application_name: 'jobq',
    max: options.max,
    statement_timeout: options.statementTimeoutMs,
    lock_timeout: options.lockTimeoutMs,
    idle_in_transaction_session_timeout: Math.max(options.statementTimeoutMs * 2, 10_000),
    // A frozen network or server must not hold a reply past Slack's patience: give up on a
    // connection in 2 s, and on a query the server never answers a little after its own timeout.
    connectionTimeoutMillis: 2_000,
    query_timeout: options.statementTimeoutMs + 2_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', (err) => log?.warn({ err: { message: redactSecrets(err.message) } }, 'idle database connection lost'));
  return pool;
}

/** Runs fn in one transaction on one client; rolls back on any error. */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
