import { describe, expect, it } from 'vitest';
import { answers, startThrowawayServer } from './helpers/postgres.js';
import { existsSync } from 'node:fs';

/**
 * On a fresh machine with no server answering, `npm test` starts a throwaway PostgreSQL from the
 * binaries it finds. That path is exercised here, beside the server the suite is using.
 */
describe.skipIf(!existsSync('/usr/lib/postgresql'))('the throwaway test server', () => {
  it('starts from the local PostgreSQL binaries, answers, and stops', { timeout: 60_000 }, async () => {
    const server = startThrowawayServer();
    expect(server).toBeDefined();
    try {
      expect(await answers(server!.url)).toBe(true);
    } finally {
      server!.stop();
    }
    expect(await answers(server!.url)).toBe(false);
  });
});
