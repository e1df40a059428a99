import type { WebClientOptions } from '@slack/web-api';
import type { Config } from '../config.js';

/** Options of every WebClient jobq makes: the Bolt app's and the preflight's. */
export function slackClientOptions(config: Config): WebClientOptions {
  return {
    ...(config.SLACK_API_URL ? { slackApiUrl: config.SLACK_API_URL.endsWith('/') ? config.SLACK_API_URL : `${config.SLACK_API_URL}/` } : {}),
    // The WebClient's default retries a failing call for ~30 minutes; a person waiting on a reply
    // (or a permission check) needs an answer in seconds. 429s still wait for their Retry-After.
    retryConfig: { retries: 3, factor: 2, minTimeout: 500, maxTimeout: 2_000, randomize: false },
    timeout: 10_000,
  };
}
