import type { Json } from './json.js';
import type { AppTab, Store } from './store.js';
import type { WireMessage } from './wire.js';

/** Where blocks are shown: in a message, or in a user's Home tab. Clicks report it to the app. */
export type Surface = { kind: 'message'; message: WireMessage } | { kind: 'home'; userId: string };

/** What rendered nodes may ask the page to do when the reader interacts with them. */
export interface PageActions {
  selectChannel(id: string): void;
  /** Opens the app: the given tab, or the one that suits (Messages when its DM has news). */
  openApp(tab?: AppTab): void;
  openThread(channel: string, ts: string): void;
  dismiss(message: WireMessage): void;
  /** A Block Kit button was pressed (its confirm dialog, if any, not yet shown). */
  press(button: Json, surface: Surface, node: HTMLButtonElement): void;
}

/** Handed to every renderer: what to read, and whom to tell. */
export interface RenderContext {
  readonly store: Store;
  readonly actions: PageActions;
}
