import type { QueueHandle } from './handle.js';

/** One environment as `envs` shows it: where its database is, whether it answers, what it runs. */
export interface EnvironmentStatus {
  name: string;
  /** host:port/database, never the user or password. */
  database: string;
  ok: boolean;
  /** The Procrastinate generation when ready, else why not. */
  detail: string;
  channels: readonly string[];
  alertChannel: string | null;
}

export interface EnvironmentToDescribe {
  name: string;
  channels: readonly string[];
  databaseUrl: string | undefined;
  alertChannel: string | undefined;
  queue: Pick<QueueHandle, 'ready'>;
}

/**
 * Every environment's state at once: each asks its own database (bounded by its connect and
 * statement timeouts), so one that is down or slow shows as such without holding the others.
 */
export async function describeEnvironments(envs: readonly EnvironmentToDescribe[]): Promise<EnvironmentStatus[]> {
  return Promise.all(
    envs.map(async (e) => {
      const ready = await e.queue.ready();
      return { name: e.name, database: whereIs(e.databaseUrl), ok: ready.ok, detail: ready.detail, channels: e.channels, alertChannel: e.alertChannel ?? null };
    }),
  );
}

function whereIs(url: string | undefined): string {
  if (!url) return 'not configured';
  try {
    const u = new URL(url);
    return `${u.hostname || 'local socket'}${u.port ? `:${u.port}` : ''}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return 'unreadable URL';
  }
}
