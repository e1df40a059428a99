/**
 * The feedback controller that paces bulk changes (purge, retry-all), in the spirit of gh-ost's
 * and pt-archiver's throttling. Pure: it is told what each batch did and what was measured
 * around it, and answers how big the next batch is and whether to pause first. The measuring
 * lives in pressure.ts, the loop in batches.ts.
 *
 * A batch's rows stay locked until its transaction commits, so its time is its lock hold. Batches
 * grow while they are well under the target time and nobody outside jobq is slowed; they shrink
 * in proportion when one runs over; and when a signal says workers are affected (a session
 * waiting on a lock the batch held, a fetch-like probe much slower than idle, a replica falling
 * behind), they halve and the run backs off, longer each time the signal persists.
 */

export const PAUSE_REASON = {
  lockWait: 'lock wait',
  fetchLatency: 'fetch latency',
  replicaLag: 'replica lag',
} as const;
export type PauseReason = (typeof PAUSE_REASON)[keyof typeof PAUSE_REASON];
const PAUSE_REASONS = Object.values(PAUSE_REASON);

/** What was measured around one batch. */
export interface Pressure {
  /** Sessions that were waiting for a lock the batch held, just before it committed. */
  lockWaiters: number;
  /** Latency of the fetch-like probe while the batch held its locks; null when not measured. */
  probeMs: number | null;
  /** How far the standby is behind; null without one (or when it cannot be read). */
  replicaLagSeconds: number | null;
}

export const NO_PRESSURE: Pressure = { lockWaiters: 0, probeMs: null, replicaLagSeconds: null };

/** What ended a batch's selection: its row limit, the end of its id window, or a given list of ids. */
export type BatchBound = 'rows' | 'span' | 'ids';

export interface BatchObservation {
  /** Rows the batch locked (0: an id window with nothing to do). */
  rows: number;
  bound: BatchBound;
  /** From BEGIN to COMMIT: how long its row locks were held. */
  heldMs: number;
  pressure: Pressure;
}

export interface PacerTuning {
  /** Largest batch (JOBQ_BATCH_SIZE). */
  maxRows: number;
  /** Longest back-off (JOBQ_BATCH_PAUSE_MS); 0 never pauses, batches still shrink. */
  maxPauseMs: number;
  /** Ids one statement starts reading when no index serves the selection; null: the whole range at once. */
  span: number | null;
  /** Lock hold a batch must stay under. */
  targetMs: number;
  startRows: number;
  minRows: number;
  minSpan: number;
  maxSpan: number;
  firstPauseMs: number;
  /** The probe signals when it is this many times its idle latency... */
  probeFactor: number;
  /** ...and at least this much slower in absolute terms (sub-millisecond jitter is not load). */
  probeSlackMs: number;
  /** ...on this many batches in a row (one slow read is noise; load persists). */
  probeStreak: number;
  maxReplicaLagSeconds: number;
}

export const DEFAULT_TUNING: Omit<PacerTuning, 'maxRows' | 'maxPauseMs' | 'span'> = {
  targetMs: 100,
  startRows: 100,
  minRows: 10,
  minSpan: 1_000,
  // A full primary-key window of this many ids stays far under the statement timeout at any size.
  maxSpan: 1_000_000,
  firstPauseMs: 100,
  probeFactor: 2,
  probeSlackMs: 2,
  probeStreak: 2,
  // gh-ost's default --max-lag-millis.
  maxReplicaLagSeconds: 1.5,
};

/** Growth per batch at most; after a signal, only this much for a while, so the pressure does not come straight back. */
const MAX_GROWTH = 2;
const CAUTIOUS_GROWTH = 1.25;
const CAUTIOUS_BATCHES = 8;
/** A batch far over the target shrinks the next to a quarter at most, not to nothing. */
const MAX_SHRINK = 0.25;
/** Decisions kept in the report; a longer run keeps the first ones and counts the rest. */
export const STEPS_KEPT = 1_000;

export type PacingAction = 'grow' | 'hold' | 'shrink' | 'back off';

/** One decision, for the report: what a batch did and what the pacer made of it. */
export interface PacingStep {
  rows: number;
  bound: BatchBound;
  /** The limits the batch ran with. */
  limit: number;
  span: number | null;
  heldMs: number;
  pressure: Pressure;
  action: PacingAction;
  /** A back-off's signal, or 'slow batch' for a shrink. */
  reason: PauseReason | 'slow batch' | null;
  pauseMs: number;
  nextLimit: number;
  nextSpan: number | null;
}

