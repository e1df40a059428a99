import { backoffMs } from '../backoff.js';
import { type Db } from '../db/database.js';
import { eventsFailedGroups } from '../db/queries/events-alerts.js';
import { eventsMaxId } from '../db/queries/events.js';
import {
  cursorAdvance,
  cursorBeginBatch,
  cursorFinishBatch,
  cursorGet,
  cursorInit,
  failureAlertsInsert,
  failureAlertsOfBatch,
  failureAlertsOpen,
  type CursorRow,
} from '../db/queries/jobq-alerts.js';
import type { Fence } from '../db/queries/jobq-leases.js';
import type { Logger } from '../log.js';
import { combinedFailuresBlocks, failureAlertBlocks, failureReplyBlocks } from '../render/blocks/alerts.js';
import type { RenderOptions } from '../render/blocks/reads.js';
import { classifySlackError } from '../slack/errors.js';
import { countSuppressed, listMutes, mutesFor } from '../queue/mutes.js';
import { isMessageGone, METADATA_TYPE, type AlertMetadata, type Poster } from './poster.js';
import type { AlertSettings } from './settings.js';

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
 */

const CURSOR = 'failures';
/** Event ids read per query: each poll costs the same however large the table is. */
export const SCAN_WINDOW = 10_000;
const MAX_WINDOWS_PER_TICK = 5;
const SAMPLE_IDS = 5;
/** At most this many top-level posts per batch; smaller groups share one combined message. */
const MAX_POSTS_PER_BATCH = 5;
const CURSOR_SAVE_EVERY_MS = 5_000;
/**
 * How long an event id must have been visible before it counts: a transaction that took a lower
 * id may commit a moment later (Procrastinate's are milliseconds long). A fraction of the group
 * wait, so a burst within the wait still lands in one message.
 */
const MAX_SETTLE_MS = 500;

export interface FailureGroup {
  queue: string;
  task: string;
  failures: number;
  firstAt: string;
  lastAt: string;
  sampleJobIds: number[];
}

type Delivery =
  | { kind: 'post' }
  | { kind: 'update'; parentTs: string; prevTotal: number; parentFirstAt: string }
  | { kind: 'combined' }
  | { kind: 'muted'; muteIds: number[] };

export type PlannedGroup = FailureGroup & Delivery;

/** A frozen batch, stored with the cursor while it is delivered. */
export interface FailureBatch {
  lo: number;
  hi: number;
  groups: PlannedGroup[];
}

interface Delivering extends FailureBatch {
  since: Date;
  /** Set after a crash or a failed attempt: look for already-posted messages before posting. */
  recovering: boolean;
  attempts: number;
  retryAt: number;
}

export interface FailureTailDeps {
  pool: Db;
  /** The leadership token while this replica may post; null once it may not. */
  fence: () => Fence | null;
  poster: Poster;
  settings: AlertSettings;
  log: Logger;
  render: RenderOptions;
}

const keyOf = (g: { queue: string; task: string }) => JSON.stringify([g.queue, g.task]);

