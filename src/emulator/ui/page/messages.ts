import { renderBody } from './blocks.js';
import { el, testid } from './dom.js';
import type { RenderContext } from './render-context.js';
import type { WireMessage } from './wire.js';

/** One message as a row of the channel or thread pane: avatar, author, time, body, replies. */

export interface MessageOptions {
  /** Show the "N replies" link under a thread's parent (channel pane only). */
  showReplies?: boolean;
  /** Same author shortly after: no avatar or name, as Slack groups them. */
  continued?: boolean;
  testid?: string;
}

export function formatTime(ts: string): string {
  return new Date(Number(ts) * 1000).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
}

function avatarFor(message: WireMessage, { store }: RenderContext): HTMLElement {
  const isBot = store.isFromBot(message);
  const name = isBot ? store.botName : store.userName(message.user);
  const node = el('div', 'avatar', name.slice(0, 1).toUpperCase());
  if (isBot) node.classList.add('bot');
  else if (message.user === 'USLACKBOT') node.classList.add('slackbot');
  else node.classList.add(`c${[...message.user].reduce((n, c) => n + c.charCodeAt(0), 0) % 4}`);
  node.setAttribute('aria-hidden', 'true');
  return node;
}

const hasBlocks = (m: WireMessage) => Array.isArray(m.blocks) && m.blocks.length > 0;

/** Whether `message` continues `previous` (same author within five minutes, no blocks). */
export function continues(previous: WireMessage | undefined, message: WireMessage): boolean {
  if (!previous) return false;
  return (
    previous.user === message.user &&
    Boolean(previous.visibleTo) === Boolean(message.visibleTo) &&
    Number(message.ts) - Number(previous.ts) < 300 &&
    !hasBlocks(message) &&
    !hasBlocks(previous)
  );
}

export function renderMessage(message: WireMessage, options: MessageOptions, ctx: RenderContext): HTMLElement {
  const { store, actions } = ctx;
  const isBot = store.isFromBot(message);
  const node = testid(el('div', 'message'), options.testid ?? 'message');
  node.dataset.ts = message.ts;
  node.dataset.channel = message.channel;
  node.dataset.user = message.user;
  node.dataset.ephemeral = message.visibleTo ? 'true' : 'false';
  if (message.visibleTo) node.classList.add('ephemeral');
  if (options.continued) node.classList.add('continued');

  const content = el('div', 'content');
  const meta = el('div', 'meta');
  meta.append(el('span', 'author', isBot ? store.botName : store.userName(message.user)));
  if (isBot) meta.append(el('span', 'app-badge', 'APP'));
  const time = el('span', 'time', formatTime(message.ts));
  time.title = message.ts;
  meta.append(time);
  content.append(meta);

  if (message.visibleTo) {
    const note = testid(el('div', 'ephemeral-note'), 'ephemeral-note');
    note.append(el('span', '', '👁 Only visible to you'));
    const dismiss = el('button', '', 'Dismiss');
    dismiss.type = 'button';
    dismiss.addEventListener('click', () => actions.dismiss(message));
    note.append(dismiss);
    content.append(note);
  }

  const body = renderBody(message, ctx);
  if (message.edited) {
    const edited = testid(el('span', 'edited', '(edited)'), 'edited');
    const last = body.lastElementChild;
    if (last?.classList.contains('mrkdwn')) last.append(edited);
    else body.append(edited);
  }
  content.append(body);

  if (options.showReplies) {
    const replies = store.threadReplies(message.channel, message.ts);
    const latest = replies.at(-1);
    if (latest) {
      const link = testid(el('button', 'replies'), 'thread-replies');
      link.type = 'button';
      link.append(el('span', '', `${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}`));
      link.append(el('span', 'last', `Last reply ${formatTime(latest.ts)}`));
      link.addEventListener('click', () => actions.openThread(message.channel, message.ts));
      content.append(link);
    }
  }
  node.append(avatarFor(message, ctx), content);
  return node;
}
