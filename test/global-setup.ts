import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { SHAPES, fixtureSql, templateName } from './helpers/fixtures.js';
import { DEFAULT_ADMIN_URL, answers, startThrowawayServer } from './helpers/postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
  }
}

/**
 * Finds a PostgreSQL server (TEST_DATABASE_URL, else localhost:5432, else a throwaway one from
 * the binaries on this machine) and builds one template database per fixture shape; each test
 * file clones a template, which takes milliseconds.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  let adminUrl = process.env.TEST_DATABASE_URL ?? DEFAULT_ADMIN_URL;
  let stop = () => {};
  if (!(await answers(adminUrl))) {
    const throwaway = process.env.TEST_DATABASE_URL ? undefined : startThrowawayServer();
    if (!throwaway) {
      throw new Error(
        `No PostgreSQL answers at ${adminUrl.replace(/:[^:@/]*@/, ':***@')}. Start one (on Debian: ` +
          `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start), or set TEST_DATABASE_URL ` +
          `to a server where this role may CREATE DATABASE.`,
      );
    }
    adminUrl = throwaway.url;
    stop = throwaway.stop;
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    for (const shape of SHAPES) {
      const name = templateName(shape);
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${name}`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      await client.query(fixtureSql(shape));
      await client.end();
    }
  } finally {
    await admin.end();
  }
  project.provide('adminUrl', adminUrl);
  return stop;
}
