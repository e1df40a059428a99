import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The shapes the suites that run "on each schema" cover (describe.each). */
export type SchemaShape = 'v3' | 'v2';
export const SHAPES: SchemaShape[] = ['v3', 'v2'];

/**
 * Every shape with a template database, so `createTestDb(shape)` works for each: `v310` is a 3.10
 * database after its post-migration, `v310pre` one between the pre- and the post-migration,
 * where 3.9 and 3.10 workers run side by side.
 */
export type FixtureShape = SchemaShape | 'v310' | 'v310pre';
export const FIXTURE_SHAPES: FixtureShape[] = ['v3', 'v2', 'v310', 'v310pre'];

export type FixtureFile = 'procrastinate-3.sql' | 'procrastinate-2.sql' | 'procrastinate-3.10-pre.sql' | 'procrastinate-3.10-post.sql';

/** Each shape as the fixture files that build it, applied in order, like Procrastinate's migrations. */
export const SHAPE_FILES: Record<FixtureShape, FixtureFile[]> = {
  v3: ['procrastinate-3.sql'],
  v2: ['procrastinate-2.sql'],
  v310pre: ['procrastinate-3.sql', 'procrastinate-3.10-pre.sql'],
  v310: ['procrastinate-3.sql', 'procrastinate-3.10-pre.sql', 'procrastinate-3.10-post.sql'],
};

export function fixtureFileSql(file: FixtureFile): string {
  return readFileSync(fileURLToPath(new URL(`../../fixtures/${file}`, import.meta.url)), 'utf8');
}

export function fixtureSql(shape: FixtureShape): string {
  return SHAPE_FILES[shape].map(fixtureFileSql).join('\n');
}

/** 3.x shapes: `_v1` functions, abort_requested, workers and worker_id. */
export const isV3Family = (shape: FixtureShape): boolean => shape !== 'v2';

/** 3.10 shapes: queue pause, lock_mode, deferred_at, fetch_job_v3. */
export const isV310Family = (shape: FixtureShape): boolean => shape === 'v310' || shape === 'v310pre';

/** Per test run, so two runs on one server (two engineers, or CI and a person) never collide. */
export const templateName = (shape: FixtureShape, run: string) => `jobq_template_${shape}_${run}`;
