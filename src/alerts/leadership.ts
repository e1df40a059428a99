import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Db } from '../db/database.js';
import { leaseAcquire, leaseRelease, leaseRenew, type Fence } from '../db/queries/jobq-leases.js';
import { asJobqError } from '../errors.js';
import { backgroundTask } from '../background.js';
import type { Logger } from '../log.js';

/**
 * One leader among the replicas, through a lease row in jobq's schema (see jobq-leases.ts): it
 * needs no dedicated connection and no session state, so it holds through PgBouncer in
 * transaction mode, RDS Proxy and the like.
 *
 * - Followers try to take the lease every `checkMs`; it is free once the last holder's expiry passed.
 * - The leader renews every `checkMs` for `ttlMs` (3 × checkMs) and counts itself leader only
 *   until `ttlMs - checkMs` after the start of its last successful renewal, measured on its own
 *   monotonic clock. A leader that froze (GC pause, stopped VM) wakes up past that point and stops
 *   at once, before the database expiry lets anyone else in; and every claim of work it makes
 *   carries its fencing token, which the database refuses once the lease moved on.
 * - A planned stop releases the lease: a follower takes over at its next try.
 * So failover takes about checkMs after a clean stop, and at most about ttlMs + checkMs after a crash.
 */

export type LeaderEvent = { type: 'elected' } | { type: 'deposed'; reason: string; connectionLost: boolean } | { type: 'reachable' } | { type: 'unreachable'; error: string };

export interface LeaderRecorder {
  leader(isLeader: boolean): void;
}

export interface LeadershipOptions {
  db: Db;
  /** The lease's name: one leader per name (default `alerts`). */
  name?: string;
  checkMs: number;
  log: Logger;
  /** Where leadership is reported (jobq's metrics). */
  metrics?: LeaderRecorder | undefined;
  /** jobq's schema must exist before the lease table can be used. */
  ready?: () => Promise<void>;
  onEvent: (event: LeaderEvent) => Promise<void> | void;
}

export interface Leadership {
  /** True while this replica holds a lease it has renewed recently enough to trust. */
  isLeader(): boolean;
  /** The token to claim work with, while leader. */
  fence(): Fence | null;
  /** Resolves once the first attempt (lease taken or not) is done. */
  ready: Promise<void>;
  /** Steps down (releasing the lease) and stops trying. */
  stop(): Promise<void>;
}

const LOST_CONNECTION = new Set(['db_unreachable', 'db_timeout']);

export function startLeadership(options: LeadershipOptions): Leadership {
  const { checkMs, log, db } = options;
  const name = options.name ?? 'alerts';
  const role = name === 'alerts' ? 'alerting leader' : `leader for ${name}`;
  const ttlMs = 3 * checkMs;
  const holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  let fence: Fence | null = null;
  /** performance.now() after which this replica no longer trusts its lease. */
  let trustedUntil = 0;
  let stopped = false;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const emit = async (event: LeaderEvent) => {
    try {
      await options.onEvent(event);
    } catch (error) {
      log.error({ err: error, event: event.type }, 'leadership handler failed');
    }
  };

  const trusted = () => fence !== null && performance.now() < trustedUntil;

  async function lose(reason: string, connectionLost: boolean): Promise<void> {
    if (!fence) return;
    fence = null;
    trustedUntil = 0;
    options.metrics?.leader(false);
    if (connectionLost) log.warn({ reason, lease: name }, `stepping down as ${role}`);
    else log.info({ reason, lease: name }, `stepping down as ${role}`);
    await emit({ type: 'deposed', reason, connectionLost });
  }

  async function tick(): Promise<void> {
    const started = performance.now();
    // A leader that was frozen past its lease steps down before touching anything.
    if (fence && !trusted()) await lose('lease not renewed in time', true);
    try {
      await options.ready?.();
      if (fence) {
        const renewed = (await db.query(leaseRenew(fence, ttlMs))).rows.length > 0;
        if (!renewed) return await lose('lease taken over by another replica', false);
        trustedUntil = started + ttlMs - checkMs;
        await emit({ type: 'reachable' });
        return;
      }
      const row = (await db.query(leaseAcquire(name, holder, ttlMs))).rows[0];
      await emit({ type: 'reachable' });
      if (!row || stopped) return;
      fence = { name, holder, token: Number(row.token) };
      trustedUntil = started + ttlMs - checkMs;
      log.info({ token: fence.token, lease: name }, `elected ${role}`);
      options.metrics?.leader(true);
      await emit({ type: 'elected' });
    } catch (error) {
      const e = asJobqError(error);
      if (!LOST_CONNECTION.has(e.code)) log.warn({ code: e.code, reason: e.message }, 'leadership check failed');
      // Still leader until the lease can no longer be trusted; the next tick decides.
      if (fence && !trusted()) await lose(`lease not renewed: ${e.message}`, true);
      if (LOST_CONNECTION.has(e.code)) await emit({ type: 'unreachable', error: e.message });
    }
  }

  // Errors are handled inside tick (a lost database is an event, not a failure of the loop).
  const task = backgroundTask({
    name: 'leadership',
    log,
    intervalMs: checkMs,
    round: async () => {
      try {
        await tick();
      } finally {
        markReady();
      }
    },
  });
  task.start();

  return {
    isLeader: trusted,
    fence: () => (trusted() ? fence : null),
    ready,
    async stop() {
      stopped = true;
      await task.stop();
      const held = fence;
      if (held) {
        await db.query(leaseRelease(held)).catch((error: unknown) => log.debug({ err: error }, 'could not release the leadership lease; it expires by itself'));
        await lose('stopping', false);
      }
      markReady();
    },
  };
}
