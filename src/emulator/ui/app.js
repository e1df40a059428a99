// The Slack-like page of the emulator. Plain browser JavaScript, no build step, no dependencies.
// Message data only ever reaches the DOM through createElement and textContent, never parsed as HTML.

const $ = (id) => document.getElementById(id);

const state = {
  bot: null,
  users: new Map(),
  channels: new Map(),
  usergroups: new Map(),
  /** key `${channel} ${ts}` -> message */
  messages: new Map(),
  currentUser: 'U_OPERATOR',
  currentChannel: 'C_OPS',
  openThread: null, // { channel, ts }
  /** `${user} ${channel}` -> ts read up to */
  lastRead: new Map(),
  dismissed: new Set(),
  history: [],
  historyIndex: -1,
};

// ---------------------------------------------------------------------------------------------
// DOM helpers

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function testid(node, id) {
  node.dataset.testid = id;
  return node;
}

const EMOJI = {
  white_check_mark: '✅', heavy_check_mark: '✔️', x: '❌', warning: '⚠️', tada: '🎉', lock: '🔒', unlock: '🔓',
  grey_question: '❔', question: '❓', no_entry_sign: '🚫', no_entry: '⛔', octagonal_sign: '🛑', stop_sign: '🛑',
  hourglass_flowing_sand: '⏳', hourglass: '⌛', arrows_counterclockwise: '🔄', repeat: '🔁', rotating_light: '🚨',
  red_circle: '🔴', large_green_circle: '🟢', green_circle: '🟢', large_yellow_circle: '🟡', yellow_circle: '🟡',
  white_circle: '⚪', large_blue_circle: '🔵', information_source: 'ℹ️', bell: '🔔', no_bell: '🔕', mag: '🔍',
  book: '📖', open_book: '📖', books: '📚', memo: '📝', clipboard: '📋', calendar: '📅', clock1: '🕐', stopwatch: '⏱️',
  fire: '🔥', skull: '💀', ghost: '👻', zzz: '💤', wastebasket: '🗑️', broom: '🧹', wrench: '🔧', gear: '⚙️',
  hammer_and_wrench: '🛠️', chart_with_upwards_trend: '📈', chart_with_downwards_trend: '📉', bar_chart: '📊',
  eyes: '👀', thumbsup: '👍', '+1': '👍', thumbsdown: '👎', '-1': '👎', wave: '👋', robot_face: '🤖', rocket: '🚀',
  bulb: '💡', heavy_plus_sign: '➕', heavy_minus_sign: '➖', arrow_right: '➡️', arrow_up: '⬆️', arrow_down: '⬇️',
  small_red_triangle_down: '🔻', small_red_triangle: '🔺', pause_button: '⏸️', play_or_pause_button: '⏯️',
  arrow_forward: '▶️', fast_forward: '⏩', busts_in_silhouette: '👥', bust_in_silhouette: '👤', package: '📦',
  inbox_tray: '📥', outbox_tray: '📤', link: '🔗', pushpin: '📌', sos: '🆘', construction: '🚧', shield: '🛡️',
  ok: '🆗', new: '🆕', white_medium_square: '◻️', black_medium_square: '◼️', large_orange_circle: '🟠',
  heavy_exclamation_mark: '❗', exclamation: '❗', grey_exclamation: '❕', boom: '💥', sparkles: '✨', snail: '🐌',
};

function emojize(text) {
  return text.replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] ?? whole);
}

/** Slack escapes only these three; decoding happens after parsing, so &lt;b&gt; stays text. */
function decode(text) {
  return text.replace(/&(amp|lt|gt);/g, (_, name) => ({ amp: '&', lt: '<', gt: '>' })[name]);
}

function textNode(raw) {
  return document.createTextNode(emojize(decode(raw)));
}

function safeUrl(url) {
  return /^(https?:|mailto:)/i.test(url) ? url : null;
}

function userName(id) {
  if (id === 'USLACKBOT') return 'Slackbot';
  const user = state.users.get(id);
  return user ? user.name : id;
}

// ---------------------------------------------------------------------------------------------
// mrkdwn

const WORD = /[\p{L}\p{N}]/u;

function isOpener(s, i) {
  const before = s[i - 1];
  const after = s[i + 1];
  if (after === undefined || /\s/.test(after) || after === s[i]) return false;
  return before === undefined || !WORD.test(before);
}

