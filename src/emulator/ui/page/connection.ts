import { fetchSnapshot } from './api.js';
import type { Snapshot, StreamEvent } from './wire.js';

/**
 * The live link to the emulator: a snapshot of the workspace on every (re)connection, then the
 * changes streamed over /ui/events. Changes that arrive while a snapshot loads are replayed on
 * top of it in order, so none is lost to the race.
 */

export interface ConnectionHandlers {
  snapshot(snapshot: Snapshot): void;
  event(event: StreamEvent): void;
  state(state: 'live' | 'connecting' | 'down'): void;
  error(message: string): void;
}

export class LiveConnection {
  /** Events held back while a snapshot is loading; undefined when none is. */
  private pending: StreamEvent[] | undefined;

  constructor(private readonly handlers: ConnectionHandlers) {}

  start(): void {
    const events = new EventSource('/ui/events');
    events.addEventListener('open', () => {
      this.handlers.state('live');
      // Changes made while disconnected are in the snapshot.
      this.resync();
    });
    events.addEventListener('message', (message: MessageEvent<string>) => {
      let event: StreamEvent;
      try {
        event = JSON.parse(message.data) as StreamEvent;
      } catch (error) {
        console.error('bad event', error);
        return;
      }
      if (this.pending) this.pending.push(event);
      else this.handlers.event(event);
    });
    events.addEventListener('error', () => this.handlers.state(events.readyState === EventSource.CLOSED ? 'down' : 'connecting'));
  }

  /** Loads the workspace again (a load already in flight will include what prompted this one). */
  resync(): void {
    if (this.pending) return;
    this.pending = [];
    fetchSnapshot()
      .then((snapshot) => {
        this.handlers.snapshot(snapshot);
        for (const event of this.pending ?? []) this.handlers.event(event);
      })
      .catch((error: unknown) => this.handlers.error(`Could not load the workspace: ${(error as Error).message}`))
      .finally(() => {
        this.pending = undefined;
      });
  }
}
