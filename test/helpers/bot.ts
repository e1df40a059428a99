import { loadConfig } from '../../src/config.js';
import { testLogger, type LogSink } from './log.js';
import { startBot, type RunningBot } from '../../src/main.js';
import { startSlackEmulator, type SlackEmulator, type SlackEmulatorOptions } from '../../src/emulator/web-api.js';
import type { TestDb } from './db.js';

export const BOT_TOKEN = 'xoxb-jobq-test';
export const APP_TOKEN = 'xapp-1-jobq-test';
export const SIGNING_SECRET = 'jobq-test-signing-secret';
export const RUNBOOK = 'https://git.example.com/ops/jobq/blob/main/docs/runbooks/job-queue.md';

export interface BotBundle {
  bot: RunningBot;
  slack: SlackEmulator;
  /** What the bot logged (production logger at debug). */
  logs: LogSink;
  close(): Promise<void>;
}

/**
 * The real bot (Bolt receiver, queue core, PostgreSQL) wired to the Slack emulator over HTTP, as
 * in production with SLACK_API_URL pointed at the emulator. `workspace` seeds the emulator
 * (channels the bot is not in, fewer granted scopes...).
 */
export async function startTestBot(db: TestDb, env: Record<string, string> = {}, mode: 'http' | 'socket' = 'http', workspace: SlackEmulatorOptions = {}): Promise<BotBundle> {
  const slack = await startSlackEmulator({ ...workspace, botToken: BOT_TOKEN, appToken: APP_TOKEN, signingSecret: SIGNING_SECRET });
  const config = loadConfig({
    JOB_QUEUE_DATABASE_URL: db.url,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_API_URL: slack.apiUrl,
    PORT: '0',
    JOBQ_WRITE_USERS: 'U_OPERATOR',
    JOBQ_RUNBOOK_URL: RUNBOOK,
    JOBQ_BATCH_PAUSE_MS: '0',
    ...(mode === 'socket' ? { SLACK_APP_TOKEN: APP_TOKEN } : { SLACK_SIGNING_SECRET: SIGNING_SECRET }),
    ...env,
  });
  const logs = testLogger();
  const bot = await startBot(config, logs.log);
  slack.botUrl = `http://127.0.0.1:${bot.port}`;
  await bot.deps.migrated().catch(() => undefined); // an unreachable database is a case of its own
  return {
    bot,
    slack,
    logs,
    async close() {
      await bot.stop();
      await slack.close();
    },
  };
}

/** The text of every block of a message, for assertions. */
export function blockText(message: { text: string; blocks?: unknown[] } | undefined): string {
  return `${JSON.stringify(message?.blocks ?? [])}\n${message?.text ?? ''}`;
}
