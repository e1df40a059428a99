import { el, testid } from './dom.js';
import { isJson, str, type Json } from './json.js';
import type { RenderContext } from './render-context.js';
import { renderRichText } from './rich-text.js';

/**
 * The table block as Slack draws it: the first row as the header, each column aligned and
 * wrapped (or cut with an ellipsis) as its column_settings say. raw_text cells are shown as
 * typed, no mrkdwn; rich_text cells as rich text.
 */

const ALIGNMENTS = new Set(['left', 'center', 'right']);

export function renderTable(block: Json, ctx: RenderContext): HTMLElement {
  const wrapper = testid(el('div', 'block block-table'), 'table-block');
  const table = el('table', 'slack-table');
  const head = el('thead');
  const body = el('tbody');
  const settings = Array.isArray(block.column_settings) ? block.column_settings : [];
  const rows = Array.isArray(block.rows) ? block.rows.filter((row): row is unknown[] => Array.isArray(row)) : [];
  rows.forEach((row, r) => {
    const tr = el('tr');
    row.forEach((cell, c) => {
      const td = el(r === 0 ? 'th' : 'td');
      const setting: unknown = settings[c];
      const align = isJson(setting) ? str(setting, 'align') : undefined;
      td.classList.add(`align-${align && ALIGNMENTS.has(align) ? align : 'left'}`);
      if (isJson(setting) && setting.is_wrapped === true) td.classList.add('wrapped');
      td.append(renderCell(cell, ctx));
      tr.append(td);
    });
    (r === 0 ? head : body).append(tr);
  });
  table.append(head, body);
  wrapper.append(table);
  return wrapper;
}

function renderCell(cell: unknown, ctx: RenderContext): Node {
  if (!isJson(cell)) return document.createTextNode('');
  if (cell.type === 'rich_text') return renderRichText(cell, ctx);
  return document.createTextNode(str(cell, 'text') ?? '');
}
