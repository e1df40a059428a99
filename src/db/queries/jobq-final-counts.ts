import type { QueryConfig } from 'pg';
import type { Query } from '../database.js';
import type { GroupColumn } from './jobs.js';
import { fenceValues, type Fence } from './jobq-leases.js';

/**
 * Exact counts of the final-status jobs, made in the background by the leader (see
 * queue/final-counts.ts): one row per (queue, task, status) for the jobs with ids up to
 * `counted_to_id`, and one row per Procrastinate schema saying how far and when. Keyed by
 * that schema, so two deployments on one database never read each other's counts.
 */

/** Migration 8. */
export function finalCountsCreateTables(): QueryConfig[] {
  return [
    {
      text: `
        CREATE TABLE jobq.final_counts (
          jobs_schema text NOT NULL,
          queue_name text NOT NULL,
          task_name text NOT NULL,
          status text NOT NULL,
          count bigint NOT NULL,
          PRIMARY KEY (jobs_schema, queue_name, task_name, status)
        )`,
    },
    {
      text: `
        CREATE TABLE jobq.final_counts_state (
          jobs_schema text PRIMARY KEY,
          counted_to_id bigint NOT NULL,
          started_at timestamptz NOT NULL,
          computed_at timestamptz NOT NULL DEFAULT now(),
          groups integer NOT NULL
        )`,
    },
  ];
}

export interface FinalCountsStateRow {
  counted_to_id: number;
  started_at: Date;
  computed_at: Date;
  groups: number;
  /** Since started_at, by the database's clock. */
  age_seconds: number;
}

/** The current snapshot's extent and age, if there is one. */
export function finalCountsState(jobsSchema: string): Query<FinalCountsStateRow> {
  return {
    text: `
      SELECT counted_to_id, started_at, computed_at, groups, extract(epoch FROM now() - started_at)::float8 AS age_seconds
      FROM jobq.final_counts_state WHERE jobs_schema = $1::text`,
    values: [jobsSchema],
  };
}

export interface FinalCountsByGroupRow {
  key: string;
  status: string;
  count: number;
}

/** The snapshot summed per queue or task (at most the pass's group cap of rows). */
export function finalCountsByGroup(jobsSchema: string, group: GroupColumn, statuses: readonly string[]): Query<FinalCountsByGroupRow> {
  return {
    text: `
      SELECT ${group} AS key, status, sum(count)::bigint AS count
      FROM jobq.final_counts
      WHERE jobs_schema = $1::text AND status = ANY($2::text[])
      GROUP BY 1, 2`,
    values: [jobsSchema, statuses],
  };
}

/**
 * First statement of a swap: the lease, locked FOR SHARE until the swap commits. A replica taking
 * the lease over has to update that row, so it waits for the swap, and a deposed leader gets no
 * row and writes nothing.
 */
export function finalCountsLockLease(fence: Fence): Query<{ token: number }> {
  return {
    text: `
      SELECT token FROM jobq.leases
      WHERE name = $1::text AND holder = $2::text AND token = $3::bigint AND expires_at > now()
      FOR SHARE`,
    values: fenceValues(fence),
  };
}

export function finalCountsClear(jobsSchema: string): QueryConfig {
  return { text: 'DELETE FROM jobq.final_counts WHERE jobs_schema = $1::text', values: [jobsSchema] };
}

/** Forgets the last count (its state row), so stats samples until the next pass: how a bot that just started sees a table. */
export function finalCountsForget(jobsSchema: string): QueryConfig {
  return { text: 'DELETE FROM jobq.final_counts_state WHERE jobs_schema = $1::text', values: [jobsSchema] };
}

export interface FinalCountRow {
  queue: string;
  task: string;
  status: string;
  count: number;
}

/** The whole snapshot in one statement, as parallel arrays. */
export function finalCountsInsert(jobsSchema: string, rows: FinalCountRow[]): QueryConfig {
  return {
    text: `
      INSERT INTO jobq.final_counts (jobs_schema, queue_name, task_name, status, count)
      SELECT $1::text, q, t, s, c FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) AS r(q, t, s, c)`,
    values: [jobsSchema, rows.map((r) => r.queue), rows.map((r) => r.task), rows.map((r) => r.status), rows.map((r) => r.count)],
  };
}

/** started_at is now() less the pass's length: both by the database's clock, which every reader compares with. */
export function finalCountsStateSet(jobsSchema: string, countedToId: number, passSeconds: number, groups: number): QueryConfig {
  return {
    text: `
      INSERT INTO jobq.final_counts_state (jobs_schema, counted_to_id, started_at, computed_at, groups)
      VALUES ($1::text, $2::bigint, now() - make_interval(secs => $3::float8), now(), $4::int)
      ON CONFLICT (jobs_schema) DO UPDATE
        SET counted_to_id = EXCLUDED.counted_to_id, started_at = EXCLUDED.started_at, computed_at = EXCLUDED.computed_at, groups = EXCLUDED.groups`,
    values: [jobsSchema, countedToId, passSeconds, groups],
  };
}
