import { WebClient, type WebAPIPlatformError } from '@slack/web-api';
import { afterEach, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/emulator/limits.js';
import { startSlackEmulator, type SlackEmulator } from '../../src/emulator/web-api.js';
import { quietLogger } from '../helpers/bolt-app.js';

/** Slack's table block through the emulator's Web API: what it accepts, and what it refuses as Slack does. */

const BOT_TOKEN = 'xoxb-emulator-table-test';

const raw = (text: string) => ({ type: 'raw_text', text });
const rich = (text: string) => ({ type: 'rich_text', elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text, style: { bold: true } }] }] });
const row = (cells: number, prefix = 'c') => Array.from({ length: cells }, (_, i) => raw(`${prefix}${i}`));
const table = (rows: unknown[], columnSettings?: unknown[]) => ({ type: 'table', rows, ...(columnSettings ? { column_settings: columnSettings } : {}) });

describe('Slack emulator: the table block', () => {
  const opened: SlackEmulator[] = [];
  afterEach(async () => {
    for (const emulator of opened.splice(0)) await emulator.close();
  });
  const setup = async () => {
    const emulator = await startSlackEmulator({ botToken: BOT_TOKEN });
    opened.push(emulator);
    return { emulator, client: new WebClient(BOT_TOKEN, { slackApiUrl: emulator.apiUrl, logger: quietLogger, rejectRateLimitedCalls: true }) };
  };
  /** The error and Slack's detail messages of a refused post. */
  const refusal = async (client: WebClient, blocks: unknown[], attachments?: unknown[]) => {
    try {
      await client.chat.postMessage({ channel: 'C_OPS', text: 'fallback', blocks: blocks as never, ...(attachments ? { attachments: attachments as never } : {}) });
    } catch (error) {
      const { data } = error as WebAPIPlatformError;
      return { error: data.error, messages: data.response_metadata?.messages ?? [] };
    }
    return expect.fail('expected the post to be refused');
  };

  it('accepts a table at its limits: 100 rows of 20 raw_text or rich_text cells, 20 column settings', async () => {
    const { emulator, client } = await setup();
    const rows = [row(LIMITS.tableCells, 'h'), ...Array.from({ length: LIMITS.tableRows - 2 }, () => row(LIMITS.tableCells)), [rich('total'), ...row(LIMITS.tableCells - 1)]];
    expect(rows).toHaveLength(100);
    const settings = Array.from({ length: LIMITS.tableColumnSettings }, (_, i) =>
      i === 0 ? { align: 'left', is_wrapped: true } : i === 1 ? null : { align: i % 2 ? 'right' : 'center' },
    );
    const posted = await client.chat.postMessage({
      channel: 'C_OPS',
      text: 'Queue stats (plain-text fallback)',
      blocks: [{ type: 'header', text: { type: 'plain_text', text: 'Queue stats' } }, table(rows, settings)] as never,
    });
    expect(posted.ok).toBe(true);
    const stored = emulator.state.get('C_OPS', posted.ts!);
    expect(stored?.blocks?.[1]).toMatchObject({ type: 'table', rows: expect.any(Array), column_settings: settings });
    // In an attachment, too, and updated in place.
    const updated = await client.chat.update({ channel: 'C_OPS', ts: posted.ts!, text: 'fallback', blocks: [], attachments: [{ blocks: [table([row(2), row(2)])] }] as never });
    expect(updated.ok).toBe(true);
  });

  it('refuses more than 100 rows, more than 20 cells in a row, and more than 20 column settings, with json-pointers', async () => {
    const { emulator, client } = await setup();
    expect(await refusal(client, [table(Array.from({ length: LIMITS.tableRows + 1 }, () => row(2)))])).toEqual({
      error: 'invalid_blocks',
      messages: ['[ERROR] no more than 100 items allowed [json-pointer:/blocks/0/rows]'],
    });
    expect(await refusal(client, [{ type: 'divider' }, table([row(2), row(LIMITS.tableCells + 1)])])).toEqual({
      error: 'invalid_blocks',
      messages: ['[ERROR] no more than 20 items allowed [json-pointer:/blocks/1/rows/1]'],
    });
    expect(
      await refusal(client, [
        table(
          [row(2)],
          Array.from({ length: LIMITS.tableColumnSettings + 1 }, () => ({ align: 'right' })),
        ),
      ]),
    ).toEqual({
      error: 'invalid_blocks',
      messages: ['[ERROR] no more than 20 items allowed [json-pointer:/blocks/0/column_settings]'],
    });
    expect(emulator.messages('C_OPS')).toEqual([]);
  });

  it('refuses malformed tables: no rows, empty rows, unknown cell types, bad column settings', async () => {
    const { client } = await setup();
    expect(await refusal(client, [{ type: 'table' }])).toMatchObject({ error: 'invalid_blocks', messages: ['[ERROR] missing required field: rows [json-pointer:/blocks/0]'] });
    expect(await refusal(client, [table([])])).toMatchObject({ messages: ['[ERROR] must provide at least 1 item [json-pointer:/blocks/0/rows]'] });
    expect(await refusal(client, [table([row(1), []])])).toMatchObject({ messages: ['[ERROR] a row must be an array of at least 1 cell [json-pointer:/blocks/0/rows/1]'] });
    const cells = await refusal(client, [table([[raw('a'), { type: 'mrkdwn', text: '*b*' }, { type: 'raw_text' }, 'c', { type: 'rich_text' }]])]);
    expect(cells.messages).toEqual([
      '[ERROR] unsupported type: mrkdwn; a cell is raw_text or rich_text [json-pointer:/blocks/0/rows/0/1]',
      '[ERROR] missing required field: text [json-pointer:/blocks/0/rows/0/2]',
      '[ERROR] a cell must be an object of type raw_text or rich_text [json-pointer:/blocks/0/rows/0/3]',
      '[ERROR] missing required field: elements [json-pointer:/blocks/0/rows/0/4]',
    ]);
    const settings = await refusal(client, [table([row(3)], [{ align: 'middle' }, { is_wrapped: 'yes' }, 'wide'])]);
    expect(settings.messages).toEqual([
      '[ERROR] must be one of left, center, right [json-pointer:/blocks/0/column_settings/0/align]',
      '[ERROR] must be a boolean [json-pointer:/blocks/0/column_settings/1/is_wrapped]',
      '[ERROR] must be an object [json-pointer:/blocks/0/column_settings/2]',
    ]);
    // A table nested in an attachment is checked the same way.
    expect(await refusal(client, [], [{ blocks: [table([row(LIMITS.tableCells + 1)])] }])).toMatchObject({
      messages: ['[ERROR] no more than 20 items allowed [json-pointer:/attachments/0/blocks/0/rows/0]'],
    });
  });

  it('allows one table per message, as Slack does (only_one_table_allowed)', async () => {
    const { client } = await setup();
    expect(await refusal(client, [table([row(2)]), { type: 'divider' }, table([row(2)])])).toEqual({
      error: 'invalid_attachments',
      messages: ['[ERROR] only_one_table_allowed [json-pointer:/blocks/2]'],
    });
    expect(await refusal(client, [table([row(2)])], [{ blocks: [table([row(2)])] }])).toMatchObject({ error: 'invalid_attachments' });
  });
});
