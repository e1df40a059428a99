import { AggregatorRegistry, collectDefaultMetrics, Registry } from 'prom-client';
import { BotMetrics } from './bot-metrics.js';
import { QueueMetrics } from './queue-metrics.js';

/** Every metric jobq serves on /metrics: the queue's, jobq's own, and the process's. */
export interface Metrics {
  registry: Registry;
  queue: QueueMetrics;
  bot: BotMetrics;
  /**
   * The metrics of one of several environments: the queue metrics and jobq's own (leader,
   * reachability, alerts, commands) in a registry of their own, every series labelled env="NAME".
   */
  environment(name: string): Metrics;
  /** Everything in Prometheus's text format: the registry, and each environment's series beside it. */
  text(): Promise<string>;
}

export interface MetricsOptions {
  /** Queues named in labels; later ones are reported as queue="_other". */
  maxQueues: number;
  /** The default process and Node.js metrics (CPU, memory, event loop lag, GC); on unless a test turns them off. */
  processMetrics?: boolean;
  /** Several environments, each asking for its own through environment(name). */
  perEnvironment?: boolean;
}

/** A registry of its own (not prom-client's global one), so that tests and replicas in one process never share series. */
export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const environments = new Map<string, Registry>();
  const metrics: Metrics = {
    registry,
    queue: new QueueMetrics(registry, options.maxQueues),
    bot: new BotMetrics(registry, { perEnvironment: options.perEnvironment ?? false }),
    environment(name) {
      const own = new Registry();
      own.setDefaultLabels({ env: name });
      environments.set(name, own);
      return { ...metrics, queue: new QueueMetrics(own, options.maxQueues), bot: new BotMetrics(own) };
    },
    async text() {
      if (environments.size === 0) return registry.metrics();
      // prom-client's own merge of registries: families by name, series apart by their env label.
      const all = await Promise.all([registry, ...environments.values()].map((r) => r.getMetricsAsJSON()));
      return AggregatorRegistry.aggregate(all).metrics();
    },
  };
  return metrics;
}
