import type { Db } from '../db/database.js';
import { eventsInRange, eventsStartedBefore, eventsWithIds, type EventsMetricsRow } from '../db/queries/events-metrics.js';
import { eventsMaxId } from '../db/queries/events.js';
import { jobsQueues } from '../db/queries/jobs-metrics.js';
import { EVENT_TYPE } from '../db/procrastinate.js';

/** New events of one queue and type, and the run times of the final ones. */
export interface EventCount {
  queue: string;
  type: string;
  events: number;
  durations: number[];
}

export interface EventTallyOptions {
  /** Event ids per range read. */
  window?: number;
  /** Range reads per collection: past this the rest waits for the next one (the backlog shows as `behind`). */
  maxWindows?: number;
  /** Jobs per lookup of queues or start times: each statement stays within the reads' page budget. */
  lookupChunk?: number;
  /** How long an id missing below newer ones is looked for again (a transaction that commits late). */
  gapRetentionMs?: number;
  /** At most this many missing ids are remembered (a mass rollback leaves many that never come). */
  maxGaps?: number;
  /** Jobs whose queue, and running jobs whose start time, are remembered between reads. */
  cacheEntries?: number;
}

export const TALLY_WINDOW = 1_000;
export const LOOKUP_CHUNK = 200;
const MAX_WINDOWS = 500;
const GAP_RETENTION_MS = 10 * 60_000;
const MAX_GAPS = 10_000;
const CACHE_ENTRIES = 100_000;

/** Events after which a job may be in another queue than before (a retry can move it). */
const REQUEUEING: ReadonlySet<string> = new Set([EVENT_TYPE.deferred, EVENT_TYPE.deferredForRetry, EVENT_TYPE.retried, EVENT_TYPE.scheduled]);
/** Events that end a run: its time runs from the job's latest `started`. */
const FINAL: ReadonlySet<string> = new Set([EVENT_TYPE.succeeded, EVENT_TYPE.failed, EVENT_TYPE.aborted]);

/** A map that forgets its least recently set entries past `max`. */
class RecentMap<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(key: K): V | undefined {
    return this.map.get(key);
  }
  has(key: K): boolean {
    return this.map.has(key);
  }
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }
  delete(key: K): void {
    this.map.delete(key);
  }
}

/** What the lookups found for one batch of events. */
interface Resolved {
  queues: Map<number, string>;
  /** Start time (ms) per final event id, for the runs whose start was not seen by this tally. */
  starts: Map<number, number | null>;
}

const chunks = <T>(items: T[], size: number): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/**
 * Counts every event row exactly once, following the events primary key from the newest event
 * at the first read, with the queue of its job and, for a final event, how long the run took.
 *
 * - Exactly once: ids are handed out when a row is inserted but seen only when its transaction
 *   commits, so a range can be read while a lower id is still invisible. Such an id is remembered
 *   as a gap and looked for again at each read until it appears (then counted) or is old enough to
 *   be a rollback that never will. Each batch is counted in the same synchronous step that moves
 *   the position past it, so a read that fails part-way counts nothing twice.
 * - Cheap: ranges are read by primary key without a join. A job's queue is looked up once (at its
 *   deferral, or when first seen) and remembered for its later events; its start time is
 *   remembered from its `started` event; only what is not remembered is looked up, by id.
 */
export class EventTally {
  /** Every id at or below this was counted or is remembered as a gap; null before the first read. */
  cursor: number | null = null;
  /** The newest event id at the last read. */
  newest = 0;
  private readonly gaps = new Map<number, number>();
  private readonly queues: RecentMap<number, string>;
  private readonly starts: RecentMap<number, number>;
  private readonly window: number;
  private readonly maxWindows: number;
  private readonly lookupChunk: number;
  private readonly gapRetentionMs: number;
  private readonly maxGaps: number;

  constructor(options: EventTallyOptions = {}) {
    this.window = options.window ?? TALLY_WINDOW;
    this.maxWindows = options.maxWindows ?? MAX_WINDOWS;
    this.lookupChunk = options.lookupChunk ?? LOOKUP_CHUNK;
    this.gapRetentionMs = options.gapRetentionMs ?? GAP_RETENTION_MS;
    this.maxGaps = options.maxGaps ?? MAX_GAPS;
    this.queues = new RecentMap(options.cacheEntries ?? CACHE_ENTRIES);
    this.starts = new RecentMap(options.cacheEntries ?? CACHE_ENTRIES);
  }

  /** Events not read yet (they are counted at the next reads). */
  get behind(): number {
    return this.cursor === null ? 0 : Math.max(0, this.newest - this.cursor);
  }

