import type { App } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSlackDate } from '../../src/emulator/ui/page/dates.js';
import { DEFAULT_USERS } from '../../src/emulator/model.js';
import { startSlackEmulator, type SlackEmulator } from '../../src/emulator/web-api.js';
import { quietLogger, startHttpApp } from '../helpers/bolt-app.js';

/**
 * The emulator's page in headless Chromium, against a real Bolt app: a table block, date tokens in
 * the reader's time zone, and the Home tab that the bot publishes and republishes.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const BOT_TOKEN = 'xoxb-emulator-browser-test';
/** 2023-11-14T22:13:20Z: already the 15th in Tokyo, where the browser reads it. */
const TS = 1_700_000_000;
const READER = { timeZone: 'Asia/Tokyo', locale: 'en-US' } as const;
const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
/** The browser's, inside evaluate(); this file compiles without the DOM types. */
declare const getComputedStyle: (element: unknown) => { getPropertyValue(property: string): string };

/** A stand-in bot: app_home_opened publishes a Home tab; its Refresh button publishes the next one. */
function register(app: App): void {
  let openings = 0;
  app.event('app_home_opened', async ({ event, client }) => {
    openings += 1;
    await client.views.publish({
      user_id: event.user,
      view: {
        type: 'home',
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: 'Queues' } },
          section(`Hello <@${event.user}>, opening ${openings}. Oldest job queued <!date^${TS}^{date_num} at {time}|Nov 14, 2023>`),
          {
            type: 'rich_text',
            elements: [
              {
                type: 'rich_text_section',
                elements: [
                  { type: 'text', text: 'Last failure ', style: { bold: true } },
                  { type: 'date', timestamp: TS, format: '{date_short} {time_secs}', fallback: 'Nov 14, 2023' },
                ],
              },
            ],
          },
          { type: 'actions', elements: [{ type: 'button', action_id: 'refresh', value: 'all', text: { type: 'plain_text', text: 'Refresh' } }] },
        ],
      },
    });
  });
  app.action('refresh', async ({ ack, body, client }) => {
    await ack();
    await client.views.publish({ user_id: body.user.id, view: { type: 'home', blocks: [section(`Refreshed *${(body as { actions: { value: string }[] }).actions[0]!.value}*`)] } });
  });
}

