import { LogLevel, webApi } from '@slack/bolt';
import { startAlerts, type RunningAlerts } from '../../src/alerts/start.js';
import { loadConfig } from '../../src/config.js';
import { createQueueHandle, type QueueHandle } from '../../src/queue/handle.js';
import { startSlackEmulator, type SlackEmulator } from '../../src/emulator/web-api.js';
import type { SlackMessage } from '../../src/emulator/model.js';
import { testLogger } from '../helpers/log.js';
import type { TestDb } from '../helpers/db.js';
import { BOT_TOKEN, RUNBOOK } from '../helpers/bot.js';

// The alert tests take their helpers from here; admin() is the one every test shares.
export { admin } from '../helpers/db.js';

/** Fast loops for tests: poll 100 ms, group wait 300 ms, leader check 200 ms. */
export const FAST = {
  JOBQ_ALERT_CHANNEL: 'C_ALERTS',
  JOBQ_ALERT_POLL_SECONDS: '0.1',
  JOBQ_ALERT_GROUP_WAIT_SECONDS: '0.3',
  JOBQ_ALERT_POST_INTERVAL_MS: '20',
  JOBQ_HEALTH_CHECK_SECONDS: '0.2',
  JOBQ_LEADER_CHECK_SECONDS: '0.2',
  JOBQ_ALERT_REPEAT_SECONDS: '1',
  JOBQ_DB_UNREACHABLE_AFTER_SECONDS: '0.3',
  JOBQ_ALERTS_DISABLED: 'stalled,backlog,no-workers',
} as const;

export interface Alerter {
  alerts: RunningAlerts;
  queue: QueueHandle;
  stop(): Promise<void>;
}

/**
 * The alerter as startBot starts it (same startAlerts, a WebClient with the default retry
 * policy, a queue handle) against a test database and the emulator, without the Bolt receiver.
 */
export async function startAlerter(db: TestDb, slack: SlackEmulator, env: Record<string, string> = {}): Promise<Alerter> {
  const config = loadConfig({ JOB_QUEUE_DATABASE_URL: db.url, JOBQ_RUNBOOK_URL: RUNBOOK, ...FAST, ...env });
  const log = testLogger().log;
  const queue = createQueueHandle(config, log);
  const client = new webApi.WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, logLevel: LogLevel.ERROR });
  const alerts = startAlerts({ config, queue, client, log });
  await alerts.ready;
  let stopped = false;
  return {
    alerts,
    queue,
    async stop() {
      if (stopped) return;
      stopped = true;
      await alerts.stop();
      await queue.close();
    },
  };
}

export const startEmulator = () => startSlackEmulator({ botToken: BOT_TOKEN });

/** Resolves once some replica leads and the failure cursor exists (failures after this are alerted). */
export async function waitForTail(db: TestDb, timeoutMs = 5_000): Promise<number> {
  return until(
    async () => {
      const row = await db.worker.query<{ last_event_id: string }>(`SELECT last_event_id FROM jobq.alert_cursor WHERE name = 'failures'`).catch(() => ({ rows: [] }));
      return row.rows[0] ? { id: Number(row.rows[0].last_event_id) } : undefined;
    },
    timeoutMs,
    'the failure cursor',
  ).then((r) => r.id);
}

/** Resolves once the tail runs and no batch is being delivered (the cursor is at rest). */
export async function waitForIdle(db: TestDb, timeoutMs = 5_000): Promise<void> {
  await waitForTail(db, timeoutMs);
  await until(
    async () => (await db.worker.query(`SELECT pending_hi FROM jobq.alert_cursor WHERE name = 'failures'`)).rows[0]?.pending_hi === null,
    timeoutMs,
    'no failure batch in delivery',
  );
}

/** Polls an async check with a deadline (for database state; Slack state uses emulator.waitFor). */
export async function until<T>(check: () => Promise<T | undefined | null | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Top-level messages in a channel carrying jobq metadata of a type. */
export function tagged(slack: SlackEmulator, channel: string, type: string, match: (payload: Record<string, unknown>) => boolean = () => true): SlackMessage[] {
  return slack.messages(channel, { thread: false, ephemeral: false }).filter((m) => m.metadata?.event_type === type && match(m.metadata.event_payload));
}

export function replies(slack: SlackEmulator, channel: string, parent: SlackMessage): SlackMessage[] {
  return slack.messages(channel, { thread: parent.ts, ephemeral: false }).filter((m) => m.ts !== parent.ts);
}

/** The count in "N failures of ..." (thousands separators allowed). */
export function failuresIn(message: SlackMessage): number {
  const match = /([\d,]+) (?:more )?failures? /.exec(message.text);
  return match ? Number(match[1]!.replace(/,/g, '')) : 0;
}

/** Failed jobs written as Procrastinate's triggers write them, set-based: insert, start, fail. */
export async function failJobs(db: TestDb, count: number, queue: string, tasks: string[]): Promise<void> {
  const client = await db.worker.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO procrastinate_jobs (queue_name, task_name, args)
       SELECT $1, ($2::text[])[1 + (i % cardinality($2::text[]))], jsonb_build_object('i', i) FROM generate_series(1, $3::int) AS i`,
      [queue, tasks, count],
    );
    await client.query(`UPDATE procrastinate_jobs SET status = 'doing' WHERE status = 'todo' AND queue_name = $1 AND task_name = ANY($2::text[])`, [queue, tasks]);
    await client.query(`UPDATE procrastinate_jobs SET status = 'failed', attempts = attempts + 1 WHERE status = 'doing' AND queue_name = $1 AND task_name = ANY($2::text[])`, [
      queue,
      tasks,
    ]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}