export interface PacerDecision {
  action: PacingAction;
  pauseMs: number;
  reason: PauseReason | null;
}

export interface PacingReport {
  /** Batches that locked rows. */
  batches: number;
  targetMs: number;
  /** Rows per batch: the cap, the first limit, the largest used, and where it settled. */
  maxRows: number;
  firstRows: number;
  largestRows: number;
  finalRows: number;
  /** Longest time one batch held its locks. */
  maxBatchMs: number;
  /** Batches over the target (each shrank the next). */
  slowBatches: number;
  /** Time spent backing off, in all and per signal. */
  pausedMs: number;
  pauses: Record<PauseReason, { count: number; ms: number }>;
  /** The probe's idle latency the fetch-latency signal compares with; null when not measured. */
  probeBaselineMs: number | null;
  steps: PacingStep[];
  /** Decisions past STEPS_KEPT, counted only. */
  stepsLeftOut: number;
}

/** The report without its step log: what the audit entry keeps. */
export type PacingSummary = Omit<PacingReport, 'steps' | 'stepsLeftOut'>;

export class Pacer {
  private readonly tuning: PacerTuning;
  private rows: number;
  private ids: number | null;
  private baselineMs: number | null = null;
  private probeHighStreak = 0;
  private backoffs = 0;
  private cautiousFor = 0;
  private readonly firstRows: number;
  private largestRows = 0;
  private batches = 0;
  private maxBatchMs = 0;
  private slowBatches = 0;
  private readonly pauses = Object.fromEntries(PAUSE_REASONS.map((r) => [r, { count: 0, ms: 0 }])) as Record<PauseReason, { count: number; ms: number }>;
  private readonly steps: PacingStep[] = [];
  private stepsLeftOut = 0;

  constructor(tuning: Pick<PacerTuning, 'maxRows' | 'maxPauseMs' | 'span'> & Partial<PacerTuning>) {
    this.tuning = { ...DEFAULT_TUNING, ...tuning };
    const t = this.tuning;
    // A cap below the usual floor or start is obeyed: the cap wins.
    t.minRows = Math.max(1, Math.min(t.minRows, t.maxRows));
    this.rows = Math.max(t.minRows, Math.min(t.startRows, t.maxRows));
    this.firstRows = this.rows;
    this.ids = t.span === null ? null : clamp(t.span, t.minSpan, t.maxSpan);
  }

  /** Rows the next batch may lock. */
  get limit(): number {
    return this.rows;
  }

  /** Ids the next batch reads; null: up to the end of the range. */
  get span(): number | null {
    return this.ids;
  }

  /**
   * The probe latency that counts as slow; null before any baseline (the probe means nothing
   * then). A batch waits for its probe no longer than this: past it, the answer is known.
   */
  get probeThresholdMs(): number | null {
    const base = this.baselineMs;
    if (base === null) return null;
    return Math.max(base * this.tuning.probeFactor, base + this.tuning.probeSlackMs);
  }

  /** The probe's latency with nothing of this run holding locks: what "unaffected" means now. */
  rebaseline(idleMs: number | null): void {
    if (idleMs !== null) this.baselineMs = idleMs;
    this.probeHighStreak = 0;
  }