describe.skipIf(!hasChromium)('the emulator page in a real browser', () => {
  let emulator: SlackEmulator;
  let app: App;
  let client: WebClient;
  let browser: import('playwright-core').Browser;
  let page: import('playwright-core').Page;

  beforeAll(async () => {
    emulator = await startSlackEmulator({ botToken: BOT_TOKEN, users: [...DEFAULT_USERS, { id: 'U_NEWBIE', name: 'newbie' }] });
    app = await startHttpApp(emulator, BOT_TOKEN, register);
    client = new WebClient(BOT_TOKEN, { slackApiUrl: emulator.apiUrl, logger: quietLogger });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, timezoneId: READER.timeZone, locale: READER.locale });
    page = await context.newPage();
    await page.goto(`${emulator.url}/?user=U_OPERATOR&channel=C_OPS`);
    await page.getByTestId('connection').filter({ hasText: 'live' }).waitFor();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await emulator?.close();
  });

  const message = (text: string | RegExp) => page.getByTestId('message').filter({ hasText: text });

  it('draws a table block: header row, rows, column alignment and wrapping, rich text cells', async () => {
    await client.chat.postMessage({
      channel: 'C_OPS',
      text: 'Queue stats: emails 12 todo',
      blocks: [
        section('*Queue stats*'),
        {
          type: 'table',
          column_settings: [{ is_wrapped: true }, { align: 'right' }, { align: 'center' }],
          rows: [
            [
              { type: 'raw_text', text: 'Queue' },
              { type: 'raw_text', text: 'Todo' },
              { type: 'raw_text', text: 'Failed' },
            ],
            [
              { type: 'raw_text', text: 'emails *not bold*' },
              { type: 'raw_text', text: '12' },
              { type: 'rich_text', elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text: '3', style: { bold: true } }] }] },
            ],
            [
              { type: 'raw_text', text: 'reports' },
              { type: 'raw_text', text: '1,204' },
              { type: 'raw_text', text: '0' },
            ],
          ],
        },
      ] as never,
    });
    const table = message('Queue stats').getByTestId('table-block');
    await table.waitFor();
    expect(await table.locator('thead th').allInnerTexts()).toEqual(['Queue', 'Todo', 'Failed']);
    expect(await table.locator('tbody tr').count()).toBe(2);
    const cells = table.locator('tbody tr').first().locator('td');
    expect(await cells.allInnerTexts()).toEqual(['emails *not bold*', '12', '3']);
    expect(await cells.nth(2).locator('b').textContent()).toBe('3');
    const style = (n: number, property: string) => cells.nth(n).evaluate((td, p) => getComputedStyle(td).getPropertyValue(p), property);
    expect(await style(0, 'text-align')).toBe('left');
    expect(await style(0, 'white-space')).toBe('normal');
    expect(await style(1, 'text-align')).toBe('right');
    expect(await style(1, 'white-space')).toBe('nowrap');
    expect(await style(2, 'text-align')).toBe('center');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}emulator-table.png` });
  });

  it('shows date tokens in the reader’s time zone, and the fallback when a token cannot be read', async () => {
    await client.chat.postMessage({
      channel: 'C_OPS',
      text: 'dates',
      blocks: [
        section(
          `Failed <!date^${TS}^{date_long} at {time}|Nov 14, 2023 22:13 UTC>, retried <!date^${TS}^{date_num} {nonsense}|sometime>, see <!date^${TS}^{date_short}^https://example.com/job/1|the job>`,
        ),
      ] as never,
    });
    const dates = message('Failed').getByTestId('date');
    await dates.first().waitFor();
    const expected = formatSlackDate(TS, '{date_long} at {time}', READER);
    expect(expected).toBe('Wednesday, November 15th, 2023 at 7:13 AM'); // not the UTC day: the reader's
    expect(await dates.allInnerTexts()).toEqual([expected, 'sometime', formatSlackDate(TS, '{date_short}', READER)]);
    expect(await dates.nth(1).getAttribute('data-fallback')).toBe('true');
    expect(await dates.nth(2).getAttribute('href')).toBe('https://example.com/job/1');
  });

  it('opens the Home tab: app_home_opened reaches the bot, its view shows and follows every publish', async () => {
    await page.getByTestId('app-link').click();
    const home = page.getByTestId('home-view');
    await home.filter({ hasText: 'opening 1' }).waitFor();
    expect(await page.getByTestId('tab-home').getAttribute('aria-selected')).toBe('true');
    expect(await page.getByTestId('composer').isVisible()).toBe(false);
    expect(await home.locator('.block-header').textContent()).toBe('Queues');
    expect(await home.locator('.mention').textContent()).toBe('@operator');
    expect(await home.getByTestId('date').allInnerTexts()).toEqual([formatSlackDate(TS, '{date_num} at {time}', READER), formatSlackDate(TS, '{date_short} {time_secs}', READER)]);
    expect(page.url()).toContain('app=home');
    await page.screenshot({ path: `${ARTIFACTS}emulator-home.png` });

    // A click on a Home button goes to the bot as block_actions on the view; it republishes.
    await home.getByRole('button', { name: 'Refresh' }).click();
    await home.filter({ hasText: 'Refreshed all' }).waitFor();
    expect(await home.locator('b').textContent()).toBe('all');

    // The bot publishes on its own (a dashboard refresh): the open tab follows.
    await client.views.publish({ user_id: 'U_OPERATOR', view: { type: 'home', blocks: [section('12 jobs waiting')] } });
    await home.filter({ hasText: '12 jobs waiting' }).waitFor();
    // Another user's Home is theirs alone.
    await client.views.publish({ user_id: 'U_VIEWER', view: { type: 'home', blocks: [section('only for the viewer')] } });
    await page.getByTestId('user-switcher').selectOption('U_VIEWER');
    await home.filter({ hasText: 'opening 2' }).waitFor();
    expect(await home.locator('.mention').textContent()).toBe('@viewer');
  });

  it('keeps the app’s DM in its Messages tab', async () => {
    await page.getByTestId('tab-messages').click();
    await page.getByTestId('composer').fill('hello app');
    await page.getByTestId('composer').press('Enter');
    await message('hello app').waitFor();
    expect(emulator.messages('D_U_VIEWER')).toMatchObject([{ text: 'hello app', user: 'U_VIEWER' }]);
    expect(page.url()).toContain('app=messages');
    await page.getByTestId('channel-C_OPS').click();
    await message('Queue stats').waitFor();
  });

  it('says so on the Home tab when the bot cannot be reached, and recovers when it can', async () => {
    const botUrl = emulator.botUrl;
    emulator.botUrl = undefined;
    await page.getByTestId('app-link').click();
    await page.getByTestId('tab-home').click();
    await page.getByTestId('user-switcher').selectOption('U_NEWBIE');
    const status = page.getByTestId('home-status');
    await status.filter({ hasText: 'did not take app_home_opened: dispatch_failed' }).waitFor();
    expect(await page.getByTestId('home-view').count()).toBe(0);
    emulator.botUrl = botUrl;
    await page.getByTestId('tab-home').click();
    await page.getByTestId('home-view').filter({ hasText: 'Hello @newbie' }).waitFor();
    expect(await status.count()).toBe(0);
  });
});
