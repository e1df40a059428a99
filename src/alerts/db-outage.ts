import { backoffMs } from '../backoff.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import { healthAlertBlocks, healthRepeatBlocks, healthResolvedBlocks, type HealthAlertView } from '../render/blocks/alerts.js';
import { escapeMrkdwn } from '../render/blocks/kit.js';
import type { RenderOptions } from '../render/blocks/reads.js';
import { classifySlackError } from '../slack/errors.js';
import type { LeaderEvent } from './leadership.js';
import { countSuppressed, mutesFor, type Mute } from '../queue/mutes.js';
import { METADATA_TYPE, type Poster } from './poster.js';
import type { AlertSettings } from './settings.js';

const TITLE = 'jobq cannot reach its database';

/** A post that failed and waits for its retry. */
interface Retry {
  attempts: number;
  at: number;
}

/**
 * "Database unreachable": no replica can hold the leader lock while the database is down, so the
 * replica that was leader when its connection broke reports the outage (kept in memory: there is
 * nowhere else to keep it), repeats it while it lasts, and posts "resolved" as soon as it
 * reconnects, whichever replica then becomes leader. A post Slack refuses (bot not in the channel,
 * Slack down) is kept and tried again at later leader checks with a growing wait, the alert and
 * its "resolved" alike; an outage whose alert never got through is still reported once it is over.
 */
export function createDbOutageReporter(deps: { pool: Db; poster: Poster; settings: AlertSettings; log: Logger; render: RenderOptions; mutes: () => Mute[] }) {
  const { poster, settings, log } = deps;
  const channel = settings.channel!;
  let lostAt: number | null = null;
  let lastError = '';
  let alert: { ts: string | null; startedAt: string; lastPostedAt: number; muted: boolean; retry: Retry | null } | null = null;
  /** An outage that ended but whose "resolved" Slack has not taken yet. */
  let unresolved: { ts: string | null; startedAt: string; retry: Retry } | null = null;
  let suppressedFor: number[] | null = null;
  let suppressedCount = 0;

  const view = (startedAt: string): HealthAlertView => ({
    alert: 'db-unreachable',
    title: TITLE,
    detail: `Every connection attempt fails: ${escapeMrkdwn(lastError.slice(0, 300))}\nFailures that happen meanwhile are alerted after the reconnection.`,
    startedAt,
    muteTarget: 'db-unreachable',
    commands: ['doctor'],
  });
  const metadata = (startedAt: string) => ({ event_type: METADATA_TYPE.health, event_payload: { key: 'db-unreachable', started_at: startedAt } });

  /** Runs a Slack step; on a Slack error, schedules its retry instead of throwing. */
  async function attempt(retry: Retry | null, step: () => Promise<void>): Promise<Retry | null> {
    if (retry && Date.now() < retry.at) return retry;
    try {
      await step();
      return null;
    } catch (error) {
      if (!classifySlackError(error)) throw error;
      const attempts = (retry?.attempts ?? 0) + 1;
      log.debug({ err: error, attempts }, 'database unreachable alert: Slack refused the post; kept and retried');
      return { attempts, at: Date.now() + backoffMs(attempts, settings.leaderCheckMs) };
    }
  }

  async function stillDown(): Promise<void> {
    if (lostAt === null) return;
    const now = Date.now();
    const muting = mutesFor(deps.mutes(), { alert: 'db-unreachable' });
    if (!alert) {
      if (now - lostAt < settings.dbUnreachableAfterMs) return;
      alert = { ts: null, startedAt: new Date(lostAt).toISOString(), lastPostedAt: now, muted: muting.length > 0, retry: null };
      if (alert.muted) {
        suppressedFor = muting.map((m) => m.id);
        suppressedCount++;
        return;
      }
    }
    const open = alert;
    if (!open.muted && !open.ts) {
      open.retry = await attempt(open.retry, async () => {
        open.ts = await poster.post(channel, healthAlertBlocks(view(open.startedAt), settings.repeatMs / 1000, deps.render), { metadata: metadata(open.startedAt) });
        open.lastPostedAt = Date.now();
        log.warn('posted: database unreachable');
      });
    } else if (now - open.lastPostedAt >= settings.repeatMs) {
      open.lastPostedAt = now;
      if (muting.length || !open.ts) {
        suppressedFor = muting.map((m) => m.id);
        suppressedCount++;
        return;
      }
      const ts = open.ts;
      // A repeat Slack refuses is not kept: the next one follows at the repeat interval.
      await attempt(null, async () => {
        await poster.update(channel, ts, healthAlertBlocks(view(open.startedAt), settings.repeatMs / 1000, deps.render), metadata(open.startedAt));
        await poster.post(channel, healthRepeatBlocks(view(open.startedAt)), { threadTs: ts, broadcast: true });
      });
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
    if (open && !open.muted) {
      unresolved = { ts: open.ts, startedAt: open.startedAt, retry: { attempts: 0, at: 0 } };
      await resolve();
    }
  }

  /** Marks the alert resolved; one that never reached Slack is posted as a resolved message, so the outage is on record. */
  async function resolve(): Promise<void> {
    const pending = unresolved;
    if (!pending) return;
    const done = healthResolvedBlocks({ alert: 'db-unreachable', title: TITLE, startedAt: pending.startedAt }, deps.render);
    const retry = await attempt(pending.retry.attempts ? pending.retry : null, async () => {
      if (pending.ts) {
        await poster.update(channel, pending.ts, done.parent, metadata(pending.startedAt));
        await poster.post(channel, done.reply, { threadTs: pending.ts });
      } else {
        await poster.post(channel, done.parent, { metadata: metadata(pending.startedAt) });
      }
      log.info('posted: database reachable again');
    });
    unresolved = retry ? { ...pending, retry } : null;
  }

  return {
    async onEvent(event: LeaderEvent): Promise<void> {
      if (event.type === 'deposed' && event.connectionLost) {
        lostAt ??= Date.now();
      } else if (event.type === 'unreachable') {
        lastError = event.error;
        await stillDown();
      } else if (event.type === 'reachable') {
        if (lostAt !== null) await backUp();
        else await resolve();
      }
    },
  };
}
