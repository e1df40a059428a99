import { openAppTab, sendClick, sendCommand, type ClickRequest } from './api.js';
import { channelLabel, renderChannel, renderHeader, renderThread } from './channel-pane.js';
import { Composer } from './composer.js';
import { ConfirmDialog } from './confirm.js';
import { el, type PageElements } from './dom.js';
import { safeUrl } from './entities.js';
import { renderHome } from './home-pane.js';
import { child, str, type Json } from './json.js';
import { LiveConnection } from './connection.js';
import type { PageActions, RenderContext, Surface } from './render-context.js';
import { renderSidebar } from './sidebar.js';
import type { AppTab, Location, Store } from './store.js';
import type { StreamEvent, WireMessage } from './wire.js';

/**
 * The page's controller: turns the reader's actions into requests to the emulator and changes of
 * the store, and redraws (at most once a frame) when either the reader or the emulator changed it.
 */
export class Page implements PageActions {
  private readonly ctx: RenderContext;
  private readonly confirm: ConfirmDialog;
  private readonly composer: Composer;
  private readonly connection: LiveConnection;
  private renderQueued = false;

  constructor(
    private readonly els: PageElements,
    private readonly store: Store,
  ) {
    this.ctx = { store, actions: this };
    this.confirm = new ConfirmDialog(els);
    this.composer = new Composer(els, (line) => {
      store.scrollToBottom = true;
      void this.sendLine(line);
    });
    this.connection = new LiveConnection({
      snapshot: (snapshot) => {
        store.applySnapshot(snapshot);
        this.renderUserSwitcher();
        els.banner.hidden = store.botConnected;
        els.banner.textContent = store.botConnected ? '' : 'No bot is connected to this emulator yet: commands will fail with dispatch_failed.';
        this.scheduleRender();
      },
      event: (event) => this.apply(event),
      state: (state) => {
        els.connection.dataset.state = state;
        els.connection.textContent = state === 'live' ? 'live' : 'reconnecting…';
      },
      error: (message) => this.showStatus(message, true),
    });
  }

  /** Reads ?user=…&channel=… (or &app=home|messages), wires the controls and connects. */
  start(): void {
    const { els, store } = this;
    const params = new URLSearchParams(location.search);
    store.currentUser = params.get('user') ?? store.currentUser;
    const app = params.get('app');
    if (app === 'home' || app === 'messages') store.location = { kind: 'app', tab: app };
    else store.location = { kind: 'channel', channelId: params.get('channel') ?? 'C_OPS' };

    els.userSwitcher.addEventListener('change', () => this.switchUser(els.userSwitcher.value));
    els.homeTab.addEventListener('click', () => this.openApp('home'));
    els.messagesTab.addEventListener('click', () => this.openApp('messages'));
    els.threadClose.addEventListener('click', () => {
      store.openThread = undefined;
      this.render();
    });
    this.connection.start();
    if (store.location.kind === 'app' && store.location.tab === 'home') void this.openHomeTab();
    this.composer.focus();
  }

  // -------------------------------------------------------------------------------------------
  // PageActions

  selectChannel(id: string): void {
    if (!this.store.channels.has(id)) return;
    this.go({ kind: 'channel', channelId: id });
  }

  openApp(tab?: AppTab): void {
    const { store } = this;
    const chosen = tab ?? (store.unreadCount(store.dmId) > 0 || !store.homeTabEnabled ? 'messages' : 'home');
    this.go({ kind: 'app', tab: chosen });
    // Slack sends app_home_opened each time a tab of the app is entered; the bot republishes then.
    if (chosen === 'home') void this.openHomeTab();
    else openAppTab(store.currentUser, 'messages').catch(() => undefined); // the Messages tab works without the bot
  }

  openThread(channel: string, ts: string): void {
    this.store.openThread = { channel, ts };
    renderThread(this.ctx, this.els);
    this.els.threadMessages.scrollTop = this.els.threadMessages.scrollHeight;
  }

  dismiss(message: WireMessage): void {
    this.store.dismiss(message);
    this.render();
  }

  press(button: Json, surface: Surface, node: HTMLButtonElement): void {
    const go = () => {
      const url = safeUrl(str(button, 'url') ?? '');
      if (url) window.open(url, '_blank', 'noopener,noreferrer');
      // Slack sends the interaction for link buttons too (the app must still ack it).
      void this.click(button, surface, node);
    };
    const confirm = child(button, 'confirm');
    if (confirm) this.confirm.open(confirm, this.ctx, go);
    else go();
  }

  // -------------------------------------------------------------------------------------------

  private go(next: Location): void {
    const { store } = this;
    store.markRead(store.channelId);
    store.location = next;
    if (store.openThread && store.openThread.channel !== store.channelId) store.openThread = undefined;
    store.scrollToBottom = true;
    this.showStatus('');
    this.syncUrl();
    this.render();
    if (store.channelId) this.composer.focus();
  }

