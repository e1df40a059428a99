import pg from 'pg';
import {
  jobsDeferBatch,
  jobsFetchForWorker,
  jobsFinish,
  jobsRetryLater,
  pickWorkerCalls,
  workerFunctionNames,
  workerHeartbeat,
  workerPruneStalled,
  workerRegister,
  type JobToDefer,
  type WorkerCalls,
} from '../db/queries/procrastinate-worker.js';
import { JobqError } from '../errors.js';
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
  /** One step of the simulation: defer, finish, fetch. A run lasts 0.3 to 4.3 ticks. */
  tickMs?: number;
}

export interface Simulator {
  stop(): Promise<void>;
  stats(): { deferred: number; succeeded: number; failed: number; retried: number; deadWorkers: number };
  /** The Procrastinate functions it plays the workers with, picked from this schema. */
  calls: WorkerCalls;
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
  /** procrastinate_workers.id (3.1+); a number of our own on older schemas, never sent. */
  id: number;
  alive: boolean;
  running: { id: number; finishAt: number; attempts: number; task: string }[];
}

/** The worker calls this database's Procrastinate release has, or a clear error when it has none. */
async function detectWorkerCalls(pool: pg.Pool): Promise<WorkerCalls> {
  const names = (await pool.query(workerFunctionNames())).rows[0]!.names;
  const pick = pickWorkerCalls(names);
  if (pick.kind === 'found') return pick.calls;
  throw new JobqError('not_procrastinate', `The workload simulator found no Procrastinate function to ${pick.missing.join(', ')} jobs in this database.`, {
    hint: "Point JOB_QUEUE_DATABASE_URL at a database with Procrastinate's schema applied (its schema on the search_path), or set JOBQ_SANDBOX_SIMULATE=false.",
    runbookSection: 'database-connectivity',
  });
}

/**
 * Plays Procrastinate workers through the functions of whichever release the schema is (2.x to
 * 3.10, picked by name): defers jobs on a few queues, fetches and finishes them (most succeed,
 * some fail, some are retried), heartbeats (3.1+), and now and then a worker dies holding its
 * jobs, which later shows as stalled and pruned. On 3.10 its fetches skip paused queues.
 */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const random = options.random ?? Math.random;
  const tickMs = options.tickMs ?? TICK_MS;
  const pool = new pg.Pool({ connectionString: options.url, max: 1, application_name: 'procrastinate-simulator' });
  pool.on('error', () => undefined);
  let calls: WorkerCalls;
  try {
    calls = await detectWorkerCalls(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const counters = { deferred: 0, succeeded: 0, failed: 0, retried: 0, deadWorkers: 0 };
  const workers: Worker[] = [];
  const register = async () => {
    const id = calls.workers ? Number((await pool.query(workerRegister())).rows[0]!.worker_id) : workers.length + 1;
    workers.push({ id, alive: true, running: [] });
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
    owed += (options.jobsPerMinute * tickMs) / 60_000;
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
      counters.deferred += (await pool.query(jobsDeferBatch(calls.defer, jobs))).rowCount ?? 0;
    }
    const now = Date.now();
    for (const worker of workers.filter((w) => w.alive)) {
      for (const job of worker.running.filter((j) => j.finishAt <= now)) {
        if (random() < options.failureRate) {
          if (job.attempts < 2 && random() < 0.5) {
            await pool.query(jobsRetryLater(calls.retry, job.id, 10));
            counters.retried++;
          } else {
            await pool.query(jobsFinish(calls.finish, job.id, 'failed'));
            counters.failed++;
          }
        } else {
          await pool.query(jobsFinish(calls.finish, job.id, 'succeeded'));
          counters.succeeded++;
        }
      }
      worker.running = worker.running.filter((j) => j.finishAt > now);
      while (worker.running.length < CONCURRENCY) {
        const row = (await pool.query(jobsFetchForWorker(calls.fetch, worker.id))).rows[0];
        if (!row) break;
        worker.running.push({ id: Number(row.id), task: row.task_name, attempts: row.attempts, finishAt: now + tickMs * (0.3 + random() * 4) });
      }
      if (calls.workers && tick % HEARTBEAT_EVERY_TICKS === 0) await pool.query(workerHeartbeat(worker.id));
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
    if (calls.workers && tick % 15 === 0) await pool.query(workerPruneStalled(STALLED_AFTER_SECONDS * 4));
  }

  const timer = setInterval(() => {
    busy = busy.then(() => (stopped ? undefined : step())).catch((error: unknown) => options.log?.warn({ err: error }, 'simulator step failed'));
  }, tickMs);

  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        stopped = true;
        clearInterval(timer);
        await busy;
        await pool.end();
      })();
      return stopping;
    },
    stats: () => ({ ...counters }),
    calls,
  };
}
