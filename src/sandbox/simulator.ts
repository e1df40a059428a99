import pg from 'pg';
import { jobsDeferBatch, jobsFetchForWorker, jobsFinish, jobsRetryLater, workerHeartbeat, workerPruneStalled, workerRegister, type JobToDefer } from '../db/queries/procrastinate-worker.js';
import type { Logger } from '../log.js';

export interface SimulatorOptions {
  url: string;
  jobsPerMinute: number;
  /** Share of runs that raise (some are retried, then fail for good). */
  failureRate: number;
  /** Every this many seconds one worker dies holding its jobs (stalled jobs, a dead worker). */
  chaosEverySeconds: number;
  workers?: number;
  log?: Logger | undefined;
  random?: () => number;
}

export interface Simulator {
  stop(): Promise<void>;
  stats(): { deferred: number; succeeded: number; failed: number; retried: number; deadWorkers: number };
}

const QUEUES: Record<string, string[]> = {
  emails: ['app.emails.send_welcome', 'app.emails.send_receipt', 'app.emails.send_digest'],
  reports: ['app.reports.render_pdf', 'app.reports.export_csv'],
  webhooks: ['app.webhooks.deliver'],
  billing: ['app.billing.charge_card', 'app.billing.sync_invoices'],
};
const TICK_MS = 1_000;
const HEARTBEAT_EVERY_TICKS = 5;
const STALLED_AFTER_SECONDS = 30;
const CONCURRENCY = 2;

interface Worker {
  id: number;
  alive: boolean;
  running: { id: number; finishAt: number; attempts: number; task: string }[];
}

/**
 * Plays Procrastinate workers against a 3.x schema through its own functions: defers jobs on a
 * few queues, fetches and finishes them (most succeed, some fail, some are retried), heartbeats,
 * and now and then a worker dies holding its jobs, which later shows as stalled and pruned.
 */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const random = options.random ?? Math.random;
  const pool = new pg.Pool({ connectionString: options.url, max: 1, application_name: 'procrastinate-simulator' });
  pool.on('error', () => undefined);
  const counters = { deferred: 0, succeeded: 0, failed: 0, retried: 0, deadWorkers: 0 };
  const workers: Worker[] = [];
  const register = async () => {
    const row = (await pool.query<{ worker_id: string }>(workerRegister())).rows[0]!;
    workers.push({ id: Number(row.worker_id), alive: true, running: [] });
  };
  for (let i = 0; i < (options.workers ?? 3); i++) await register();

  let tick = 0;
  let owed = 0;
  let lastChaos = Date.now();
  let stopped = false;
  let busy: Promise<void> = Promise.resolve();
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;

  async function step(): Promise<void> {
    tick++;
    owed += (options.jobsPerMinute * TICK_MS) / 60_000;
    const count = Math.floor(owed);
    owed -= count;
    if (count > 0) {
      const jobs: JobToDefer[] = Array.from({ length: count }, () => {
        const queue = pick(Object.keys(QUEUES));
        const user = Math.floor(random() * 5_000);
        return {
          queue,
          task: pick(QUEUES[queue]!),
          priority: random() < 0.1 ? 10 : 0,
          lock: queue === 'billing' ? `customer-${user % 50}` : null,
          args: { user_id: user, request_id: `req-${Date.now().toString(36)}-${Math.floor(random() * 1e6)}` },
          scheduledAt: random() < 0.05 ? new Date(Date.now() + 60_000 * (1 + Math.floor(random() * 30))) : null,
        };
      });
      counters.deferred += (await pool.query(jobsDeferBatch(jobs))).rowCount ?? 0;
    }
    const now = Date.now();
    for (const worker of workers.filter((w) => w.alive)) {
      for (const job of worker.running.filter((j) => j.finishAt <= now)) {
        if (random() < options.failureRate) {
          if (job.attempts < 2 && random() < 0.5) {
            await pool.query(jobsRetryLater(job.id, 10));
            counters.retried++;
          } else {
            await pool.query(jobsFinish(job.id, 'failed'));
            counters.failed++;
          }
        } else {
          await pool.query(jobsFinish(job.id, 'succeeded'));
          counters.succeeded++;
        }
      }
      worker.running = worker.running.filter((j) => j.finishAt > now);
      while (worker.running.length < CONCURRENCY) {
        const row = (await pool.query<{ id: string; task_name: string; attempts: number }>(jobsFetchForWorker(worker.id))).rows[0];
        if (!row) break;
        worker.running.push({ id: Number(row.id), task: row.task_name, attempts: row.attempts, finishAt: now + 300 + random() * 4_000 });
      }
      if (tick % HEARTBEAT_EVERY_TICKS === 0) await pool.query(workerHeartbeat(worker.id));
    }
    if (options.chaosEverySeconds > 0 && now - lastChaos > options.chaosEverySeconds * 1000) {
      lastChaos = now;
      const victim = workers.find((w) => w.alive && w.running.length > 0);
      if (victim) {
        // Killed with -9: no unregister, its jobs stay `doing` until someone prunes the worker.
        victim.alive = false;
        counters.deadWorkers++;
        options.log?.info({ worker: victim.id, jobs: victim.running.map((j) => j.id) }, 'simulator: a worker died holding its jobs');
        await register();
      }
    }
    if (tick % 15 === 0) await pool.query(workerPruneStalled(STALLED_AFTER_SECONDS * 4));
  }

  const timer = setInterval(() => {
    busy = busy.then(() => (stopped ? undefined : step())).catch((error: unknown) => options.log?.warn({ err: error }, 'simulator step failed'));
  }, TICK_MS);

  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await busy;
      await pool.end();
    },
    stats: () => ({ ...counters }),
  };
}