/** Closing marker for *bold* / _italic_ / ~strike~ on the same line, skipping `code` and <links>. */
function findCloser(s, from, marker) {
  for (let j = from; j < s.length; j++) {
    const ch = s[j];
    if (ch === '`') {
      const end = s.indexOf('`', j + 1);
      if (end > j) j = end;
      continue;
    }
    if (ch === '<') {
      const end = s.indexOf('>', j + 1);
      if (end > j) j = end;
      continue;
    }
    if (ch === marker && j > from && !/\s/.test(s[j - 1])) {
      const after = s[j + 1];
      if (after === undefined || !WORD.test(after)) return j;
    }
  }
  return -1;
}

const FORMAT_TAGS = { '*': 'b', _: 'i', '~': 's' };

/** Parses one line of mrkdwn into `parent`. */
function parseInline(s, parent) {
  let buffer = '';
  const flush = () => {
    if (buffer) parent.append(textNode(buffer));
    buffer = '';
  };
  let i = 0;
  while (i < s.length) {
    const ch = s[i];
    if (ch === '`') {
      const end = s.indexOf('`', i + 1);
      if (end > i + 1) {
        flush();
        parent.append(el('code', '', decode(s.slice(i + 1, end))));
        i = end + 1;
        continue;
      }
    }
    if (ch === '<') {
      const end = s.indexOf('>', i + 1);
      if (end > i + 1) {
        flush();
        parent.append(renderAngle(s.slice(i + 1, end)));
        i = end + 1;
        continue;
      }
    }
    if (FORMAT_TAGS[ch] && isOpener(s, i)) {
      const end = findCloser(s, i + 1, ch);
      if (end > i + 1) {
        flush();
        const node = el(FORMAT_TAGS[ch]);
        parseInline(s.slice(i + 1, end), node);
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
function renderAngle(inner) {
  const bar = inner.indexOf('|');
  const target = bar >= 0 ? inner.slice(0, bar) : inner;
  const label = bar >= 0 ? inner.slice(bar + 1) : '';
  if (target.startsWith('@')) {
    const id = target.slice(1);
    const node = el('span', id === state.currentUser ? 'mention me' : 'mention', `@${state.users.has(id) || id === 'USLACKBOT' ? userName(id) : decode(label) || id}`);
    node.dataset.userId = id;
    return node;
  }
  if (target.startsWith('#')) {
    const id = target.slice(1);
    const channel = state.channels.get(id);
    const node = el('a', 'mention channel-ref', `#${channel ? channel.name : decode(label) || id}`);
    node.href = `#${id}`;
    node.addEventListener('click', (event) => {
      event.preventDefault();
      if (state.channels.has(id)) selectChannel(id);
    });
    return node;
  }
  if (target.startsWith('!')) {
    const [keyword, arg] = target.slice(1).split('^');
    if (keyword === 'here' || keyword === 'channel' || keyword === 'everyone') return el('span', 'mention broadcast', `@${keyword}`);
    if (keyword === 'subteam') {
      const group = state.usergroups.get(arg);
      return el('span', 'mention', group ? `@${group.handle}` : decode(label) || '@group');
    }
    if (keyword === 'date') return document.createTextNode(decode(label) || '');
    return document.createTextNode(decode(label || keyword));
  }
  const url = safeUrl(decode(target));
  if (!url) return textNode(label || target);
  const link = el('a', '', emojize(decode(label || target)));
  link.href = url;
  link.target = '_blank';
  link.rel = 'noopener noreferrer';
  return link;
}

/** Renders Slack mrkdwn (text fields of blocks, message text) into a fragment. */
function renderMrkdwn(text) {
  const root = el('div', 'mrkdwn');
  const parts = String(text ?? '').split('```');
  parts.forEach((part, index) => {
    const isPre = index % 2 === 1 && index < parts.length - 1;
    if (isPre) {
      root.append(el('pre', '', decode(part.replace(/^\n/, '').replace(/\n$/, ''))));
      return;
    }
    const text = index % 2 === 1 ? `\`\`\`${part}` : part; // an unclosed ``` is text
    let quote = null;
    const lines = text.split('\n');
    lines.forEach((line, n) => {
      const quoted = /^(&gt;|>) ?/.exec(line);
      if (quoted) {
        if (!quote) {
          quote = el('blockquote');
          root.append(quote);
        } else quote.append(el('br'));
        parseInline(line.slice(quoted[0].length), quote);
        return;
      }
      quote = null;
      parseInline(line, root);
      if (n < lines.length - 1 && !(lines[n + 1] !== undefined && /^(&gt;|>)/.test(lines[n + 1]))) root.append(document.createTextNode('\n'));
    });
  });
  return root;
}

function renderText(textObject) {
  if (!textObject) return el('span');
  if (textObject.type === 'plain_text') return el('span', 'plain', emojize(String(textObject.text ?? '')));
  return renderMrkdwn(textObject.text);
}

// ---------------------------------------------------------------------------------------------
// Block Kit

function renderButton(button, message) {
  const node = el('button', 'btn');
  node.type = 'button';
  if (button.style === 'primary') node.classList.add('btn-primary');
  if (button.style === 'danger') node.classList.add('btn-danger');
  node.textContent = emojize(String(button.text?.text ?? ''));
  node.dataset.actionId = button.action_id ?? '';
  if (button.value !== undefined) node.dataset.value = button.value;
  if (button.url) node.title = button.url;
  node.addEventListener('click', () => {
    const go = () => {
      const url = button.url ? safeUrl(button.url) : null;
      if (url) window.open(url, '_blank', 'noopener,noreferrer');
      // Slack sends the interaction for link buttons too (the app must still ack it).
      sendClick(message, button, node);
    };
    if (button.confirm) openConfirm(button.confirm, go);
    else go();
  });
  return node;
}

function renderElement(element, message) {
  if (!element) return null;
  if (element.type === 'button') return renderButton(element, message);
  if (element.type === 'mrkdwn' || element.type === 'plain_text') return renderText(element);
  if (element.type === 'image') return el('span', 'unsupported', `[image: ${element.alt_text ?? ''}]`);
  return el('span', 'unsupported', `[${element.type ?? 'element'}]`);
}

function renderBlock(block, message) {
  switch (block.type) {
    case 'header':
      return el('div', 'block block-header', emojize(String(block.text?.text ?? '')));
    case 'section': {
      const node = el('div', 'block block-section');
      const main = el('div', 'section-main');
      if (block.text) main.append(renderText(block.text));
      if (Array.isArray(block.fields) && block.fields.length) {
        const grid = el('div', 'fields');
        for (const field of block.fields) {
          const cell = el('div');
          cell.append(renderText(field));
          grid.append(cell);
        }
        main.append(grid);
      }
      node.append(main);
      if (block.accessory) {
        const accessory = el('div', 'accessory');
        const rendered = renderElement(block.accessory, message);
        if (rendered) accessory.append(rendered);
        node.append(accessory);
      }
      return node;
    }
    case 'context': {
      const node = el('div', 'block block-context');
      for (const element of Array.isArray(block.elements) ? block.elements : []) {
        const rendered = renderElement(element, message);
        if (rendered) node.append(rendered);
      }
      return node;
    }
    case 'divider':
      return el('hr', 'block-divider');
    case 'actions': {
      const node = el('div', 'block block-actions');
      for (const element of Array.isArray(block.elements) ? block.elements : []) {
        const rendered = renderElement(element, message);
        if (rendered) node.append(rendered);
      }
      return node;
    }
    case 'image':
      return el('div', 'block unsupported', `[image: ${block.title?.text ?? block.alt_text ?? ''}]`);
    default:
      return el('div', 'block unsupported', `[${block.type ?? 'unknown'} block]`);
  }
}

const ATTACHMENT_COLORS = { good: '#2eb886', warning: '#daa038', danger: '#a30200' };

function renderAttachment(attachment, message) {
  const node = el('div', 'attachment');
  const bar = el('div', 'attachment-bar');
  const color = ATTACHMENT_COLORS[attachment.color] ?? (/^#?[0-9a-f]{3,8}$/i.test(attachment.color ?? '') ? `#${attachment.color.replace(/^#/, '')}` : null);
  if (color) bar.style.background = color;
  const body = el('div', 'attachment-body');
  if (attachment.pretext) body.append(renderMrkdwn(attachment.pretext));
  if (attachment.title) body.append(el('div', 'attachment-title', emojize(String(attachment.title))));
  if (Array.isArray(attachment.blocks)) for (const block of attachment.blocks) body.append(renderBlock(block, message));
  if (attachment.text) body.append(renderMrkdwn(attachment.text));
  if (Array.isArray(attachment.fields) && attachment.fields.length) {
    const grid = el('div', 'fields');
    for (const field of attachment.fields) {
      const cell = el('div');
      cell.append(el('div', 'attachment-title', String(field.title ?? '')));
      cell.append(renderMrkdwn(field.value ?? ''));
      grid.append(cell);
    }
    body.append(grid);
  }
  if (attachment.footer) body.append(el('div', 'block-context', String(attachment.footer)));
  node.append(bar, body);
  return node;
}

function renderBody(message) {
  const body = el('div', 'body');
  if (Array.isArray(message.blocks) && message.blocks.length) {
    for (const block of message.blocks) {
      try {
        body.append(renderBlock(block, message));
      } catch (error) {
        body.append(el('div', 'block unsupported', `[block that could not be shown: ${error.message}]`));
      }
    }
  } else {
    body.append(renderMrkdwn(message.text));
  }
  for (const attachment of Array.isArray(message.attachments) ? message.attachments : []) body.append(renderAttachment(attachment, message));
  return body;
}

// ---------------------------------------------------------------------------------------------
// Messages

const key = (channel, ts) => `${channel} ${ts}`;
const isReply = (m) => m.thread_ts && m.thread_ts !== m.ts;
const visible = (m) => (!m.visibleTo || m.visibleTo === state.currentUser) && !state.dismissed.has(key(m.channel, m.ts));
const byTs = (a, b) => Number(a.ts) - Number(b.ts) || (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0);

function channelMessages(channel) {
  return [...state.messages.values()].filter((m) => m.channel === channel && visible(m)).sort(byTs);
}

function threadReplies(channel, ts) {
  return channelMessages(channel).filter((m) => isReply(m) && m.thread_ts === ts);
}

function formatTime(ts) {
  const date = new Date(Number(ts) * 1000);
  return date.toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
}

function avatarFor(message) {
  const isBot = Boolean(message.bot_id) || message.user === state.bot?.userId;
  const name = isBot ? state.bot?.name ?? 'app' : userName(message.user);
  const node = el('div', 'avatar', name.slice(0, 1).toUpperCase());
  if (isBot) node.classList.add('bot');
  else if (message.user === 'USLACKBOT') node.classList.add('slackbot');
  else node.classList.add(`c${[...message.user].reduce((n, c) => n + c.charCodeAt(0), 0) % 4}`);
  node.setAttribute('aria-hidden', 'true');
  return node;
}

function renderMessage(message, options = {}) {
  const isBot = Boolean(message.bot_id) || message.user === state.bot?.userId;
  const node = testid(el('div', 'message'), options.testid ?? 'message');
  node.dataset.ts = message.ts;
  node.dataset.channel = message.channel;
  node.dataset.user = message.user;
  node.dataset.ephemeral = message.visibleTo ? 'true' : 'false';
  if (message.visibleTo) node.classList.add('ephemeral');
  if (options.continued) node.classList.add('continued');

  const content = el('div', 'content');
  const meta = el('div', 'meta');
  meta.append(el('span', 'author', isBot ? state.bot?.name ?? 'app' : userName(message.user)));
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
    dismiss.addEventListener('click', () => {
      state.dismissed.add(key(message.channel, message.ts));
      render();
    });
    note.append(dismiss);
    content.append(note);
  }

  const body = renderBody(message);
  if (message.edited) {
    const edited = testid(el('span', 'edited', '(edited)'), 'edited');
    const last = body.lastElementChild;
    if (last && last.classList.contains('mrkdwn')) last.append(edited);
    else body.append(edited);
  }
  content.append(body);

  if (options.showReplies) {
    const replies = threadReplies(message.channel, message.ts);
    if (replies.length) {
      const link = testid(el('button', 'replies'), 'thread-replies');
      link.type = 'button';
      link.append(el('span', '', `${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}`));
      link.append(el('span', 'last', `Last reply ${formatTime(replies[replies.length - 1].ts)}`));
      link.addEventListener('click', () => openThread(message.channel, message.ts));
      content.append(link);
    }
  }
  node.append(avatarFor(message), content);
  return node;
}

function continues(previous, message) {
  if (!previous) return false;
  const hasBlocks = (m) => Array.isArray(m.blocks) && m.blocks.length > 0;
  return (
    previous.user === message.user &&
    Boolean(previous.visibleTo) === Boolean(message.visibleTo) &&
    Number(message.ts) - Number(previous.ts) < 300 &&
    !hasBlocks(message) &&
    !hasBlocks(previous)
  );
}

// ---------------------------------------------------------------------------------------------
// Rendering

function unreadCount(channel) {
  if (channel === state.currentChannel) return 0;
  const since = Number(state.lastRead.get(key(state.currentUser, channel)) ?? 0);
  return channelMessages(channel).filter((m) => !isReply(m) && m.user !== state.currentUser && Number(m.ts) > since).length;
}

function markRead(channel) {
  const last = channelMessages(channel).at(-1);
  if (last) state.lastRead.set(key(state.currentUser, channel), last.ts);
}

function channelLink(channel, label, hash) {
  const li = el('li');
  const link = testid(el('a', 'channel-link'), `channel-${channel.id}`);
  link.href = `?channel=${encodeURIComponent(channel.id)}`;
  link.dataset.channelId = channel.id;
  link.append(el('span', 'hash', hash), el('span', 'name', label));
  const unread = unreadCount(channel.id);
  if (unread > 0) {
    link.classList.add('unread');
    link.append(testid(el('span', 'badge', String(unread)), `unread-${channel.id}`));
  }
  if (channel.id === state.currentChannel) {
    link.classList.add('active');
    link.setAttribute('aria-current', 'page');
  }
  link.addEventListener('click', (event) => {
    event.preventDefault();
    selectChannel(channel.id);
  });
  li.append(link);
  return li;
}

function renderSidebar() {
  const list = $('channel-list');
  const apps = $('app-list');
  list.replaceChildren();
  apps.replaceChildren();
  for (const channel of state.channels.values()) {
    if (channel.isIm) {
      if (channel.user === state.currentUser) apps.append(channelLink(channel, state.bot?.name ?? 'app', '●'));
    } else list.append(channelLink(channel, channel.name, channel.isPrivate ? '🔒' : '#'));
  }
  $('apps-section').hidden = apps.childElementCount === 0;
}

function channelLabel(channel) {
  if (!channel) return '';
  return channel.isIm ? state.bot?.name ?? 'app' : `#${channel.name}`;
}

function renderChannel() {
  const channel = state.channels.get(state.currentChannel);
  $('channel-title').textContent = channel ? (channel.isIm ? channelLabel(channel) : `# ${channel.name}`) : '';
  $('channel-topic').textContent = channel?.isIm ? 'Direct messages with the app' : 'Try /jobq help, /jobq stats, /jobq failed';
  $('composer').placeholder = `Message ${channelLabel(channel)}`;

  const list = $('messages');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const previousScroll = list.scrollTop;
  list.replaceChildren();
  const top = channelMessages(state.currentChannel).filter((m) => !isReply(m));
  if (top.length === 0) {
    const empty = el('div', 'empty');
    empty.append(el('strong', '', channel?.isIm ? `This is your conversation with ${channelLabel(channel)}` : `This is the very beginning of ${channelLabel(channel)}`));
    empty.append(document.createTextNode('Type /jobq stats below and press Enter to talk to the bot.'));
    list.append(empty);
  }
  let previous = null;
  for (const message of top) {
    list.append(renderMessage(message, { showReplies: true, continued: continues(previous, message) }));
    previous = message;
  }
  list.scrollTop = atBottom || state.scrollToBottom ? list.scrollHeight : previousScroll;
  state.scrollToBottom = false;
}

function renderThread() {
  const pane = $('thread');
  const thread = state.openThread;
  const parent = thread ? state.messages.get(key(thread.channel, thread.ts)) : null;
  if (!thread || !parent || thread.channel !== state.currentChannel || !visible(parent)) {
    pane.hidden = true;
    return;
  }
  pane.hidden = false;
  $('thread-channel').textContent = channelLabel(state.channels.get(thread.channel));
  const list = $('thread-messages');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren(renderMessage(parent, { testid: 'thread-message' }));
  const replies = threadReplies(thread.channel, thread.ts);
  list.append(el('div', 'thread-count', `${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}`));
  let previous = null;
  for (const reply of replies) {
    list.append(renderMessage(reply, { testid: 'thread-message', continued: continues(previous, reply) }));
    previous = reply;
  }
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function render() {
  markRead(state.currentChannel);
  renderSidebar();
  renderChannel();
  renderThread();
  document.title = `${channelLabel(state.channels.get(state.currentChannel))} · jobq sandbox`;
}

function syncUrl() {
  const params = new URLSearchParams(location.search);
  params.set('channel', state.currentChannel);
  params.set('user', state.currentUser);
  history.replaceState(null, '', `${location.pathname}?${params}${location.hash}`);
}

function selectChannel(id) {
  if (!state.channels.has(id)) return;
  markRead(state.currentChannel);
  state.currentChannel = id;
  if (state.openThread && state.openThread.channel !== id) state.openThread = null;
  state.scrollToBottom = true;
  showStatus('');
  syncUrl();
  render();
  $('composer').focus();
}

function openThread(channel, ts) {
  state.openThread = { channel, ts };
  renderThread();
  const list = $('thread-messages');
  list.scrollTop = list.scrollHeight;
}

// ---------------------------------------------------------------------------------------------
// Confirm dialog

let confirmAction = null;

function openConfirm(confirm, onConfirm) {
  $('confirm-title').textContent = emojize(String(confirm.title?.text ?? 'Are you sure?'));
  $('confirm-text').replaceChildren(renderText(confirm.text ?? { type: 'plain_text', text: '' }));
  const ok = $('confirm-ok');
  ok.textContent = emojize(String(confirm.confirm?.text ?? 'Yes'));
  ok.className = `btn ${confirm.style === 'danger' ? 'btn-danger' : 'btn-primary'}`;
  $('confirm-cancel').textContent = emojize(String(confirm.deny?.text ?? 'Cancel'));
  confirmAction = onConfirm;
  $('confirm-overlay').hidden = false;
  ok.focus();
}

function closeConfirm(run) {
  const action = confirmAction;
  confirmAction = null;
  $('confirm-overlay').hidden = true;
  if (run && action) action();
}

// ---------------------------------------------------------------------------------------------
// Talking to the emulator

function showStatus(text, isError = false) {
  const status = $('composer-status');
  status.textContent = text;
  status.classList.toggle('error', isError);
  status.hidden = !text;
}

async function post(path, body) {
  const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  let json = {};
  try {
    json = await response.json();
  } catch {
    json = { error: `HTTP ${response.status}` };
  }
  if (!response.ok) throw new Error(json.error ?? `HTTP ${response.status}`);
  return json;
}

async function sendLine(line) {
  const channelId = state.currentChannel;
  const isCommand = line.startsWith('/');
  const command = isCommand ? line.split(/\s/)[0] : '';
  if (isCommand) showStatus(`Sending ${line}…`);
  try {
    const result = await post('/ui/command', { userId: state.currentUser, channelId, text: line });
    if (result.slackError) showStatus(`${command} failed with the error "${result.slackError}"${result.detail ? `: ${result.detail}` : ''}`, true);
    else if (result.kind === 'unknown_command') showStatus(`${command} is not a valid command.`, true);
    else {
      showStatus(isCommand ? `${command} acknowledged in ${result.ackMs} ms` : '');
      if (result.kind === 'command') $('banner').hidden = true; // a bot answered after all
    }
  } catch (error) {
    showStatus(`Could not send: ${error.message}`, true);
  }
}

async function sendClick(message, button, node) {
  node.disabled = true;
  node.classList.add('pending');
  try {
    const body = { userId: state.currentUser, channelId: message.channel, messageTs: message.ts, actionId: button.action_id };
    if (button.value !== undefined) body.value = button.value;
    const result = await post('/ui/click', body);
    if (result.slackError) showStatus(`${state.bot?.name ?? 'The app'} did not handle the click: "${result.slackError}"${result.detail ? `: ${result.detail}` : ''}`, true);
    else showStatus('');
  } catch (error) {
    showStatus(`Click failed: ${error.message}`, true);
  } finally {
    // The node may already be gone (the message was replaced); re-enable it if it is not.
    node.disabled = false;
    node.classList.remove('pending');
  }
}

function applySnapshot(snapshot) {
  state.bot = snapshot.bot;
  state.users = new Map(snapshot.users.map((u) => [u.id, u]));
  state.channels = new Map(snapshot.channels.map((c) => [c.id, c]));
  state.usergroups = new Map((snapshot.usergroups ?? []).map((g) => [g.id, g]));
  state.messages = new Map(snapshot.messages.map((m) => [key(m.channel, m.ts), m]));
  $('banner').hidden = snapshot.botConnected !== false;
  $('banner').textContent = snapshot.botConnected === false ? 'No bot is connected to this emulator yet: commands will fail with dispatch_failed.' : '';
  renderUserSwitcher();
  if (!state.channels.has(state.currentChannel)) state.currentChannel = [...state.channels.values()].find((c) => !c.isIm)?.id ?? state.currentChannel;
  render();
}

/** Events that arrive while a snapshot is loading, replayed on top of it in order. */
let pendingChanges = null;

async function loadState() {
  if (pendingChanges) return; // a load is already in flight; it will include this change
  pendingChanges = [];
  try {
    const response = await fetch('/ui/state', { cache: 'no-store' });
    applySnapshot(await response.json());
    for (const change of pendingChanges) applyChange(change, true);
  } finally {
    pendingChanges = null;
  }
  scheduleRender();
}

function applyChange(change, replaying = false) {
  if (pendingChanges && !replaying) {
    pendingChanges.push(change);
    return;
  }
  const { type, message } = change;
  const id = key(message.channel, message.ts);
  if (type === 'deleted') state.messages.delete(id);
  else state.messages.set(id, message);
  if (!state.channels.has(message.channel) && !replaying) {
    // A channel the page has not seen (a DM the app just opened): fetch the workspace again.
    loadState().catch(() => {});
    return;
  }
  scheduleRender();
}

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function connect() {
  const connection = $('connection');
  const events = new EventSource('/ui/events');
  events.addEventListener('open', () => {
    connection.dataset.state = 'live';
    connection.textContent = 'live';
    // Resynchronise on every (re)connection: changes made while disconnected are in the snapshot.
    loadState().catch((error) => showStatus(`Could not load the workspace: ${error.message}`, true));
  });
  events.addEventListener('message', (event) => {
    try {
      applyChange(JSON.parse(event.data));
    } catch (error) {
      console.error('bad event', error);
    }
  });
  events.addEventListener('error', () => {
    connection.dataset.state = events.readyState === EventSource.CLOSED ? 'down' : 'connecting';
    connection.textContent = 'reconnecting…';
  });
}

// ---------------------------------------------------------------------------------------------
// Controls

function renderUserSwitcher() {
  const select = $('user-switcher');
  const humans = [...state.users.values()].filter((u) => !u.isBot);
  if (!humans.some((u) => u.id === state.currentUser) && humans[0]) state.currentUser = humans[0].id;
  const current = [...select.options].map((o) => o.value).join(',');
  if (current !== humans.map((u) => u.id).join(',')) {
    select.replaceChildren(
      ...humans.map((u) => {
        const option = el('option', '', u.realName ? `${u.name} (${u.realName})` : u.name);
        option.value = u.id;
        return option;
      }),
    );
  }
  select.value = state.currentUser;
}

function autosize(textarea) {
  textarea.style.height = 'auto';
  textarea.style.height = `${Math.min(textarea.scrollHeight, 200)}px`;
}

function submitComposer() {
  const composer = $('composer');
  const line = composer.value.trim();
  if (!line) return;
  state.history.push(line);
  state.historyIndex = -1;
  composer.value = '';
  autosize(composer);
  state.scrollToBottom = true;
  void sendLine(line);
}

function setup() {
  const params = new URLSearchParams(location.search);
  if (params.get('user')) state.currentUser = params.get('user');
  if (params.get('channel')) state.currentChannel = params.get('channel');

  $('user-switcher').addEventListener('change', (event) => {
    markRead(state.currentChannel);
    state.currentUser = event.target.value;
    showStatus('');
    syncUrl();
    render();
  });

  const composer = $('composer');
  composer.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitComposer();
    } else if (event.key === 'ArrowUp' && composer.value === '' && state.history.length) {
      event.preventDefault();
      state.historyIndex = state.history.length - 1;
      composer.value = state.history[state.historyIndex];
    }
  });
  composer.addEventListener('input', () => autosize(composer));
  $('composer-form').addEventListener('submit', (event) => {
    event.preventDefault();
    submitComposer();
  });

  $('thread-close').addEventListener('click', () => {
    state.openThread = null;
    renderThread();
  });
  $('confirm-ok').addEventListener('click', () => closeConfirm(true));
  $('confirm-cancel').addEventListener('click', () => closeConfirm(false));
  $('confirm-overlay').addEventListener('click', (event) => {
    if (event.target === $('confirm-overlay')) closeConfirm(false);
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !$('confirm-overlay').hidden) closeConfirm(false);
  });

  connect();
  composer.focus();
}

setup();
