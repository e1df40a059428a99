import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startSandbox } from '../../src/sandbox/run.js';
import { blockText } from '../helpers/bot.js';
import { testLogger } from '../helpers/log.js';

/** JOBQ_SANDBOX_ENVIRONMENTS=2: two embedded databases behind one bot, to try environments with nothing installed. */
describe('the sandbox with two environments', () => {
  it('serves production in #ops and staging in #general, lists both, and refuses to share a configured database', async () => {
    const sandbox = await startSandbox(loadConfig({ JOBQ_SANDBOX_ENVIRONMENTS: '2', JOBQ_SANDBOX_SIMULATE: 'false' }), testLogger().log, { port: 0 });
    try {
      expect(sandbox.environments.map((e) => e.name)).toEqual(['production', 'staging']);
      expect(new Set(sandbox.environments.map((e) => e.databaseUrl)).size).toBe(2);
      const { emulator } = sandbox;
      const reply = (channel: string, words: string) =>
        emulator.waitFor(() => emulator.messages(channel, { visibleTo: 'U_OPERATOR' }).find((m) => blockText(m).includes(words)), 20_000, `"${words}" in ${channel}`);

      await emulator.slashCommand({ text: 'envs', userId: 'U_OPERATOR', channelId: 'C_OPS' });
      const envs = await reply('C_OPS', 'Environments: 2 of 2 ready');
      expect(blockText(envs)).toMatch(/\*production\*: procrastinate/);
      expect(blockText(envs)).toMatch(/\*staging\*: procrastinate/);

      await emulator.slashCommand({ text: 'stats', userId: 'U_OPERATOR', channelId: 'C_GENERAL' });
      expect((await reply('C_GENERAL', 'Queue stats')).text).toMatch(/^\[staging\]/);
    } finally {
      await sandbox.stop();
    }
    const refused = await startSandbox(loadConfig({ JOBQ_SANDBOX_ENVIRONMENTS: '2', JOB_QUEUE_DATABASE_URL: 'postgres://127.0.0.1:1/x' }), testLogger().log, { port: 0 }).catch(
      (e: unknown) => e,
    );
    expect(String((refused as Error).message)).toContain('JOBQ_SANDBOX_ENVIRONMENTS runs one embedded database per environment');
  }, 90_000);
});