  private switchUser(userId: string): void {
    const { store } = this;
    store.markRead(store.channelId);
    store.currentUser = userId;
    this.showStatus('');
    this.syncUrl();
    this.render();
    if (store.location.kind === 'app' && store.location.tab === 'home') void this.openHomeTab();
  }

  private apply(event: StreamEvent): void {
    const { store } = this;
    if (event.type === 'view_published') store.applyView(event);
    // A message in a channel the page has not seen (a DM the app just opened): load the workspace again.
    else if (!store.applyMessage(event)) this.connection.resync();
    this.scheduleRender();
  }

  private async openHomeTab(): Promise<void> {
    const { store } = this;
    const userId = store.currentUser;
    store.home = { state: 'opening' };
    this.scheduleRender();
    let error: string | undefined;
    try {
      const reply = await openAppTab(userId, 'home');
      if (reply.slackError) error = `${reply.slackError}${reply.detail ? `: ${reply.detail}` : ''}`;
    } catch (failure) {
      error = (failure as Error).message;
    }
    if (store.currentUser !== userId) return; // the reader moved on; a newer opening owns the status
    store.home = error ? { state: 'failed', error } : { state: 'opened' };
    this.scheduleRender();
  }

  private async sendLine(line: string): Promise<void> {
    const { store } = this;
    const channelId = store.channelId;
    if (!channelId) return;
    const isCommand = line.startsWith('/');
    const command = isCommand ? line.split(/\s/)[0] : '';
    if (isCommand) this.showStatus(`Sending ${line}…`);
    try {
      const result = await sendCommand({ userId: store.currentUser, channelId, text: line });
      if (result.slackError) this.showStatus(`${command} failed with the error "${result.slackError}"${result.detail ? `: ${result.detail}` : ''}`, true);
      else if (result.kind === 'unknown_command') this.showStatus(`${command} is not a valid command.`, true);
      else {
        this.showStatus(isCommand ? `${command} acknowledged in ${result.ackMs} ms` : '');
        if (result.kind === 'command') this.els.banner.hidden = true; // a bot answered after all
      }
    } catch (error) {
      this.showStatus(`Could not send: ${(error as Error).message}`, true);
    }
  }

  private async click(button: Json, surface: Surface, node: HTMLButtonElement): Promise<void> {
    const { store } = this;
    node.disabled = true;
    node.classList.add('pending');
    const actionId = str(button, 'action_id') ?? '';
    const value = str(button, 'value');
    const request: ClickRequest =
      surface.kind === 'message'
        ? { userId: store.currentUser, channelId: surface.message.channel, messageTs: surface.message.ts, actionId }
        : { userId: surface.userId, surface: 'home', actionId };
    if (value !== undefined) request.value = value;
    try {
      const result = await sendClick(request);
      if (result.slackError) this.showStatus(`${store.botName} did not handle the click: "${result.slackError}"${result.detail ? `: ${result.detail}` : ''}`, true);
      else this.showStatus('');
    } catch (error) {
      this.showStatus(`Click failed: ${(error as Error).message}`, true);
    } finally {
      // The node may already be gone (the message was replaced); re-enable it if it is not.
      node.disabled = false;
      node.classList.remove('pending');
    }
  }

  private showStatus(text: string, isError = false): void {
    const status = this.els.composerStatus;
    status.textContent = text;
    status.classList.toggle('error', isError);
    status.hidden = !text;
  }

  private syncUrl(): void {
    const { store } = this;
    const params = new URLSearchParams(location.search);
    params.delete('channel');
    params.delete('app');
    if (store.location.kind === 'channel') params.set('channel', store.location.channelId);
    else params.set('app', store.location.tab);
    params.set('user', store.currentUser);
    history.replaceState(null, '', `${location.pathname}?${params.toString()}${location.hash}`);
  }

  private renderUserSwitcher(): void {
    const select = this.els.userSwitcher;
    const humans = this.store.humans();
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
    select.value = this.store.currentUser;
  }

  private scheduleRender(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => {
      this.renderQueued = false;
      this.render();
    });
  }

  private render(): void {
    const { ctx, els, store } = this;
    const channelId = store.channelId;
    store.markRead(channelId);
    renderSidebar(ctx, els);
    renderHeader(ctx, els);
    els.messages.hidden = channelId === undefined;
    els.composerForm.hidden = channelId === undefined;
    els.home.hidden = channelId !== undefined;
    if (channelId === undefined) renderHome(ctx, els);
    else renderChannel(channelId, ctx, els);
    renderThread(ctx, els);
    document.title = `${store.location.kind === 'app' ? store.botName : channelLabel(channelId, ctx)} · jobq sandbox`;
  }
}
