import type { Actor } from '../queue/actor.js';

/** Who asks, as the front knows them. */
export interface Caller {
  actor: Actor;
  /** Throws a `forbidden` JobqError when this caller may not change the queue. */
  assertMayWrite(): Promise<void>;
  /** JOB_QUEUE_ENABLED: false is the emergency stop. */
  writesEnabled: boolean;
  /** Resolves once jobq's own schema is ready (audit, silences, confirmations). */
  migrated(): Promise<void>;
}