  /** Decides the next batch from what this one did. */
  observe(batch: BatchObservation): PacerDecision {
    const t = this.tuning;
    const limit = this.rows;
    const span = this.ids;
    if (batch.rows > 0) {
      this.batches += 1;
      this.largestRows = Math.max(this.largestRows, limit);
      this.maxBatchMs = Math.max(this.maxBatchMs, batch.heldMs);
    }
    const signal = this.signal(batch.pressure);
    let decision: PacerDecision;
    let reason: PacingStep['reason'] = null;
    if (signal) {
      this.backoffs += 1;
      this.cautiousFor = CAUTIOUS_BATCHES;
      this.shrink('rows', 0.5);
      this.shrink('span', 0.5);
      const pauseMs = t.maxPauseMs > 0 ? Math.min(t.maxPauseMs, t.firstPauseMs * 2 ** (this.backoffs - 1)) : 0;
      decision = { action: 'back off', pauseMs, reason: signal };
      reason = signal;
    } else {
      this.backoffs = 0;
      decision = { action: 'hold', pauseMs: 0, reason: null };
      if (batch.heldMs > t.targetMs) {
        if (batch.rows > 0) this.slowBatches += 1;
        this.shrink(batch.bound, Math.max(MAX_SHRINK, this.aimMs / batch.heldMs));
        decision = { action: 'shrink', pauseMs: 0, reason: null };
        reason = 'slow batch';
      } else if (batch.heldMs < this.aimMs && batch.bound !== 'ids') {
        const factor = Math.min(this.cautiousFor > 0 ? CAUTIOUS_GROWTH : MAX_GROWTH, this.aimMs / Math.max(batch.heldMs, 1));
        if (this.grow(batch.bound, factor)) decision = { action: 'grow', pauseMs: 0, reason: null };
      }
      if (this.cautiousFor > 0) this.cautiousFor -= 1;
    }
    this.record({ ...batch, limit, span, action: decision.action, reason, pauseMs: decision.pauseMs, nextLimit: this.rows, nextSpan: this.ids });
    return decision;
  }

  /** Counts a pause as it was actually slept (a stop request cuts it short). */
  paused(reason: PauseReason, ms: number): void {
    this.pauses[reason].count += 1;
    this.pauses[reason].ms += ms;
  }

  report(): PacingReport {
    return { ...this.summary(), steps: [...this.steps], stepsLeftOut: this.stepsLeftOut };
  }

  summary(): PacingSummary {
    const pauses = Object.fromEntries(PAUSE_REASONS.map((r) => [r, { ...this.pauses[r] }])) as PacingReport['pauses'];
    return {
      batches: this.batches,
      targetMs: this.tuning.targetMs,
      maxRows: this.tuning.maxRows,
      firstRows: this.firstRows,
      largestRows: this.largestRows,
      finalRows: this.rows,
      maxBatchMs: this.maxBatchMs,
      slowBatches: this.slowBatches,
      pausedMs: PAUSE_REASONS.reduce((sum, r) => sum + this.pauses[r].ms, 0),
      pauses,
      probeBaselineMs: this.baselineMs,
    };
  }

  /** Half the target: batches vary, and one twice as slow as the last must still fit. */
  private get aimMs(): number {
    return this.tuning.targetMs / 2;
  }

  /** The first signal that trips, most direct first: someone waited on us, the replica fell behind, fetches slowed. */
  private signal(p: Pressure): PauseReason | null {
    const t = this.tuning;
    const threshold = this.probeThresholdMs;
    // Not measured (a window with nothing to lock): the streak neither grows nor ends.
    if (p.probeMs !== null && threshold !== null) this.probeHighStreak = p.probeMs >= threshold ? this.probeHighStreak + 1 : 0;
    if (p.lockWaiters > 0) return PAUSE_REASON.lockWait;
    if (p.replicaLagSeconds !== null && p.replicaLagSeconds > t.maxReplicaLagSeconds) return PAUSE_REASON.replicaLag;
    if (this.probeHighStreak >= t.probeStreak) return PAUSE_REASON.fetchLatency;
    return null;
  }

  /** Scales a limit down: the rows a batch locks, or the ids it reads (a list of ids is bound by its rows). */
  private shrink(bound: BatchBound, factor: number): void {
    const t = this.tuning;
    if (bound === 'span') {
      if (this.ids !== null) this.ids = clamp(Math.floor(this.ids * factor), t.minSpan, t.maxSpan);
    } else {
      this.rows = clamp(Math.floor(this.rows * factor), t.minRows, t.maxRows);
    }
  }

  /** Grows the limit that ended the batch: the other one did not bind, so raising it would say nothing. */
  private grow(bound: 'rows' | 'span', factor: number): boolean {
    const t = this.tuning;
    if (bound === 'rows') {
      const next = clamp(Math.ceil(this.rows * factor), t.minRows, t.maxRows);
      const grew = next > this.rows;
      this.rows = next;
      return grew;
    }
    if (this.ids === null) return false;
    const next = clamp(Math.ceil(this.ids * factor), t.minSpan, t.maxSpan);
    const grew = next > this.ids;
    this.ids = next;
    return grew;
  }

  private record(step: PacingStep): void {
    if (this.steps.length < STEPS_KEPT) this.steps.push(step);
    else this.stepsLeftOut += 1;
  }
}

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));
