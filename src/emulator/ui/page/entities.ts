import { formatSlackDate } from './dates.js';
import { el } from './dom.js';
import { emojize } from './emoji.js';
import type { RenderContext } from './render-context.js';

/**
 * The inline things mrkdwn and rich text share: mentions of users, channels and groups,
 * broadcasts, dates and links. Names come from the workspace, as Slack shows them to the reader.
 */

export function safeUrl(url: string): string | undefined {
  return /^(https?:|mailto:)/i.test(url.trim()) ? url.trim() : undefined;
}

export function userMention(id: string, label: string, { store }: RenderContext): HTMLElement {
  const known = store.users.has(id) || id === 'USLACKBOT';
  const node = el('span', id === store.currentUser ? 'mention me' : 'mention', `@${known ? store.userName(id) : label || id}`);
  node.dataset.userId = id;
  return node;
}

export function channelMention(id: string, label: string, { store, actions }: RenderContext): HTMLElement {
  const channel = store.channels.get(id);
  const node = el('a', 'mention channel-ref', `#${channel ? channel.name : label || id}`);
  node.href = `#${id}`;
  node.addEventListener('click', (event) => {
    event.preventDefault();
    if (store.channels.has(id)) actions.selectChannel(id);
  });
  return node;
}

export function usergroupMention(id: string, label: string, { store }: RenderContext): HTMLElement {
  const group = store.usergroups.get(id);
  return el('span', 'mention', group ? `@${group.handle}` : label || '@group');
}

export function broadcast(range: string): HTMLElement {
  return el('span', 'mention broadcast', `@${range}`);
}

/** A date in the reader's time zone; the fallback text when Slack could not format it either. */
export function dateNode(timestamp: number, format: string, fallback: string, url?: string): HTMLElement {
  const formatted = formatSlackDate(timestamp, format);
  const link = url ? safeUrl(url) : undefined;
  const node = link ? el('a', 'date') : el('span', 'date');
  node.textContent = formatted ?? fallback;
  node.dataset.testid = 'date';
  if (formatted !== undefined) node.title = new Date(timestamp * 1000).toString();
  else node.dataset.fallback = 'true';
  if (node instanceof HTMLAnchorElement && link) openInNewTab(node, link);
  return node;
}

export function link(url: string, label: string): Node {
  const target = safeUrl(url);
  if (!target) return document.createTextNode(emojize(label || url));
  const node = el('a', '', emojize(label || url));
  openInNewTab(node, target);
  return node;
}

function openInNewTab(node: HTMLAnchorElement, url: string): void {
  node.href = url;
  node.target = '_blank';
  node.rel = 'noopener noreferrer';
}
