import type { PageElements } from './dom.js';
import { emojize } from './emoji.js';
import { textOf, type Json } from './json.js';
import { renderText } from './mrkdwn.js';
import type { RenderContext } from './render-context.js';

/** The confirm dialog of a Block Kit button: its title, text and labels, as Slack shows them. */
export class ConfirmDialog {
  private pending: (() => void) | undefined;

  constructor(private readonly els: PageElements) {
    els.confirmOk.addEventListener('click', () => this.close(true));
    els.confirmCancel.addEventListener('click', () => this.close(false));
    els.confirmOverlay.addEventListener('click', (event) => {
      if (event.target === els.confirmOverlay) this.close(false);
    });
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.isOpen) this.close(false);
    });
  }

  get isOpen(): boolean {
    return !this.els.confirmOverlay.hidden;
  }

  open(confirm: Json, ctx: RenderContext, onConfirm: () => void): void {
    const { els } = this;
    els.confirmTitle.textContent = emojize(textOf(confirm, 'title') ?? 'Are you sure?');
    els.confirmText.replaceChildren(renderText(typeof confirm.text === 'object' && confirm.text !== null ? (confirm.text as Json) : { type: 'plain_text', text: '' }, ctx));
    els.confirmOk.textContent = emojize(textOf(confirm, 'confirm') ?? 'Yes');
    els.confirmOk.className = `btn ${confirm.style === 'danger' ? 'btn-danger' : 'btn-primary'}`;
    els.confirmCancel.textContent = emojize(textOf(confirm, 'deny') ?? 'Cancel');
    this.pending = onConfirm;
    els.confirmOverlay.hidden = false;
    els.confirmOk.focus();
  }

  private close(run: boolean): void {
    const action = this.pending;
    this.pending = undefined;
    this.els.confirmOverlay.hidden = true;
    if (run && action) action();
  }
}
