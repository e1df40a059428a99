import { backgroundTask, type BackgroundTask } from '../background.js';
import { backoffMs } from '../backoff.js';
import type { Db } from '../db/database.js';
import { eventsMaxId } from '../db/queries/events.js';
import { cursorAdvance, cursorBeginBatch, cursorFinishBatch, cursorGet, cursorInit, failureAlertsOpen } from '../db/queries/jobq-alerts.js';
import type { Fence } from '../db/queries/jobq-leases.js';
import type { Logger } from '../log.js';
import { listMutes, mutesFor } from '../queue/mutes.js';
import type { RenderOptions } from '../render/blocks/reads.js';
import { classifySlackError } from '../slack/errors.js';
import { deliverBatch, postsNeeded, type BatchInFlight, type FailureBatch, type PlannedGroup } from './failure-delivery.js';
import { FailureScanner, groupKey, type FailureGroup } from './failure-scan.js';
import type { Poster } from './poster.js';
import type { AlertSettings } from './settings.js';

export { SCAN_WINDOW, type FailureGroup } from './failure-scan.js';
export type { FailureBatch, PlannedGroup } from './failure-delivery.js';

/**
 * Failure alerts: follow `failed` events by primary-key cursor, group them per queue and task
 * over a short wait, and post one message per group (or update the group's recent message).
 *
 * Delivery: a batch is the event-id range (cursor, hi]. Before the first post the batch is
 * stored whole with the cursor (write-ahead); each message is recorded right after Slack
 * accepted it; the cursor moves past the batch after the last. A restart resumes a stored batch
 * and skips what was recorded; the one message that may have been posted but not recorded is
 * found by its metadata in the channel history. So no failure is missed, and none is posted twice
 * unless Slack's history cannot be read at that moment (then at most one message repeats).
 *
 * The parts: FailureScanner collects new failures; deliverBatch sends a batch; this tail decides
 * each round what happens next (deliver, batch up, or save the position) and owns the cursor.
 */

const CURSOR = 'failures';
/** At most this many top-level posts per batch; smaller groups share one combined message. */
const MAX_POSTS_PER_BATCH = 5;
const CURSOR_SAVE_EVERY_MS = 5_000;

export interface FailureTailDeps {
  pool: Db;
  /** The leadership token while this replica may post; null once it may not. */
  fence: () => Fence | null;
  poster: Poster;
  settings: AlertSettings;
  log: Logger;
  render: RenderOptions;
  /** Where the tail reports its position (jobq's metrics). */
  metrics?: TailRecorder | undefined;
}

export interface TailRecorder {
  /** After each poll: the newest event id seen and the cursor. */
  alertTail(newest: number, cursor: number): void;
  alertTailStopped(): void;
}

export class FailureTail {
  /** Every failed event up to this id was alerted (or deliberately muted). */
  private cursor = 0;
  private lastSavedAt = Date.now();
  private delivering: BatchInFlight | null = null;
  /** The last flush found too few posts left this minute: the batch keeps growing until it fits. */
  private heldForCap = false;
  private stopped = true;
  private readonly scanner: FailureScanner;
  private readonly task: BackgroundTask;
  private readonly channel: string;

  constructor(private readonly deps: FailureTailDeps) {
    this.channel = deps.settings.channel!;
    this.scanner = new FailureScanner(deps.pool, deps.settings.groupWaitMs);
    this.task = backgroundTask({ name: 'failure alert poll', log: deps.log, intervalMs: deps.settings.pollMs, round: () => this.round() });
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.load();
    this.task.start();
  }

  /** No further post from now on (synchronous: used the moment leadership is lost). */
  halt(): void {
    this.stopped = true;
    this.task.halt();
    this.deps.metrics?.alertTailStopped();
  }

  /** Stops polling; waits for a poll or delivery in progress to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.task.stop();
    this.deps.metrics?.alertTailStopped();
  }

  /** For tests and logs. */
  state() {
    return {
      cursor: this.cursor,
      scanned: this.scanner.scanned,
      pending: this.scanner.failures,
      heldForCap: this.heldForCap,
      delivering: this.delivering ? { lo: this.delivering.lo, hi: this.delivering.hi } : null,
    };
  }

  /** One poll: read new failures, then deliver, batch up or save the position. Returns the next delay. */
  private async round(): Promise<number> {
    const now = Date.now();
    const { settings } = this.deps;
    await this.scanner.scan(now);
    const waitEnds = this.scanner.waitEndsAt(settings.groupWaitMs);
    const collected = this.scanner.collected.length > 0;
    if (this.delivering) {
      if (now >= this.delivering.retryAt) await this.deliver(this.delivering);
    } else if (collected && waitEnds !== null && now >= waitEnds) {
      await this.flush(now);
    } else if (!collected && this.scanner.scanned > this.cursor && now - this.lastSavedAt >= CURSOR_SAVE_EVERY_MS) {
      // Nothing failed up to `scanned`: move the cursor so a restart does not re-read it.
      const moved = await this.deps.pool.query(cursorAdvance(CURSOR, this.cursor, this.scanner.scanned));
      if (moved.rows[0]) this.cursor = this.scanner.scanned;
      else await this.resync('the failure cursor moved elsewhere');
      this.lastSavedAt = now;
    }
    this.deps.metrics?.alertTail(this.scanner.newest, this.cursor);
    // Wake up for the end of the group wait; once it has passed (waiting for the per-minute cap,
    // or retrying a delivery) go back to the poll interval rather than spin.
    const next = this.scanner.waitEndsAt(settings.groupWaitMs);
    const dueIn = next !== null && !this.delivering ? next - Date.now() : 0;
    return dueIn > 0 ? Math.max(10, Math.min(settings.pollMs, dueIn)) : settings.pollMs;
  }

