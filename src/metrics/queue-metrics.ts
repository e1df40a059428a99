import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { EVENT_TYPE, REPORTED_STATUSES } from '../db/procrastinate.js';
import type { EventCount } from './event-tally.js';
import { BoundedLabel } from './labels.js';
import type { QueueSnapshot, QueueState } from './queue-snapshot.js';

/** The label value of the queues past JOBQ_METRICS_MAX_QUEUES. */
export const OTHER_QUEUES = '_other';

/** Run times of jobs, from 50 ms to an hour. */
export const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

const EVENT_TYPES = Object.values(EVENT_TYPE);

/**
 * The queue's metrics (`procrastinate_*`): gauges replaced whole at each collection, and the
 * event counter and run-time histogram advanced by each new event. Every series of a queue
 * starts at zero when the queue is first seen, so rate() sees the first events too. Queues past
 * `maxQueues` are reported together under queue="_other" (label cardinality).
 */
export class QueueMetrics {
  readonly queues: BoundedLabel;
  private readonly jobs: Gauge<'queue' | 'status'>;
  private readonly estimated: Gauge<'queue' | 'status'>;
  private readonly oldest: Gauge<'queue'>;
  private readonly stalled: Gauge<'queue'>;
  private readonly paused: Gauge<'queue'>;
  private readonly pauseAge: Gauge<'queue'>;
  private readonly workers: Gauge<'state'>;
  private readonly heartbeatAge: Gauge;
  private readonly events: Counter<'queue' | 'type'>;
  private readonly durations: Histogram<'queue'>;
  /** Gauges that exist only where the schema has the feature (paused queues, workers). */
  private readonly optional = new Set<Gauge<string>>();