export function createFailureTail(deps: FailureTailDeps) {
  const { pool, poster, settings, log } = deps;
  const channel = settings.channel!;
  const settleMs = Math.min(MAX_SETTLE_MS, Math.round(settings.groupWaitMs / 3));

  let cursor = 0;
  let scanned = 0;
  let lastSavedAt = Date.now();
  const pending = new Map<string, FailureGroup>();
  let firstSeenAt: number | null = null;
  let sawUnsettled = false;
  let delivering: Delivering | null = null;
  /** The last flush found too few posts left this minute: the batch keeps growing until it fits. */
  let heldForCap = false;
  const snapshots: { at: number; maxId: number }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;

  async function load(): Promise<void> {
    const max = (await pool.query(eventsMaxId())).rows[0]!.max_id;
    await pool.query(cursorInit(CURSOR, max));
    const row = (await pool.query(cursorGet(CURSOR))).rows[0]!;
    cursor = row.last_event_id;
    scanned = row.pending_hi ?? cursor;
    pending.clear();
    firstSeenAt = null;
    snapshots.length = 0;
    delivering = null;
    if (row.pending_hi !== null && row.pending_batch) {
      const batch = row.pending_batch as FailureBatch;
      delivering = { ...batch, since: row.pending_since ?? new Date(), recovering: true, attempts: 0, retryAt: 0 };
      log.info({ lo: batch.lo, hi: batch.hi, groups: batch.groups.length }, 'resuming a failure alert batch left unfinished');
    }
  }

  /** The highest event id seen at least `settleMs` ago: ids at or below it are final. */
  function settledMax(now: number): number {
    let safe = scanned;
    for (const s of snapshots) if (s.at <= now - settleMs && s.maxId > safe) safe = s.maxId;
    // Keep the newest settled snapshot and the ones still settling.
    const keepFrom = snapshots.findLastIndex((s) => s.at <= now - settleMs);
    if (keepFrom > 0) snapshots.splice(0, keepFrom);
    return safe;
  }

  /**
   * Reads new `failed` events in bounded windows. Ids above the settled mark are only noted (they
   * start the group wait); they are counted once settled, so a transaction that took a lower id
   * and commits late is never skipped.
   */
  async function scan(now: number): Promise<void> {
    const maxId = (await pool.query(eventsMaxId())).rows[0]!.max_id;
    snapshots.push({ at: now, maxId });
    const settled = settledMax(now);
    sawUnsettled = false;
    for (let i = 0; i < MAX_WINDOWS_PER_TICK && scanned < maxId; i++) {
      const hi = Math.min(maxId, scanned + SCAN_WINDOW);
      const safe = Math.min(Math.max(settled, scanned), hi);
      const rows = (
        await pool.query(eventsFailedGroups(scanned, hi, safe, SAMPLE_IDS),
        )
      ).rows;
      for (const row of rows) {
        if (row.any_unsafe) sawUnsettled = true;
        if (row.failures === 0 || !row.first_at || !row.last_at) continue;
        const key = keyOf({ queue: row.queue_name, task: row.task_name });
        const group = pending.get(key);
        const ids = (row.sample_job_ids ?? []).map(Number);
        if (group) {
          group.failures += row.failures;
          group.lastAt = row.last_at.toISOString();
          group.sampleJobIds = [...group.sampleJobIds, ...ids].slice(0, SAMPLE_IDS);
        } else {
          pending.set(key, { queue: row.queue_name, task: row.task_name, failures: row.failures, firstAt: row.first_at.toISOString(), lastAt: row.last_at.toISOString(), sampleJobIds: ids });
        }
      }
      if (rows.length > 0) firstSeenAt ??= now;
      scanned = safe;
      if (safe < hi) break; // the rest has not settled yet
    }
  }

  /** Decides what each group becomes: muted, an update of its open message, a post, or part of a combined post. */
  async function plan(groups: FailureGroup[], batchHi: number): Promise<PlannedGroup[]> {
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
      const rows = await pool.query(failureAlertsOpen(channel, live, settings.updateWindowSeconds, batchHi));
      for (const r of rows.rows) open.set(keyOf({ queue: r.queue_name, task: r.task_name }), r);
    }
    const fresh: FailureGroup[] = [];
    for (const g of live) {
      const o = open.get(keyOf(g));
      if (o) planned.push({ ...g, kind: 'update', parentTs: o.parent_ts, prevTotal: o.total, parentFirstAt: o.first_failed_at?.toISOString() ?? g.firstAt });
      else fresh.push(g);
    }
    fresh.sort((a, b) => b.failures - a.failures || a.queue.localeCompare(b.queue) || a.task.localeCompare(b.task));
    const slots = Math.min(MAX_POSTS_PER_BATCH, settings.maxPerMinute);
    const individual = fresh.length <= slots ? fresh.length : slots - 1;
    fresh.forEach((g, i) => planned.push({ ...g, kind: i < individual ? 'post' : 'combined' }));
    return planned;
  }

  const postsNeeded = (groups: PlannedGroup[]) => groups.filter((g) => g.kind === 'post').length + (groups.some((g) => g.kind === 'combined') ? 1 : 0);

  async function flush(now: number): Promise<void> {
    const groups = [...pending.values()];
    const lo = cursor;
    const hi = scanned;
    const planned = await plan(groups, hi);
    const needed = postsNeeded(planned);
    heldForCap = needed > poster.budget(channel);
    if (heldForCap) {
      log.debug({ needed, budget: poster.budget(channel) }, 'failure alerts wait for the per-minute cap; totals keep counting');
      return;
    }
    const batch: FailureBatch = { lo, hi, groups: planned };
    const fence = deps.fence();
    if (!fence) return; // no longer leader: the next leader reads the same events
    const claimed = await pool.query(cursorBeginBatch(CURSOR, lo, hi, batch, fence));
    if (!claimed.rows[0]) return resync('another replica moved the failure cursor');
    pending.clear();
    firstSeenAt = sawUnsettled ? now : null;
    delivering = { ...batch, since: claimed.rows[0].pending_since, recovering: false, attempts: 0, retryAt: 0 };
    await deliver(delivering);
  }

  const metadata = (type: string, batch: FailureBatch, extra: Record<string, string | number | boolean>): AlertMetadata => ({
    event_type: type,
    event_payload: { batch_lo: batch.lo, batch_hi: batch.hi, ...extra },
  });

  async function record(batch: FailureBatch, g: PlannedGroup, kind: PlannedGroup['kind'], parentTs: string | null, total: number, firstFailedAt: string): Promise<void> {
    await pool.query(failureAlertsInsert({ batchHi: batch.hi, queue: g.queue, task: g.task, kind, channel, parentTs, failures: g.failures, total, firstFailedAt: new Date(firstFailedAt) }));
  }

  /** Deposed or stopping: no further post; the stored batch is resumed by the next leader. */
  function assertActive(): void {
    // Checked before each post: a leader that froze past its lease must not post what the next
    // leader is resuming.
    if (stopped || !deps.fence()) throw new Error('alerting stopped');
  }

  async function deliver(batch: Delivering): Promise<void> {
    try {
      const done = new Set((await pool.query(failureAlertsOfBatch(batch.hi))).rows.map((r) => keyOf({ queue: r.queue_name, task: r.task_name })));
      const todo = batch.groups.filter((g) => !done.has(keyOf(g)));
      const isOwn = (g: FailureGroup) => (p: Record<string, unknown>) => p.batch_hi === batch.hi && p.queue === g.queue && p.task === g.task;

      for (const g of todo.filter((x) => x.kind === 'muted')) {
        await pool.transaction(async (client) => {
          await client.query(failureAlertsInsert({ batchHi: batch.hi, queue: g.queue, task: g.task, kind: 'muted', channel, parentTs: null, failures: g.failures, total: g.failures, firstFailedAt: new Date(g.firstAt) }));
          if (g.kind === 'muted') await countSuppressed(client, g.muteIds, g.failures);
        });
      }
      for (const g of todo.filter((x) => x.kind === 'post')) {
        assertActive();
        const found = batch.recovering ? await poster.findOwn(channel, METADATA_TYPE.failure, isOwn(g), { oldest: batch.since }) : undefined;
        const view = { queue: g.queue, task: g.task, total: g.failures, firstFailedAt: g.firstAt, lastFailedAt: g.lastAt, sampleJobIds: g.sampleJobIds };
        const ts = found?.ts ?? (await poster.post(channel, failureAlertBlocks(view, deps.render), { counted: true, metadata: metadata(METADATA_TYPE.failure, batch, { queue: g.queue, task: g.task, failures: g.failures }) }));
        if (found) log.info({ batch: batch.hi, queue: g.queue, task: g.task }, 'failure alert already posted before a restart: recognised by its metadata, not posted again');
        await record(batch, g, 'post', ts, g.failures, g.firstAt);
      }
      for (const g of todo) {
        if (g.kind !== 'update') continue;
        const total = g.prevTotal + g.failures;
        const view = { queue: g.queue, task: g.task, total, firstFailedAt: g.parentFirstAt, lastFailedAt: g.lastAt, sampleJobIds: g.sampleJobIds };
        // Setting the total (not adding to it) makes a repeated update harmless.
        assertActive();
        try {
          await poster.update(channel, g.parentTs, failureAlertBlocks(view, deps.render));
        } catch (error) {
          if (!isMessageGone(error)) throw error;
          // Someone deleted the alert: these failures get a message of their own.
          const ts = await poster.post(channel, failureAlertBlocks({ ...view, total: g.failures, firstFailedAt: g.firstAt }, deps.render), {
            counted: true,
            metadata: metadata(METADATA_TYPE.failure, batch, { queue: g.queue, task: g.task, failures: g.failures }),
          });
          await record(batch, g, 'post', ts, g.failures, g.firstAt);
          continue;
        }
        const found = batch.recovering ? await poster.findOwn(channel, METADATA_TYPE.failureReply, isOwn(g), { oldest: batch.since, threadTs: g.parentTs }) : undefined;
        if (!found && poster.budget(channel) > 0) {
          assertActive();
          await poster.post(channel, failureReplyBlocks({ added: g.failures, total, sampleJobIds: g.sampleJobIds, lastFailedAt: g.lastAt }), {
            threadTs: g.parentTs,
            counted: true,
            metadata: metadata(METADATA_TYPE.failureReply, batch, { queue: g.queue, task: g.task, failures: g.failures }),
          });
        }
        await record(batch, g, 'update', g.parentTs, total, g.parentFirstAt);
      }
      const combined = todo.filter((g) => g.kind === 'combined');
      if (combined.length) {
        assertActive();
        const found = batch.recovering ? await poster.findOwn(channel, METADATA_TYPE.failure, (p) => p.batch_hi === batch.hi && p.combined === true, { oldest: batch.since }) : undefined;
        const ts =
          found?.ts ??
          (await poster.post(channel, combinedFailuresBlocks(combined, deps.render), { counted: true, metadata: metadata(METADATA_TYPE.failure, batch, { combined: true, groups: combined.length }) }));
        for (const g of combined) await record(batch, g, 'combined', ts, g.failures, g.firstAt);
      }
      const moved = await pool.query(cursorFinishBatch(CURSOR, batch.lo, batch.hi));
      if (!moved.rows[0]) return resync('the failure cursor changed during delivery');
      cursor = batch.hi;
      lastSavedAt = Date.now();
      delivering = null;
    } catch (error) {
      batch.recovering = true;
      batch.attempts++;
      const delayMs = backoffMs(batch.attempts, settings.pollMs);
      batch.retryAt = Date.now() + delayMs;
      if (stopped) return log.info({ batch: batch.hi }, 'stopped part-way through a failure alert batch; the next leader resumes it');
      // A Slack error was already reported once (channel, variable, fix) by the poster's watch.
      const fields = { err: error, batch: batch.hi, attempts: batch.attempts, retryInMs: delayMs };
      if (classifySlackError(error)) log.debug(fields, 'failure alert delivery failed; kept and retried');
      else log.warn(fields, 'failure alert delivery failed; it resumes without repeating what Slack already has');
    }
  }

  async function resync(why: string): Promise<void> {
    log.warn(why + ': reloading the alert state');
    await load();
  }

  async function tick(): Promise<void> {
    const now = Date.now();
    await scan(now);
    if (delivering) {
      if (now >= delivering.retryAt) await deliver(delivering);
    } else if (pending.size > 0 && firstSeenAt !== null && now - firstSeenAt >= settings.groupWaitMs) {
      await flush(now);
    } else if (pending.size === 0 && scanned > cursor && now - lastSavedAt >= CURSOR_SAVE_EVERY_MS) {
      // Nothing failed up to `scanned`: move the cursor so a restart does not re-read it.
      const moved = await pool.query(cursorAdvance(CURSOR, cursor, scanned));
      if (moved.rows[0]) cursor = scanned;
      else await resync('the failure cursor moved elsewhere');
      lastSavedAt = now;
    }
  }

  function schedule(): void {
    if (stopped) return;
    // Wake up for the end of the group wait; once it has passed (waiting for the per-minute cap,
    // or retrying a delivery) go back to the poll interval rather than spin.
    const dueIn = firstSeenAt !== null && !delivering ? firstSeenAt + settings.groupWaitMs - Date.now() : 0;
    timer = setTimeout(run, dueIn > 0 ? Math.max(10, Math.min(settings.pollMs, dueIn)) : settings.pollMs);
    timer.unref();
  }

  function run(): void {
    running = tick()
      .catch((error: unknown) => log.warn({ err: error }, 'failure alert poll failed; retrying'))
      .finally(() => {
        running = undefined;
        schedule();
      });
  }

  return {
    async start(): Promise<void> {
      stopped = false;
      await load();
      run();
    },
    /** No further post from now on (synchronous: used the moment leadership is lost). */
    halt(): void {
      stopped = true;
      clearTimeout(timer);
    },
    /** Stops polling; waits for a poll or delivery in progress to end. */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
    /** For tests and logs. */
    state() {
      return { cursor, scanned, pending: [...pending.values()].reduce((n, g) => n + g.failures, 0), heldForCap, delivering: delivering ? { lo: delivering.lo, hi: delivering.hi } : null };
    },
  };
}

export type FailureTail = ReturnType<typeof createFailureTail>;
