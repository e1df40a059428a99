import type { Pool, PoolClient } from 'pg';
import { isV3Family, isV310Family, type FixtureShape } from './fixtures.js';

export interface JobSpec {
  queue?: string;
  task?: string;
  status?: 'todo' | 'doing' | 'succeeded' | 'failed' | 'cancelled' | 'aborted' | 'aborting';
  args?: unknown;
  scheduledAt?: Date | null;
  lock?: string | null;
  queueingLock?: string | null;
  workerId?: number | null;
  /** 3.10 shapes only: how the job holds its lock while it waits (column default `ordered`). */
  lockMode?: 'ordered' | 'mutex';
}

/**
 * Fixture rows written the way Procrastinate writes them: an insert as `todo`, then status
 * updates, so its triggers record the same events production has. Over a pool, or over one
 * client to play a worker whose statements share a transaction.
 */
export function factories(pool: Pool | PoolClient, shape: FixtureShape) {
  const v3 = isV3Family(shape);
  const v310 = isV310Family(shape);
  return {
    async job(spec: JobSpec = {}): Promise<number> {
      if (spec.lockMode !== undefined && !v310) throw new Error(`lockMode needs a 3.10 shape; ${shape} has no lock_mode column`);
      const values = [
        spec.queue ?? 'default',
        spec.task ?? 'app.tasks.work',
        JSON.stringify(spec.args ?? {}),
        spec.scheduledAt ?? null,
        spec.lock ?? null,
        spec.queueingLock ?? null,
      ];
      const inserted = await pool.query<{ id: string }>(
        v310
          ? `INSERT INTO procrastinate_jobs (queue_name, task_name, args, scheduled_at, lock, queueing_lock, lock_mode)
             VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7::procrastinate_lock_mode) RETURNING id`
          : `INSERT INTO procrastinate_jobs (queue_name, task_name, args, scheduled_at, lock, queueing_lock)
             VALUES ($1, $2, $3::jsonb, $4, $5, $6) RETURNING id`,
        v310 ? [...values, spec.lockMode ?? 'ordered'] : values,
      );
      const id = Number(inserted.rows[0]!.id);
      const status = spec.status ?? 'todo';
      if (status === 'todo') return id;
      if (status === 'cancelled') {
        await pool.query(`UPDATE procrastinate_jobs SET status = 'cancelled' WHERE id = $1`, [id]);
        return id;
      }
      const worker = v3 && spec.workerId !== undefined ? ', worker_id = $2' : '';
      await pool.query(`UPDATE procrastinate_jobs SET status = 'doing'${worker} WHERE id = $1`, worker ? [id, spec.workerId] : [id]);
      if (status === 'doing') return id;
      await pool.query(`UPDATE procrastinate_jobs SET status = $2, attempts = attempts + 1 WHERE id = $1`, [id, status]);
      return id;
    },

    async jobs(count: number, spec: JobSpec = {}): Promise<number[]> {
      const ids: number[] = [];
      for (let i = 0; i < count; i++) ids.push(await this.job(spec));
      return ids;
    },

    /** Registers a worker (3.1+), optionally with a heartbeat in the past. */
    async worker(heartbeatSecondsAgo = 0): Promise<number> {
      const row = await pool.query<{ worker_id: string }>('SELECT worker_id FROM procrastinate_register_worker_v1()');
      const id = Number(row.rows[0]!.worker_id);
      if (heartbeatSecondsAgo > 0) {
        await pool.query(`UPDATE procrastinate_workers SET last_heartbeat = now() - make_interval(secs => $2) WHERE id = $1`, [id, heartbeatSecondsAgo]);
      }
      return id;
    },

    /** Moves every event of a job back in time, as if it had happened `seconds` earlier. */
    async age(jobId: number, seconds: number): Promise<void> {
      await pool.query(`UPDATE procrastinate_events SET at = at - make_interval(secs => $2) WHERE job_id = $1`, [jobId, seconds]);
    },

    /** One fetch, as a Procrastinate worker does it; returns the job id or null. */
    async fetch(queues: string[] | null = null, workerId: number | null = null): Promise<number | null> {
      const fn = v310 ? 'procrastinate_fetch_job_v3' : v3 ? 'procrastinate_fetch_job_v2' : null;
      const row = fn
        ? await pool.query<{ id: string | null }>(`SELECT id FROM ${fn}($1::varchar[], $2::bigint)`, [queues, workerId])
        : await pool.query<{ id: string | null }>('SELECT id FROM procrastinate_fetch_job($1::varchar[])', [queues]);
      return row.rows[0]?.id == null ? null : Number(row.rows[0].id);
    },

    /** Finishes a job as a worker does. */
    async finish(jobId: number, status: 'succeeded' | 'failed' | 'aborted'): Promise<void> {
      const fn = v3 ? 'procrastinate_finish_job_v1' : 'procrastinate_finish_job';
      await pool.query(`SELECT ${fn}($1::bigint, $2::procrastinate_job_status, false)`, [jobId, status]);
    },

    /** Pauses a queue (3.10), as a party named by `key` does; pausing twice under one key is a no-op. */
    async pause(queue: string, key = 'default'): Promise<void> {
      await pool.query('INSERT INTO procrastinate_paused_queues (queue_name, pause_key) VALUES ($1, $2) ON CONFLICT DO NOTHING', [queue, key]);
    },

    /** Lifts a pause (3.10): one key's, or every key's when `key` is omitted. */
    async resume(queue: string, key?: string): Promise<number> {
      const deleted = await pool.query('DELETE FROM procrastinate_paused_queues WHERE queue_name = $1 AND ($2::varchar IS NULL OR pause_key = $2)', [queue, key ?? null]);
      return deleted.rowCount ?? 0;
    },

    async status(jobId: number): Promise<string | undefined> {
      const row = await pool.query<{ status: string }>('SELECT status::text AS status FROM procrastinate_jobs WHERE id = $1', [jobId]);
      return row.rows[0]?.status;
    },

    async events(jobId: number): Promise<string[]> {
      const rows = await pool.query<{ type: string }>('SELECT type::text AS type FROM procrastinate_events WHERE job_id = $1 ORDER BY id', [jobId]);
      return rows.rows.map((r) => r.type);
    },
  };
}

export type Factories = ReturnType<typeof factories>;
