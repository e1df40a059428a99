import { collectDefaultMetrics, Registry } from 'prom-client';
import { BotMetrics } from './bot-metrics.js';
import { QueueMetrics } from './queue-metrics.js';

/** Every metric jobq serves on /metrics: the queue's, jobq's own, and the process's. */
export interface Metrics {
  registry: Registry;
  queue: QueueMetrics;
  bot: BotMetrics;
}

export interface MetricsOptions {
  /** Queues named in labels; later ones are reported as queue="_other". */
  maxQueues: number;
  /** The default process and Node.js metrics (CPU, memory, event loop lag, GC); on unless a test turns them off. */
  processMetrics?: boolean;
}

/** A registry of its own (not prom-client's global one), so that tests and replicas in one process never share series. */
export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return { registry, queue: new QueueMetrics(registry, options.maxQueues), bot: new BotMetrics(registry) };
}