  constructor(
    private readonly registry: Registry,
    maxQueues: number,
  ) {
    const registers = [registry];
    this.jobs = new Gauge({
      name: 'procrastinate_jobs',
      help: 'Jobs per queue and status (see procrastinate_jobs_estimated for the counts that are sampled estimates).',
      labelNames: ['queue', 'status'],
      registers,
    });
    this.estimated = new Gauge({
      name: 'procrastinate_jobs_estimated',
      help: '1 when procrastinate_jobs of this queue and status is a sampled estimate (final statuses on a large table), else 0.',
      labelNames: ['queue', 'status'],
      registers,
    });
    this.oldest = new Gauge({
      name: 'procrastinate_queue_oldest_todo_age_seconds',
      help: 'How long the oldest due todo job of the queue has been waiting (0 when none is due).',
      labelNames: ['queue'],
      registers,
    });
    this.stalled = new Gauge({
      name: 'procrastinate_stalled_jobs',
      help: 'Running jobs whose worker is gone or silent, or that run past JOBQ_STALLED_RUNNING_SECONDS (what `jobq stalled` lists, up to 200).',
      labelNames: ['queue'],
      registers,
    });
    this.paused = new Gauge({
      name: 'procrastinate_queue_paused',
      help: '1 while the queue is paused under any key (Procrastinate 3.10+), else 0.',
      labelNames: ['queue'],
      registers: [],
    });
    this.pauseAge = new Gauge({
      name: 'procrastinate_queue_pause_age_seconds',
      help: 'How long a paused queue has been paused (its oldest pause); absent for queues not paused.',
      labelNames: ['queue'],
      registers: [],
    });
    this.workers = new Gauge({
      name: 'procrastinate_workers',
      help: 'Registered workers (Procrastinate 3.1+) by whether their heartbeat is recent (live) or older than JOBQ_STALLED_HEARTBEAT_SECONDS (stale).',
      labelNames: ['state'],
      registers: [],
    });
    this.heartbeatAge = new Gauge({
      name: 'procrastinate_worker_heartbeat_age_seconds',
      help: 'Seconds since the oldest heartbeat among registered workers (0 with none registered).',
      registers: [],
    });
    this.events = new Counter({
      name: 'procrastinate_job_events_total',
      help: 'Job events (procrastinate_events rows) written since jobq started, by queue and type: each row counted once.',
      labelNames: ['queue', 'type'],
      registers,
    });
    this.durations = new Histogram({
      name: 'procrastinate_job_duration_seconds',
      help: "Run time of jobs that ended (succeeded, failed, aborted), from the job's started event to its final event.",
      labelNames: ['queue'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.queues = new BoundedLabel(maxQueues, OTHER_QUEUES, (queue) => {
      for (const type of EVENT_TYPES) this.events.inc({ queue, type }, 0);
      this.durations.zero({ queue });
    });
  }

  /** Replaces every gauge with the snapshot's values (queues gone from the table disappear). */
  apply(snapshot: QueueSnapshot): void {
    const folded = new Map<string, QueueState>();
    for (const q of snapshot.queues) {
      const label = this.queues.value(q.name);
      const into = folded.get(label);
      folded.set(label, into ? fold(into, q) : { ...q, name: label });
    }
    for (const gauge of [this.jobs, this.estimated, this.oldest, this.stalled, this.paused, this.pauseAge]) gauge.reset();
    for (const q of folded.values()) {
      for (const status of REPORTED_STATUSES) {
        this.jobs.set({ queue: q.name, status }, q.counts[status]);
        this.estimated.set({ queue: q.name, status }, q.estimated.includes(status) ? 1 : 0);
      }
      this.oldest.set({ queue: q.name }, q.oldestTodoAgeSeconds);
      this.stalled.set({ queue: q.name }, q.stalled);
      if (snapshot.pausable) {
        this.paused.set({ queue: q.name }, q.pausedSeconds === null ? 0 : 1);
        if (q.pausedSeconds !== null) this.pauseAge.set({ queue: q.name }, q.pausedSeconds);
      }
    }
    this.expose(this.paused, snapshot.pausable);
    this.expose(this.pauseAge, snapshot.pausable);
    this.expose(this.workers, snapshot.workers !== null);
    this.expose(this.heartbeatAge, snapshot.workers !== null);
    if (snapshot.workers) {
      this.workers.set({ state: 'live' }, snapshot.workers.live);
      this.workers.set({ state: 'stale' }, snapshot.workers.stale);
      this.heartbeatAge.set(snapshot.workers.oldestHeartbeatAgeSeconds);
    }
  }

  /** Advances the event counter and the run-time histogram by new events. */
  count(events: EventCount): void {
    const queue = this.queues.value(events.queue);
    this.events.inc({ queue, type: events.type }, events.events);
    for (const seconds of events.durations) this.durations.observe({ queue }, seconds);
  }

  /** Registers a gauge of an optional feature once the schema has it, or removes it. */
  private expose(metric: Gauge<string>, present: boolean): void {
    const exposed = this.optional.has(metric);
    if (present && !exposed) {
      this.registry.registerMetric(metric);
      this.optional.add(metric);
    } else if (!present && exposed) {
      this.registry.removeSingleMetric(nameOf(metric));
      this.optional.delete(metric);
    }
  }
}

/** Two queues under one label: counts add up, ages take the larger. */
function fold(a: QueueState, b: QueueState): QueueState {
  const counts = { ...a.counts };
  for (const status of REPORTED_STATUSES) counts[status] += b.counts[status];
  return {
    name: a.name,
    counts,
    estimated: [...new Set([...a.estimated, ...b.estimated])],
    oldestTodoAgeSeconds: Math.max(a.oldestTodoAgeSeconds, b.oldestTodoAgeSeconds),
    stalled: a.stalled + b.stalled,
    pausedSeconds: a.pausedSeconds === null ? b.pausedSeconds : Math.max(a.pausedSeconds, b.pausedSeconds ?? 0),
  };
}

/** prom-client keeps the name on the metric without declaring it in its types. */
const nameOf = (metric: Gauge<string>): string => (metric as unknown as { name: string }).name;
