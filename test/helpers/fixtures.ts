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

export const templateName = (shape: SchemaShape) => `jobq_template_${shape}`;
