import { el, testid, type PageElements } from './dom.js';
import type { RenderContext } from './render-context.js';
import type { WireChannel } from './wire.js';

/** The sidebar: channels with unread badges, and the app (its Home tab and DM) under Apps. */

function badge(count: number, id: string): HTMLElement | undefined {
  return count > 0 ? testid(el('span', 'badge', String(count)), `unread-${id}`) : undefined;
}

function sidebarLink(label: string, icon: string, active: boolean, unread: HTMLElement | undefined, onClick: () => void): HTMLAnchorElement {
  const link = el('a', 'channel-link');
  link.append(el('span', 'hash', icon), el('span', 'name', label));
  if (unread) {
    link.classList.add('unread');
    link.append(unread);
  }
  if (active) {
    link.classList.add('active');
    link.setAttribute('aria-current', 'page');
  }
  link.addEventListener('click', (event) => {
    event.preventDefault();
    onClick();
  });
  return link;
}

function channelItem(channel: WireChannel, { store, actions }: RenderContext): HTMLLIElement {
  const active = store.location.kind === 'channel' && store.location.channelId === channel.id;
  const link = sidebarLink(channel.name, channel.isPrivate ? '🔒' : '#', active, badge(store.unreadCount(channel.id), channel.id), () => actions.selectChannel(channel.id));
  link.href = `?channel=${encodeURIComponent(channel.id)}`;
  link.dataset.channelId = channel.id;
  const li = el('li');
  li.append(testid(link, `channel-${channel.id}`));
  return li;
}

export function renderSidebar(ctx: RenderContext, els: PageElements): void {
  const { store, actions } = ctx;
  els.channelList.replaceChildren(...[...store.channels.values()].filter((c) => !c.isIm).map((c) => channelItem(c, ctx)));
  if (!store.bot) {
    els.appsSection.hidden = true;
    return;
  }
  const app = sidebarLink(store.botName, '●', store.location.kind === 'app', badge(store.unreadCount(store.dmId), store.dmId), () => actions.openApp());
  app.href = '?app=home';
  const li = el('li');
  li.append(testid(app, 'app-link'));
  els.appList.replaceChildren(li);
  els.appsSection.hidden = false;
}
