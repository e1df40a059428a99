import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { FIXTURE_SHAPES, fixtureSql, templateName } from './helpers/fixtures.js';
import { DEFAULT_ADMIN_URL, answers, startThrowawayServer } from './helpers/postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    runId: string;
  }
}

/**
 * Finds a PostgreSQL server (TEST_DATABASE_URL, else localhost:5432, else a throwaway one from
 * the binaries on this machine) and builds one template database per fixture shape; each test
 * file clones a template, which takes milliseconds.
 */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
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
  const runId = `${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    // Templates left by runs that were killed before their teardown.
    const stale = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'jobq_template_%' AND datname NOT LIKE $1`, [`%_${runId}`]);
    for (const row of stale.rows) {
      const pid = Number(/_(\d+)_[a-z0-9]+$/.exec(row.datname)?.[1]);
      if (!pid || !isAlive(pid)) await admin.query(`DROP DATABASE IF EXISTS ${row.datname} WITH (FORCE)`);
    }
    for (const shape of FIXTURE_SHAPES) {
      const name = templateName(shape, runId);
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
  project.provide('runId', runId);
  return async () => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client
      .connect()
      .then(async () => {
        for (const shape of FIXTURE_SHAPES) await client.query(`DROP DATABASE IF EXISTS ${templateName(shape, runId)} WITH (FORCE)`);
        // The scale suites' generated tables (test/helpers/scale-db.ts).
        const scale = await client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'jobq_template_scale%' AND datname LIKE $1`, [`%_${runId}%`]);
        for (const row of scale.rows) await client.query(`DROP DATABASE IF EXISTS ${row.datname} WITH (FORCE)`);
      })
      .catch(() => undefined);
    await client.end().catch(() => undefined);
    stop();
  };
}
