import { backgroundTask } from '../background.js';
import type { Fence } from '../db/queries/jobq-leases.js';
import { backoffMs } from '../backoff.js';
import type { AlertName } from '../config.js';
import { healthAlertsAll, healthAlertsClose, healthAlertsOpen, healthAlertsPosted, type HealthAlertRow } from '../db/queries/jobq-alerts.js';
import { jobsTodoPerQueue } from '../db/queries/jobs-health.js';
import { jobsOldestDueTodo } from '../db/queries/jobs.js';
import { workersSummary } from '../db/queries/workers.js';
import type { QueueHandle } from '../queue/handle.js';
import type { Logger } from '../log.js';
import type { QueueContext } from '../queue/context.js';
import { pausedQueues } from '../queue/pause.js';
import { listStalled, type StalledJob } from '../queue/stalled.js';
import { formatAge, formatCount } from '../render/format.js';
import { healthAlertBlocks, healthRepeatBlocks, healthResolvedBlocks, muteEndedNoteBlocks, type HealthAlertView } from '../render/blocks/alerts.js';
import { code } from '../render/blocks/kit.js';
import type { RenderOptions } from '../render/blocks/reads.js';
import { classifySlackError } from '../slack/errors.js';
import { countSuppressed, endedMutesToAnnounce, listMutes, mutesFor, unclaimMuteNote, type AlertSubject, type Mute } from '../queue/mutes.js';
import { isMessageGone, METADATA_TYPE, type Poster } from './poster.js';
import { alertEnabled, backlogThresholds, type AlertSettings } from './settings.js';

/**
 * Health alerts (stalled jobs, backlog per queue, no live worker): each fires once when its
 * condition starts, repeats in its thread at the repeat interval while it lasts, and posts
 * "resolved" (a thread reply and an update of the original) when it clears. Open alerts live in
 * jobq.health_alerts, so a new leader or a restart carries on the same threads.
 */

export interface Condition {
  key: string;
  subject: AlertSubject;
  view: Omit<HealthAlertView, 'startedAt'>;
}

const STALLED_SHOWN = 10;
const OLDEST_CANDIDATES = 5;
const REASON: Record<StalledJob['reasons'][number], string> = { worker_missing: 'worker gone', heartbeat_stale: 'heartbeat silent', running_too_long: 'running too long' };

/** Stalled jobs, overall: one alert while any `doing` job looks stalled. */
export async function stalledCondition(ctx: QueueContext): Promise<Condition[]> {
  const result = await listStalled(ctx, { limit: STALLED_SHOWN });
  if (result.jobs.length === 0) return [];
  const n = result.truncated ? `${result.jobs.length}+` : String(result.jobs.length);
  const lines = result.jobs.map(
    (j) =>
      `• #${j.id} ${code(j.task)} in ${code(j.queue)}: ${j.reasons.map((r) => REASON[r]).join(', ')}${j.runningSeconds !== null ? `, started ${formatAge(j.runningSeconds)} ago` : ''}`,
  );
  return [
    {
      key: 'stalled',
      subject: { alert: 'stalled' },
      view: { alert: 'stalled', title: `${n} stalled job${n === '1' ? '' : 's'}`, detail: lines.join('\n'), muteTarget: 'stalled', commands: ['stalled', 'workers'] },
    },
  ];
}

