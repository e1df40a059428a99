import { afterEach, describe, expect, it } from 'vitest';
import { startTestBot, type BotBundle } from '../helpers/bot.js';
import { admin, createTestDb, urlFor, type TestDb } from '../helpers/db.js';
import { factories } from '../helpers/factories.js';
import { fixtureSql, templateName } from '../helpers/fixtures.js';
import { finalAnswer, rawCommand } from '../helpers/slack-requests.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { inject } from 'vitest';

/**
 * A service that waits for its dependencies: the database down, missing, frozen or not yet
 * Procrastinate at start. The bot starts anyway, says why it is not ready, answers every command
 * with the reason in seconds, and is ready again by itself when the database is.
 */
describe('the bot when its database is not there yet', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
    cleanup.length = 0;
  });

  const readyz = async (b: BotBundle) => {
    const response = await fetch(`http://127.0.0.1:${b.bot.port}/readyz`);
    return { status: response.status, body: (await response.json()) as { ok: boolean; detail: string } };
  };
  const healthz = async (b: BotBundle) => (await fetch(`http://127.0.0.1:${b.bot.port}/healthz`)).status;
  const ask = async (b: BotBundle, text: string) => {
    const request = rawCommand(b.slack, text);
    const started = Date.now();
    const sent = await b.slack.sendRaw(request.body, request.headers);
    expect(sent.status).toBe(200);
    expect(sent.ackMs).toBeLessThan(3_000);
    const answer = await finalAnswer(b.slack, request.responseUrl!, 8_000);
    return { answer, ms: Date.now() - started };
  };

  async function behindProxy(db: TestDb, mode: 'refuse' | 'freeze'): Promise<{ proxy: TcpProxy; b: BotBundle }> {
    const target = new URL(db.url);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) }, mode);
    cleanup.push(() => proxy.close());
    const url = new URL(db.url);
    url.port = String(proxy.port);
    const b = await startTestBot({ url: url.toString() } as TestDb);
    cleanup.push(() => b.close());
    return { proxy, b };
  }

  it('starts while the database is down, answers in seconds, and connects by itself when it is back', async () => {
    const db = await createTestDb('v3');
    cleanup.push(() => db.drop());
    const { proxy, b } = await behindProxy(db, 'refuse');
    expect(await healthz(b)).toBe(200);
    const notReady = await readyz(b);
    expect(notReady.status).toBe(503);
    expect(notReady.body.detail).toContain('Cannot reach the database');
    for (const text of ['stats', 'retry 1', 'purge --older-than 30']) {
      const { answer, ms } = await ask(b, text);
      expect(answer).toContain('Cannot reach the database');
      expect(ms).toBeLessThan(3_000);
    }

    proxy.set('forward');
    // The watcher retries with backoff (1 s, 2 s, 4 s ...): ready within a few seconds, no restart.
    await b.slack.waitFor(async () => (await readyz(b)).status === 200, 10_000, 'readyz 200 after the database came back');
    await new Promise((resolve) => setTimeout(resolve, 0));
    const deadline = Date.now() + 10_000;
    let migrated = false;
    while (!migrated && Date.now() < deadline) {
      migrated = (await db.worker.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'jobq'`)).rows[0]!.n === 1;
      if (!migrated) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(migrated).toBe(true);
    expect((await ask(b, 'stats')).answer).toContain('Queue stats');
    expect(b.logs.lines().some((l) => String(l.msg).includes('database reachable again'))).toBe(true);
  });

  it('answers within seconds when the network freezes (connection attempts time out)', async () => {
    const db = await createTestDb('v3');
    cleanup.push(() => db.drop());
    const { b } = await behindProxy(db, 'freeze');
    const { answer, ms } = await ask(b, 'stats');
    expect(answer).toContain('Cannot reach the database');
    expect(ms).toBeLessThan(3_000);
  });

  it('starts on a database that does not exist yet, and is ready once it is created', async () => {
    const name = `jobq_test_missing_${Date.now().toString(36)}`;
    const b = await startTestBot({ url: urlFor(name) } as TestDb);
    cleanup.push(() => b.close());
    cleanup.push(() => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));
    expect(await healthz(b)).toBe(200);
    expect((await readyz(b)).body.detail).toMatch(/does not exist/);
    expect((await ask(b, 'workers')).answer).toMatch(/does not exist/);
    await admin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${templateName('v3', inject('runId'))}`));
    await b.slack.waitFor(async () => (await readyz(b)).status === 200, 10_000, 'readyz 200 once the database exists');
    expect((await ask(b, 'workers')).answer).toContain('Workers');
  });

  it('starts on an empty database, says it is not Procrastinate, and is ready once the schema is applied', async () => {
    const db = await createTestDb('empty');
    cleanup.push(() => db.drop());
    const b = await startTestBot(db);
    cleanup.push(() => b.close());
    const notReady = await readyz(b);
    expect(notReady.status).toBe(503);
    expect(notReady.body.detail).toContain('no Procrastinate tables');
    expect((await ask(b, 'stats')).answer).toContain('no Procrastinate tables');
    await db.worker.query(fixtureSql('v3'));
    await b.slack.waitFor(async () => (await readyz(b)).status === 200, 10_000, 'readyz 200 once Procrastinate is installed');
    expect((await ask(b, 'stats')).answer).toContain('Queue stats');
  });

  it("with a role that may not create jobq's schema: reads work, changes are refused with the statement to run", async () => {
    const db = await createTestDb('v3');
    cleanup.push(() => db.drop());
    const role = `jobq_reader_${Date.now().toString(36)}`;
    await admin((c) => c.query(`CREATE ROLE ${role} LOGIN`));
    cleanup.push(() => admin((c) => c.query(`DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`)).catch(() => undefined));
    await db.worker.query(`REVOKE CREATE ON DATABASE ${db.name} FROM PUBLIC; REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`);
    const id = await factories(db.worker, 'v3').job({ status: 'failed' });
    const url = new URL(db.url);
    url.username = role;
    const b = await startTestBot({ url: url.toString() } as TestDb);
    cleanup.push(() => b.close());
    expect(await healthz(b)).toBe(200);
    expect((await ask(b, 'stats')).answer).toContain('Queue stats');
    const refused = (await ask(b, `retry ${id}`)).answer;
    expect(refused).toContain(`may not create jobq's own schema`);
    expect(refused).toContain(`GRANT CREATE ON DATABASE ${db.name} TO ${role};`);
    expect(await factories(db.worker, 'v3').status(id)).toBe('failed');
    expect(b.logs.lines().filter((l) => String(l.msg).includes('jobq schema not ready')).length).toBe(1);
  });
});
