import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { testLogger } from '../helpers/log.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/run.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
if (!hasChromium) {
  console.warn(`browser test skipped: no Chromium at ${CHROMIUM} (install Debian's package: apt-get install chromium, or set CHROMIUM_PATH)`);
}

/**
 * The sandbox as a newcomer meets it: the real bot, the embedded PostgreSQL, simulated workers
 * and the Slack emulator's page, driven in headless Chromium.
 */
describe.skipIf(!hasChromium)('the sandbox in a real browser', () => {
  let sandbox: Sandbox;
  let browser: import('playwright-core').Browser;
  let page: import('playwright-core').Page;
  const startedAt = performance.now();
  let readyMs = 0;

  beforeAll(async () => {
    const config = loadConfig({
      JOBQ_SANDBOX_JOBS_PER_MINUTE: '600',
      JOBQ_SANDBOX_FAILURE_RATE: '0.3',
      JOBQ_SANDBOX_CHAOS_SECONDS: '0',
      JOBQ_ALERT_POLL_SECONDS: '0.5',
      JOBQ_ALERT_GROUP_WAIT_SECONDS: '1',
    });
    for (const [k, v] of Object.entries({ JOBQ_ALERT_POLL_SECONDS: '0.5', JOBQ_ALERT_GROUP_WAIT_SECONDS: '1' })) process.env[k] = v;
    sandbox = await startSandbox(config, testLogger().log, { port: 0 });
    readyMs = performance.now() - startedAt;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    await page.goto(`${sandbox.url}/?user=U_OPERATOR&channel=C_OPS`);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await sandbox?.stop();
  });

  const send = async (text: string) => {
    await page.getByTestId('composer').fill(text);
    await page.getByTestId('composer').press('Enter');
  };
  const message = (text: string | RegExp) => page.getByTestId('message').filter({ hasText: text });

  it('is ready in seconds', () => {
    expect(readyMs).toBeLessThan(20_000);
  });

  it('answers /jobq stats', { timeout: 60_000 }, async () => {
    // The simulated workers defer their first jobs within a second or two of the start.
    await expect
      .poll(async () => Number((await sandbox.bot.deps.queue.db.query<{ n: string }>(`SELECT count(*) AS n FROM procrastinate_jobs`)).rows[0]!.n), { timeout: 15_000 })
      .toBeGreaterThan(0);
    await send('/jobq stats');
    await expect.poll(async () => message('Queue stats').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    const reply = message('Queue stats').last();
    expect(await reply.getAttribute('data-ephemeral')).toBe('true');
    expect(await reply.textContent()).toMatch(/emails|reports|webhooks|billing/);
  });

  let failingQueue = '';
  it('previews retry-all for a queue with failures, and the operator confirms it', { timeout: 90_000 }, async () => {
    // The simulated workers fail some runs; retry the first queue that has a failed job.
    await expect
      .poll(
        async () =>
          (failingQueue =
            (await sandbox.bot.deps.queue.db.query<{ queue_name: string }>(`SELECT queue_name FROM procrastinate_jobs WHERE status = 'failed' LIMIT 1`)).rows[0]?.queue_name ?? ''),
        { timeout: 45_000 },
      )
      .not.toBe('');
    await send(`/jobq retry-all --queue ${failingQueue}`);
    const preview = message(/Retry \d+ failed jobs?\?/).last();
    await preview.waitFor({ timeout: 15_000 });
    await preview.getByRole('button', { name: /^Retry \d+/ }).click();
    await page.getByTestId('confirm-dialog').waitFor();
    await page.getByTestId('confirm-ok').click();
    await expect.poll(async () => message(/Retried \d+ failed job/).count(), { timeout: 15_000 }).toBeGreaterThan(0);
  });

  it('refuses the same to the read-only teammate', async () => {
    await page.getByTestId('user-switcher').selectOption('U_VIEWER');
    await send(`/jobq retry-all --queue ${failingQueue || 'emails'}`);
    await expect.poll(async () => message('may not change the queue').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    expect(await message('may not change the queue').last().getAttribute('data-ephemeral')).toBe('true');
  });

  it('shows a failure alert from the simulated workers in #alerts', { timeout: 60_000 }, async () => {
    await page.getByTestId('channel-C_ALERTS').click();
    await expect.poll(async () => message(/\d+ failures? of/).count(), { timeout: 30_000 }).toBeGreaterThan(0);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.getByTestId('channel-C_OPS').click();
    await page.screenshot({ path: `${ARTIFACTS}sandbox-ops.png` });
    await page.getByTestId('channel-C_ALERTS').click();
    await page.screenshot({ path: `${ARTIFACTS}sandbox-alerts.png` });
    expect(existsSync(`${ARTIFACTS}sandbox-alerts.png`)).toBe(true);
  });
});
