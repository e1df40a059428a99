/** How the terminal front talks to a person (or a script): injected, so tests drive it directly. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Whether a person can answer a question (stdin is a terminal). */
  interactive: boolean;
  ask: (question: string) => Promise<string>;
  /** Whether stdout is a terminal (colour, relative times, fitting tables); false when piped. */
  tty?: boolean;
  /** The terminal's width, when stdout is one. */
  columns?: number | undefined;
}

export const defaultIo = (): CliIo => ({
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
  interactive: Boolean(process.stdin.isTTY),
  tty: Boolean(process.stdout.isTTY),
  columns: process.stdout.isTTY ? process.stdout.columns : undefined,
  ask: async (question) => {
    const { createInterface } = await import('node:readline/promises');
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return await rl.question(question);
    } finally {
      rl.close();
    }
  },
});
