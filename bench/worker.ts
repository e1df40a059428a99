import pg from 'pg';
import { spread, type Spread } from './timing.js';

export interface WorkerRun {
  fetches: number;
  jobsRun: number;
  fetchMs: Spread;
}

/**
 * A Procrastinate worker as its fetch loop behaves: registers, then fetches a job through
 * Procrastinate's own function (fetch_job_v3 on 3.10, else v2) on every queue, finishes it as
 * succeeded, and fetches again, with a short pause between fetches (a busy worker, not a
 * benchmark of the function). Only the fetch is timed: it is what waits when the table is busy.
 */
export class SimulatedWorker {
  private stopped = false;
  private loop: Promise<WorkerRun> | undefined;

  constructor(
    private readonly url: string,
    private readonly queues: string[],
    private readonly pauseMs = 10,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<WorkerRun> {
    this.stopped = true;
    return this.loop!;
  }

  /** Runs alone for `ms`: the idle baseline. */
  static async idle(url: string, queues: string[], ms: number): Promise<WorkerRun> {
    const worker = new SimulatedWorker(url, queues);
    worker.start();
    await new Promise((resolve) => setTimeout(resolve, ms));
    return worker.stop();
  }

  private async run(): Promise<WorkerRun> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'procrastinate-bench-worker' });
    await client.connect();
    const times: number[] = [];
    let jobsRun = 0;
    try {
      const fetchV3 = (await client.query(`SELECT to_regproc('procrastinate_fetch_job_v3') IS NOT NULL AS v3`)).rows[0].v3 as boolean;
      const workerId = Number((await client.query(`SELECT worker_id FROM procrastinate_register_worker_v1()`)).rows[0].worker_id);
      const fetch = `SELECT id FROM ${fetchV3 ? 'procrastinate_fetch_job_v3' : 'procrastinate_fetch_job_v2'}($1::varchar[], $2::bigint)`;
      while (!this.stopped) {
        const started = performance.now();
        const job = (await client.query<{ id: string | null }>(fetch, [this.queues, workerId])).rows[0]?.id ?? null;
        times.push(performance.now() - started);
        if (job !== null) {
          await client.query(`SELECT procrastinate_finish_job_v1($1::bigint, 'succeeded', false)`, [job]);
          jobsRun += 1;
        }
        await new Promise((resolve) => setTimeout(resolve, this.pauseMs));
      }
      await client.query(`SELECT procrastinate_unregister_worker_v1($1::bigint)`, [workerId]);
    } finally {
      await client.end();
    }
    return { fetches: times.length, jobsRun, fetchMs: spread(times) };
  }
}
