import pg from 'pg';
import { leaderPing, leaderSessionSetting, leaderTryLock } from '../db/queries/jobq-alerts.js';
import type { Logger } from '../log.js';
import { redactSecrets } from '../redact.js';

/**
 * One leader among the replicas, through a PostgreSQL session advisory lock held on a dedicated
 * connection (never a pooled one, which could be handed to other work or recycled).
 *
 * - Followers try the lock every `checkMs`.
 * - The leader pings its connection every `checkMs` and steps down at once when the ping fails
 *   or the connection reports 'error' / 'end'.
 * - The server frees the lock when the leader's session ends: at once when its process exits;
 *   within `idle_session_timeout` (3 × checkMs) when it freezes; within the TCP keepalive
 *   (about 4 × checkMs) when the network drops. So a follower takes over within about
 *   checkMs after a clean exit or a crash, and about 5 × checkMs in the worst case.
 */

export type LeaderEvent =
  | { type: 'elected' }
  | { type: 'deposed'; reason: string; connectionLost: boolean }
  | { type: 'reachable' }
  | { type: 'unreachable'; error: string };

export interface LeadershipOptions {
  connectionString: string;
  checkMs: number;
  log: Logger;
  onEvent: (event: LeaderEvent) => Promise<void> | void;
}

export interface Leadership {
  isLeader(): boolean;
  /** Resolves once the first attempt (lock taken or not) is done. */
  ready: Promise<void>;
  /** Steps down (releasing the lock by closing the connection) and stops trying. */
  stop(): Promise<void>;
}

export function startLeadership(options: LeadershipOptions): Leadership {
  const { checkMs, log } = options;
  let client: pg.Client | null = null;
  let leader = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const emit = async (event: LeaderEvent) => {
    try {
      await options.onEvent(event);
    } catch (error) {
      log.error({ err: error, event: event.type }, 'leadership handler failed');
    }
  };

  async function lose(reason: string, connectionLost: boolean): Promise<void> {
    const old = client;
    client = null;
    old?.end().catch(() => undefined);
    if (leader) {
      leader = false;
      if (connectionLost) log.warn({ reason }, 'stepping down as alerting leader');
      else log.info({ reason }, 'stepping down as alerting leader');
      await emit({ type: 'deposed', reason, connectionLost });
    }
  }

  async function connect(): Promise<pg.Client> {
    const c = new pg.Client({
      connectionString: options.connectionString,
      application_name: 'jobq-leader',
      connectionTimeoutMillis: Math.max(1_000, checkMs),
      query_timeout: Math.max(1_000, checkMs),
      keepAlive: true,
      keepAliveInitialDelayMillis: Math.max(1_000, checkMs),
    });
    // A lost connection is a lost lock: step down without waiting for the next ping.
    c.on('error', (err) => {
      if (client === c) void lose(`connection error: ${redactSecrets(err.message)}`, true);
    });
    c.on('end', () => {
      if (client === c) void lose('connection ended', true);
    });
    await c.connect();
    return c;
  }

  async function tick(): Promise<void> {
    if (client && leader) {
      try {
        await client.query(leaderPing());
        await emit({ type: 'reachable' });
      } catch (error) {
        await lose(`ping failed: ${redactSecrets((error as Error).message)}`, true);
      }
      return;
    }
    try {
      client ??= await connect();
      await emit({ type: 'reachable' });
    } catch (error) {
      client = null;
      await emit({ type: 'unreachable', error: redactSecrets((error as Error).message) });
      return;
    }
    try {
      const locked = (await client.query<{ locked: boolean }>(leaderTryLock())).rows[0]?.locked === true;
      if (!locked || stopped) return;
      leader = true;
      await hardenSession(client);
      log.info('elected alerting leader');
      await emit({ type: 'elected' });
    } catch (error) {
      await lose(`lock attempt failed: ${redactSecrets((error as Error).message)}`, true);
    }
  }

  /** Server-side limits so a frozen or cut-off leader's session ends and frees the lock. */
  async function hardenSession(c: pg.Client): Promise<void> {
    const seconds = String(Math.max(1, Math.round(checkMs / 1000)));
    const settings = [
      leaderSessionSetting('idle_session_timeout', String(Math.max(3 * checkMs, 3_000))),
      leaderSessionSetting('tcp_keepalives_idle', seconds),
      leaderSessionSetting('tcp_keepalives_interval', seconds),
      leaderSessionSetting('tcp_keepalives_count', '3'),
    ];
    for (const setting of settings) await c.query(setting).catch(() => undefined); // PostgreSQL < 14 has no idle_session_timeout
  }

  function schedule(delay: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick()
        .catch((error: unknown) => log.error({ err: error }, 'leadership check failed'))
        .finally(() => {
          running = undefined;
          markReady();
          schedule(checkMs);
        });
    }, delay);
    timer.unref();
  }

  schedule(0);

  return {
    isLeader: () => leader,
    ready,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await lose('stopping', false);
      markReady();
    },
  };
}
