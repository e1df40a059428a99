/**
 * DOM helpers. Message data only ever reaches the page through createElement and textContent:
 * nothing from a bot is parsed as markup.
 */

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Marks a node for the tests (data-testid). */
export function testid<T extends HTMLElement>(node: T, id: string): T {
  node.dataset.testid = id;
  return node;
}

function byId<T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error(`page.html has no ${type.name} #${id}`);
  return node;
}

/** The fixed parts of page.html the script fills in or listens to. */
export interface PageElements {
  connection: HTMLElement;
  userSwitcher: HTMLSelectElement;
  channelList: HTMLUListElement;
  appList: HTMLUListElement;
  appsSection: HTMLElement;
  channelTitle: HTMLElement;
  channelTopic: HTMLElement;
  appTabs: HTMLElement;
  homeTab: HTMLButtonElement;
  messagesTab: HTMLButtonElement;
  banner: HTMLElement;
  messages: HTMLElement;
  home: HTMLElement;
  composerForm: HTMLFormElement;
  composer: HTMLTextAreaElement;
  composerStatus: HTMLElement;
  thread: HTMLElement;
  threadChannel: HTMLElement;
  threadMessages: HTMLElement;
  threadClose: HTMLButtonElement;
  confirmOverlay: HTMLElement;
  confirmTitle: HTMLElement;
  confirmText: HTMLElement;
  confirmOk: HTMLButtonElement;
  confirmCancel: HTMLButtonElement;
}

export function pageElements(): PageElements {
  return {
    connection: byId('connection', HTMLElement),
    userSwitcher: byId('user-switcher', HTMLSelectElement),
    channelList: byId('channel-list', HTMLUListElement),
    appList: byId('app-list', HTMLUListElement),
    appsSection: byId('apps-section', HTMLElement),
    channelTitle: byId('channel-title', HTMLElement),
    channelTopic: byId('channel-topic', HTMLElement),
    appTabs: byId('app-tabs', HTMLElement),
    homeTab: byId('tab-home', HTMLButtonElement),
    messagesTab: byId('tab-messages', HTMLButtonElement),
    banner: byId('banner', HTMLElement),
    messages: byId('messages', HTMLElement),
    home: byId('home', HTMLElement),
    composerForm: byId('composer-form', HTMLFormElement),
    composer: byId('composer', HTMLTextAreaElement),
    composerStatus: byId('composer-status', HTMLElement),
    thread: byId('thread', HTMLElement),
    threadChannel: byId('thread-channel', HTMLElement),
    threadMessages: byId('thread-messages', HTMLElement),
    threadClose: byId('thread-close', HTMLButtonElement),
    confirmOverlay: byId('confirm-overlay', HTMLElement),
    confirmTitle: byId('confirm-title', HTMLElement),
    confirmText: byId('confirm-text', HTMLElement),
    confirmOk: byId('confirm-ok', HTMLButtonElement),
    confirmCancel: byId('confirm-cancel', HTMLButtonElement),
  };
}
