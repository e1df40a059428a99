import type { Logger } from './log.js';

/**
 * One lifecycle for every loop jobq runs in the background (the failure tail, health checks,
 * leadership, pruning, the database watcher), in the spirit of River's startstop: start, a round
 * every interval, backoff after a failing round, a synchronous halt, and a stop that waits for
 * the round in progress. Errors are reported here, once per distinct message until it changes,
 * so a loop that keeps failing does not flood the log and one that recovers says so.
 */
export interface BackgroundTask {
  /** Starts the rounds (the first after `firstDelayMs`, default at once). Idempotent. */
  start(firstDelayMs?: number): void;
  /** No further round from now on, synchronously (a leader that lost its lease must stop posting now). */
  halt(): void;
  /** Halts and waits for the round in progress to end. */
  stop(): Promise<void>;
  /** Runs the next round now instead of at its time (no effect while halted or mid-round). */
  wake(): void;
  readonly active: boolean;
}

/** What a round may ask for: the delay before the next one, or to end the loop. */
export type RoundResult = number | 'done' | undefined;

export interface BackgroundTaskOptions {
  /** Names the loop in the log. */
  name: string;
  log: Logger;
  /** One round. May return the delay before the next round (ms), or 'done'. */
  round: () => Promise<RoundResult | undefined> | Promise<void>;
  /** The usual delay between rounds. */
  intervalMs: number;
  /** After failing rounds the delay doubles from intervalMs up to this (default intervalMs: no backoff). */
  maxBackoffMs?: number;
  /** The level a failing round is reported at (default warn). */
  failureLevel?: 'warn' | 'error' | 'info' | 'debug';
}

export function backgroundTask(options: BackgroundTaskOptions): BackgroundTask {
  const { log, name } = options;
  const maxBackoff = Math.max(options.intervalMs, options.maxBackoffMs ?? options.intervalMs);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let active = false;
  let failures = 0;
  let lastError: string | null = null;

  function schedule(delay: number): void {
    if (!active) return;
    clearTimeout(timer);
    timer = setTimeout(runRound, Math.max(0, delay));
    timer.unref();
  }

  function runRound(): void {
    if (!active || running) return;
    timer = undefined;
    running = (async () => {
      let next: number;
      try {
        const result = await options.round();
        if (lastError !== null) log.info({ task: name, after: failures }, `${name}: working again`);
        failures = 0;
        lastError = null;
        if (result === 'done') {
          active = false;
          return;
        }
        next = typeof result === 'number' ? result : options.intervalMs;
      } catch (error) {
        failures++;
        const message = error instanceof Error ? error.message : String(error);
        next = Math.min(maxBackoff, options.intervalMs * 2 ** Math.min(failures - 1, 20));
        if (message !== lastError) log[options.failureLevel ?? 'warn']({ err: error, task: name, retryInMs: next }, `${name} failed; retrying`);
        else log.debug({ err: error, task: name, failures, retryInMs: next }, `${name} failed again`);
        lastError = message;
      } finally {
        running = undefined;
      }
      schedule(next);
    })();
  }

  const halt = () => {
    active = false;
    clearTimeout(timer);
    timer = undefined;
  };

  return {
    start(firstDelayMs = 0) {
      if (active) return;
      active = true;
      schedule(firstDelayMs);
    },
    halt,
    async stop() {
      halt();
      await running;
    },
    wake() {
      if (active && !running) schedule(0);
    },
    get active() {
      return active;
    },
  };
}
