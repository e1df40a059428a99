import type { Db } from '../db/database.js';
import { eventsIdsInRange, eventsTallyByIds, eventsTallyRange, type EventsTallyRow } from '../db/queries/events-metrics.js';
import { eventsMaxId } from '../db/queries/events.js';

/** New events of one queue and type since the last read, and the run times of the final ones. */
export interface EventCount {
  queue: string;
  type: string;
  events: number;
  durations: number[];
}

export interface EventTallyOptions {
  /** Event ids per statement: each reads at most this many rows by primary key. */
  window?: number;
  /** Statements per read: past this the rest waits for the next read (the backlog shows as `behind`). */
  maxWindows?: number;
  /** How long an id missing below newer ones is looked for again (a transaction that commits late). */
  gapRetentionMs?: number;
  /** At most this many missing ids are remembered (a mass rollback leaves many that never come). */
  maxGaps?: number;
}

export const TALLY_WINDOW = 500;
const MAX_WINDOWS = 200;
const GAP_RETENTION_MS = 10 * 60_000;
const MAX_GAPS = 10_000;

/**
 * Counts every event row exactly once, following the events primary key from the newest event
 * at the first read. Ids are handed out when a row is inserted but seen only when its transaction
 * commits, so a range can be read while a lower id is still invisible: such an id is remembered
 * as a gap and looked for again at each read until it appears (then counted) or is old enough
 * to be a rollback that never will. A range whose row count equals its width has no gap, which
 * is nearly always so; only a short range costs the second, index-only read of its ids.
 */
export class EventTally {
  /** Every id at or below this was counted or is remembered as a gap; null before the first read. */
  cursor: number | null = null;
  /** The newest event id at the last read. */
  newest = 0;
  private readonly gaps = new Map<number, number>();
  private readonly window: number;
  private readonly maxWindows: number;
  private readonly gapRetentionMs: number;
  private readonly maxGaps: number;

  constructor(options: EventTallyOptions = {}) {
    this.window = options.window ?? TALLY_WINDOW;
    this.maxWindows = options.maxWindows ?? MAX_WINDOWS;
    this.gapRetentionMs = options.gapRetentionMs ?? GAP_RETENTION_MS;
    this.maxGaps = options.maxGaps ?? MAX_GAPS;
  }

  /** Events not read yet (they are counted at the next reads). */
  get behind(): number {
    return this.cursor === null ? 0 : Math.max(0, this.newest - this.cursor);
  }

  /** Ids still looked for. */
  get pendingGaps(): number {
    return this.gaps.size;
  }

  /**
   * Reads what happened since the last call and hands each group of new events to `count`. The
   * first call only takes the starting position. Each statement's result is handed over together
   * with the move of the position it justifies, so a read that fails part-way counts nothing twice.
   */
  async read(db: Db, count: (events: EventCount) => void, now = Date.now()): Promise<void> {
    this.newest = (await db.query(eventsMaxId())).rows[0]!.max_id;
    if (this.cursor === null) {
      this.cursor = this.newest;
      return;
    }
    await this.readGaps(db, count, now);
    for (let i = 0; i < this.maxWindows && this.cursor < this.newest; i++) {
      const lo = this.cursor;
      const hi = Math.min(this.newest, lo + this.window);
      const rows = (await db.query(eventsTallyRange(lo, hi))).rows;
      const found = rows.reduce((n, r) => n + r.events, 0);
      const present = found < hi - lo ? new Set((await db.query(eventsIdsInRange(lo, hi))).rows.map((r) => r.id)) : null;
      for (const row of rows) count(asCount(row));
      if (present) for (let id = lo + 1; id <= hi; id++) if (!present.has(id)) this.gaps.set(id, now);
      this.cursor = hi;
    }
    this.trimGaps();
  }

  private async readGaps(db: Db, count: (events: EventCount) => void, now: number): Promise<void> {
    for (const [id, since] of this.gaps) if (now - since > this.gapRetentionMs) this.gaps.delete(id);
    const ids = [...this.gaps.keys()];
    for (let i = 0; i < ids.length; i += this.window) {
      const rows = (await db.query(eventsTallyByIds(ids.slice(i, i + this.window)))).rows;
      for (const row of rows) {
        count(asCount(row));
        for (const id of row.ids) this.gaps.delete(Number(id));
      }
    }
  }

  /** The oldest gaps go first when there are too many to remember. */
  private trimGaps(): void {
    if (this.gaps.size <= this.maxGaps) return;
    const excess = this.gaps.size - this.maxGaps;
    const oldest = [...this.gaps.entries()].sort((a, b) => a[1] - b[1] || a[0] - b[0]).slice(0, excess);
    for (const [id] of oldest) this.gaps.delete(id);
  }
}

const asCount = (row: EventsTallyRow): EventCount => ({
  queue: row.queue_name,
  type: row.type,
  events: row.events,
  // `at` is the database's clock at each transaction's start: a clock step (or an edited row) must not give a negative run time.
  durations: (row.durations ?? []).map((d) => Math.max(0, d)),
});
