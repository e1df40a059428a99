import type { ServerResponse } from 'node:http';
import type { CustomRoute } from '@slack/bolt';
import type { QueueHandle } from '../db/queue-handle.js';

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** GET /healthz: the process is up. GET /readyz: the database answers and its schema is known. */
export function healthRoutes(queue: QueueHandle): CustomRoute[] {
  return [
    { path: '/healthz', method: ['GET'], handler: (_req, res) => json(res, 200, { ok: true }) },
    {
      path: '/readyz',
      method: ['GET'],
      handler: (_req, res) => {
        void queue.ready().then((r) => json(res, r.ok ? 200 : 503, r));
      },
    },
  ];
}
