import type { ServerResponse } from 'node:http';
import type { SlackDeps } from './deps.js';
import type { Route } from './receiver.js';
import type { SlackStatus } from './status.js';

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * GET /healthz: the process is up. GET /readyz: the database answers and its schema is known; its
 * body also lists Slack problems (preflight and failing posts), which do not fail readiness:
 * commands still work, and a restart would not fix a missing invite. With several environments
 * it reports each; the process is ready while any is (one database down must not take the
 * others' commands away by failing the whole replica), and `ok` per environment says which.
 */
export function healthRoutes(environments: readonly Pick<SlackDeps, 'queue' | 'environment'>[], slack?: SlackStatus): Route[] {
  return [
    { path: '/healthz', handle: (_req, res) => json(res, 200, { ok: true }) },
    {
      path: '/readyz',
      handle: async (_req, res) => {
        const each = await Promise.all(environments.map(async (e) => ({ name: e.environment.name, ...(await e.queue.ready()) })));
        const r =
          each.length === 1
            ? { ok: each[0]!.ok, detail: each[0]!.detail }
            : {
                ok: each.some((e) => e.ok),
                detail: `${each.filter((e) => e.ok).length} of ${each.length} environments ready`,
                environments: Object.fromEntries(each.map((e) => [e.name, { ok: e.ok, detail: e.detail }])),
              };
        json(res, r.ok ? 200 : 503, slack ? { ...r, slack: slack.snapshot() } : r);
      },
    },
  ];
}
