import type { Db } from '../db/database.js';
import { eventsFailedGroups } from '../db/queries/events-alerts.js';
import { eventsMaxId } from '../db/queries/events.js';

/** Event ids read per query: each poll costs the same however large the table is. */
export const SCAN_WINDOW = 10_000;
const MAX_WINDOWS_PER_SCAN = 5;
export const SAMPLE_IDS = 5;
/**
 * How long an event id must have been visible before it counts: a transaction that took a lower
 * id may commit a moment later (Procrastinate's are milliseconds long). A fraction of the group
 * wait, so a burst within the wait still lands in one message.
 */
const MAX_SETTLE_MS = 500;

/** The failures of one queue and task collected since the last batch. */
export interface FailureGroup {
  queue: string;
  task: string;
  failures: number;
  firstAt: string;
  lastAt: string;
  sampleJobIds: number[];
}

export const groupKey = (g: { queue: string; task: string }) => JSON.stringify([g.queue, g.task]);

/**
 * Reads new `failed` events by primary key and collects them per queue and task. It owns the
 * scan position and the groups waiting to become a batch; the tail decides when they do.
 */
export class FailureScanner {
  /** Every failed event id at or below this has been collected. */
  scanned = 0;
  /** The newest event id the last scan saw. */
  newest = 0;
  /** When the first group of the current collection appeared (the group wait runs from it). */
  firstSeenAt: number | null = null;
  private readonly groups = new Map<string, FailureGroup>();
  /** The last scan saw failures above the settled mark: more of this burst is on its way. */
  private sawUnsettled = false;
  private readonly snapshots: { at: number; maxId: number }[] = [];
  private readonly settleMs: number;

  constructor(
    private readonly db: Db,
    groupWaitMs: number,
  ) {
    this.settleMs = Math.min(MAX_SETTLE_MS, Math.round(groupWaitMs / 3));
  }

  /** Starts over from a position (after a load or a resync): nothing collected. */
  reset(scanned: number): void {
    this.scanned = scanned;
    this.groups.clear();
    this.firstSeenAt = null;
    this.snapshots.length = 0;
  }

  get collected(): FailureGroup[] {
    return [...this.groups.values()];
  }

  get failures(): number {
    return this.collected.reduce((n, g) => n + g.failures, 0);
  }

  /** The collection became a batch: start a new one (its wait starts now if more was coming). */
  handedOver(now: number): void {
    this.groups.clear();
    this.firstSeenAt = this.sawUnsettled ? now : null;
  }

  /** When the group wait of the current collection ends (null: nothing collected). */
  waitEndsAt(groupWaitMs: number): number | null {
    return this.firstSeenAt === null ? null : this.firstSeenAt + groupWaitMs;
  }

  /**
   * Reads new `failed` events in bounded windows. Ids above the settled mark are only noted (they
   * start the group wait); they are counted once settled, so a transaction that took a lower id
   * and commits late is never skipped.
   */
  async scan(now: number): Promise<void> {
    const maxId = (await this.db.query(eventsMaxId())).rows[0]!.max_id;
    this.newest = maxId;
    this.snapshots.push({ at: now, maxId });
    const settled = this.settledMax(now);
    this.sawUnsettled = false;
    for (let i = 0; i < MAX_WINDOWS_PER_SCAN && this.scanned < maxId; i++) {
      const hi = Math.min(maxId, this.scanned + SCAN_WINDOW);
      const safe = Math.min(Math.max(settled, this.scanned), hi);
      const rows = (await this.db.query(eventsFailedGroups(this.scanned, hi, safe, SAMPLE_IDS))).rows;
      for (const row of rows) {
        if (row.any_unsafe) this.sawUnsettled = true;
        if (row.failures === 0 || !row.first_at || !row.last_at) continue;
        this.add({
          queue: row.queue_name,
          task: row.task_name,
          failures: row.failures,
          firstAt: row.first_at.toISOString(),
          lastAt: row.last_at.toISOString(),
          sampleJobIds: (row.sample_job_ids ?? []).map(Number),
        });
      }
      if (rows.length > 0) this.firstSeenAt ??= now;
      this.scanned = safe;
      if (safe < hi) break; // the rest has not settled yet
    }
  }

  private add(found: FailureGroup): void {
    const key = groupKey(found);
    const group = this.groups.get(key);
    if (!group) {
      this.groups.set(key, found);
      return;
    }
    group.failures += found.failures;
    group.lastAt = found.lastAt;
    group.sampleJobIds = [...group.sampleJobIds, ...found.sampleJobIds].slice(0, SAMPLE_IDS);
  }

  /** The highest event id seen at least `settleMs` ago: ids at or below it are final. */
  private settledMax(now: number): number {
    let safe = this.scanned;
    for (const s of this.snapshots) if (s.at <= now - this.settleMs && s.maxId > safe) safe = s.maxId;
    // Keep the newest settled snapshot and the ones still settling.
    const keepFrom = this.snapshots.findLastIndex((s) => s.at <= now - this.settleMs);
    if (keepFrom > 0) this.snapshots.splice(0, keepFrom);
    return safe;
  }
}
