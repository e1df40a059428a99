import type { Pool } from '../db/pool.js';
import type { Logger } from '../log.js';
import { healthAlertBlocks, healthRepeatBlocks, healthResolvedBlocks, type HealthAlertView } from '../render/blocks/alerts.js';
import { escapeMrkdwn } from '../render/blocks/kit.js';
import type { RenderOptions } from '../render/blocks/reads.js';
import type { LeaderEvent } from './leadership.js';
import { countSuppressed, mutesFor, type Mute } from './mutes.js';
import { METADATA_TYPE, type Poster } from './poster.js';
import type { AlertSettings } from './settings.js';

/**
 * "Database unreachable": no replica can hold the leader lock while the database is down, so the
 * replica that was leader when its connection broke reports the outage (kept in memory: there is
 * nowhere else to keep it), repeats it while it lasts, and posts "resolved" as soon as it
 * reconnects, whichever replica then becomes leader.
 */
export function createDbOutageReporter(deps: { pool: Pool; poster: Poster; settings: AlertSettings; log: Logger; render: RenderOptions; mutes: () => Mute[] }) {
  const { poster, settings, log } = deps;
  const channel = settings.channel!;
  let lostAt: number | null = null;
  let lastError = '';
  let alert: { ts: string | null; startedAt: string; lastPostedAt: number } | null = null;
  let suppressedFor: number[] | null = null;
  let suppressedCount = 0;

  const view = (startedAt: string): HealthAlertView => ({
    alert: 'db-unreachable',
    title: 'jobq cannot reach its database',
    detail: `Every connection attempt fails: ${escapeMrkdwn(lastError.slice(0, 300))}\nFailures that happen meanwhile are alerted after the reconnection.`,
    startedAt,
    muteTarget: 'db-unreachable',
    commands: ['doctor'],
  });
  const metadata = (startedAt: string) => ({ event_type: METADATA_TYPE.health, event_payload: { key: 'db-unreachable', started_at: startedAt } });

  async function stillDown(): Promise<void> {
    if (lostAt === null) return;
    const now = Date.now();
    const muting = mutesFor(deps.mutes(), { alert: 'db-unreachable' });
    if (!alert) {
      if (now - lostAt < settings.dbUnreachableAfterMs) return;
      const startedAt = new Date(lostAt).toISOString();
      alert = { ts: null, startedAt, lastPostedAt: now };
      if (muting.length) {
        suppressedFor = muting.map((m) => m.id);
        suppressedCount++;
        return;
      }
      alert.ts = await poster.post(channel, healthAlertBlocks(view(startedAt), settings.repeatMs / 1000, deps.render), { metadata: metadata(startedAt) });
      log.warn('posted: database unreachable');
    } else if (now - alert.lastPostedAt >= settings.repeatMs) {
      alert.lastPostedAt = now;
      if (muting.length || !alert.ts) {
        suppressedFor = muting.map((m) => m.id);
        suppressedCount++;
        return;
      }
      await poster.update(channel, alert.ts, healthAlertBlocks(view(alert.startedAt), settings.repeatMs / 1000, deps.render), metadata(alert.startedAt));
      await poster.post(channel, healthRepeatBlocks(view(alert.startedAt)), { threadTs: alert.ts, broadcast: true });
    }
  }

  async function backUp(): Promise<void> {
    lostAt = null;
    const open = alert;
    alert = null;
    if (suppressedFor && suppressedCount > 0) {
      const ids = suppressedFor;
      const n = suppressedCount;
      suppressedFor = null;
      suppressedCount = 0;
      for (let i = 0; i < n; i++) await countSuppressed(deps.pool, ids).catch((error: unknown) => log.warn({ err: error }, 'could not count a suppressed alert'));
    }
    if (open?.ts) {
      const done = healthResolvedBlocks({ alert: 'db-unreachable', title: 'jobq cannot reach its database', startedAt: open.startedAt }, deps.render);
      await poster.update(channel, open.ts, done.parent, metadata(open.startedAt));
      await poster.post(channel, done.reply, { threadTs: open.ts });
      log.info('posted: database reachable again');
    }
  }

  return {
    async onEvent(event: LeaderEvent): Promise<void> {
      if (event.type === 'deposed' && event.connectionLost) {
        lostAt ??= Date.now();
      } else if (event.type === 'unreachable') {
        lastError = event.error;
        await stillDown();
      } else if (event.type === 'reachable' && lostAt !== null) {
        await backUp();
      }
    },
  };
}