/** Backlog per queue: the oldest due job waits too long, or too many are due. */
export async function backlogConditions(ctx: QueueContext, settings: AlertSettings): Promise<Condition[]> {
  const counts = (await ctx.db.query(jobsTodoPerQueue())).rows.filter((r) => r.due > 0);
  if (counts.length === 0) return [];
  const waitingEvents = ctx.schema.has('retried_event') ? ['deferred', 'deferred_for_retry', 'retried'] : ['deferred', 'deferred_for_retry'];
  const oldest = await ctx.db.query(
    jobsOldestDueTodo(
      'queue_name',
      counts.map((c) => c.queue_name),
      OLDEST_CANDIDATES,
      waitingEvents,
      ctx.schema.has('deferred_at'),
    ),
  );
  const since = new Map(oldest.rows.map((r) => [r.key, r.waiting_since]));
  const paused = pausesByQueue(await pausedQueues(ctx));
  const conditions: Condition[] = [];
  for (const c of counts) {
    const limits = backlogThresholds(settings, c.queue_name);
    const waitingSince = since.get(c.queue_name);
    const age = waitingSince ? Math.max(0, Math.round((Date.now() - waitingSince.getTime()) / 1000)) : null;
    const tooOld = age !== null && age > limits.maxAgeSeconds;
    const tooMany = c.due > limits.maxJobs;
    if (!tooOld && !tooMany) continue;
    const detail = [
      `Oldest due job waiting *${formatAge(age)}*${tooOld ? ` (threshold ${formatAge(Math.round(limits.maxAgeSeconds))})` : ''}`,
      `*${formatCount(c.due)}* due${tooMany ? ` (threshold ${formatCount(limits.maxJobs)})` : ''}${c.todo > c.due ? `, ${formatCount(c.todo - c.due)} scheduled later` : ''}`,
    ].join(' · ');
    // A paused queue's backlog is the pause working, not lost workers: the alert says so.
    const pause = paused.get(c.queue_name);
    conditions.push({
      key: `backlog:${c.queue_name}`,
      subject: { alert: 'backlog', queue: c.queue_name },
      view: pause
        ? {
            alert: 'backlog',
            title: `Backlog in paused queue ${code(c.queue_name)}`,
            detail: `${detail}\nThe queue is paused (${pause.keys.map((k) => `key \`${k}\``).join(', ')}, for ${formatAge(pause.ageSeconds)}): workers take nothing from it until it is resumed. \`/jobq resume ${c.queue_name}\` when the incident is over.`,
            muteTarget: c.queue_name,
            commands: ['paused', 'stats'],
          }
        : { alert: 'backlog', title: `Backlog in queue ${code(c.queue_name)}`, detail, muteTarget: c.queue_name, commands: ['stats', 'workers', 'stalled'] },
    });
  }
  return conditions;
}

function pausesByQueue(rows: { queue_name: string; pause_key: string; paused_at: Date }[]): Map<string, { keys: string[]; ageSeconds: number }> {
  const byQueue = new Map<string, { keys: string[]; ageSeconds: number }>();
  for (const r of rows) {
    const age = Math.max(0, Math.round((Date.now() - r.paused_at.getTime()) / 1000));
    const known = byQueue.get(r.queue_name);
    byQueue.set(r.queue_name, { keys: [...(known?.keys ?? []), r.pause_key], ageSeconds: Math.max(known?.ageSeconds ?? 0, age) });
  }
  return byQueue;
}

/** A queue paused longer than the reminder threshold (3.10+): a pause forgotten after an incident stops its work for good. */
export async function pausedConditions(ctx: QueueContext, settings: AlertSettings): Promise<Condition[]> {
  const paused = pausesByQueue(await pausedQueues(ctx));
  const conditions: Condition[] = [];
  for (const [queue, pause] of paused) {
    if (pause.ageSeconds < settings.pauseReminderSeconds) continue;
    conditions.push({
      key: `paused:${queue}`,
      subject: { alert: 'paused', queue },
      view: {
        alert: 'paused',
        title: `Queue ${code(queue)} has been paused for ${formatAge(pause.ageSeconds)}`,
        detail: `Paused under ${pause.keys.map((k) => `key \`${k}\``).join(', ')} (reminder after ${formatAge(settings.pauseReminderSeconds)}): workers take nothing from it. \`/jobq resume ${queue}\` if the incident is over; \`/jobq paused\` says who paused it and why.`,
        muteTarget: queue,
        commands: ['paused', 'stats'],
      },
    });
  }
  return conditions;
}

/** No worker has sent a heartbeat within the stalled-heartbeat threshold (Procrastinate 3.1+). */
export async function noWorkersCondition(ctx: QueueContext): Promise<Condition[]> {
  if (!ctx.schema.has('workers')) return [];
  const seconds = ctx.settings.stalledHeartbeatSeconds;
  const w = (await ctx.db.query(workersSummary(seconds))).rows[0]!;
  if (w.live > 0) return [];
  return [
    {
      key: 'no-workers',
      subject: { alert: 'no-workers' },
      view: {
        alert: 'no-workers',
        title: 'No live Procrastinate workers',
        detail: `${w.total === 0 ? 'No worker is registered' : `None of ${w.total} registered workers sent a heartbeat`} in the last ${formatAge(seconds)}: nothing will run until workers come back.`,
        muteTarget: 'no-workers',
        commands: ['workers', 'stalled'],
      },
    },
  ];
}

