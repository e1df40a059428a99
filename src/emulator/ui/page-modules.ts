import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * The page's ES modules (src/emulator/ui/page/*.ts), served at /ui/page/NAME.js. From a build,
 * `npm run build` (run by `npm ci`) has compiled them to .js next to this file (dist/emulator/ui/page/).
 * From the TypeScript sources (vitest, `npx tsx src/cli.ts serve`) there is no .js: each .ts is transpiled
 * on its first request with typescript's transpileModule, a devDependency that is installed
 * whenever the sources run, and kept until the file changes.
 */

const MODULE_NAME = /^[a-z][a-z0-9-]*$/;

interface Compiled {
  mtimeMs: number;
  body: Buffer;
}

export class PageModules {
  private readonly cache = new Map<string, Compiled>();

  /** Directories to look in, in order (each a file: URL ending in '/'). */
  constructor(private readonly dirs: readonly URL[]) {}

  /** The JavaScript of module `name`, or undefined when there is no such module. */
  async get(name: string): Promise<Buffer | undefined> {
    if (!MODULE_NAME.test(name)) return undefined;
    for (const dir of this.dirs) {
      const compiled = await this.load(new URL(`${name}.js`, dir), false);
      if (compiled) return compiled;
      const transpiled = await this.load(new URL(`${name}.ts`, dir), true);
      if (transpiled) return transpiled;
    }
    return undefined;
  }

  private async load(url: URL, transpile: boolean): Promise<Buffer | undefined> {
    const path = fileURLToPath(url);
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(path)).mtimeMs;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const cached = this.cache.get(path);
    if (cached?.mtimeMs === mtimeMs) return cached.body;
    const source = await readFile(path, 'utf8');
    const body = Buffer.from(transpile ? await transpileTs(source, path) : source);
    this.cache.set(path, { mtimeMs, body });
    return body;
  }
}

async function transpileTs(source: string, fileName: string): Promise<string> {
  let ts: typeof import('typescript');
  try {
    ts = (await import('typescript')).default;
  } catch (error) {
    throw new Error(`The emulator page module ${fileName} has not been compiled and the typescript package is not installed to transpile it: run npm run build.`, { cause: error });
  }
  const { outputText } = ts.transpileModule(source, {
    fileName,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, inlineSourceMap: true, inlineSources: true },
  });
  return outputText;
}
