import { el, type PageElements } from './dom.js';
import { continues, renderMessage } from './messages.js';
import type { RenderContext } from './render-context.js';
import { isReply, messageKey } from './store.js';
import type { WireMessage } from './wire.js';

/** The main pane's header, a channel's (or the app's DM's) messages, and the thread pane. */

/** How a channel is named in titles: #name, or the app's name for its DM. */
export function channelLabel(channelId: string | undefined, { store }: RenderContext): string {
  const channel = channelId ? store.channels.get(channelId) : undefined;
  if (channelId === store.dmId || channel?.isIm) return store.botName;
  return channel ? `#${channel.name}` : '';
}

export function renderHeader(ctx: RenderContext, els: PageElements): void {
  const { store } = ctx;
  const { location } = store;
  els.appTabs.hidden = location.kind !== 'app';
  if (location.kind === 'app') {
    els.channelTitle.textContent = store.botName;
    els.channelTopic.textContent = '';
    els.homeTab.hidden = !store.homeTabEnabled;
    for (const [tab, button] of [
      ['home', els.homeTab],
      ['messages', els.messagesTab],
    ] as const) {
      button.classList.toggle('active', location.tab === tab);
      button.setAttribute('aria-selected', String(location.tab === tab));
    }
    return;
  }
  const channel = store.channels.get(location.channelId);
  els.channelTitle.textContent = channel ? `# ${channel.name}` : '';
  els.channelTopic.textContent = 'Try /jobq help, /jobq stats, /jobq failed';
}

function renderList(list: HTMLElement, messages: readonly WireMessage[], ctx: RenderContext, options: { showReplies?: boolean; testid?: string }): void {
  let previous: WireMessage | undefined;
  for (const message of messages) {
    list.append(renderMessage(message, { ...options, continued: continues(previous, message) }, ctx));
    previous = message;
  }
}

export function renderChannel(channelId: string, ctx: RenderContext, els: PageElements): void {
  const { store } = ctx;
  const label = channelLabel(channelId, ctx);
  const isDm = channelId === store.dmId;
  els.composer.placeholder = `Message ${label}`;
  const list = els.messages;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const previousScroll = list.scrollTop;
  list.replaceChildren();
  const top = store.channelMessages(channelId).filter((m) => !isReply(m));
  if (top.length === 0) {
    const empty = el('div', 'empty');
    empty.append(el('strong', '', isDm ? `This is your conversation with ${label}` : `This is the very beginning of ${label}`));
    empty.append(document.createTextNode('Type /jobq stats below and press Enter to talk to the bot.'));
    list.append(empty);
  }
  renderList(list, top, ctx, { showReplies: true });
  list.scrollTop = atBottom || store.scrollToBottom ? list.scrollHeight : previousScroll;
  store.scrollToBottom = false;
}

export function renderThread(ctx: RenderContext, els: PageElements): void {
  const { store } = ctx;
  const thread = store.openThread;
  const parent = thread ? store.messages.get(messageKey(thread.channel, thread.ts)) : undefined;
  if (!thread || !parent || thread.channel !== store.channelId || !store.visible(parent)) {
    els.thread.hidden = true;
    return;
  }
  els.thread.hidden = false;
  els.threadChannel.textContent = channelLabel(thread.channel, ctx);
  const list = els.threadMessages;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren(renderMessage(parent, { testid: 'thread-message' }, ctx));
  const replies = store.threadReplies(thread.channel, thread.ts);
  list.append(el('div', 'thread-count', `${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}`));
  renderList(list, replies, ctx, { testid: 'thread-message' });
  if (atBottom) list.scrollTop = list.scrollHeight;
}
