import { parseDateToken } from './dates.js';
import { el } from './dom.js';
import { decodeEntities, emojize } from './emoji.js';
import { broadcast, channelMention, dateNode, link, userMention, usergroupMention } from './entities.js';
import type { Json } from './json.js';
import { str } from './json.js';
import type { RenderContext } from './render-context.js';

/** Slack's mrkdwn (message text and text objects of blocks) rendered into DOM nodes. */

const WORD = /[\p{L}\p{N}]/u;
const FORMAT_TAGS: Record<string, 'b' | 'i' | 's'> = { '*': 'b', _: 'i', '~': 's' };

function textNode(raw: string): Text {
  return document.createTextNode(emojize(decodeEntities(raw)));
}

function isOpener(s: string, i: number): boolean {
  const before = s[i - 1];
  const after = s[i + 1];
  if (after === undefined || /\s/.test(after) || after === s[i]) return false;
  return before === undefined || !WORD.test(before);
}

/** Closing marker for *bold* / _italic_ / ~strike~ on the same line, skipping `code` and <links>. */
function findCloser(s: string, from: number, marker: string): number {
  for (let j = from; j < s.length; j++) {
    const ch = s[j];
    if (ch === '`' || ch === '<') {
      const end = s.indexOf(ch === '`' ? '`' : '>', j + 1);
      if (end > j) j = end;
      continue;
    }
    if (ch === marker && j > from && !/\s/.test(s[j - 1] ?? '')) {
      const after = s[j + 1];
      if (after === undefined || !WORD.test(after)) return j;
    }
  }
  return -1;
}

/** Parses one line of mrkdwn into `parent`. */
function parseInline(s: string, parent: HTMLElement, ctx: RenderContext): void {
  let buffer = '';
  const flush = () => {
    if (buffer) parent.append(textNode(buffer));
    buffer = '';
  };
  let i = 0;
  while (i < s.length) {
    const ch = s[i]!;
    if (ch === '`' || ch === '<') {
      const end = s.indexOf(ch === '`' ? '`' : '>', i + 1);
      if (end > i + 1) {
        flush();
        const inner = s.slice(i + 1, end);
        parent.append(ch === '`' ? el('code', '', decodeEntities(inner)) : renderAngle(inner, ctx));
        i = end + 1;
        continue;
      }
    }
    const tag = FORMAT_TAGS[ch];
    if (tag && isOpener(s, i)) {
      const end = findCloser(s, i + 1, ch);
      if (end > i + 1) {
        flush();
        const node = el(tag);
        parseInline(s.slice(i + 1, end), node, ctx);
        parent.append(node);
        i = end + 1;
        continue;
      }
    }
    buffer += ch;
    i++;
  }
  flush();
}

/** <@U…>, <#C…|name>, <!here>, <!subteam^S…|@handle>, <!date^…|fallback>, <url|label>, <url>. */
function renderAngle(inner: string, ctx: RenderContext): Node {
  const bar = inner.indexOf('|');
  const target = bar >= 0 ? inner.slice(0, bar) : inner;
  const label = decodeEntities(bar >= 0 ? inner.slice(bar + 1) : '');
  if (target.startsWith('@')) return userMention(target.slice(1), label, ctx);
  if (target.startsWith('#')) return channelMention(target.slice(1), label, ctx);
  if (target.startsWith('!')) {
    const date = parseDateToken(inner);
    if (date) return dateNode(date.timestamp, date.format, decodeEntities(date.fallback), date.url);
    const [keyword = '', arg = ''] = target.slice(1).split('^');
    if (keyword === 'here' || keyword === 'channel' || keyword === 'everyone') return broadcast(keyword);
    if (keyword === 'subteam') return usergroupMention(arg, label, ctx);
    return document.createTextNode(label || keyword);
  }
  return link(decodeEntities(target), label);
}

/** Renders mrkdwn text: ```pre``` blocks, > quotes, and inline formatting per line. */
export function renderMrkdwn(text: string, ctx: RenderContext): HTMLElement {
  const root = el('div', 'mrkdwn');
  const parts = text.split('```');
  parts.forEach((part, index) => {
    if (index % 2 === 1 && index < parts.length - 1) {
      root.append(el('pre', '', decodeEntities(part.replace(/^\n/, '').replace(/\n$/, ''))));
      return;
    }
    const lines = (index % 2 === 1 ? `\`\`\`${part}` : part).split('\n'); // an unclosed ``` is text
    let quote: HTMLElement | undefined;
    lines.forEach((line, n) => {
      const quoted = /^(&gt;|>) ?/.exec(line);
      if (quoted) {
        if (quote) quote.append(el('br'));
        else {
          quote = el('blockquote');
          root.append(quote);
        }
        parseInline(line.slice(quoted[0].length), quote, ctx);
        return;
      }
      quote = undefined;
      parseInline(line, root, ctx);
      const next = lines[n + 1];
      if (next !== undefined && !/^(&gt;|>)/.test(next)) root.append(document.createTextNode('\n'));
    });
  });
  return root;
}

/** A text object: plain_text as is (emoji codes shown), mrkdwn parsed. */
export function renderText(textObject: Json | undefined, ctx: RenderContext): HTMLElement {
  if (!textObject) return el('span');
  const text = str(textObject, 'text') ?? '';
  if (textObject.type === 'plain_text') return el('span', 'plain', emojize(text));
  return renderMrkdwn(text, ctx);
}
