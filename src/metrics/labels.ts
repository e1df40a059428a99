/**
 * A label whose values are kept to a bounded set: the first `max` distinct values are reported
 * as they are, every later one as `overflow`. First come stays (a series never changes name
 * while jobq runs), so a queue created after the cap is reached shows under the overflow value.
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();

  constructor(
    readonly max: number,
    readonly overflow: string,
    /** Called once for each value admitted (to start its series at zero). */
    private readonly onAdmit?: (value: string) => void,
  ) {}

  value(raw: string): string {
    if (this.seen.has(raw)) return raw;
    if (this.seen.size >= this.max) {
      if (!this.seen.has(this.overflow)) this.admit(this.overflow);
      return this.overflow;
    }
    this.admit(raw);
    return raw;
  }

  /** The values admitted so far (overflow included once used). */
  values(): string[] {
    return [...this.seen];
  }

  private admit(value: string): void {
    this.seen.add(value);
    this.onAdmit?.(value);
  }
}
