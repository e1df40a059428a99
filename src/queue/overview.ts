import type { ReadSource } from '../db/read-routing.js';
import { healthAlertsAll } from '../db/queries/jobq-alerts.js';
import { asJobqError } from '../errors.js';
import { heavyRead, type QueueContext } from './context.js';
import { listMutes, type Mute } from './mutes.js';
import { listStalled } from './stalled.js';
import { getStats, type StatsResult } from './stats.js';

/** A health alert that has fired and not yet resolved (jobq.health_alerts). */
export interface OpenAlert {
  alert: string;
  /** One line, as posted: "Backlog in queue `emails`". */
  summary: string;
  startedAt: string;
  /** Where it was posted, to link to it (null until the post went through). */
  channel: string;
  ts: string | null;
}

/** What the App Home shows: every queue at a glance, what is firing, what is silenced. */
export interface Overview {
  stats: StatsResult;
  source: ReadSource;
  /** Stalled jobs per queue (among the first STALLED_SHOWN found). */
  stalled: { byQueue: Record<string, number>; total: number; truncated: boolean };
  alerts: OpenAlert[];
  mutes: Mute[];
  /** Procrastinate 3.10+: queues can be paused. */
  canPause: boolean;
}

const STALLED_SHOWN = 200;

/** The undefined-table error: jobq's own schema not migrated yet, so nothing of it to show. */
const missingTable = (error: unknown) => (error as { code?: string }).code === '42P01';

/**
 * The Home tab's data from reads that are each bounded at any table size: the stats (the same
 * reads as `/jobq stats`, on the replica when one is current), stalled jobs through the live-jobs
 * index, and jobq's own small tables of open alerts and silences.
 */
export async function getOverview(ctx: QueueContext): Promise<Overview> {
  const { heavy, source } = await heavyRead(ctx);
  const stats = await getStats(heavy, { groupBy: 'queue' });
  const stalledJobs = await listStalled(ctx, { limit: STALLED_SHOWN });
  const byQueue: Record<string, number> = {};
  for (const job of stalledJobs.jobs) byQueue[job.queue] = (byQueue[job.queue] ?? 0) + 1;
  let alerts: OpenAlert[] = [];
  try {
    alerts = (await ctx.db.query(healthAlertsAll())).rows.map((r) => ({ alert: r.alert, summary: r.summary, startedAt: r.started_at.toISOString(), channel: r.channel, ts: r.ts }));
  } catch (error) {
    if (!missingTable(error)) throw asJobqError(error);
  }
  let mutes: Mute[] = [];
  try {
    mutes = await listMutes(ctx.db);
  } catch (error) {
    if (!missingTable((error as { cause?: unknown }).cause)) throw asJobqError(error);
  }
  return {
    stats,
    source,
    stalled: { byQueue, total: stalledJobs.jobs.length, truncated: stalledJobs.truncated },
    alerts,
    mutes,
    canPause: ctx.schema.has('pause_queues'),
  };
}
