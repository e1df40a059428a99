import { loadEnvironments } from '../environments/config-file.js';
import { createLogger } from '../log.js';
import { runBot } from '../main.js';
import { installProcessGuards } from '../slack/process-guard.js';

/** `jobq serve` / `npm start`: the production bot when Slack is configured, else the local sandbox. */
export async function serve(_argv: string[]): Promise<number> {
  const environments = loadEnvironments();
  const config = environments.list[0]!.config;
  const log = createLogger(config.LOG_LEVEL);
  installProcessGuards(log);
  if (!config.SLACK_BOT_TOKEN) {
    const { runSandbox } = await import('../sandbox/run.js');
    return runSandbox(config, log);
  }
  return runBot(environments, log, untilSignal());
}

function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
