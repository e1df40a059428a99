import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METADATA_TYPE } from '../../src/alerts/poster.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { factories, type Factories } from '../helpers/factories.js';
import { blockText, RUNBOOK, startTestBot, type BotBundle } from '../helpers/bot.js';
import { FAST, failuresIn, tagged, until, waitForIdle } from './harness.js';

const ALERTS = 'C_ALERTS';

/** Silences and alert buttons through the real bot: signed slash commands and clicks, the emulated Slack, PostgreSQL. */
describe('silences and alert buttons', () => {
  let db: TestDb;
  let b: BotBundle;
  let f: Factories;

  beforeAll(async () => {
    db = await createTestDb('v3');
    f = factories(db.worker, 'v3');
    b = await startTestBot(db, { ...FAST, JOBQ_ALERTS_DISABLED: 'stalled,no-workers', JOBQ_QUEUE_THRESHOLDS: JSON.stringify({ batch: { backlogMaxJobs: 1 } }) });
    await waitForIdle(db);
  });
  afterAll(async () => {
    await b?.close();
    await db?.drop();
  });

  const alertsFor = (task: string) => tagged(b.slack, ALERTS, METADATA_TYPE.failure, (p) => p.task === task);
  const reply = (predicate: (text: string) => boolean, user = 'U_OPERATOR', channel = 'C_OPS') =>
    b.slack.waitFor(() => b.slack.messages(channel).find((m) => (m.visibleTo === undefined || m.visibleTo === user) && predicate(blockText(m))), 5_000, 'a matching reply');
  const mute = async (id: string) =>
    (
      await db.worker.query(
        `SELECT suppressed_alerts::int AS alerts, suppressed_failures::int AS failures, ended_at, end_reason FROM jobq.mutes WHERE target = $1 ORDER BY id DESC LIMIT 1`,
        [id],
      )
    ).rows[0];

  it('refuses a mute from someone without write access, and audits the refusal', async () => {
    await b.slack.slashCommand({ text: 'mute emails 1h noisy', userId: 'U_VIEWER', channelId: 'C_OPS' });
    await reply((t) => t.includes('may not change the queue'), 'U_VIEWER');
    const audit = await db.worker.query(`SELECT actor_id, outcome FROM jobq.audit_log WHERE action = 'mute' ORDER BY id DESC LIMIT 1`);
    expect(audit.rows[0]).toEqual({ actor_id: 'U_VIEWER', outcome: 'refused' });
    expect((await db.worker.query('SELECT count(*)::int AS n FROM jobq.mutes')).rows[0].n).toBe(0);
  });

  it('mutes a queue: its alerts are counted, not posted; others still are; unmute shows the count and posts a note', async () => {
    await b.slack.slashCommand({ text: 'mute emails 2h deploying the mailer fix', userId: 'U_OPERATOR', channelId: 'C_OPS' });
    const announced = await reply((t) => t.includes('muted') && t.includes('emails'));
    expect(announced.visibleTo).toBeUndefined(); // a change: the channel sees it
    expect(blockText(announced)).toContain('deploying the mailer fix');
    expect(blockText(announced)).toContain(`${RUNBOOK}#silencing-alerts`);

    await f.jobs(3, { queue: 'emails', task: 'app.muted_send', status: 'failed' });
    await f.jobs(2, { queue: 'reports', task: 'app.loud', status: 'failed' });
    await b.slack.waitFor(() => alertsFor('app.loud')[0], 5_000, 'the unmuted queue alerted');
    await until(async () => (await mute('emails'))?.alerts === 1, 5_000, 'the muted alert counted');
    expect(alertsFor('app.muted_send')).toEqual([]);
    expect(await mute('emails')).toMatchObject({ alerts: 1, failures: 3 });

    await b.slack.slashCommand({ text: 'mutes', userId: 'U_VIEWER', channelId: 'C_OPS' });
    const list = await reply((t) => t.includes('Active silences'), 'U_VIEWER');
    expect(blockText(list)).toContain('1 alert suppressed (3 failures) so far');

    await b.slack.slashCommand({ text: 'unmute emails', userId: 'U_OPERATOR', channelId: 'C_OPS' });
    const unmuted = await reply((t) => t.includes('unmuted'));
    expect(unmuted.text).toContain('1 alert had been suppressed (3 failures)');
    const note = await b.slack.waitFor(() => tagged(b.slack, ALERTS, METADATA_TYPE.muteNote)[0], 5_000, 'the note in the alert channel');
    expect(note.text).toContain('Silence on emails removed: 1 alert suppressed (3 failures)');
    const audit = await db.worker.query(`SELECT action, actor_id, outcome FROM jobq.audit_log WHERE action IN ('mute', 'unmute') AND outcome = 'ok' ORDER BY id`);
    expect(audit.rows).toEqual([
      { action: 'mute', actor_id: 'U_OPERATOR', outcome: 'ok' },
      { action: 'unmute', actor_id: 'U_OPERATOR', outcome: 'ok' },
    ]);

    // Unmuted: the next failure is posted again.
    await f.job({ queue: 'emails', task: 'app.muted_send', status: 'failed' });
    const back = await b.slack.waitFor(() => alertsFor('app.muted_send')[0], 5_000, 'alerts again after unmute');
    expect(failuresIn(back)).toBe(1);
  });

  it('mutes a health alert by name; when the silence expires, a note says how many it suppressed', async () => {
    await b.slack.slashCommand({ text: 'mute alert:backlog 1h bulk import', userId: 'U_OPERATOR', channelId: 'C_OPS' });
    await reply((t) => t.includes('muted') && t.includes('alert:backlog'));
    await f.jobs(3, { queue: 'batch', task: 'app.import' }); // 3 due, threshold 1
    await until(async () => (await mute('alert:backlog'))?.alerts === 1, 5_000, 'the backlog alert counted');
    expect(tagged(b.slack, ALERTS, METADATA_TYPE.health, (p) => p.key === 'backlog:batch')).toEqual([]);

    // Time passes: the silence's end moves into the past, and the leader notices on its own.
    await db.worker.query(`UPDATE jobq.mutes SET expires_at = now() - interval '1 second' WHERE target = 'alert:backlog'`);
    const note = await b.slack.waitFor(() => tagged(b.slack, ALERTS, METADATA_TYPE.muteNote).find((m) => m.text.includes('alert:backlog')), 5_000, 'the expiry note');
    expect(note.text).toContain('Silence on alert:backlog expired: 1 alert suppressed');
    expect(await mute('alert:backlog')).toMatchObject({ end_reason: 'expired' });
    // No longer muted: the backlog alert fires.
    await b.slack.waitFor(() => tagged(b.slack, ALERTS, METADATA_TYPE.health, (p) => p.key === 'backlog:batch')[0], 5_000, 'the backlog alert after expiry');
  });

  it('answers unmute of nothing, and bad durations, with usage', async () => {
    await b.slack.slashCommand({ text: 'unmute nothing-here', userId: 'U_OPERATOR', channelId: 'C_OPS' });
    await reply((t) => t.includes('Nothing is muted as'));
    await b.slack.slashCommand({ text: 'mute emails soon', userId: 'U_OPERATOR', channelId: 'C_OPS' });
    await reply((t) => t.includes('The duration takes a duration') && t.includes('/jobq mute QUEUE|TASK|ALERT DURATION'));
  });

  it('"Show them" lists the group\'s failed jobs; "Retry these" goes through the bulk preview and Confirm', async () => {
    const ids = await f.jobs(3, { queue: 'emails', task: 'app.buttons', status: 'failed' });
    const other = await f.job({ queue: 'emails', task: 'app.other', status: 'failed' });
    const alert = await b.slack.waitFor(() => alertsFor('app.buttons')[0], 5_000, 'the alert');

    await b.slack.clickButton({ message: alert, actionId: 'alert_show', userId: 'U_VIEWER' });
    const shown = await reply((t) => t.includes('Failed jobs') && t.includes('app.buttons'), 'U_VIEWER', ALERTS);
    expect(shown.visibleTo).toBe('U_VIEWER');
    expect(blockText(shown)).not.toContain('app.other');

    await b.slack.clickButton({ message: alert, actionId: 'alert_retry', userId: 'U_OPERATOR' });
    const preview = await b.slack.waitFor(() => b.slack.messages(ALERTS, { ephemeral: false }).find((m) => blockText(m).includes('bulk_confirm')), 5_000, 'the retry preview');
    expect(blockText(preview)).toContain('Retry 3 failed jobs?');
    await b.slack.clickButton({ message: preview, actionId: 'bulk_confirm', userId: 'U_OPERATOR' });
    await b.slack.waitFor(() => b.slack.messages(ALERTS).find((m) => m.ts === preview.ts && blockText(m).includes('Retried 3')), 10_000, 'the retry done');
    const statuses = await db.worker.query<{ status: string }>('SELECT status::text FROM procrastinate_jobs WHERE id = ANY($1::bigint[])', [ids]);
    expect(statuses.rows.every((r) => r.status === 'todo')).toBe(true);
    expect(await f.status(other)).toBe('failed');
  });
});
