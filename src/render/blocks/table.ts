import type { RawTextElement, RichTextBlock, RichTextElement, TableBlock } from '@slack/types';
import { cut } from './kit.js';

/**
 * Slack's table block, within its limits: at most 100 rows (the header is one) of at most 20
 * cells, at most 20 column settings, one table per message. A raw_text cell shows its text as
 * typed (no mrkdwn, and a `<!date…>` token literally), so dates, links, emoji and bold go in
 * rich_text cells. Renderers keep a plain-text `text` fallback beside the table.
 */

export const TABLE_LIMITS = { rows: 100, cells: 20, columnSettings: 20, cellChars: 500 } as const;

export type TableCell = RawTextElement | RichTextBlock;

export interface TableColumn {
  header: string;
  align?: 'left' | 'center' | 'right';
  wrap?: boolean;
}

/** A cell of plain text (never empty: Slack wants at least one character). */
export function rawCell(text: string): RawTextElement {
  return { type: 'raw_text', text: cut(text, TABLE_LIMITS.cellChars) || '–' };
}

/** A cell of rich-text elements: bold, emoji, dates, links. */
export function richCell(...elements: RichTextElement[]): RichTextBlock {
  const kept = elements.filter((e) => e.type !== 'text' || e.text !== '');
  return { type: 'rich_text', elements: [{ type: 'rich_text_section', elements: kept.length ? kept : [{ type: 'text', text: '–' }] }] };
}

export const text = (value: string, style?: { bold?: boolean; italic?: boolean; code?: boolean }): RichTextElement => ({
  type: 'text',
  text: cut(value, TABLE_LIMITS.cellChars),
  ...(style ? { style } : {}),
});
export const emoji = (name: string): RichTextElement => ({ type: 'emoji', name });
export const link = (url: string, label: string): RichTextElement => ({ type: 'link', url, text: label });

/** Rows the table can hold below its header. */
export const TABLE_BODY_ROWS = TABLE_LIMITS.rows - 1;

/**
 * A table with a bold header row. Rows past the limit are not silently lost: the caller decides
 * what to show (and says what was left out); this cuts as a last guard.
 */
export function tableBlock(columns: TableColumn[], rows: TableCell[][]): TableBlock {
  const shownColumns = columns.slice(0, TABLE_LIMITS.cells);
  const header = shownColumns.map((c) => richCell(text(c.header, { bold: true })));
  return {
    type: 'table',
    rows: [header, ...rows.slice(0, TABLE_BODY_ROWS).map((r) => r.slice(0, shownColumns.length))],
    column_settings: shownColumns.slice(0, TABLE_LIMITS.columnSettings).map((c) => ({ align: c.align ?? 'left', ...(c.wrap ? { is_wrapped: true } : {}) })),
  };
}
