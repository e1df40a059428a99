import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type SchemaShape = 'v3' | 'v2';
export const SHAPES: SchemaShape[] = ['v3', 'v2'];

const FILES: Record<SchemaShape, string> = {
  v3: '../../fixtures/procrastinate-3.sql',
  v2: '../../fixtures/procrastinate-2.sql',
};

export function fixtureSql(shape: SchemaShape): string {
  return readFileSync(fileURLToPath(new URL(FILES[shape], import.meta.url)), 'utf8');
}

/** Per test run, so two runs on one server (two engineers, or CI and a person) never collide. */
export const templateName = (shape: SchemaShape, run: string) => `jobq_template_${shape}_${run}`;
