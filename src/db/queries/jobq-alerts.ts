import type { QueryConfig } from 'pg';
import type { Query } from '../database.js';
import { fenceValues, leaseHeldSql, type Fence } from './jobq-leases.js';

/**
 * jobq's own tables for alerting: the failure-event cursor, what was posted for each batch of
 * failures, open health alerts, silences, and the summary ticks already claimed. Every replica
 * reads them; only the elected leader writes the alerting state (silences come from commands).
 */

export function alertsCreateTables(): QueryConfig[] {
  return [
    {
      // One row per tail ('failures'). pending_* is the write-ahead intent of a batch being
      // delivered: set before the first post, cleared with the cursor move after the last one.
      text: `
        CREATE TABLE jobq.alert_cursor (
          name text PRIMARY KEY,
          last_event_id bigint NOT NULL,
          pending_lo bigint,
          pending_hi bigint,
          pending_since timestamptz,
          pending_batch jsonb,
          updated_at timestamptz NOT NULL DEFAULT now()
        )`,
    },
    {
      // One row per (batch, queue, task) delivered: posted, counted into an earlier message, or muted.
      text: `
        CREATE TABLE jobq.failure_alerts (
          id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          batch_hi bigint NOT NULL,
          queue_name text NOT NULL,
          task_name text NOT NULL,
          kind text NOT NULL CHECK (kind IN ('post', 'update', 'combined', 'muted')),
          channel text NOT NULL,
          parent_ts text,
          failures bigint NOT NULL,
          total bigint NOT NULL,
          first_failed_at timestamptz,
          at timestamptz NOT NULL DEFAULT now(),
          UNIQUE (batch_hi, queue_name, task_name)
        )`,
    },
    { text: 'CREATE INDEX failure_alerts_group_idx ON jobq.failure_alerts (queue_name, task_name, id DESC)' },
    {
      text: `
        CREATE TABLE jobq.health_alerts (
          key text PRIMARY KEY,
          alert text NOT NULL,
          channel text NOT NULL,
          ts text,
          started_at timestamptz NOT NULL DEFAULT now(),
          last_posted_at timestamptz NOT NULL DEFAULT now(),
          summary text NOT NULL
        )`,
    },
    {
      text: `
        CREATE TABLE jobq.mutes (
          id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          target text NOT NULL,
          reason text,
          created_by text NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          expires_at timestamptz NOT NULL,
          ended_at timestamptz,
          ended_by text,
          end_reason text CHECK (end_reason IN ('expired', 'unmuted')),
          suppressed_alerts bigint NOT NULL DEFAULT 0,
          suppressed_failures bigint NOT NULL DEFAULT 0,
          noted_at timestamptz
        )`,
    },
    { text: 'CREATE INDEX mutes_active_idx ON jobq.mutes (expires_at) WHERE ended_at IS NULL' },
    {
      text: `
        CREATE TABLE jobq.summary_ticks (
          schedule_key text NOT NULL,
          tick_at timestamptz NOT NULL,
          claimed_at timestamptz NOT NULL DEFAULT now(),
          channel text NOT NULL,
          ts text,
          PRIMARY KEY (schedule_key, tick_at)
        )`,
    },
  ];
}

// --- failure cursor ---

export interface CursorRow {
  last_event_id: number;
  pending_lo: number | null;
  pending_hi: number | null;
  pending_since: Date | null;
  pending_batch: unknown;
}

/** First start: begin at the newest event (history is not alerted). */
export function cursorInit(name: string, startId: number): QueryConfig {
  return {
    text: 'INSERT INTO jobq.alert_cursor (name, last_event_id) VALUES ($1::text, $2::bigint) ON CONFLICT (name) DO NOTHING',
    values: [name, startId],
  };
}

export function cursorGet(name: string): Query<CursorRow> {
  return { text: 'SELECT last_event_id, pending_lo, pending_hi, pending_since, pending_batch FROM jobq.alert_cursor WHERE name = $1::text', values: [name] };
}

export interface CursorBeginBatchRow {
  pending_since: Date;
}

/**
 * Claims a batch for delivery and stores it whole (groups, counts, what each becomes), so a
 * restart resumes exactly this batch. No row back: another leader moved the cursor.
 */
export function cursorBeginBatch(name: string, lo: number, hi: number, batch: unknown, fence: Fence): Query<CursorBeginBatchRow> {
  return {
    text: `
      UPDATE jobq.alert_cursor SET pending_lo = $2::bigint, pending_hi = $3::bigint, pending_since = now(), pending_batch = $4::jsonb, updated_at = now()
      WHERE name = $1::text AND last_event_id = $2::bigint AND pending_hi IS NULL AND ${leaseHeldSql(5)}
      RETURNING pending_since`,
    values: [name, lo, hi, JSON.stringify(batch), ...fenceValues(fence)],
  };
}

