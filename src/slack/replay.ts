import type { Db } from '../db/database.js';
import { seenRequestsPrune, seenRequestsRecord } from '../db/queries/jobq-requests.js';
import type { Logger } from '../log.js';
import { MAX_CLOCK_SKEW_SECONDS } from './verify.js';

/** How long the shared check may take before the request goes on with this replica's memory only. */
const SHARED_CHECK_MS = 500;
const PRUNE_EVERY_MS = 60_000;

export interface ReplayGuard {
  /** True the first time a signature is seen (on any replica); false for a replay. */
  firstSeen(signature: string, timestampSeconds: number): Promise<boolean>;
}

/**
 * Remembers accepted signatures until their timestamp leaves Slack's window: in memory (this
 * replica, instant) and in jobq's schema (every replica). When the database cannot answer in
 * time the memory still refuses replays to this replica; the request is not held up for it,
 * since the 3-second ack matters more than a replay that would only reach the outage message.
 */
export function createReplayGuard(options: { pool: Db; ready: () => Promise<void>; log: Logger }): ReplayGuard {
  const local = new Map<string, number>();
  let lastPrune = 0;

  function pruneLocal(nowSeconds: number): void {
    for (const [signature, expires] of local) if (expires < nowSeconds) local.delete(signature);
  }

  async function shared(signature: string, expiresAt: number): Promise<boolean> {
    await options.ready();
    const result = await options.pool.query(seenRequestsRecord(signature, expiresAt));
    if (Date.now() - lastPrune > PRUNE_EVERY_MS) {
      lastPrune = Date.now();
      void options.pool.query(seenRequestsPrune()).catch((error: unknown) => options.log.debug({ err: error }, 'could not prune seen Slack requests'));
    }
    return (result.rowCount ?? 0) > 0;
  }

  return {
    async firstSeen(signature, timestampSeconds) {
      const now = Date.now() / 1000;
      if (local.size > 10_000) pruneLocal(now);
      const expiresAt = timestampSeconds + MAX_CLOCK_SKEW_SECONDS;
      if (local.has(signature)) return false;
      local.set(signature, expiresAt);
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          shared(signature, expiresAt),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(true), SHARED_CHECK_MS);
          }),
        ]);
      } catch (error) {
        options.log.debug({ err: error }, "replay check fell back to this replica's memory");
        return true;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
