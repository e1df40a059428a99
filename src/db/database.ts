import { escapeIdentifier, type QueryConfig, type QueryResult, type QueryResultRow } from 'pg';
import pg from 'pg';
import type { Logger } from '../log.js';
import { redactSecrets } from '../redact.js';

// int8 (bigint ids and counts) as JS numbers: job ids stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/**
 * A statement that carries the type of its rows: every builder in db/queries returns one, so a
 * call site gets typed rows without restating their shape.
 */
export interface Query<R extends QueryResultRow = QueryResultRow> extends QueryConfig {
  /** Never set: it only ties the row type to the statement. */
  readonly __row?: R;
}

/** Anything a statement can be sent to: the database (its own short transaction) or an open transaction. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(statement: Query<R> | string, values?: unknown[]): Promise<QueryResult<R>>;
}

/** jobq's limits, applied to every transaction it opens. */
export interface Limits {
  statementTimeoutMs: number;
  lockTimeoutMs: number;
}

export interface DbOptions extends Limits {
  /** pg settings for each connection (host, port, user, TLS...). No server settings: poolers refuse them. */
  connection: pg.ClientConfig;
  /** pg's Client class, e.g. one that negotiates TLS as libpq does. */
  Client?: typeof pg.Client;
  max: number;
  /** Name this jobq's connections carry in pg_stat_activity (a parameter every pooler passes on). */
  applicationName?: string;
  /** Wraps taking a connection (TLS negotiation retries the attempt that taught it). */
  connecting?: <T>(connect: () => Promise<T>) => Promise<T>;
  /** Turns a connection failure into a clearer error (TLS refusals), or returns undefined. */
  explain?: (error: unknown) => Error | undefined;
}

export interface TransactionOptions {
  /** Overrides the lock timeout for this transaction (migrations wait for each other longer). */
  lockTimeoutMs?: number;
  /** Makes it read-only (what a hot standby can serve). */
  readOnly?: boolean;
}

/**
 * jobq's way into PostgreSQL. Every statement runs in a transaction jobq opens and sets up with
 * `SET LOCAL` (statement, lock and idle-in-transaction timeouts, and the search_path of
 * Procrastinate's schema), so the limits hold through PgBouncer in transaction mode, RDS Proxy and
 * the like: nothing is set per session or sent as a startup parameter (poolers refuse those, or
 * hand the next transaction to another server connection), and no prepared statement, temporary
 * table or session advisory lock outlives a transaction.
 */
export interface Db extends Queryable {
  /** Runs fn's statements in one transaction; commits when fn resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** The schema Procrastinate's tables are in, once known: every transaction resolves names there first. */
  useSchema(schema: string | null): void;
  readonly schema: string | null;
  readonly limits: Limits;
  /** Connections open and waiting, for tests and metrics. */
  readonly stats: { total: number; idle: number; waiting: number };
  end(): Promise<void>;
}

export function openDb(options: DbOptions, log?: Logger): Db {
  const pool = new pg.Pool({
    ...options.connection,
    ...(options.Client ? { Client: options.Client } : {}),
    application_name: options.applicationName ?? 'jobq',
    max: options.max,
    // A frozen network or server must not hold a reply past Slack's patience: give up on a
    // connection in 2 s, and on a statement the server never answers a little after its own timeout.
    connectionTimeoutMillis: 2_000,
    query_timeout: options.statementTimeoutMs + 2_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
  });
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', (err) => log?.warn({ err: { message: redactSecrets(err.message) } }, 'idle database connection lost'));

  let schema: string | null = null;
  const limits: Limits = { statementTimeoutMs: options.statementTimeoutMs, lockTimeoutMs: options.lockTimeoutMs };

  /** One round trip: BEGIN and the SET LOCALs, as a single simple-protocol string (no parameters). */
  const prelude = (tx: TransactionOptions) => {
    const lock = tx.lockTimeoutMs ?? limits.lockTimeoutMs;
    const parts = [
      tx.readOnly ? 'BEGIN READ ONLY' : 'BEGIN',
      `SET LOCAL statement_timeout = ${Math.round(limits.statementTimeoutMs)}`,
      `SET LOCAL lock_timeout = ${Math.round(lock)}`,
      // A transaction left idle (a stuck process) is ended by the server and frees its locks.
      `SET LOCAL idle_in_transaction_session_timeout = ${Math.max(Math.round(limits.statementTimeoutMs) * 2, 10_000)}`,
    ];
    if (schema) parts.push(`SET LOCAL search_path = ${escapeIdentifier(schema)}, pg_temp`);
    return parts.join('; ');
  };

  const connecting = options.connecting ?? ((connect) => connect());
  async function connect(): Promise<pg.PoolClient> {
    try {
      return await connecting(() => pool.connect());
    } catch (error) {
      throw options.explain?.(error) ?? error;
    }
  }

  async function transaction<T>(fn: (tx: Queryable) => Promise<T>, tx: TransactionOptions = {}): Promise<T> {
    const client = await connect();
    let broken: Error | undefined;
    // A connection that breaks while checked out between two statements (the server restarted,
    // a pooler or network cut it) emits 'error' with no query to reject: without a listener Node
    // would throw it out of the process. The next statement on it fails and reports it instead.
    const onError = (error: Error) => {
      broken = error;
    };
    client.on('error', onError);
    try {
      await client.query(prelude(tx));
      const result = await fn({ query: (statement: QueryConfig | string, values?: unknown[]) => client.query(statement as string, values) } as Queryable);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollback: unknown) => {
        // A connection that cannot even roll back is not handed to the next caller.
        broken = rollback instanceof Error ? rollback : new Error(String(rollback));
      });
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  return {
    query: (statement, values) => transaction((tx) => tx.query(statement, values)),
    transaction,
    useSchema(name) {
      schema = name;
    },
    get schema() {
      return schema;
    },
    limits,
    get stats() {
      return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
    },
    end: () => pool.end(),
  };
}
