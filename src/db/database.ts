import { escapeIdentifier, type QueryConfig, type QueryResult, type QueryResultRow } from 'pg';
import pg from 'pg';
import type { Logger } from '../log.js';
import { JobqError } from '../errors.js';
import { redactSecrets } from '../redact.js';

const busy = (waiting: number) =>
  new JobqError('busy', `jobq is busy: every database connection is in use and ${waiting} request${waiting === 1 ? ' is' : 's are'} waiting. Try again in a moment.`, {
    hint: "If this happens often, raise JOBQ_POOL_MAX (and the database's or pooler's connection limit).",
    runbookSection: 'troubleshooting',
  });

// int8 (bigint ids and counts) as JS numbers: job ids stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/**
 * A statement that carries the type of its rows: every builder in db/queries returns one, so a
 * call site gets typed rows without restating their shape.
 */
export interface Query<R extends QueryResultRow = QueryResultRow> extends QueryConfig {
  /** Never set: it only ties the row type to the statement. */
  readonly __row?: R;
  /**
   * Planner settings for this one statement (`SET LOCAL`, then back to the default), for the few
   * statements whose index plan must not flip with table size: at 10M rows the planner prefers a
   * full scan over Procrastinate's partial index on live jobs, which reads 40 times more pages.
   */
  readonly planner?: Readonly<Partial<Record<'enable_seqscan' | 'enable_bitmapscan', 'on' | 'off'> & { max_parallel_workers_per_gather: number }>>;
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
  /** Requests allowed to wait for a connection when all are busy; more are turned away at once. */
  maxWaiting?: number;
  /** How long a request waits for a busy pool's connection before it is told jobq is busy. */
  queueWaitMs?: number;
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
  /**
   * Runs fn's statements each on its own, outside any transaction, on a connection of its own
   * with these limits as session settings: for the few statements that refuse a transaction
   * block (CREATE and DROP INDEX CONCURRENTLY). The connection is closed afterwards, so nothing
   * set on it reaches another caller.
   */
  alone<T>(fn: (session: Queryable) => Promise<T>, limits: Limits): Promise<T>;
  /** The schema Procrastinate's tables are in, once known: every transaction resolves names there first. */
  useSchema(schema: string | null): void;
  readonly schema: string | null;
  readonly limits: Limits;
  /** Connections open and waiting, for tests and metrics. */
  readonly stats: { total: number; idle: number; waiting: number };
  end(): Promise<void>;
}

export function openDb(options: DbOptions, log?: Logger): Db {
  // A frozen network or server must not hold a reply past Slack's patience: a new connection gives
  // up in 2 s (or the URL's connect_timeout), a statement the server never answers a little after
  // its own timeout. Waiting for a busy pool's connection is another matter, with its own limit.
  const connectTimeoutMs = options.connection.connectionTimeoutMillis || 2_000;
  const Base = options.Client ?? pg.Client;
  const pool = new pg.Pool({
    ...options.connection,
    Client: class extends Base {
      constructor(config?: string | pg.ClientConfig) {
        super(typeof config === 'string' ? config : { ...config, connectionTimeoutMillis: connectTimeoutMs });
      }
    } as typeof pg.Client,
    application_name: options.applicationName ?? 'jobq',
    max: options.max,
    connectionTimeoutMillis: options.queueWaitMs ?? connectTimeoutMs,
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
  const maxWaiting = options.maxWaiting ?? 200;
  /**
   * Takes a connection. When every connection is busy, the request waits in pg's queue for up to
   * the connection timeout; past it, or when the queue is already long, it gets "busy, try again",
   * never the outage message, which belongs to a database that cannot be reached.
   */
  async function connect(): Promise<pg.PoolClient> {
    const full = pool.totalCount >= options.max && pool.idleCount === 0;
    if (full && pool.waitingCount >= maxWaiting) throw busy(pool.waitingCount);
    try {
      return await connecting(() => pool.connect());
    } catch (error) {
      // pg-pool's words for a wait in its queue that ran out; a new connection that fails says otherwise.
      if (full && /timeout exceeded when trying to connect/i.test((error as Error).message) && pool.totalCount > 0) throw busy(pool.waitingCount);
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
      const result = await fn({ query: (statement: Query | string, values?: unknown[]) => run(client, statement, values) } as Queryable);
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

  /** A statement with its planner settings scoped to it: set before, back to the defaults after. */
  async function run(client: pg.PoolClient, statement: Query | string, values?: unknown[]) {
    const planner = typeof statement === 'string' ? undefined : statement.planner;
    if (!planner) return client.query(statement as string, values);
    await client.query(plannerSettings(planner));
    try {
      return await client.query(statement as QueryConfig);
    } finally {
      await client.query(
        Object.keys(planner)
          .map((name) => `SET LOCAL ${name} TO DEFAULT`)
          .join('; '),
      );
    }
  }

  async function alone<T>(fn: (session: Queryable) => Promise<T>, session: Limits): Promise<T> {
    const client = await connect();
    let broken: Error | undefined;
    const onError = (error: Error) => {
      broken = error;
    };
    client.on('error', onError);
    // The pool's client-side timeout follows jobq's short statement timeout: a long statement gets its own.
    const queryTimeout = session.statementTimeoutMs + 2_000;
    try {
      const settings = [`SET statement_timeout = ${Math.round(session.statementTimeoutMs)}`, `SET lock_timeout = ${Math.round(session.lockTimeoutMs)}`];
      if (schema) settings.push(`SET search_path = ${escapeIdentifier(schema)}, pg_temp`);
      await client.query({ text: settings.join('; '), query_timeout: queryTimeout } as QueryConfig);
      return await fn({
        query: (statement: Query | string, values?: unknown[]) =>
          client.query({ ...(typeof statement === 'string' ? { text: statement, values } : statement), query_timeout: queryTimeout } as QueryConfig),
      } as Queryable);
    } finally {
      client.off('error', onError);
      // Never back in the pool: its session settings end with it.
      client.release(broken ?? true);
    }
  }

  return {
    query: (statement, values) => transaction((tx) => tx.query(statement, values)),
    transaction,
    alone,
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

/** The SET LOCAL statements of a Query's planner settings (also what the benchmark's EXPLAIN runs). */
export function plannerSettings(planner: NonNullable<Query['planner']>): string {
  const value = (v: (typeof planner)[keyof typeof planner]) => (typeof v === 'number' ? String(Math.max(0, Math.round(v))) : v === 'off' ? 'off' : 'on');
  return (Object.keys(planner) as (keyof typeof planner)[]).map((name) => `SET LOCAL ${name} = ${value(planner[name])}`).join('; ');
}
