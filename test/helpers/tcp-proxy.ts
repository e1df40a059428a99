import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export type ProxyMode = 'forward' | 'refuse' | 'freeze';

export interface TcpProxy {
  port: number;
  /** forward: a working network; refuse: connections reset at once; freeze: accepted, then silence. */
  set(mode: ProxyMode): void;
  /** Cuts every open connection (as a failover or a network blip would). */
  cut(): void;
  close(): Promise<void>;
}

/**
 * A TCP hop in front of a real PostgreSQL that a test can break: the database seen from jobq goes
 * down, comes back, or freezes mid-conversation, while the server itself keeps running.
 */
export async function startTcpProxy(target: { host: string; port: number }, mode: ProxyMode = 'forward'): Promise<TcpProxy> {
  let current = mode;
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => undefined);
    if (current === 'refuse') return void client.destroy();
    if (current === 'freeze') return; // read nothing, answer nothing
    const upstream = createConnection(target);
    open.add(upstream);
    upstream.on('close', () => open.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    set(next) {
      current = next;
      if (next === 'freeze') for (const s of open) s.pause();
      else for (const s of open) s.resume();
    },
    cut() {
      for (const s of open) s.destroy();
    },
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