/** The batch is delivered: move the cursor past it. */
export function cursorFinishBatch(name: string, lo: number, hi: number): QueryConfig {
  return {
    text: `
      UPDATE jobq.alert_cursor SET last_event_id = $3::bigint, pending_lo = NULL, pending_hi = NULL, pending_since = NULL, pending_batch = NULL, updated_at = now()
      WHERE name = $1::text AND last_event_id = $2::bigint AND pending_hi = $3::bigint
      RETURNING last_event_id`,
    values: [name, lo, hi],
  };
}

/** No failures up to `to`: move the cursor without a batch. */
export function cursorAdvance(name: string, from: number, to: number): QueryConfig {
  return {
    text: `
      UPDATE jobq.alert_cursor SET last_event_id = $3::bigint, updated_at = now()
      WHERE name = $1::text AND last_event_id = $2::bigint AND pending_hi IS NULL AND $3::bigint > $2::bigint
      RETURNING last_event_id`,
    values: [name, from, to],
  };
}

// --- failure alerts posted ---

export interface FailureAlertRecord {
  batchHi: number;
  queue: string;
  task: string;
  kind: 'post' | 'update' | 'combined' | 'muted';
  channel: string;
  parentTs: string | null;
  failures: number;
  total: number;
  firstFailedAt: Date | null;
}

export function failureAlertsInsert(r: FailureAlertRecord): QueryConfig {
  return {
    text: `
      INSERT INTO jobq.failure_alerts (batch_hi, queue_name, task_name, kind, channel, parent_ts, failures, total, first_failed_at)
      VALUES ($1::bigint, $2::text, $3::text, $4::text, $5::text, $6::text, $7::bigint, $8::bigint, $9::timestamptz)
      ON CONFLICT (batch_hi, queue_name, task_name) DO NOTHING`,
    values: [r.batchHi, r.queue, r.task, r.kind, r.channel, r.parentTs, r.failures, r.total, r.firstFailedAt],
  };
}

export interface FailureAlertsOfBatchRow {
  queue_name: string;
  task_name: string;
}

/** What a batch already delivered (after a crash or a failed post part-way). */
export function failureAlertsOfBatch(batchHi: number): Query<FailureAlertsOfBatchRow> {
  return {
    text: 'SELECT queue_name, task_name, kind, parent_ts, total FROM jobq.failure_alerts WHERE batch_hi = $1::bigint',
    values: [batchHi],
  };
}

export interface FailureAlertsOpenRow {
  queue_name: string;
  task_name: string;
  parent_ts: string;
  total: number;
  first_failed_at: Date | null;
}

/**
 * The message still open for more failures of each group: the latest post or update in this
 * channel within the window, from a batch before this one. One index probe per group.
 * first_failed_at is carried forward on updates, so it is the parent message's first failure.
 */
export function failureAlertsOpen(channel: string, groups: { queue: string; task: string }[], windowSeconds: number, beforeBatchHi: number): Query<FailureAlertsOpenRow> {
  return {
    text: `
      SELECT g.queue_name, g.task_name, a.parent_ts, a.total, a.first_failed_at
      FROM unnest($2::text[], $3::text[]) AS g(queue_name, task_name)
      CROSS JOIN LATERAL (
        SELECT f.kind, f.parent_ts, f.total, f.at, f.channel, f.first_failed_at
        FROM jobq.failure_alerts f
        WHERE f.queue_name = g.queue_name AND f.task_name = g.task_name AND f.batch_hi < $5::bigint
        ORDER BY f.id DESC LIMIT 1
      ) a
      WHERE a.kind IN ('post', 'update') AND a.channel = $1::text AND a.parent_ts IS NOT NULL
        AND a.at > now() - make_interval(secs => $4::float8)`,
    values: [channel, groups.map((g) => g.queue), groups.map((g) => g.task), windowSeconds, beforeBatchHi],
  };
}

export function failureAlertsPrune(olderThanDays: number): QueryConfig {
  return { text: 'DELETE FROM jobq.failure_alerts WHERE at < now() - make_interval(days => $1::int)', values: [olderThanDays] };
}

// --- health alerts ---

export interface HealthAlertRow {
  key: string;
  alert: string;
  channel: string;
  ts: string | null;
  started_at: Date;
  last_posted_at: Date;
  summary: string;
}

export function healthAlertsAll(): Query<HealthAlertRow> {
  return { text: 'SELECT key, alert, channel, ts, started_at, last_posted_at, summary FROM jobq.health_alerts ORDER BY key' };
}

/** Written before the post (ts NULL): a crash after the post is recognised from the message metadata. */
export function healthAlertsOpen(key: string, alert: string, channel: string, summary: string, fence: Fence): Query<HealthAlertRow> {
  return {
    text: `
      INSERT INTO jobq.health_alerts (key, alert, channel, summary) SELECT $1::text, $2::text, $3::text, $4::text WHERE ${leaseHeldSql(5)}
      ON CONFLICT (key) DO NOTHING
      RETURNING key, alert, channel, ts, started_at, last_posted_at, summary`,
    values: [key, alert, channel, summary, ...fenceValues(fence)],
  };
}

export function healthAlertsPosted(key: string, ts: string, summary: string): QueryConfig {
  return {
    text: 'UPDATE jobq.health_alerts SET ts = $2::text, summary = $3::text, last_posted_at = now() WHERE key = $1::text',
    values: [key, ts, summary],
  };
}

