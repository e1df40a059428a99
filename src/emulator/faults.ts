/**
 * Injected failures. A test queues what the next call to a method should suffer; the server asks
 * here before doing any real work. Method names are Web API methods, 'response_url' for posts to
 * response URLs, or '*' for whichever comes next.
 */
export interface Fault {
  /** HTTP status to answer with. 429 carries Retry-After (retryAfter, default 1 s). */
  status?: number;
  /** Seconds for the Retry-After header of a 429. */
  retryAfter?: number;
  /** Raw response body for a non-200 status (default: a JSON error). */
  body?: string;
  /** Never answer; the request stays open until the client gives up or the emulator closes. */
  hang?: boolean;
  /** Answer HTTP 200 {ok:false, error} as Slack does for platform errors (channel_not_found, ...). */
  error?: string;
  /** Wait this long, then answer (normally, or with the other fields of this fault). */
  delayMs?: number;
}

export interface RateLimit {
  perSecond: number;
  retryAfter?: number;
}

export class FaultInjector {
  private readonly queued = new Map<string, Fault[]>();
  private readonly limits = new Map<string, RateLimit>();
  private readonly recent = new Map<string, number[]>();

  /** One-shot: the next call to `method` suffers this fault. Calls queue up in order. */
  next(method: string, fault: Fault): this {
    const list = this.queued.get(method) ?? [];
    list.push(fault);
    this.queued.set(method, list);
    return this;
  }

  /** Answers 429 once `method` has been called more than perSecond times in the last second; null lifts it. */
  rateLimit(method: string, limit: RateLimit | null): this {
    if (limit) this.limits.set(method, limit);
    else this.limits.delete(method);
    this.recent.delete(method);
    return this;
  }

  /** Queued faults not yet consumed (for a method, or all). */
  pending(method?: string): number {
    if (method) return this.queued.get(method)?.length ?? 0;
    return [...this.queued.values()].reduce((n, list) => n + list.length, 0);
  }

  clear(): void {
    this.queued.clear();
    this.limits.clear();
    this.recent.clear();
  }

  /** The fault this call must suffer, if any; consumes one-shot faults. */
  take(method: string, now = Date.now()): Fault | undefined {
    for (const key of [method, '*']) {
      const list = this.queued.get(key);
      const fault = list?.shift();
      if (fault) return fault;
    }
    const limit = this.limits.get(method) ?? this.limits.get('*');
    if (!limit) return undefined;
    const key = this.limits.has(method) ? method : '*';
    const window = (this.recent.get(key) ?? []).filter((at) => now - at < 1000);
    if (window.length >= limit.perSecond) {
      this.recent.set(key, window);
      return { status: 429, retryAfter: limit.retryAfter ?? 1 };
    }
    window.push(now);
    this.recent.set(key, window);
    return undefined;
  }
}

/** Short label for the call log, e.g. "429 retry-after 1", "hang", "error channel_not_found". */
export function describeFault(fault: Fault): string {
  const parts: string[] = [];
  if (fault.delayMs !== undefined) parts.push(`delay ${fault.delayMs}ms`);
  if (fault.hang) parts.push('hang');
  if (fault.status !== undefined) parts.push(fault.status === 429 ? `429 retry-after ${fault.retryAfter ?? 1}` : String(fault.status));
  if (fault.error) parts.push(`error ${fault.error}`);
  return parts.join(', ') || 'none';
}