  private async load(): Promise<void> {
    const { pool, log } = this.deps;
    const max = (await pool.query(eventsMaxId())).rows[0]!.max_id;
    await pool.query(cursorInit(CURSOR, max));
    const row = (await pool.query(cursorGet(CURSOR))).rows[0]!;
    this.cursor = row.last_event_id;
    this.scanner.reset(row.pending_hi ?? this.cursor);
    this.delivering = null;
    if (row.pending_hi !== null && row.pending_batch) {
      const batch = row.pending_batch as FailureBatch;
      this.delivering = { ...batch, since: row.pending_since ?? new Date(), recovering: true, attempts: 0, retryAt: 0 };
      log.info({ lo: batch.lo, hi: batch.hi, groups: batch.groups.length }, 'resuming a failure alert batch left unfinished');
    }
  }

  private async resync(why: string): Promise<void> {
    this.deps.log.warn(`${why}: reloading the alert state`);
    await this.load();
  }

  /** Decides what each group becomes: muted, an update of its open message, a post, or part of a combined post. */
  private async plan(groups: FailureGroup[], batchHi: number): Promise<PlannedGroup[]> {
    const { pool, settings } = this.deps;
    const mutes = await listMutes(pool);
    const planned: PlannedGroup[] = [];
    const live: FailureGroup[] = [];
    for (const g of groups) {
      const matching = mutesFor(mutes, { alert: 'failures', queue: g.queue, task: g.task });
      if (matching.length) planned.push({ ...g, kind: 'muted', muteIds: matching.map((m) => m.id) });
      else live.push(g);
    }
    const open = new Map<string, { parent_ts: string; total: number; first_failed_at: Date | null }>();
    if (live.length) {
      const rows = await pool.query(failureAlertsOpen(this.channel, live, settings.updateWindowSeconds, batchHi));
      for (const r of rows.rows) open.set(groupKey({ queue: r.queue_name, task: r.task_name }), r);
    }
    const fresh: FailureGroup[] = [];
    for (const g of live) {
      const o = open.get(groupKey(g));
      if (o) planned.push({ ...g, kind: 'update', parentTs: o.parent_ts, prevTotal: o.total, parentFirstAt: o.first_failed_at?.toISOString() ?? g.firstAt });
      else fresh.push(g);
    }
    fresh.sort((a, b) => b.failures - a.failures || a.queue.localeCompare(b.queue) || a.task.localeCompare(b.task));
    const slots = Math.min(MAX_POSTS_PER_BATCH, settings.maxPerMinute);
    const individual = fresh.length <= slots ? fresh.length : slots - 1;
    for (const [i, g] of fresh.entries()) planned.push({ ...g, kind: i < individual ? 'post' : 'combined' });
    return planned;
  }

  /** The collected failures become a batch: stored with the cursor (write-ahead), then delivered. */
  private async flush(now: number): Promise<void> {
    const { pool, poster, log } = this.deps;
    const lo = this.cursor;
    const hi = this.scanner.scanned;
    const planned = await this.plan(this.scanner.collected, hi);
    const needed = postsNeeded(planned);
    this.heldForCap = needed > poster.budget(this.channel);
    if (this.heldForCap) {
      log.debug({ needed, budget: poster.budget(this.channel) }, 'failure alerts wait for the per-minute cap; totals keep counting');
      return;
    }
    const batch: FailureBatch = { lo, hi, groups: planned };
    const fence = this.deps.fence();
    if (!fence) return; // no longer leader: the next leader reads the same events
    const claimed = await pool.query(cursorBeginBatch(CURSOR, lo, hi, batch, fence));
    if (!claimed.rows[0]) return this.resync('another replica moved the failure cursor');
    this.scanner.handedOver(now);
    this.delivering = { ...batch, since: claimed.rows[0].pending_since, recovering: false, attempts: 0, retryAt: 0 };
    await this.deliver(this.delivering);
  }

  /** Sends the batch; on success the cursor moves past it, on failure it is kept and retried with backoff. */
  private async deliver(batch: BatchInFlight): Promise<void> {
    const { pool, poster, log, settings, render } = this.deps;
    try {
      // Checked before each post: a leader that froze past its lease must not post what the next
      // leader is resuming.
      const assertActive = () => {
        if (this.stopped || !this.deps.fence()) throw new Error('alerting stopped');
      };
      await deliverBatch({ db: pool, poster, channel: this.channel, render, log, assertActive }, batch);
      const moved = await pool.query(cursorFinishBatch(CURSOR, batch.lo, batch.hi));
      if (!moved.rows[0]) return this.resync('the failure cursor changed during delivery');
      this.cursor = batch.hi;
      this.lastSavedAt = Date.now();
      this.delivering = null;
    } catch (error) {
      batch.recovering = true;
      batch.attempts++;
      const delayMs = backoffMs(batch.attempts, settings.pollMs);
      batch.retryAt = Date.now() + delayMs;
      if (this.stopped) return log.info({ batch: batch.hi }, 'stopped part-way through a failure alert batch; the next leader resumes it');
      // A Slack error was already reported once (channel, variable, fix) by the poster's watch.
      const fields = { err: error, batch: batch.hi, attempts: batch.attempts, retryInMs: delayMs };
      if (classifySlackError(error)) log.debug(fields, 'failure alert delivery failed; kept and retried');
      else log.warn(fields, 'failure alert delivery failed; it resumes without repeating what Slack already has');
    }
  }
}

export function createFailureTail(deps: FailureTailDeps): FailureTail {
  return new FailureTail(deps);
}
