import type { Db } from '../db/database.js';
import { eventsFirstAtOrAfterId, eventsMaxId } from '../db/queries/events.js';

export interface EventIdBounds {
  min_id: number;
  max_id: number;
}

/** Lowest and highest event id, both from the primary key. */
export async function eventIdBounds(pool: Db): Promise<EventIdBounds> {
  return (await pool.query(eventsMaxId())).rows[0]!;
}

/**
 * The lowest event id whose time is at or after `since`, by binary search over the primary key
 * (ids grow with time). About log2(rows) index probes: ~27 for 100M events, whatever the size.
 */
export async function firstEventIdSince(pool: Db, since: Date, known?: EventIdBounds): Promise<number> {
  const bounds = known ?? (await eventIdBounds(pool));
  let lo = bounds.min_id;
  let hi = bounds.max_id + 1; // answer in [lo, hi]; hi means "no event that recent"
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const row = (await pool.query(eventsFirstAtOrAfterId(mid))).rows[0];
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
