/**
 * How far the failure alert tail is behind: the events past its cursor, and since when the
 * oldest of them has been known. Each observation notes the newest event id when it first grows;
 * the lag in seconds runs from the first noted id the cursor has not passed yet, so it keeps
 * growing between polls (and if the tail stops polling), and drops to zero once it has caught up.
 */
export class TailLag {
  private marks: { id: number; at: number }[] = [];
  private newest = 0;
  private cursor = 0;
  private running = false;

  observe(newest: number, cursor: number, now = Date.now()): void {
    this.running = true;
    if (newest > this.newest) this.marks.push({ id: newest, at: now });
    this.newest = Math.max(this.newest, newest);
    this.cursor = cursor;
    this.marks = this.marks.filter((m) => m.id > cursor);
  }

  /** The tail stopped (this replica no longer leads, or stops): no lag of its own to report. */
  stopped(): void {
    this.running = false;
    this.marks = [];
    this.newest = 0;
    this.cursor = 0;
  }

  events(): number {
    return this.running ? Math.max(0, this.newest - this.cursor) : 0;
  }

  seconds(now = Date.now()): number {
    const oldest = this.marks[0];
    return this.running && oldest ? Math.max(0, (now - oldest.at) / 1000) : 0;
  }
}
