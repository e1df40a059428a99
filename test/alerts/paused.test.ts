import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METADATA_TYPE } from '../../src/alerts/poster.js';
import { getJob } from '../../src/queue/job.js';
import { blockText, startTestBot, type BotBundle } from '../helpers/bot.js';
import { createTestDb, queueContext, type TestDb } from '../helpers/db.js';
import { factories, type Factories } from '../helpers/factories.js';
import { FAST, tagged } from './harness.js';

const CHANNEL = 'C_ALERTS';

/** On 3.10 alerts know about paused queues: a backlog there is the pause working, and a pause left on is remembered. */
describe('alerts and paused queues (3.10)', () => {
  let db: TestDb;
  let f: Factories;
  let b: BotBundle;

  beforeAll(async () => {
    db = await createTestDb('v310');
    f = factories(db.worker, 'v310');
    b = await startTestBot(db, {
      ...FAST,
      JOBQ_ALERTS_DISABLED: 'stalled,no-workers',
      JOBQ_QUEUE_THRESHOLDS: JSON.stringify({ held: { backlogMaxJobs: 2 } }),
      JOBQ_PAUSE_REMINDER_SECONDS: '1',
    });
  });
  afterAll(async () => {
    await b?.close();
    await db?.drop();
  });

  const health = (key: string) => tagged(b.slack, CHANNEL, METADATA_TYPE.health, (p) => p.key === key);

  it('says a backlog is in a paused queue rather than paging as if workers were lost, and reminds of a long pause', async () => {
    await f.jobs(3, { queue: 'held' });
    await f.pause('held', 'jobq');
    const backlog = await b.slack.waitFor(() => health('backlog:held')[0], 8_000, 'the backlog alert');
    expect(blockText(backlog)).toContain('Backlog in paused queue');
    expect(blockText(backlog)).toContain('/jobq resume held');
    const reminder = await b.slack.waitFor(() => health('paused:held')[0], 8_000, 'the pause reminder');
    expect(blockText(reminder)).toMatch(/has been paused for/);
    expect(blockText(reminder)).toContain('#emergency-stop');
    await f.resume('held');
    await b.slack.waitFor(() => b.slack.messages(CHANNEL).some((m) => m.thread_ts === reminder.ts && /resolved/i.test(blockText(m))), 8_000, 'the reminder resolved');
  });

  it('offers Pause queue on a failure alert, and the click pauses the queue for a writer', async () => {
    await f.job({ queue: 'flaky', task: 'app.flaky', status: 'failed' });
    const alert = await b.slack.waitFor(() => tagged(b.slack, CHANNEL, METADATA_TYPE.failure, (p) => p.task === 'app.flaky')[0], 8_000, 'the failure alert');
    expect(blockText(alert)).toContain('alert_pause');
    await b.slack.clickButton({ message: alert, actionId: 'alert_pause', userId: 'U_OPERATOR' });
    await b.slack.waitFor(() => b.slack.messages(CHANNEL, { ephemeral: false }).find((m) => m.text.includes('paused flaky')), 8_000, 'the pause announced');
    const rows = await db.worker.query(`SELECT 1 FROM procrastinate_paused_queues WHERE queue_name = 'flaky' AND pause_key = 'jobq'`);
    expect(rows.rowCount).toBe(1);
  });
});

/** The job card explains why a todo job is not running, with 3.10's lock modes. */
describe('why a job waits (3.10 lock modes)', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb('v310');
  });
  afterAll(async () => db?.drop());

  it('an ordered job scheduled for later holds its lock; a mutex one does not', async () => {
    const f = factories(db.worker, 'v310');
    const later = new Date(Date.now() + 3_600_000);
    const ordered = await f.job({ queue: 'locks', lock: 'L1', scheduledAt: later, lockMode: 'ordered' });
    const behindOrdered = await f.job({ queue: 'locks', lock: 'L1' });
    const mutex = await f.job({ queue: 'locks', lock: 'L2', scheduledAt: later, lockMode: 'mutex' });
    const behindMutex = await f.job({ queue: 'locks', lock: 'L2' });
    const ctx = await queueContext(db);

    const blocked = await getJob(ctx, behindOrdered);
    expect(blocked.waiting).toEqual([`job #${ordered} waits ahead of it on lock "L1" (ordered: it holds the lock even before its scheduled time)`]);
    expect((await getJob(ctx, behindMutex)).waiting).toEqual([]);
    const own = await getJob(ctx, mutex);
    expect(own.job.lockMode).toBe('mutex');
    expect(own.waiting).toEqual([`it is scheduled for ${own.job.scheduledAt}`]);
    expect(own.job.deferredAt).not.toBeNull();
    // What the card says matches what a worker does: only the mutex side can run now.
    expect(await f.fetch(['locks'])).toBe(behindMutex);
    expect(await f.fetch(['locks'])).toBeNull();
  });

  it('waiting time comes from deferred_at for a job that never ran', async () => {
    const f = factories(db.worker, 'v310');
    const id = await f.job({ queue: 'aged' });
    await db.worker.query(`UPDATE procrastinate_jobs SET deferred_at = now() - interval '2 hours' WHERE id = $1`, [id]);
    const { getStats } = await import('../../src/queue/stats.js');
    const stats = await getStats(await queueContext(db));
    const aged = stats.queues.find((q) => q.name === 'aged')!;
    expect(aged.oldestTodoAgeSeconds).toBeGreaterThanOrEqual(7_199);
    expect(aged.oldestTodoAgeSeconds).toBeLessThan(7_300);
  });
});
