/**
 * Identical heavy reads share one execution. When a channel is busy (an incident: ten people
 * type `/jobq stats` within seconds) each copy of the same question would take its own
 * connection and repeat the same index reads; instead, a question already in flight is joined,
 * and an answer finished moments ago is reused for `ttlMs`. The answer then says how old it is.
 * A change made through this process (retry, purge, pause...) forgets every reused answer, so
 * whoever made it sees its effect at once.
 */
export class SharedReads {
  private readonly inflight = new Map<string, Promise<Shared<unknown>>>();
  private readonly recent = new Map<string, Shared<unknown>>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get<T>(key: string, load: () => Promise<T>): Promise<Shared<T>> {
    const done = this.recent.get(key);
    if (done && this.now() - done.at < this.ttlMs) return { ...(done as Shared<T>), reused: true };
    const running = this.inflight.get(key);
    if (running) return { ...((await running) as Shared<T>), reused: true };
    const started = this.now();
    const promise = load().then((value) => ({ value, at: started, reused: false }));
    this.inflight.set(key, promise);
    try {
      const result = await promise;
      if (this.ttlMs > 0 && this.inflight.get(key) === promise) this.remember(key, result);
      return result;
    } finally {
      if (this.inflight.get(key) === promise) this.inflight.delete(key);
    }
  }

  /** After a change: later questions are answered afresh (reads in flight finish for their askers). */
  forget(): void {
    this.recent.clear();
    this.inflight.clear();
  }

  private remember(key: string, result: Shared<unknown>): void {
    // Bounded by the few distinct questions asked within ttlMs; stale entries go on the next write.
    const cutoff = this.now() - this.ttlMs;
    for (const [k, v] of this.recent) if (v.at < cutoff) this.recent.delete(k);
    this.recent.set(key, result);
  }
}

export interface Shared<T> {
  value: T;
  /** When the answer's reads started (ms since the epoch). */
  at: number;
  /** True when this caller got another caller's answer. */
  reused: boolean;
}
