/** How the terminal front talks to a person (or a script): injected, so tests drive it directly. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Whether a person can answer a question (stdin is a terminal). */
  interactive: boolean;
  ask: (question: string) => Promise<string>;
}

export const defaultIo = (): CliIo => ({
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
  interactive: Boolean(process.stdin.isTTY),
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
