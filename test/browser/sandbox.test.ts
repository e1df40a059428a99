import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
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
    // A Slack table: a header row, one row per queue and the totals, status emoji in the first column.
    const table = reply.getByTestId('table-block');
    expect(await table.locator('th').allTextContents()).toEqual(['Queue', 'Waiting', 'Running', 'Failed', 'Oldest waiting', 'Last hour', 'Last 24 h']);
    const rows = await table.locator('tbody tr').allTextContents();
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows.at(-1)).toMatch(/^All queues/);
    expect(rows.slice(0, -1).every((r) => /^(🟢|🔴|⚠|⏸)/u.test(r))).toBe(true);
    // "as of" is a date token the page formats in the reader's time zone, not the raw token.
    const asOf = reply.getByTestId('date').first();
    expect(await asOf.textContent()).toMatch(/^\d{1,2}:\d\d:\d\d( [AP]M)?$/);
    expect(await asOf.getAttribute('data-fallback')).toBeNull();
    expect(await reply.textContent()).not.toContain('<!date');
  });

  it("lists failed jobs as a table with dates in the reader's time zone", { timeout: 60_000 }, async () => {
    await expect
      .poll(async () => Number((await sandbox.bot.deps.queue.db.query<{ n: string }>(`SELECT count(*) AS n FROM procrastinate_jobs WHERE status = 'failed'`)).rows[0]!.n), {
        timeout: 45_000,
      })
      .toBeGreaterThan(0);
    await send('/jobq failed --limit 5');
    await expect.poll(async () => message(/Failed jobs: /).count(), { timeout: 15_000 }).toBeGreaterThan(0);
    const reply = message(/Failed jobs: /).last();
    const cells = reply.getByTestId('table-block').locator('tbody tr').first().locator('td');
    expect(await cells.nth(0).textContent()).toMatch(/^#\d+$/);
    // The failure time: a date element in a rich-text cell, shown as Slack shows it ("Today 10:21 AM").
    const failedAt = cells.nth(4).getByTestId('date');
    expect(await failedAt.textContent()).toMatch(/^(today|yesterday) \d{1,2}:\d\d( [AP]M)?$/i);
    expect(await reply.getByRole('button', { name: /^#\d+$/ }).count()).toBeGreaterThan(0);
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
    await page.getByTestId('channel-C_ALERTS').click();
    await page.screenshot({ path: `${ARTIFACTS}sandbox-alerts.png` });
    expect(existsSync(`${ARTIFACTS}sandbox-alerts.png`)).toBe(true);
  });

  /** The pictures should show what stands out: wait until the simulated workers have failed some jobs again. */
  const someFailed = () =>
    expect
      .poll(async () => Number((await sandbox.bot.deps.queue.db.query<{ n: string }>(`SELECT count(*) AS n FROM procrastinate_jobs WHERE status = 'failed'`)).rows[0]!.n), {
        timeout: 45_000,
      })
      .toBeGreaterThan(1);

  it('shows the App Home: every queue at a glance, with its buttons', { timeout: 60_000 }, async () => {
    await someFailed();
    await page.getByTestId('user-switcher').selectOption('U_OPERATOR');
    await page.getByTestId('app-link').click();
    const home = page.getByTestId('home-view');
    await home.filter({ hasText: 'Job queues' }).waitFor({ timeout: 15_000 });
    const text = (await home.textContent()) ?? '';
    expect(text).toMatch(/Workers: \d+ live of \d+/);
    expect(text).toMatch(/emails|reports|webhooks|billing/);
    expect(text).toMatch(/Backlog/);
    expect(await home.getByTestId('table-block').count()).toBe(0);
    expect(await home.getByRole('button', { name: /Refresh/ }).count()).toBe(1);
    expect(await home.getByTestId('date').count()).toBeGreaterThan(0);
    await page.screenshot({ path: `${ARTIFACTS}sandbox-home.png` });
    if (process.env.JOBQ_UPDATE_DOCS_SCREENSHOT) copyFileSync(`${ARTIFACTS}sandbox-home.png`, fileURLToPath(new URL('../../docs/sandbox-home.png', import.meta.url)));

    // "Failed jobs" on the Home tab answers in the app's messages.
    await home.getByRole('button', { name: 'Failed jobs' }).first().click();
    await page.getByTestId('tab-messages').click();
    await expect.poll(async () => message(/Failed jobs: /).count(), { timeout: 15_000 }).toBeGreaterThan(0);
  });

  it('looks the part for the README: /jobq stats in #ops', { timeout: 60_000 }, async () => {
    await someFailed();
    await page.getByTestId('channel-C_OPS').click();
    await send('/jobq stats');
    await expect.poll(async () => message('Queue stats').count(), { timeout: 15_000 }).toBeGreaterThan(1);
    await page.screenshot({ path: `${ARTIFACTS}sandbox-ops.png` });
    // The README's pictures are a run's: JOBQ_UPDATE_DOCS_SCREENSHOT=1 npx vitest run test/browser regenerates them.
    if (process.env.JOBQ_UPDATE_DOCS_SCREENSHOT) copyFileSync(`${ARTIFACTS}sandbox-ops.png`, fileURLToPath(new URL('../../docs/sandbox.png', import.meta.url)));
    expect(existsSync(`${ARTIFACTS}sandbox-ops.png`)).toBe(true);
  });
});
