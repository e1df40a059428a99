import type { Metrics } from './registry.js';
import type { Logger } from '../log.js';
import type { Route } from '../slack/receiver.js';

/**
 * GET /metrics in Prometheus's text format. It serves what the collector last read, from memory:
 * a scrape never sends a statement to the database, however often Prometheus (or several) asks.
 */
export function metricsRoute(metrics: Pick<Metrics, 'registry' | 'text'>, log: Logger): Route {
  return {
    path: '/metrics',
    handle: async (_req, res) => {
      try {
        const body = await metrics.text();
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(body);
      } catch (error) {
        log.error({ err: error }, 'could not render /metrics');
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('metrics unavailable: see the jobq log\n');
      }
    },
  };
}
