import type { Db } from '../db/database.js';
import { failureAlertsInsert, failureAlertsOfBatch } from '../db/queries/jobq-alerts.js';
import type { Logger } from '../log.js';
import { countSuppressed } from '../queue/mutes.js';
import { combinedFailuresBlocks, failureAlertBlocks, failureReplyBlocks } from '../render/blocks/alerts.js';
import type { RenderOptions } from '../render/blocks/reads.js';
import { groupKey, type FailureGroup } from './failure-scan.js';
import { isMessageGone, METADATA_TYPE, type AlertMetadata, type Poster } from './poster.js';

type Delivery = { kind: 'post' } | { kind: 'update'; parentTs: string; prevTotal: number; parentFirstAt: string } | { kind: 'combined' } | { kind: 'muted'; muteIds: number[] };

/** A group and what it becomes: muted, an update of its open message, a post, or part of a combined post. */
export type PlannedGroup = FailureGroup & Delivery;

/** A frozen batch, stored with the cursor while it is delivered. */
export interface FailureBatch {
  lo: number;
  hi: number;
  groups: PlannedGroup[];
}

/** A batch on its way to Slack. */
export interface BatchInFlight extends FailureBatch {
  since: Date;
  /** Set after a crash or a failed attempt: look for already-posted messages before posting. */
  recovering: boolean;
  attempts: number;
  retryAt: number;
}

export interface DeliveryDeps {
  db: Db;
  poster: Poster;
  channel: string;
  render: RenderOptions;
  log: Logger;
  /** Throws when this replica may no longer post (deposed, or stopping). */
  assertActive: () => void;
}

export const postsNeeded = (groups: PlannedGroup[]) => groups.filter((g) => g.kind === 'post').length + (groups.some((g) => g.kind === 'combined') ? 1 : 0);

/**
 * Sends one batch: each group's message, recorded right after Slack accepted it, skipping what a
 * previous attempt recorded and (when recovering from a crash) what Slack already has by its
 * metadata. Throws on the first failure; the caller keeps the batch and retries it.
 */
export async function deliverBatch(deps: DeliveryDeps, batch: BatchInFlight): Promise<void> {
  const { db, poster, channel, log, assertActive } = deps;
  const metadata = (type: string, extra: Record<string, string | number | boolean>): AlertMetadata => ({
    event_type: type,
    event_payload: { batch_lo: batch.lo, batch_hi: batch.hi, ...extra },
  });
  const record = (g: PlannedGroup, kind: PlannedGroup['kind'], parentTs: string | null, total: number, firstFailedAt: string) =>
    db.query(
      failureAlertsInsert({ batchHi: batch.hi, queue: g.queue, task: g.task, kind, channel, parentTs, failures: g.failures, total, firstFailedAt: new Date(firstFailedAt) }),
    );
  const isOwn = (g: FailureGroup) => (p: Record<string, unknown>) => p.batch_hi === batch.hi && p.queue === g.queue && p.task === g.task;
  const findOwn = (type: string, match: (p: Record<string, unknown>) => boolean, threadTs?: string) =>
    batch.recovering ? poster.findOwn(channel, type, match, { oldest: batch.since, threadTs }) : Promise.resolve(undefined);

  const done = new Set((await db.query(failureAlertsOfBatch(batch.hi))).rows.map((r) => groupKey({ queue: r.queue_name, task: r.task_name })));
  const todo = batch.groups.filter((g) => !done.has(groupKey(g)));

  for (const g of todo) {
    if (g.kind !== 'muted') continue;
    await db.transaction(async (tx) => {
      await tx.query(
        failureAlertsInsert({
          batchHi: batch.hi,
          queue: g.queue,
          task: g.task,
          kind: 'muted',
          channel,
          parentTs: null,
          failures: g.failures,
          total: g.failures,
          firstFailedAt: new Date(g.firstAt),
        }),
      );
      await countSuppressed(tx, g.muteIds, g.failures);
    });
  }

  for (const g of todo) {
    if (g.kind !== 'post') continue;
    assertActive();
    const found = await findOwn(METADATA_TYPE.failure, isOwn(g));
    const view = { queue: g.queue, task: g.task, total: g.failures, firstFailedAt: g.firstAt, lastFailedAt: g.lastAt, sampleJobIds: g.sampleJobIds };
    const ts =
      found?.ts ??
      (await poster.post(channel, failureAlertBlocks(view, deps.render), {
        counted: true,
        metadata: metadata(METADATA_TYPE.failure, { queue: g.queue, task: g.task, failures: g.failures }),
      }));
    if (found) log.info({ batch: batch.hi, queue: g.queue, task: g.task }, 'failure alert already posted before a restart: recognised by its metadata, not posted again');
    await record(g, 'post', ts, g.failures, g.firstAt);
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
        metadata: metadata(METADATA_TYPE.failure, { queue: g.queue, task: g.task, failures: g.failures }),
      });
      await record(g, 'post', ts, g.failures, g.firstAt);
      continue;
    }
    const found = await findOwn(METADATA_TYPE.failureReply, isOwn(g), g.parentTs);
    if (!found && poster.budget(channel) > 0) {
      assertActive();
      await poster.post(channel, failureReplyBlocks({ added: g.failures, total, sampleJobIds: g.sampleJobIds, lastFailedAt: g.lastAt }), {
        threadTs: g.parentTs,
        counted: true,
        metadata: metadata(METADATA_TYPE.failureReply, { queue: g.queue, task: g.task, failures: g.failures }),
      });
    }
    await record(g, 'update', g.parentTs, total, g.parentFirstAt);
  }

  const combined = todo.filter((g) => g.kind === 'combined');
  if (combined.length) {
    assertActive();
    const found = await findOwn(METADATA_TYPE.failure, (p) => p.batch_hi === batch.hi && p.combined === true);
    const ts =
      found?.ts ??
      (await poster.post(channel, combinedFailuresBlocks(combined, deps.render), {
        counted: true,
        metadata: metadata(METADATA_TYPE.failure, { combined: true, groups: combined.length }),
      }));
    for (const g of combined) await record(g, 'combined', ts, g.failures, g.firstAt);
  }
}
