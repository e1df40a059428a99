import { loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { runBot } from '../main.js';
import { installProcessGuards } from '../slack/process-guard.js';

/** `jobq serve` / `npm start`: the production bot when Slack is configured, else the local sandbox. */
export async function serve(_argv: string[]): Promise<number> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  installProcessGuards(log);
  if (!config.SLACK_BOT_TOKEN) {
    const { runSandbox } = await import('../sandbox/run.js');
    return runSandbox(config, log);
  }
  return runBot(config, log, untilSignal());
}

function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
