// `node --import ./test/helpers/record-imports.mjs ...` appends the URL of every module the process
// resolves, one a line, to the file named by JOBQ_RECORD_IMPORTS: a test can see what a command loads.
import { register } from 'node:module';

const hooks = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.JOBQ_RECORD_IMPORTS, resolved.url + '\\n');
  return resolved;
}
`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
