#!/usr/bin/env node
// The `jobq` command and `npm start`: runs the compiled CLI in dist/, which `npm ci` builds (the
// prepare script) and `npm run build` refreshes. From the sources: `npx tsx src/cli.ts ...`.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('jobq: dist/ has not been built: run `npm run build` (npm ci does it), then try again.');
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
