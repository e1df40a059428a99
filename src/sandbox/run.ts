import type { Config } from '../config.js';
import type { Logger } from '../log.js';

/** Without Slack credentials `npm start` runs the local sandbox. */
export async function runSandbox(_config: Config, log: Logger): Promise<number> {
  log.error('No SLACK_BOT_TOKEN: the local sandbox is not built yet. Set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN), or use the CLI: npx jobq --help');
  return 1;
}
