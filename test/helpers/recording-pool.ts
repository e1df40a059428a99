import type { Pool, QueryConfig } from 'pg';

/** A real pool that also remembers every statement sent through it, to EXPLAIN them afterwards. */
export function recordingPool(pool: Pool): { pool: Pool; statements: QueryConfig[] } {
  const statements: QueryConfig[] = [];
  const proxy = new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop === 'query') {
        return (config: QueryConfig | string, values?: unknown[]) => {
          const statement = typeof config === 'string' ? { text: config, values } : config;
          statements.push(statement as QueryConfig);
          return target.query(statement as QueryConfig);
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { pool: proxy, statements };
}
