import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPORTED_STATUSES } from '../../src/db/procrastinate.js';
import { FAST, waitForIdle } from '../alerts/harness.js';
import { startTestBot, type BotBundle } from '../helpers/bot.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { factories, type Factories } from '../helpers/factories.js';
import { parseExposition, series, sampleValue, type Sample } from './exposition.js';
import { until } from './prometheus.js';

/** `curl :PORT/metrics` against the real bot (Bolt receiver, queue core, PostgreSQL, emulated Slack). */
describe('GET /metrics on the bot', () => {
  let db: TestDb;
  let f: Factories;
  let b: BotBundle | undefined;

  beforeEach(async () => {
    db = await createTestDb('v3');
    f = factories(db.worker, 'v3');
  });
  afterEach(async () => {
    await b?.close();
    b = undefined;
    await db?.drop();
  });

  const scrape = async (): Promise<{ status: number; type: string | null; samples: Sample[] }> => {
    const res = await fetch(`${b!.slack.botUrl}/metrics`);
    return { status: res.status, type: res.headers.get('content-type'), samples: parseExposition(await res.text()) };
  };
  /** Scrapes until `check` holds for the samples (the collector runs every 0.2 s here). */
  const scrapeUntil = (what: string, check: (samples: Sample[]) => boolean) =>
    until(what, async () => {
      const { samples } = await scrape();
      return check(samples) ? samples : undefined;
    });
  const jobCounts = async () =>
    new Map(
      (
        await db.worker.query<{ queue_name: string; status: string; n: number }>(
          `SELECT queue_name, status::text AS status, count(*)::int AS n FROM procrastinate_jobs GROUP BY 1, 2`,
        )
      ).rows.map((r) => [`queue=${r.queue_name},status=${r.status}`, r.n]),
    );

  it('serves the queue, jobq and process metrics over HTTP, with the values of the database', async () => {
    await f.jobs(3, { queue: 'emails' });
    await f.jobs(2, { queue: 'emails', status: 'failed' });
    await f.jobs(4, { queue: 'reports', status: 'succeeded' });
    await f.worker();
    b = await startTestBot(db, { ...FAST, JOBQ_ALERTS_DISABLED: 'stalled,backlog,no-workers', JOBQ_METRICS_INTERVAL_SECONDS: '0.2' });
    const first = await scrape();
    expect(first.status).toBe(200);
    expect(first.type).toContain('text/plain');

    const expected = await jobCounts();
    const samples = await scrapeUntil('the first collection', (s) => sampleValue(s, 'jobq_metrics_last_success_timestamp_seconds') !== undefined);
    const jobs = series(samples, 'procrastinate_jobs');
    for (const queue of ['emails', 'reports'])
      for (const status of REPORTED_STATUSES) expect(jobs.get(`queue=${queue},status=${status}`)).toBe(expected.get(`queue=${queue},status=${status}`) ?? 0);
    expect(series(samples, 'procrastinate_workers')).toEqual(
      new Map([
        ['state=live', 1],
        ['state=stale', 0],
      ]),
    );
    expect(sampleValue(samples, 'jobq_database_reachable')).toBe(1);
    expect(samples.some((s) => s.name === 'process_resident_memory_bytes')).toBe(true);
    expect(samples.some((s) => s.name === 'nodejs_eventloop_lag_p99_seconds')).toBe(true);
    const start = b.bot.collector!.tally.cursor!;

    // The leader's failure alert: posted, counted, and the tail catches up.
    await waitForIdle(db);
    expect(sampleValue((await scrape()).samples, 'jobq_leader')).toBe(1);
    await f.jobs(2, { queue: 'emails', task: 'app.charge', status: 'failed' });
    await b.slack.waitFor(() => b!.slack.messages('C_ALERTS').length > 0, 10_000, 'the failure alert');
    const afterAlert = await scrapeUntil('the alert counted and the events with it', (s) => sampleValue(s, 'jobq_alerts_posted_total', { kind: 'failures' }) === 1);
    const events = await db.worker.query<{ type: string; n: number }>(
      `SELECT e.type::text AS type, count(*)::int AS n FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id WHERE e.id > $1 AND j.queue_name = 'emails' GROUP BY 1`,
      [start],
    );
    const counted = await scrapeUntil('the new events counted', (s) => sampleValue(s, 'procrastinate_job_events_total', { queue: 'emails', type: 'failed' }) === 2);
    for (const row of events.rows) expect(sampleValue(counted, 'procrastinate_job_events_total', { queue: 'emails', type: row.type }), row.type).toBe(row.n);
    expect(sampleValue(afterAlert, 'jobq_slack_api_errors_total')).toBeUndefined();
    await scrapeUntil('the tail caught up', (s) => sampleValue(s, 'jobq_alert_tail_lag_events') === 0);

    // A command and its outcome; a refused one by its error code.
    await b.slack.slashCommand({ text: 'stats', userId: 'U_OPERATOR', channelId: 'C_OPS' });
    await b.slack.slashCommand({ text: 'retry 999999', userId: 'U_VIEWER', channelId: 'C_OPS' });
    const commands = await scrapeUntil('both commands answered', (s) => series(s, 'jobq_command_duration_seconds_count').size === 2);
    expect(series(commands, 'jobq_command_duration_seconds_count')).toEqual(
      new Map([
        ['command=stats,outcome=ok', 1],
        ['command=retry,outcome=forbidden', 1],
      ]),
    );

    // Slack refusing a post: counted by method and error.
    b.slack.faults.next('chat.postMessage', { error: 'channel_not_found' });
    await f.job({ queue: 'emails', task: 'app.refund', status: 'failed' });
    await scrapeUntil('the Slack error counted', (s) => sampleValue(s, 'jobq_slack_api_errors_total', { method: 'chat.postMessage', error: 'channel_not_found' }) === 1);
  });

  it('serves /metrics on PORT in Socket Mode too', async () => {
    await f.jobs(2, { queue: 'emails' });
    b = await startTestBot(db, { JOBQ_METRICS_INTERVAL_SECONDS: '0.2' }, 'socket');
    const samples = await scrapeUntil('the first collection', (s) => sampleValue(s, 'procrastinate_jobs', { queue: 'emails', status: 'todo' }) === 2);
    // Alerts are not configured: this replica never leads.
    expect(sampleValue(samples, 'jobq_leader')).toBe(0);
    const sent = await b.slack.socket.sendSlashCommand({ text: 'stats', userId: 'U_OPERATOR', channelId: 'C_OPS' });
    expect(sent).toBeDefined();
    await scrapeUntil('the command counted', (s) => sampleValue(s, 'jobq_command_duration_seconds_count', { command: 'stats', outcome: 'ok' }) === 1);
  });

  it('serves only jobq and process metrics when the queue metrics are turned off', async () => {
    b = await startTestBot(db, { JOBQ_METRICS_INTERVAL_SECONDS: '0' });
    expect(b.bot.collector).toBeNull();
    const { status, samples } = await scrape();
    expect(status).toBe(200);
    expect(samples.some((s) => s.name.startsWith('procrastinate_') || s.name.startsWith('jobq_metrics_'))).toBe(false);
    expect(sampleValue(samples, 'jobq_leader')).toBe(0);
  });
});
