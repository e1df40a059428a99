/** Small statistics over measured times, in milliseconds. */

export interface Spread {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export const median = (values: readonly number[]) => percentile(values, 50);

export function spread(values: readonly number[]): Spread {
  return { n: values.length, p50: percentile(values, 50), p99: percentile(values, 99), max: values.length ? Math.max(...values) : Number.NaN };
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

/** One warm-up run (caches, plans, connections), then the median of `runs` timed runs. */
export async function medianOf(runs: number, fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push((await timed(fn)).ms);
  return median(times);
}

/** Peak resident set size while sections run, sampled; the OS's own peak comes from resourceUsage. */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private sectionPeak = 0;
  readonly sections: Record<string, number> = {};

  start(): void {
    this.timer = setInterval(() => this.sample(), 200);
    this.timer.unref();
  }

  /** Ends the current section under `name`, with its peak in MiB. */
  mark(name: string): void {
    this.sample();
    this.sections[name] = mib(this.sectionPeak);
    this.sectionPeak = 0;
  }

  stop(): { peakMib: number; sections: Record<string, number> } {
    clearInterval(this.timer);
    return { peakMib: Math.round(process.resourceUsage().maxRSS / 1024), sections: this.sections };
  }

  private sample(): void {
    this.sectionPeak = Math.max(this.sectionPeak, process.memoryUsage().rss);
  }
}

const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);
