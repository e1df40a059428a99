import { renderBlocks } from './blocks.js';
import { el, testid, type PageElements } from './dom.js';
import type { RenderContext } from './render-context.js';

/**
 * The app's Home tab for the reader: the view the bot last published for them, redrawn whenever
 * it publishes again, and what happened to the app_home_opened event until a view arrives.
 */

function statusLine({ store }: RenderContext): string | undefined {
  const { home } = store;
  switch (home.state) {
    case 'failed':
      return `${store.botName} did not take app_home_opened: ${home.error}`;
    case 'opening':
      return store.homeViews.has(store.currentUser) ? undefined : `Asking ${store.botName} for your Home tab…`;
    case 'opened':
      // The bot may still be publishing: the view replaces this line when it arrives.
      return store.homeViews.has(store.currentUser) ? undefined : `${store.botName} took app_home_opened and has not published a Home tab for you yet.`;
    case 'idle':
      return undefined;
  }
}

export function renderHome(ctx: RenderContext, els: PageElements): void {
  const { store } = ctx;
  const view = store.homeViews.get(store.currentUser);
  const nodes: HTMLElement[] = [];
  const status = statusLine(ctx);
  if (status) {
    const line = testid(el('div', `home-status${store.home.state === 'failed' ? ' error' : ''}`, status), 'home-status');
    line.setAttribute('role', 'status');
    nodes.push(line);
  }
  if (view) {
    const content = testid(el('div', 'home-view'), 'home-view');
    content.dataset.viewId = view.id;
    content.dataset.hash = view.hash;
    content.append(...renderBlocks(view.blocks, { kind: 'home', userId: store.currentUser }, ctx));
    nodes.push(content);
  } else if (!status) {
    const empty = el('div', 'empty');
    empty.append(el('strong', '', `${store.botName} has no Home tab for you yet`), document.createTextNode('It appears when the app answers app_home_opened with views.publish.'));
    nodes.push(empty);
  }
  els.home.replaceChildren(...nodes);
}
