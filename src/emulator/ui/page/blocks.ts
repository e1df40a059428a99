import { el } from './dom.js';
import { emojize } from './emoji.js';
import { child, children, isJson, str, textOf, type Json } from './json.js';
import { renderMrkdwn, renderText } from './mrkdwn.js';
import type { RenderContext, Surface } from './render-context.js';
import { renderRichText } from './rich-text.js';
import { renderTable } from './table.js';
import type { WireMessage } from './wire.js';

/** Block Kit blocks and legacy attachments, in a message or a Home tab. */

function renderButton(button: Json, surface: Surface, ctx: RenderContext): HTMLButtonElement {
  const node = el('button', 'btn');
  node.type = 'button';
  if (button.style === 'primary') node.classList.add('btn-primary');
  if (button.style === 'danger') node.classList.add('btn-danger');
  node.textContent = emojize(textOf(button, 'text') ?? '');
  node.dataset.actionId = str(button, 'action_id') ?? '';
  const value = str(button, 'value');
  if (value !== undefined) node.dataset.value = value;
  const url = str(button, 'url');
  if (url) node.title = url;
  node.addEventListener('click', () => ctx.actions.press(button, surface, node));
  return node;
}

function renderElement(element: Json, surface: Surface, ctx: RenderContext): HTMLElement {
  if (element.type === 'button') return renderButton(element, surface, ctx);
  if (element.type === 'mrkdwn' || element.type === 'plain_text') return renderText(element, ctx);
  if (element.type === 'image') return el('span', 'unsupported', `[image: ${str(element, 'alt_text') ?? ''}]`);
  return el('span', 'unsupported', `[${str(element, 'type') ?? 'element'}]`);
}

function renderSection(block: Json, surface: Surface, ctx: RenderContext): HTMLElement {
  const node = el('div', 'block block-section');
  const main = el('div', 'section-main');
  const text = child(block, 'text');
  if (text) main.append(renderText(text, ctx));
  const fields = children(block, 'fields');
  if (fields.length > 0) {
    const grid = el('div', 'fields');
    for (const field of fields) {
      const cell = el('div');
      cell.append(renderText(field, ctx));
      grid.append(cell);
    }
    main.append(grid);
  }
  node.append(main);
  const accessory = child(block, 'accessory');
  if (accessory) {
    const holder = el('div', 'accessory');
    holder.append(renderElement(accessory, surface, ctx));
    node.append(holder);
  }
  return node;
}

function renderRow(className: string, block: Json, surface: Surface, ctx: RenderContext): HTMLElement {
  const node = el('div', className);
  for (const element of children(block, 'elements')) node.append(renderElement(element, surface, ctx));
  return node;
}

export function renderBlock(block: Json, surface: Surface, ctx: RenderContext): HTMLElement {
  switch (block.type) {
    case 'header':
      return el('div', 'block block-header', emojize(textOf(block, 'text') ?? ''));
    case 'section':
      return renderSection(block, surface, ctx);
    case 'context':
      return renderRow('block block-context', block, surface, ctx);
    case 'actions':
      return renderRow('block block-actions', block, surface, ctx);
    case 'divider':
      return el('hr', 'block-divider');
    case 'table':
      return renderTable(block, ctx);
    case 'rich_text': {
      const node = renderRichText(block, ctx);
      node.classList.add('block');
      return node;
    }
    case 'image':
      return el('div', 'block unsupported', `[image: ${textOf(block, 'title') ?? str(block, 'alt_text') ?? ''}]`);
    default:
      return el('div', 'block unsupported', `[${str(block, 'type') ?? 'unknown'} block]`);
  }
}

/** Each block in turn; one that cannot be drawn says so instead of hiding the rest. */
export function renderBlocks(blocks: readonly unknown[], surface: Surface, ctx: RenderContext): HTMLElement[] {
  return blocks.map((block) => {
    try {
      if (!isJson(block)) throw new Error('not an object');
      return renderBlock(block, surface, ctx);
    } catch (error) {
      return el('div', 'block unsupported', `[block that could not be shown: ${(error as Error).message}]`);
    }
  });
}

const ATTACHMENT_COLORS: Record<string, string> = { good: '#2eb886', warning: '#daa038', danger: '#a30200' };

function renderAttachment(attachment: Json, surface: Surface, ctx: RenderContext): HTMLElement {
  const node = el('div', 'attachment');
  const bar = el('div', 'attachment-bar');
  const color = str(attachment, 'color') ?? '';
  const named = ATTACHMENT_COLORS[color];
  if (named) bar.style.background = named;
  else if (/^#?[0-9a-f]{3,8}$/i.test(color)) bar.style.background = `#${color.replace(/^#/, '')}`;
  const body = el('div', 'attachment-body');
  const pretext = str(attachment, 'pretext');
  if (pretext) body.append(renderMrkdwn(pretext, ctx));
  const title = str(attachment, 'title');
  if (title) body.append(el('div', 'attachment-title', emojize(title)));
  if (Array.isArray(attachment.blocks)) body.append(...renderBlocks(attachment.blocks, surface, ctx));
  const text = str(attachment, 'text');
  if (text) body.append(renderMrkdwn(text, ctx));
  const fields = children(attachment, 'fields');
  if (fields.length > 0) {
    const grid = el('div', 'fields');
    for (const field of fields) {
      const cell = el('div');
      cell.append(el('div', 'attachment-title', str(field, 'title') ?? ''), renderMrkdwn(str(field, 'value') ?? '', ctx));
      grid.append(cell);
    }
    body.append(grid);
  }
  const footer = str(attachment, 'footer');
  if (footer) body.append(el('div', 'block-context', footer));
  node.append(bar, body);
  return node;
}

/** A message's content: its blocks (or its text when it has none), then its attachments. */
export function renderBody(message: WireMessage, ctx: RenderContext): HTMLElement {
  const body = el('div', 'body');
  const surface: Surface = { kind: 'message', message };
  if (Array.isArray(message.blocks) && message.blocks.length > 0) body.append(...renderBlocks(message.blocks, surface, ctx));
  else body.append(renderMrkdwn(message.text, ctx));
  for (const attachment of Array.isArray(message.attachments) ? message.attachments.filter(isJson) : []) body.append(renderAttachment(attachment, surface, ctx));
  return body;
}
