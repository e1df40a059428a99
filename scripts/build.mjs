// The last step of `npm run build`, after tsc has compiled src/ and the emulator page to dist/:
// copies the files tsc does not emit but the compiled code loads from next to itself.
import { cpSync } from 'node:fs';

const COPIES = [
  // Loaded by the sandbox as a worker thread; plain JavaScript, so tsc leaves it out.
  'sandbox/pglite-worker.mjs',
  // The emulator page's markup and styles, served from next to dist/emulator/ui/server.js.
  'emulator/ui/page.html',
  'emulator/ui/style.css',
  'emulator/ui/runbook.css',
];

const root = new URL('../', import.meta.url);
for (const file of COPIES) cpSync(new URL(`src/${file}`, root), new URL(`dist/${file}`, root));