export function healthAlertsClose(key: string): QueryConfig {
  return { text: 'DELETE FROM jobq.health_alerts WHERE key = $1::text RETURNING key', values: [key] };
}

// --- silences ---

export interface MuteRow {
  id: number;
  target: string;
  reason: string | null;
  created_by: string;
  created_at: Date;
  expires_at: Date;
  ended_at: Date | null;
  ended_by: string | null;
  end_reason: 'expired' | 'unmuted' | null;
  suppressed_alerts: number;
  suppressed_failures: number;
}

const MUTE_COLUMNS = 'id, target, reason, created_by, created_at, expires_at, ended_at, ended_by, end_reason, suppressed_alerts, suppressed_failures';

export function mutesInsert(target: string, seconds: number, reason: string | null, createdBy: string): Query<MuteRow> {
  return {
    text: `
      INSERT INTO jobq.mutes (target, reason, created_by, expires_at)
      VALUES ($1::text, $2::text, $3::text, now() + make_interval(secs => $4::float8))
      RETURNING ${MUTE_COLUMNS}`,
    values: [target, reason, createdBy, seconds],
  };
}

/** Active silences (the partial index keeps this small whatever the history). */
export function mutesActive(): Query<MuteRow> {
  return { text: `SELECT ${MUTE_COLUMNS} FROM jobq.mutes WHERE ended_at IS NULL AND expires_at > now() ORDER BY expires_at, id` };
}

export function mutesEnd(target: string, endedBy: string): Query<MuteRow> {
  return {
    text: `
      UPDATE jobq.mutes SET ended_at = now(), ended_by = $2::text, end_reason = 'unmuted'
      WHERE target = $1::text AND ended_at IS NULL AND expires_at > now()
      RETURNING ${MUTE_COLUMNS}`,
    values: [target, endedBy],
  };
}

export function mutesExpire(): QueryConfig {
  return {
    text: `UPDATE jobq.mutes SET ended_at = expires_at, end_reason = 'expired' WHERE ended_at IS NULL AND expires_at <= now() RETURNING id`,
  };
}

/** Ended silences whose note is not posted yet; claimed once (one conditional UPDATE). */
export function mutesClaimNotes(limit: number, fence: Fence): Query<MuteRow> {
  return {
    text: `
      UPDATE jobq.mutes SET noted_at = now()
      WHERE id IN (SELECT id FROM jobq.mutes WHERE ended_at IS NOT NULL AND noted_at IS NULL ORDER BY id LIMIT $1::int FOR UPDATE SKIP LOCKED) AND ${leaseHeldSql(2)}
      RETURNING ${MUTE_COLUMNS}`,
    values: [limit, ...fenceValues(fence)],
  };
}

export function mutesUnclaimNote(id: number): QueryConfig {
  return { text: 'UPDATE jobq.mutes SET noted_at = NULL WHERE id = $1::bigint', values: [id] };
}

/** Counts what a silence kept quiet; only while it is still active. */
export function mutesCount(ids: number[], alerts: number, failures: number): QueryConfig {
  return {
    text: `
      UPDATE jobq.mutes SET suppressed_alerts = suppressed_alerts + $2::bigint, suppressed_failures = suppressed_failures + $3::bigint
      WHERE id = ANY($1::bigint[]) AND ended_at IS NULL`,
    values: [ids, alerts, failures],
  };
}

// --- summary ticks ---

/** One row per (schedule, tick): the replica whose insert wins posts it, even if two think they lead. */
export function summaryTicksClaim(scheduleKey: string, tickAt: Date, channel: string, fence: Fence): QueryConfig {
  return {
    text: `
      INSERT INTO jobq.summary_ticks (schedule_key, tick_at, channel) SELECT $1::text, $2::timestamptz, $3::text WHERE ${leaseHeldSql(4)}
      ON CONFLICT DO NOTHING
      RETURNING tick_at`,
    values: [scheduleKey, tickAt, channel, ...fenceValues(fence)],
  };
}

export interface SummaryTicksPreviousRow {
  tick_at: Date | null;
}

export function summaryTicksPrevious(scheduleKey: string, tickAt: Date): Query<SummaryTicksPreviousRow> {
  return {
    text: 'SELECT max(tick_at) AS tick_at FROM jobq.summary_ticks WHERE schedule_key = $1::text AND tick_at < $2::timestamptz',
    values: [scheduleKey, tickAt],
  };
}

export function summaryTicksPosted(scheduleKey: string, tickAt: Date, ts: string): QueryConfig {
  return { text: 'UPDATE jobq.summary_ticks SET ts = $3::text WHERE schedule_key = $1::text AND tick_at = $2::timestamptz', values: [scheduleKey, tickAt, ts] };
}

export function summaryTicksPrune(olderThanDays: number): QueryConfig {
  return { text: 'DELETE FROM jobq.summary_ticks WHERE claimed_at < now() - make_interval(days => $1::int)', values: [olderThanDays] };
}