export interface HealthMonitorDeps {
  queue: QueueHandle;
  /** The leadership token while this replica may post; null once it may not. */
  fence: () => Fence | null;
  poster: Poster;
  settings: AlertSettings;
  log: Logger;
  render: RenderOptions;
  /** Receives the active silences at each check (the outage reporter needs them when the database is gone). */
  onMutes?: (mutes: Mute[]) => void;
}

export function createHealthMonitor(deps: HealthMonitorDeps) {
  const { poster, settings, log } = deps;
  const channel = settings.channel!;
  /** Suppressed conditions: when each was last counted against its silence. */
  const mutedCountedAt = new Map<string, number>();

  const checks: { alert: AlertName; run: (ctx: QueueContext) => Promise<Condition[]> }[] = [
    { alert: 'stalled', run: stalledCondition },
    { alert: 'backlog', run: (ctx) => backlogConditions(ctx, settings) },
    { alert: 'no-workers', run: noWorkersCondition },
    { alert: 'paused', run: (ctx) => pausedConditions(ctx, settings) },
  ];

  const metadata = (key: string, startedAt: Date) => ({ event_type: METADATA_TYPE.health, event_payload: { key, started_at: startedAt.toISOString() } });

  async function fire(ctx: QueueContext, c: Condition): Promise<void> {
    const fence = deps.fence();
    if (!fence) return; // no longer leader
    const opened = (await ctx.db.query(healthAlertsOpen(c.key, c.view.alert, channel, c.view.title, fence))).rows[0];
    if (!opened) return; // opened meanwhile by another leader
    await post(ctx, c, opened);
  }

  /** Posts an open alert. A row whose post failed keeps its start, and the next check posts it again. */
  async function post(ctx: QueueContext, c: Condition, row: HealthAlertRow): Promise<void> {
    const view = { ...c.view, startedAt: row.started_at.toISOString() };
    const ts = await poster.post(channel, healthAlertBlocks(view, settings.repeatMs / 1000, deps.render), { metadata: metadata(c.key, row.started_at) });
    await ctx.db.query(healthAlertsPosted(c.key, ts, c.view.title));
  }

  async function repeat(ctx: QueueContext, c: Condition, row: HealthAlertRow & { ts: string }): Promise<void> {
    const view = { ...c.view, startedAt: row.started_at.toISOString() };
    try {
      await poster.update(channel, row.ts, healthAlertBlocks(view, settings.repeatMs / 1000, deps.render), metadata(c.key, row.started_at));
      await poster.post(channel, healthRepeatBlocks(view), { threadTs: row.ts, broadcast: true });
    } catch (error) {
      if (!isMessageGone(error)) throw error;
      // The alert was deleted in Slack while the condition lasts: start over with a new one.
      await ctx.db.query(healthAlertsClose(c.key));
      return fire(ctx, c);
    }
    await ctx.db.query(healthAlertsPosted(c.key, row.ts, c.view.title));
  }

  async function resolve(ctx: QueueContext, row: HealthAlertRow): Promise<void> {
    if (row.ts) {
      const done = healthResolvedBlocks({ alert: row.alert as AlertName, title: row.summary, startedAt: row.started_at.toISOString() }, deps.render);
      try {
        await poster.update(channel, row.ts, done.parent, metadata(row.key, row.started_at));
        await poster.post(channel, done.reply, { threadTs: row.ts });
      } catch (error) {
        if (!isMessageGone(error)) throw error; // deleted in Slack: nothing left to mark resolved
      }
    }
    await ctx.db.query(healthAlertsClose(row.key));
  }

  /**
   * A row written before its post but never given a ts: the post failed (Slack refused it or was
   * unreachable) or may have happened just before a crash. Found in the history: adopt its ts.
   * Not found: the row stays open without a ts, and the check posts it (keeping its start time)
   * if the condition still holds, or closes it quietly if not.
   */
  async function adopt(ctx: QueueContext, row: HealthAlertRow): Promise<HealthAlertRow> {
    if (row.ts) return row;
    const found = await poster.findOwn(channel, METADATA_TYPE.health, (p) => p.key === row.key && p.started_at === row.started_at.toISOString(), { oldest: row.started_at });
    if (!found) return row;
    await ctx.db.query(healthAlertsPosted(row.key, found.ts, row.summary));
    return { ...row, ts: found.ts };
  }

  async function countMuted(ctx: QueueContext, c: Condition, mutes: Mute[]): Promise<void> {
    const last = mutedCountedAt.get(c.key);
    if (last !== undefined && Date.now() - last < settings.repeatMs) return;
    mutedCountedAt.set(c.key, Date.now());
    await countSuppressed(
      ctx.db,
      mutes.map((m) => m.id),
    );
  }

  async function check(): Promise<void> {
    const ctx = await deps.queue.get();
    const mutes = await listMutes(ctx.db);
    deps.onMutes?.(mutes);
    const open = new Map<string, HealthAlertRow>();
    for (const row of (await ctx.db.query(healthAlertsAll())).rows) open.set(row.key, await adopt(ctx, row));
    for (const { alert, run } of checks) {
      if (!alertEnabled(settings, alert)) continue;
      let conditions: Condition[];
      try {
        conditions = await run(ctx);
      } catch (error) {
        log.warn({ err: error, alert }, 'health check failed; its alerts stay as they are');
        continue;
      }
      const active = new Set(conditions.map((c) => c.key));
      for (const c of conditions) {
        if (!task.active) return;
        const row = open.get(c.key);
        let muting = mutesFor(mutes, c.subject);
        // About to page: the silences read at the start of this round may be older than a mute
        // typed since (the checks can take a while at scale), so look once more. Rare, and cheap.
        if ((!row || !row.ts) && muting.length === 0) muting = mutesFor(await listMutes(ctx.db), c.subject);
        if (!row) {
          if (muting.length) await countMuted(ctx, c, muting);
          else await fire(ctx, c);
        } else if (!row.ts) {
          if (muting.length)
            await ctx.db.query(healthAlertsClose(c.key)); // muted before it ever reached Slack
          else await post(ctx, c, row);
        } else if (Date.now() - row.last_posted_at.getTime() >= settings.repeatMs) {
          if (muting.length) await countMuted(ctx, c, muting);
          else await repeat(ctx, c, row as HealthAlertRow & { ts: string });
        }
      }
      for (const [key, row] of open) {
        if (!task.active) return;
        if (row.alert === alert && !active.has(key)) await resolve(ctx, row);
      }
      for (const key of mutedCountedAt.keys()) if (key.split(':')[0] === alert && !active.has(key)) mutedCountedAt.delete(key);
    }
    await announceEndedMutes(ctx);
  }

  /** Posts a note for each silence that expired or was removed, with what it kept quiet. */
  async function announceEndedMutes(ctx: QueueContext): Promise<void> {
    const fence = deps.fence();
    if (!fence) return;
    for (const mute of await endedMutesToAnnounce(ctx.db, fence)) {
      try {
        await poster.post(channel, muteEndedNoteBlocks(mute, deps.render), { metadata: { event_type: METADATA_TYPE.muteNote, event_payload: { mute_id: mute.id } } });
      } catch (error) {
        await unclaimMuteNote(ctx.db, mute.id).catch(() => undefined);
        throw error;
      }
    }
  }

  /**
   * A check that failed on Slack (the post of an alert, a repeat, a "resolved", a mute note) is
   * tried again with a growing wait; what it had to post stays in jobq.health_alerts and
   * jobq.mutes, so nothing is dropped. The poster's watch has already warned once about the channel.
   */
  let slackFailures = 0;
  const task = backgroundTask({
    name: 'health check',
    log,
    intervalMs: settings.healthCheckMs,
    round: async () => {
      try {
        await check();
        slackFailures = 0;
        return settings.healthCheckMs;
      } catch (error) {
        if (!classifySlackError(error)) throw error;
        slackFailures++;
        log.debug({ err: error, attempts: slackFailures }, 'health alert delivery failed; kept and retried');
        return backoffMs(slackFailures, settings.healthCheckMs);
      }
    },
  });

  return {
    start: () => task.start(),
    /** No further post from now on. */
    halt: () => task.halt(),
    stop: () => task.stop(),
  };
}

export type HealthMonitor = ReturnType<typeof createHealthMonitor>;
