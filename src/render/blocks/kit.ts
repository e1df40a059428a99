import type { Button, ContextBlock, KnownBlock, SectionBlock } from '@slack/types';

/**
 * Block Kit building blocks that cannot produce a message Slack would refuse: every text is
 * escaped and cut to its limit here, and `message()` enforces the per-message limits.
 */

export const LIMITS = {
  blocks: 50,
  sectionText: 3000,
  field: 2000,
  fields: 10,
  headerText: 150,
  contextElements: 10,
  buttonText: 75,
  buttonValue: 2000,
  actionsElements: 25,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  /** Slack has refused messages with many markdown blocks around 13k characters in total. */
  messageChars: 12_000,
  fallbackText: 3_000,
} as const;

export interface SlackMessage {
  /** Plain-text fallback: notifications, screen readers, clients without Block Kit. */
  text: string;
  blocks: KnownBlock[];
}

/** Escapes user-supplied text for mrkdwn: no `<!channel>` pings, no links, no broken entities. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Escapes like escapeMrkdwn but lets jobq's own mention tokens through (`<@U…>`, `<#C…>`,
 * `<!subteam^S…>`), so "Already confirmed by <@U123>" shows a name rather than `&lt;@U123&gt;`.
 * The tokens are matched exactly: no links, no `<!channel>`, nothing else becomes live.
 */
export function escapeMrkdwnKeepMentions(text: string): string {
  return escapeMrkdwn(text).replace(/&lt;(@[UW][A-Z0-9_]{1,20}|#C[A-Z0-9_]{1,20}|!subteam\^S[A-Z0-9_]{1,20})&gt;/g, '<$1>');
}

/** Inline code for an untrusted value: escaped, and backticks replaced so the span cannot break. */
export function code(text: string): string {
  const clean = escapeMrkdwn(text.replace(/`/g, 'ˋ').replace(/\s+/g, ' '));
  return clean === '' ? '` `' : `\`${clean}\``;
}

/** Cuts text to `max` characters on a character boundary (never splitting an &entity; or emoji). */
export function cut(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  let head = chars.slice(0, max - 1).join('');
  head = head.replace(/&[a-z]{0,4}$/i, '');
  return `${head}…`;
}

export const header = (text: string): KnownBlock => ({ type: 'header', text: { type: 'plain_text', text: cut(text, LIMITS.headerText), emoji: true } });

export const section = (mrkdwn: string, accessory?: Button): SectionBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: cut(mrkdwn, LIMITS.sectionText) },
  ...(accessory ? { accessory } : {}),
});

export const fields = (items: string[]): SectionBlock => ({
  type: 'section',
  fields: items.slice(0, LIMITS.fields).map((f) => ({ type: 'mrkdwn', text: cut(f, LIMITS.field) })),
});

export const context = (...items: string[]): ContextBlock => ({
  type: 'context',
  elements: items.slice(0, LIMITS.contextElements).map((t) => ({ type: 'mrkdwn', text: cut(t, LIMITS.sectionText) })),
});

export const divider = (): KnownBlock => ({ type: 'divider' });

export interface ButtonSpec {
  text: string;
  actionId: string;
  value?: string;
  style?: 'primary' | 'danger';
  url?: string;
  confirm?: { title: string; text: string; confirm: string; deny: string };
}

export function button(spec: ButtonSpec): Button {
  return {
    type: 'button',
    text: { type: 'plain_text', text: cut(spec.text, LIMITS.buttonText), emoji: true },
    action_id: spec.actionId.slice(0, 255),
    ...(spec.value !== undefined ? { value: spec.value.slice(0, LIMITS.buttonValue) } : {}),
    ...(spec.style ? { style: spec.style } : {}),
    ...(spec.url ? { url: spec.url } : {}),
    ...(spec.confirm
      ? {
          confirm: {
            title: { type: 'plain_text', text: cut(spec.confirm.title, LIMITS.confirmTitle) },
            text: { type: 'mrkdwn', text: cut(spec.confirm.text, LIMITS.confirmText) },
            confirm: { type: 'plain_text', text: cut(spec.confirm.confirm, LIMITS.confirmButton) },
            deny: { type: 'plain_text', text: cut(spec.confirm.deny, LIMITS.confirmButton) },
            ...(spec.style === 'danger' ? { style: 'danger' as const } : {}),
          },
        }
      : {}),
  };
}

export const actions = (...buttons: Button[]): KnownBlock => ({ type: 'actions', elements: buttons.slice(0, LIMITS.actionsElements) });

export const runbookButton = (url: string, label = 'Runbook'): Button => button({ text: `📖 ${label}`, actionId: 'runbook_link', url });

/** What a table cell shows: its text, an emoji as one character, a date as its longest rendering. */
function cellChars(cell: unknown): number {
  if (typeof cell !== 'object' || cell === null) return 0;
  if ('text' in cell) return String(cell.text).length;
  const sections = 'elements' in cell && Array.isArray(cell.elements) ? (cell.elements as { elements?: unknown[] }[]) : [];
  return sections.reduce(
    (n, s) =>
      n +
      (s.elements ?? []).reduce<number>((m, e) => {
        const el = e as { type?: string; text?: string; url?: string };
        return m + (el.type === 'date' ? 24 : el.type === 'emoji' ? 2 : el.type === 'link' ? (el.text ?? '').length + (el.url ?? '').length : (el.text ?? '').length);
      }, 0),
    0,
  );
}

/**
 * What a block costs against the message budget. A table's JSON is mostly structure (a rich-text
 * cell is ~100 characters of wrapping around a date); Slack's limit is on what it holds.
 */
export function blockSize(block: KnownBlock): number {
  if (block.type !== 'table') return JSON.stringify(block).length;
  return block.rows.reduce((n, row) => n + row.reduce((m, c) => m + cellChars(c) + 3, 0), 0);
}

/**
 * How many of `blocks` fit in one message beside `reserved` other blocks, so a renderer can
 * cut a list itself (and page from the last row shown) instead of letting message() drop rows.
 */
export function fittingCount(blocks: KnownBlock[], reserved: KnownBlock[]): number {
  let chars = reserved.reduce((n, b) => n + blockSize(b), 0) + 400;
  let count = 0;
  for (const block of blocks) {
    const size = blockSize(block);
    if (count + reserved.length + 1 >= LIMITS.blocks || chars + size > LIMITS.messageChars - 200) break;
    chars += size;
    count++;
  }
  return count;
}

/**
 * Assembles a message within Slack's limits: at most 50 blocks and ~12k characters of blocks.
 * The last `keepTail` blocks (links, buttons) always survive; body blocks are dropped from the
 * end with a note saying how many rows were left out.
 */
export function message(text: string, body: KnownBlock[], tail: KnownBlock[] = []): SlackMessage {
  const budgetBlocks = LIMITS.blocks - tail.length - 1;
  const tailChars = tail.reduce((n, b) => n + blockSize(b), 0);
  const kept: KnownBlock[] = [];
  let chars = tailChars;
  for (const block of body) {
    const size = blockSize(block);
    if (kept.length >= budgetBlocks || chars + size > LIMITS.messageChars - 200) break;
    kept.push(block);
    chars += size;
  }
  const dropped = body.length - kept.length;
  if (dropped > 0) kept.push(context(`_${dropped} more block${dropped === 1 ? '' : 's'} not shown: narrow the query or use the CLI._`));
  return { text: cut(text, LIMITS.fallbackText), blocks: [...kept, ...tail] };
}
