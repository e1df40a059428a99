import type { Pool } from '../db/pool.js';
import { eventsFirstAtOrAfterId, eventsMaxId } from '../db/queries/events.js';

/**
 * The lowest event id whose time is at or after `since`, by binary search over the primary key
 * (ids grow with time). About log2(rows) index probes: ~27 for 100M events, whatever the size.
 */
export async function firstEventIdSince(pool: Pool, since: Date): Promise<number> {
  const bounds = (await pool.query<{ max_id: number; min_id: number }>(eventsMaxId())).rows[0]!;
  let lo = bounds.min_id;
  let hi = bounds.max_id + 1; // answer in [lo, hi]; hi means "no event that recent"
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const row = (await pool.query<{ id: number; at: Date }>(eventsFirstAtOrAfterId(mid))).rows[0];
    if (!row) {
      hi = mid;
    } else if (row.at >= since) {
      hi = Math.min(mid, row.id);
    } else {
      lo = row.id + 1;
    }
  }
  return lo;
}
