import type { Logger } from '../log.js';
import { asJobqError } from '../errors.js';
import type { Db } from './database.js';
import { catalogReplicaLag, catalogWalPosition } from './queries/catalog.js';

/** Where a read was served from, so a reply can say how fresh it is. */
export type ReadSource = { kind: 'primary'; fallback?: string } | { kind: 'replica'; lagSeconds: number };

export interface ReadRoute {
  db: Db;
  source: ReadSource;
}

export interface ReadRouter {
  /** The database the next heavy read should use, with why. */
  route(): Promise<ReadRoute>;
  /** The replica's state as last measured (for doctor and /readyz); null without a replica. */
  status(): Promise<ReplicaStatus | null>;
}

export interface ReplicaStatus {
  reachable: boolean;
  inRecovery: boolean | null;
  lagSeconds: number | null;
  usable: boolean;
  reason: string | null;
}

/** How long a lag measurement is reused: heavy reads in a burst share one. */
const MEASURE_EVERY_MS = 2_000;

/**
 * Heavy reads (stats, failed lists, summaries) go to a hot standby when one is configured and
 * current enough; everything that writes, leads or must be fresh stays on the primary. The
 * standby's lag is measured against the primary's WAL position at most every two seconds; when
 * it is down, not a standby, or further behind than `maxLagSeconds`, reads fall back to the
 * primary, and the reply says so.
 */
export function createReadRouter(primary: Db, replica: Db | null, maxLagSeconds: number, log?: Logger): ReadRouter {
  let measured: { at: number; status: ReplicaStatus } | undefined;
  let measuring: Promise<ReplicaStatus> | undefined;
  let lastReason: string | null = null;

  async function measure(): Promise<ReplicaStatus> {
    try {
      const position = (await primary.query(catalogWalPosition())).rows[0]?.lsn ?? null;
      const row = (await replica!.query(catalogReplicaLag(position))).rows[0]!;
      if (row.in_recovery && row.lag_seconds === null)
        return {
          reachable: true,
          inRecovery: true,
          lagSeconds: null,
          usable: false,
          reason: 'the replica is behind the primary by an unknown amount (nothing replayed since it started)',
        };
      const lag = Number(row.lag_seconds);
      if (!row.in_recovery)
        return {
          reachable: true,
          inRecovery: false,
          lagSeconds: 0,
          usable: false,
          reason: 'JOB_QUEUE_READ_DATABASE_URL is not a standby (pg_is_in_recovery() is false): reads stay on the primary',
        };
      if (lag > maxLagSeconds)
        return {
          reachable: true,
          inRecovery: true,
          lagSeconds: lag,
          usable: false,
          reason: `the replica is ${Math.round(lag)} s behind (JOBQ_READ_MAX_LAG_SECONDS=${maxLagSeconds})`,
        };
      return { reachable: true, inRecovery: true, lagSeconds: lag, usable: true, reason: null };
    } catch (error) {
      return { reachable: false, inRecovery: null, lagSeconds: null, usable: false, reason: `the replica cannot be reached: ${asJobqError(error).message}` };
    }
  }

  async function status(): Promise<ReplicaStatus | null> {
    if (!replica) return null;
    if (measured && Date.now() - measured.at < MEASURE_EVERY_MS) return measured.status;
    measuring ??= measure().then((s) => {
      measured = { at: Date.now(), status: s };
      measuring = undefined;
      if (s.reason !== lastReason) {
        if (s.usable) log?.info({ lagSeconds: s.lagSeconds }, 'heavy reads go to the replica again');
        else log?.warn({ reason: s.reason }, 'heavy reads fall back to the primary');
        lastReason = s.reason;
      }
      return s;
    });
    return measuring;
  }

  return {
    status,
    async route() {
      const s = await status();
      if (!s) return { db: primary, source: { kind: 'primary' } };
      if (s.usable) return { db: replica!, source: { kind: 'replica', lagSeconds: s.lagSeconds ?? 0 } };
      return { db: primary, source: { kind: 'primary', fallback: s.reason ?? 'the replica is not usable' } };
    },
  };
}
