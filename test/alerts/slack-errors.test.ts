import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { METADATA_TYPE } from '../../src/alerts/poster.js';
import { DEFAULT_CHANNELS, type EmulatedChannel } from '../../src/emulator/model.js';
import { blockText, startTestBot, type BotBundle } from '../helpers/bot.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { factories, type Factories } from '../helpers/factories.js';
import { admin, failuresIn, FAST, replies, tagged, until, waitForIdle } from './harness.js';

const WARN = 40;
const EVERY_SECOND = (channel: string) => JSON.stringify([{ cron: '* * * * * *', timezone: 'UTC', channel }]);

/** The emulator's default channels, with `channel` replaced (or added) as given. */
const withChannel = (channel: EmulatedChannel) => [...DEFAULT_CHANNELS.filter((c) => c.id !== channel.id), channel];

/**
 * Slack refusing posts at run time, through the real bot and the emulated Web API: what jobq had
 * to post stays pending and is retried with backoff, the warning names the variable and the fix
 * once, and once fixed everything is delivered with exact totals.
 */
describe('Slack errors at run time', () => {
  let db: TestDb;
  let f: Factories;
  let b: BotBundle | undefined;

  beforeEach(async () => {
    db = await createTestDb('v3');
    f = factories(db.worker, 'v3');
  });
  afterEach(async () => {
    await admin((c) => c.query(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`)).catch(() => undefined);
    await b?.close();
    b = undefined;
    await db?.drop();
  });

  /** chat.postMessage calls to `channel` that Slack answered with `error`. */
  const refused = (channel: string, error: string) =>
    b!.slack.calls('chat.postMessage').filter((c) => c.body.channel === channel && (c.response as { error?: string } | undefined)?.error === error);
  /** Run-time warnings (not the preflight's) about posting to a channel. */
  const postWarnings = (code: string) => b!.logs.atLeast(WARN).filter((l) => l.slackError === code && l.purpose === 'post');
  const readyz = async () => {
    const res = await fetch(`${b!.slack.botUrl}/readyz`);
    return { status: res.status, body: (await res.json()) as { slack: { problems: { variable: string; code: string }[]; failing: { variable: string; code: string }[] } } };
  };
  const alertsFor = (channel: string, task: string) => tagged(b!.slack, channel, METADATA_TYPE.failure, (p) => p.task === task);

  it('alert channel without the bot: nothing posts, one warning names JOBQ_ALERT_CHANNEL and /invite; once invited every failure is delivered', async () => {
    b = await startTestBot(db, { ...FAST, JOBQ_ALERTS_DISABLED: 'stalled,backlog,no-workers' }, 'http', {
      channels: withChannel({ id: 'C_ALERTS', name: 'alerts', isMember: false }),
    });
    await waitForIdle(db);
    await f.jobs(3, { queue: 'emails', task: 'app.notify', status: 'failed' });
    await b.slack.waitFor(() => refused('C_ALERTS', 'not_in_channel').length >= 1, 5_000, 'a refused alert');
    // More failures while the channel is broken, and several more attempts (with backoff).
    await f.jobs(4, { queue: 'emails', task: 'app.notify', status: 'failed' });
    await b.slack.waitFor(() => refused('C_ALERTS', 'not_in_channel').length >= 4, 10_000, 'retries of the refused alert');
    expect(b.slack.messages('C_ALERTS')).toEqual([]);

    const warnings = postWarnings('not_in_channel');
    expect(warnings).toHaveLength(1); // not one per retry
    expect(warnings[0]!.msg).toContain('JOBQ_ALERT_CHANNEL=C_ALERTS: the bot is not in this channel');
    expect(warnings[0]!.msg).toContain('/invite @jobq');
    expect(warnings[0]!.msg).toContain('kept and retried');
    // The preflight saw it at start too, also once.
    expect(b.logs.atLeast(WARN).filter((l) => String(l.msg).startsWith('Slack preflight: JOBQ_ALERT_CHANNEL=C_ALERTS'))).toHaveLength(1);
    const broken = await readyz();
    expect(broken.status).toBe(200);
    expect(broken.body.slack.problems).toMatchObject([{ variable: 'JOBQ_ALERT_CHANNEL', code: 'not_in_channel' }]);
    expect(broken.body.slack.failing).toMatchObject([{ variable: 'JOBQ_ALERT_CHANNEL', code: 'not_in_channel' }]);
    // The retry waits grow: the gaps between refused attempts get longer.
    const at = refused('C_ALERTS', 'not_in_channel').map((c) => c.at);
    expect(at[3]! - at[2]!).toBeGreaterThan(at[1]! - at[0]!);

    b.slack.inviteBot('C_ALERTS');
    const alert = await b.slack.waitFor(() => alertsFor('C_ALERTS', 'app.notify').find((m) => failuresIn(m) === 7), 15_000, 'the alert with all 7 failures');
    expect(alertsFor('C_ALERTS', 'app.notify')).toHaveLength(1);
    expect(blockText(alert)).toContain('app.notify');
    expect(b.logs.lines().some((l) => String(l.msg).startsWith('Slack: posting to JOBQ_ALERT_CHANNEL=C_ALERTS works again'))).toBe(true);
    expect((await readyz()).body.slack.failing).toEqual([]);
    expect(postWarnings('not_in_channel')).toHaveLength(1);

    // Still alive and answering.
    await b.slack.slashCommand({ text: 'stats', userId: 'U_OPERATOR', channelId: 'C_OPS' });
    await b.slack.waitFor(() => b!.slack.messages('C_OPS', { visibleTo: 'U_OPERATOR' }).length > 0, 5_000, 'a reply to /jobq stats');
  });

  it('a burst of HTTP 500s: the alert waits, one warning, then every failure arrives', async () => {
    b = await startTestBot(db, { ...FAST, JOBQ_ALERTS_DISABLED: 'stalled,backlog,no-workers' });
    await waitForIdle(db);
    // Two delivery attempts' worth: the WebClient itself tries each call 4 times.
    for (let i = 0; i < 8; i++) b.slack.faults.next('chat.postMessage', { status: 500 });
    await f.jobs(3, { queue: 'emails', task: 'app.charge', status: 'failed' });
    await until(async () => postWarnings('http_500').length > 0, 10_000, 'the 500 warning');
    await f.jobs(4, { queue: 'emails', task: 'app.charge', status: 'failed' });
    const alert = await b.slack.waitFor(() => alertsFor('C_ALERTS', 'app.charge').find((m) => failuresIn(m) === 7), 20_000, 'the alert with all 7 failures');
    expect(alert).toBeDefined();
    expect(b.slack.faults.pending('chat.postMessage')).toBe(0);
    expect(b.slack.calls('chat.postMessage').filter((c) => c.status === 500)).toHaveLength(8);
    expect(alertsFor('C_ALERTS', 'app.charge')).toHaveLength(1);
    const warnings = postWarnings('http_500');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toContain('JOBQ_ALERT_CHANNEL=C_ALERTS: Slack answered HTTP 500');
    expect(b.logs.lines().some((l) => String(l.msg).startsWith('Slack: posting to JOBQ_ALERT_CHANNEL=C_ALERTS works again'))).toBe(true);
  });

  it('channel_not_found on a health alert: kept with its start time, posted once the channel exists', async () => {
    b = await startTestBot(db, { ...FAST, JOBQ_ALERT_CHANNEL: 'C_LATER', JOBQ_ALERTS_DISABLED: 'failures,stalled,backlog' });
    // No worker is registered: "no live workers" fires at the first health check.
    await b.slack.waitFor(() => refused('C_LATER', 'channel_not_found').length >= 3, 10_000, 'refused health alert posts');
    const row = (await db.worker.query<{ ts: string | null; started_at: Date }>(`SELECT ts, started_at FROM jobq.health_alerts WHERE key = 'no-workers'`)).rows[0];
    expect(row).toMatchObject({ ts: null });
    const warnings = postWarnings('channel_not_found');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toContain('JOBQ_ALERT_CHANNEL=C_LATER: Slack knows no such channel');
    expect(warnings[0]!.msg).toContain('Channel ID');
    const ready = await readyz();
    expect(ready.status).toBe(200);
    expect(ready.body.slack.problems).toMatchObject([{ variable: 'JOBQ_ALERT_CHANNEL', code: 'channel_not_found' }]);

    b.slack.state.addChannel({ id: 'C_LATER', name: 'later' });
    const alert = await b.slack.waitFor(() => tagged(b!.slack, 'C_LATER', METADATA_TYPE.health, (p) => p.key === 'no-workers')[0], 10_000, 'the no-workers alert');
    expect(alert.text).toContain('No live Procrastinate workers');
    // The same alert, not a new one: it started when the condition did, before the channel existed.
    expect(alert.metadata!.event_payload.started_at).toBe(row!.started_at.toISOString());
    await until(async () => (await db.worker.query(`SELECT ts FROM jobq.health_alerts WHERE key = 'no-workers'`)).rows[0]?.ts === alert.ts, 5_000, 'the alert recorded');
    expect(tagged(b.slack, 'C_LATER', METADATA_TYPE.health)).toHaveLength(1);
    expect(postWarnings('channel_not_found')).toHaveLength(1);
  });

  it('summaries refused meanwhile are not dropped: the ticks join one summary posted once the bot is invited', async () => {
    b = await startTestBot(db, { ...FAST, JOBQ_ALERT_CHANNEL: '', JOBQ_SUMMARY_SCHEDULES: EVERY_SECOND('C_SUM') }, 'http', {
      channels: withChannel({ id: 'C_SUM', name: 'summaries', isMember: false }),
    });
    await b.slack.waitFor(() => refused('C_SUM', 'not_in_channel').length >= 2, 10_000, 'refused summaries');
    await until(async () => (await db.worker.query(`SELECT count(*)::int AS n FROM jobq.summary_ticks WHERE channel = 'C_SUM'`)).rows[0]!.n >= 3, 10_000, 'three ticks claimed');
    expect(postWarnings('not_in_channel')).toHaveLength(1);
    expect(postWarnings('not_in_channel')[0]!.msg).toContain('JOBQ_SUMMARY_SCHEDULES[0].channel=C_SUM');

    b.slack.inviteBot('C_SUM');
    const first = await b.slack.waitFor(() => tagged(b!.slack, 'C_SUM', METADATA_TYPE.summary)[0], 10_000, 'the summary');
    const ticks = Number(first.metadata!.event_payload.ticks);
    expect(ticks).toBeGreaterThanOrEqual(3);
    // Every tick claimed while the channel was broken is recorded as covered by that one summary.
    const covered = async () =>
      (await db.worker.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobq.summary_ticks WHERE channel = 'C_SUM' AND ts = $1`, [first.ts])).rows[0]!.n;
    await until(async () => (await covered()) === ticks, 5_000, `${ticks} ticks recorded as posted`);
    const tickAt = Date.parse(String(first.metadata!.event_payload.tick));
    const unposted = await db.worker.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobq.summary_ticks WHERE channel = 'C_SUM' AND ts IS NULL AND tick_at <= $1`, [
      new Date(tickAt),
    ]);
    expect(unposted.rows[0]!.n).toBe(0);
    // And the schedule carries on normally.
    await b.slack.waitFor(() => tagged(b!.slack, 'C_SUM', METADATA_TYPE.summary).length >= 2, 5_000, 'the next summary');
  });

  it('the database-unreachable alert refused by Slack: kept, posted once the bot is invited, then resolved', async () => {
    // Pools lose their idle connections during the outage; that is expected here.
    db.worker.on('error', () => undefined);
    b = await startTestBot(db, { ...FAST, JOBQ_ALERTS_DISABLED: 'failures,stalled,backlog,no-workers', JOBQ_ALERT_REPEAT_SECONDS: '60' }, 'http', {
      channels: withChannel({ id: 'C_ALERTS', name: 'alerts', isMember: false }),
    });
    await until(async () => b!.bot.alerts?.isLeader(), 5_000, 'leadership');
    await admin(async (c) => {
      await c.query(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
      await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [db.name]);
    });
    const outagePosts = () => refused('C_ALERTS', 'not_in_channel').filter((c) => JSON.stringify(c.body).includes('cannot reach its database'));
    await b.slack.waitFor(() => outagePosts().length >= 2, 10_000, 'refused outage alerts');
    expect(postWarnings('not_in_channel')).toHaveLength(1);

    b.slack.inviteBot('C_ALERTS');
    const outage = () => tagged(b!.slack, 'C_ALERTS', METADATA_TYPE.health, (p) => p.key === 'db-unreachable');
    const [alert] = await b.slack.waitFor(() => outage().length > 0 && outage(), 10_000, 'the outage alert');
    expect(alert!.text).toContain('jobq cannot reach its database');

    await admin((c) => c.query(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`));
    await b.slack.waitFor(() => replies(b!.slack, 'C_ALERTS', alert!).some((m) => m.text.startsWith('Resolved after')), 10_000, 'resolved');
    expect(outage()).toHaveLength(1);
  });
});