  /** Ids still looked for. */
  get pendingGaps(): number {
    return this.gaps.size;
  }

  /** Reads what happened since the last call and hands each group of new events to `count`. The first call only takes the position. */
  async read(db: Db, count: (events: EventCount) => void, now = Date.now()): Promise<void> {
    this.newest = (await db.query(eventsMaxId())).rows[0]!.max_id;
    if (this.cursor === null) {
      this.cursor = this.newest;
      return;
    }
    for (const [id, since] of this.gaps) if (now - since > this.gapRetentionMs) this.gaps.delete(id);
    for (const ids of chunks([...this.gaps.keys()], this.window)) {
      const rows = (await db.query(eventsWithIds(ids))).rows;
      await this.handOver(db, rows, count, () => {
        for (const row of rows) this.gaps.delete(row.id);
      });
    }
    for (let i = 0; i < this.maxWindows && this.cursor < this.newest; i++) {
      const lo = this.cursor;
      const hi = Math.min(this.newest, lo + this.window);
      const rows = (await db.query(eventsInRange(lo, hi))).rows;
      await this.handOver(db, rows, count, () => {
        if (rows.length < hi - lo) {
          const present = new Set(rows.map((r) => r.id));
          for (let id = lo + 1; id <= hi; id++) if (!present.has(id)) this.gaps.set(id, now);
        }
        this.cursor = hi;
      });
    }
    this.trimGaps();
  }

  /** Looks up what the batch needs, then (synchronously) counts it, remembers what it taught, and runs `move`. */
  private async handOver(db: Db, rows: EventsMetricsRow[], count: (events: EventCount) => void, move: () => void): Promise<void> {
    const resolved = await this.resolve(db, rows);
    const counts = new Map<string, EventCount>();
    for (const row of rows) {
      const queue = resolved.queues.get(row.job_id) ?? this.queues.get(row.job_id);
      if (queue === undefined) continue; // the job was deleted since, and its events with it
      this.queues.set(row.job_id, queue);
      const key = JSON.stringify([queue, row.type]);
      const c = counts.get(key) ?? { queue, type: row.type, events: 0, durations: [] };
      counts.set(key, c);
      c.events++;
      if (row.type === EVENT_TYPE.started) {
        this.starts.set(row.job_id, row.at.getTime());
      } else if (FINAL.has(row.type)) {
        const started = this.starts.get(row.job_id) ?? resolved.starts.get(row.id) ?? null;
        // `at` is the database's clock at each transaction's start: a clock step (or an edited row) must not give a negative time.
        if (started !== null) c.durations.push(Math.max(0, (row.at.getTime() - started) / 1000));
        this.starts.delete(row.job_id);
      }
    }
    move();
    for (const c of counts.values()) count(c);
  }

  /** The queues and start times the batch needs that are not remembered, looked up by id in bounded chunks. */
  private async resolve(db: Db, rows: EventsMetricsRow[]): Promise<Resolved> {
    const needQueue = new Set<number>();
    const needStart: EventsMetricsRow[] = [];
    // Whether a start is known at this point of the batch, as handOver will see it.
    const startKnown = new Map<number, boolean>();
    for (const row of rows) {
      if (REQUEUEING.has(row.type) || !this.queues.has(row.job_id)) needQueue.add(row.job_id);
      if (row.type === EVENT_TYPE.started) startKnown.set(row.job_id, true);
      else if (FINAL.has(row.type)) {
        if (!(startKnown.get(row.job_id) ?? this.starts.has(row.job_id))) needStart.push(row);
        startKnown.set(row.job_id, false);
      }
    }
    const resolved: Resolved = { queues: new Map(), starts: new Map() };
    for (const ids of chunks([...needQueue], this.lookupChunk)) {
      for (const row of (await db.query(jobsQueues(ids))).rows) resolved.queues.set(row.id, row.queue_name);
    }
    for (const finals of chunks(needStart, this.lookupChunk)) {
      const found = await db.query(
        eventsStartedBefore(
          finals.map((f) => f.id),
          finals.map((f) => f.job_id),
        ),
      );
      for (const row of found.rows) resolved.starts.set(row.event_id, row.started_at?.getTime() ?? null);
    }
    return resolved;
  }

  /** The oldest gaps go first when there are too many to remember. */
  private trimGaps(): void {
    if (this.gaps.size <= this.maxGaps) return;
    const excess = this.gaps.size - this.maxGaps;
    const oldest = [...this.gaps.entries()].sort((a, b) => a[1] - b[1] || a[0] - b[0]).slice(0, excess);
    for (const [id] of oldest) this.gaps.delete(id);
  }
}
