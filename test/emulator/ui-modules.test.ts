import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { PageModules } from '../../src/emulator/ui/page-modules.js';

/** How the page's ES modules are found: compiled .js (a build), else the .ts transpiled on the fly (the sources). */

describe('the emulator page modules', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const dir = (files: Record<string, string>) => {
    const path = mkdtempSync(join(tmpdir(), 'jobq-page-'));
    dirs.push(path);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(path, name), text);
    return pathToFileURL(`${path}/`);
  };

  it('serves a compiled .js as it is, before any .ts of the same name', async () => {
    const built = dir({ 'main.js': 'export const built = 1;\n', 'main.ts': 'export const built: number = 2;\n' });
    expect((await new PageModules([built]).get('main'))?.toString()).toBe('export const built = 1;\n');
  });

  it('transpiles a .ts to JavaScript, keeps it, and transpiles again when the file changes', async () => {
    const sources = dir({ 'store.ts': "import type { X } from './x.js';\nimport { y } from './y.js';\nexport const n: number = y as number;\nexport type Z = X;\n" });
    const modules = new PageModules([sources]);
    const js = (await modules.get('store'))!.toString();
    expect(js).toContain("import { y } from './y.js';");
    expect(js).toContain('export const n = y;');
    expect(js).not.toMatch(/import type|: number|export type/);
    expect(js).toContain('//# sourceMappingURL=data:application/json;base64,');
    expect(await modules.get('store')).toBe(await modules.get('store')); // the same buffer: not transpiled twice

    const file = join(sources.pathname, 'store.ts');
    writeFileSync(file, 'export const n: number = 3;\n');
    utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    expect((await modules.get('store'))!.toString()).toContain('export const n = 3;');
  });

  it('looks in each directory in turn, and knows nothing outside them', async () => {
    const dist = dir({ 'main.js': 'export {};\n' });
    const sources = dir({ 'table.ts': 'export const t = 1;\n' });
    const modules = new PageModules([dist, sources]);
    expect(await modules.get('main')).toBeDefined();
    expect((await modules.get('table'))?.toString()).toContain('export const t = 1;');
    for (const name of ['missing', '../table', 'Main', 'main.js', '', 'a/b']) expect(await modules.get(name), name).toBeUndefined();
  });
});
