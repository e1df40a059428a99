import type { ServerResponse } from 'node:http';
import type { QueueHandle } from '../db/queue-handle.js';
import type { Route } from './receiver.js';

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** GET /healthz: the process is up. GET /readyz: the database answers and its schema is known. */
export function healthRoutes(queue: QueueHandle): Route[] {
  return [
    { path: '/healthz', handle: (_req, res) => json(res, 200, { ok: true }) },
    {
      path: '/readyz',
      handle: async (_req, res) => {
        const r = await queue.ready();
        json(res, r.ok ? 200 : 503, r);
      },
    },
  ];
}
