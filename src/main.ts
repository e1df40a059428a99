/** Wiring for the long-running bot. Filled in with the Slack front. */
export async function serve(_argv: string[]): Promise<number> {
  process.stderr.write('jobq serve: the Slack front is not built yet. Use the CLI: npx jobq --help\n');
  return 1;
}
