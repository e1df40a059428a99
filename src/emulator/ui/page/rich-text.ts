import { el } from './dom.js';
import { emoji, emojize } from './emoji.js';
import { broadcast, channelMention, dateNode, link, userMention, usergroupMention } from './entities.js';
import { child, children, str, type Json } from './json.js';
import type { RenderContext } from './render-context.js';

/** The rich_text block (and rich_text table cells): sections, lists, preformatted text and quotes. */

export function renderRichText(block: Json, ctx: RenderContext): HTMLElement {
  const root = el('div', 'rich-text');
  for (const element of children(block, 'elements')) root.append(renderContainer(element, ctx));
  return root;
}

function renderContainer(element: Json, ctx: RenderContext): HTMLElement {
  switch (element.type) {
    case 'rich_text_list': {
      const list = el(element.style === 'ordered' ? 'ol' : 'ul', 'rich-list');
      const indent = typeof element.indent === 'number' ? element.indent : 0;
      if (indent > 0) list.style.marginLeft = `${indent * 24}px`;
      if (list instanceof HTMLOListElement && typeof element.offset === 'number') list.start = element.offset + 1;
      for (const item of children(element, 'elements')) {
        const li = el('li');
        appendInline(li, item, ctx);
        list.append(li);
      }
      return list;
    }
    case 'rich_text_preformatted': {
      const pre = el('pre', 'rich-pre');
      appendInline(pre, element, ctx);
      return pre;
    }
    case 'rich_text_quote': {
      const quote = el('blockquote', 'rich-quote');
      appendInline(quote, element, ctx);
      return quote;
    }
    default: {
      const section = el('div', 'rich-section');
      appendInline(section, element, ctx);
      return section;
    }
  }
}

function appendInline(parent: HTMLElement, container: Json, ctx: RenderContext): void {
  for (const element of children(container, 'elements')) parent.append(styled(renderInline(element, ctx), child(element, 'style')));
}

function renderInline(element: Json, ctx: RenderContext): Node {
  switch (element.type) {
    case 'text':
      return document.createTextNode(str(element, 'text') ?? '');
    case 'link':
      return link(str(element, 'url') ?? '', str(element, 'text') ?? '');
    case 'emoji': {
      const unicode = str(element, 'unicode');
      const fromCode = unicode && /^[0-9a-f-]+$/i.test(unicode) ? String.fromCodePoint(...unicode.split('-').map((hex) => parseInt(hex, 16))) : undefined;
      return document.createTextNode(fromCode ?? emoji(str(element, 'name') ?? ''));
    }
    case 'user':
      return userMention(str(element, 'user_id') ?? '', '', ctx);
    case 'usergroup':
      return usergroupMention(str(element, 'usergroup_id') ?? '', '', ctx);
    case 'channel':
      return channelMention(str(element, 'channel_id') ?? '', '', ctx);
    case 'broadcast':
      return broadcast(str(element, 'range') ?? 'here');
    case 'date': {
      const timestamp = typeof element.timestamp === 'number' ? element.timestamp : Number(element.timestamp);
      return dateNode(timestamp, str(element, 'format') ?? '', str(element, 'fallback') ?? '', str(element, 'url'));
    }
    case 'color':
      return document.createTextNode(str(element, 'value') ?? '');
    default:
      return el('span', 'unsupported', emojize(`[${String(element.type ?? 'element')}]`));
  }
}

/** Wraps a node in the tags its style asks for (bold, italic, strike, code, underline). */
function styled(node: Node, style: Json | undefined): Node {
  if (!style) return node;
  let out = node;
  const wrap = (tag: 'b' | 'i' | 's' | 'code' | 'u') => {
    const wrapper = el(tag);
    wrapper.append(out);
    out = wrapper;
  };
  if (style.code === true) wrap('code');
  if (style.bold === true) wrap('b');
  if (style.italic === true) wrap('i');
  if (style.strike === true) wrap('s');
  if (style.underline === true) wrap('u');
  return out;
}
