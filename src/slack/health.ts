import type { ServerResponse } from 'node:http';
import type { QueueHandle } from '../queue/handle.js';
import type { Route } from './receiver.js';
import type { SlackStatus } from './status.js';

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * GET /healthz: the process is up. GET /readyz: the database answers and its schema is known; its
 * body also lists Slack problems (preflight and failing posts), which do not fail readiness:
 * commands still work, and a restart would not fix a missing invite.
 */
export function healthRoutes(queue: QueueHandle, slack?: SlackStatus): Route[] {
  return [
    { path: '/healthz', handle: (_req, res) => json(res, 200, { ok: true }) },
    {
      path: '/readyz',
      handle: async (_req, res) => {
        const r = await queue.ready();
        json(res, r.ok ? 200 : 503, slack ? { ...r, slack: slack.snapshot() } : r);
      },
    },
  ];
}
