#!/usr/bin/env node
// Runs the TypeScript sources through tsx, so `npx jobq` works on a fresh clone after `npm ci`
// with no build step. `npm run build` still produces dist/ for those who prefer plain node.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
