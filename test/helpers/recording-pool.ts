import type { QueryConfig } from 'pg';
import type { Db, Queryable } from '../../src/db/database.js';

/** A real database handle that also remembers every statement sent through it, to EXPLAIN them afterwards. */
export function recordingPool(db: Db): { pool: Db; statements: QueryConfig[] } {
  const statements: QueryConfig[] = [];
  const record = (target: Queryable): Queryable['query'] =>
    ((config: QueryConfig | string, values?: unknown[]) => {
      const statement = typeof config === 'string' ? { text: config, values } : config;
      statements.push(statement as QueryConfig);
      return target.query(statement as QueryConfig);
    }) as Queryable['query'];
  const proxy: Db = Object.create(db) as Db;
  Object.assign(proxy, {
    query: record(db),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>, options?: Parameters<Db['transaction']>[1]) => db.transaction((tx) => fn({ query: record(tx) }), options),
  });
  return { pool: proxy, statements };
}
