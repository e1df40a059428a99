import { describe, expect, it } from 'vitest';
import { type BatchObservation, NO_PRESSURE, Pacer, type PacerTuning, type Pressure, STEPS_KEPT } from '../../src/queue/pacer.js';

/** A pacer as a bulk change builds it, with its caps; the rest of the tuning at its defaults unless given. */
function setup(tuning: Partial<PacerTuning> = {}) {
  const pacer = new Pacer({ maxRows: 5_000, maxPauseMs: 2_000, span: null, ...tuning });
  /** One batch that filled its row limit in `heldMs`, with the pressure measured around it. */
  const full = (heldMs: number, pressure: Partial<Pressure> = {}) => pacer.observe(batch({ rows: pacer.limit, bound: 'rows', heldMs }, pressure));
  return { pacer, full };
}

const batch = (b: Omit<BatchObservation, 'pressure'>, pressure: Partial<Pressure> = {}): BatchObservation => ({ ...b, pressure: { ...NO_PRESSURE, ...pressure } });

describe('pacer', () => {
  it('grows fast batches twofold, and never past the cap', () => {
    const { pacer, full } = setup();
    expect(pacer.limit).toBe(100);
    const limits: number[] = [];
    for (let i = 0; i < 9; i++) {
      expect(full(5)).toEqual({ action: i < 6 ? 'grow' : 'hold', pauseMs: 0, reason: null });
      limits.push(pacer.limit);
    }
    expect(limits).toEqual([200, 400, 800, 1_600, 3_200, 5_000, 5_000, 5_000, 5_000]);
    expect(pacer.report()).toMatchObject({ batches: 9, firstRows: 100, largestRows: 5_000, finalRows: 5_000, maxRows: 5_000, pausedMs: 0, slowBatches: 0 });
  });

  it('grows in proportion to the room left under half the target, and holds between half and the whole target', () => {
    const { pacer, full } = setup();
    full(40); // 50 / 40
    expect(pacer.limit).toBe(125);
    expect(full(70)).toMatchObject({ action: 'hold' });
    expect(full(100)).toMatchObject({ action: 'hold' });
    expect(pacer.limit).toBe(125);
  });

  it('shrinks the batch after a slow one, in proportion, to a quarter at most, without pausing', () => {
    const { pacer, full } = setup({ startRows: 1_000 });
    expect(full(125)).toEqual({ action: 'shrink', pauseMs: 0, reason: null });
    expect(pacer.limit).toBe(400); // 1,000 × 50 / 125
    full(10_000);
    expect(pacer.limit).toBe(100);
    const report = pacer.report();
    expect(report).toMatchObject({ slowBatches: 2, maxBatchMs: 10_000, pausedMs: 0 });
    expect(report.steps.map((s) => [s.limit, s.action, s.reason, s.nextLimit])).toEqual([
      [1_000, 'shrink', 'slow batch', 400],
      [400, 'shrink', 'slow batch', 100],
    ]);
  });

  it('backs off when a session waits on the batch: halves it, pauses longer while the waits go on, never past the pause cap', () => {
    const { pacer, full } = setup({ startRows: 1_600, maxPauseMs: 300 });
    const pauses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const d = full(5, { lockWaiters: 1 });
      expect(d).toMatchObject({ action: 'back off', reason: 'lock wait' });
      pauses.push(d.pauseMs);
    }
    expect(pauses).toEqual([100, 200, 300, 300]);
    expect(pacer.limit).toBe(100);
    // Unaffected again: the next signal starts the back-off over.
    full(5);
    expect(full(5, { lockWaiters: 2 }).pauseMs).toBe(100);
  });

  it('grows cautiously for a while after a back-off, then fully again', () => {
    const { pacer, full } = setup({ startRows: 1_000 });
    full(5, { lockWaiters: 1 });
    expect(pacer.limit).toBe(500);
    const limits: number[] = [];
    for (let i = 0; i < 9; i++) {
      full(5);
      limits.push(pacer.limit);
    }
    expect(limits).toEqual([625, 782, 978, 1_223, 1_529, 1_912, 2_390, 2_988, 5_000]);
  });

  it('never goes below the floor, and a cap below the floor is obeyed', () => {
    const { pacer, full } = setup();
    for (let i = 0; i < 20; i++) full(5_000, { lockWaiters: 1 });
    expect(pacer.limit).toBe(10);
    const tiny = setup({ maxRows: 3 });
    expect(tiny.pacer.limit).toBe(3);
    tiny.full(1);
    expect(tiny.pacer.limit).toBe(3);
    tiny.full(1_000);
    expect(tiny.pacer.limit).toBe(3);
  });

  it('backs off on a slow probe only when it stays slow, and ignores sub-millisecond jitter', () => {
    const { pacer, full } = setup();
    expect(pacer.probeThresholdMs).toBeNull();
    pacer.rebaseline(1);
    expect(pacer.probeThresholdMs).toBe(3); // twice idle, and at least 2 ms more
    pacer.rebaseline(4);
    expect(pacer.probeThresholdMs).toBe(8);
    pacer.rebaseline(1);
    expect(full(5, { probeMs: 5 }).action).toBe('grow'); // once: noise
    expect(full(5, { probeMs: 1.2 }).action).toBe('grow');
    expect(full(5, { probeMs: 5 }).action).toBe('grow');
    // A window with nothing to lock measures nothing: the streak neither grows nor ends.
    pacer.observe(batch({ rows: 0, bound: 'span', heldMs: 1 }));
    expect(full(5, { probeMs: 6 })).toMatchObject({ action: 'back off', reason: 'fetch latency', pauseMs: 100 });

    const jitter = setup();
    jitter.pacer.rebaseline(0.2);
    for (let i = 0; i < 5; i++) expect(jitter.full(5, { probeMs: 1.5 }).action).not.toBe('back off'); // 7.5 times, but 1.3 ms
    // Without a baseline the probe means nothing.
    const unmeasured = setup();
    for (let i = 0; i < 3; i++) expect(unmeasured.full(5, { probeMs: 500 }).action).not.toBe('back off');
  });

  it('a new idle baseline ends the slow-probe streak: load that is there without the run is not the run’s', () => {
    const { pacer, full } = setup();
    pacer.rebaseline(1);
    full(5, { probeMs: 8 });
    pacer.rebaseline(7);
    expect(full(5, { probeMs: 8 }).action).toBe('grow');
    expect(full(5, { probeMs: 8 }).action).toBe('grow');
    expect(pacer.report().probeBaselineMs).toBe(7);
  });

  it('backs off while the replica is behind', () => {
    const { full } = setup();
    expect(full(5, { replicaLagSeconds: 1 }).action).toBe('grow');
    expect(full(5, { replicaLagSeconds: 3 })).toMatchObject({ action: 'back off', reason: 'replica lag' });
  });

  it('with no pause allowed still shrinks on a signal, and says why', () => {
    const { pacer, full } = setup({ maxPauseMs: 0, startRows: 400 });
    expect(full(5, { lockWaiters: 1 })).toEqual({ action: 'back off', pauseMs: 0, reason: 'lock wait' });
    expect(pacer.limit).toBe(200);
  });

  it('grows the id window when the window ended the batch, the rows when the limit did', () => {
    const { pacer } = setup({ span: 50_000 });
    pacer.observe(batch({ rows: 30, bound: 'span', heldMs: 5 }));
    expect([pacer.limit, pacer.span]).toEqual([100, 100_000]);
    pacer.observe(batch({ rows: 100, bound: 'rows', heldMs: 5 }));
    expect([pacer.limit, pacer.span]).toEqual([200, 100_000]);
    // A slow window shrinks the window; a signal halves both.
    pacer.observe(batch({ rows: 30, bound: 'span', heldMs: 200 }));
    expect([pacer.limit, pacer.span]).toEqual([200, 25_000]);
    pacer.observe(batch({ rows: 30, bound: 'span', heldMs: 5 }, { lockWaiters: 1 }));
    expect([pacer.limit, pacer.span]).toEqual([100, 12_500]);
    for (let i = 0; i < 40; i++) pacer.observe(batch({ rows: 0, bound: 'span', heldMs: 1 }));
    expect(pacer.span).toBe(1_000_000);
    for (let i = 0; i < 40; i++) pacer.observe(batch({ rows: 0, bound: 'span', heldMs: 1_000 }));
    expect(pacer.span).toBe(1_000);
  });

  it('does not grow on a batch over a given list of ids, and counts only batches that locked rows', () => {
    const { pacer } = setup();
    expect(pacer.observe(batch({ rows: 7, bound: 'ids', heldMs: 1 })).action).toBe('hold');
    pacer.observe(batch({ rows: 0, bound: 'span', heldMs: 300 }));
    expect(pacer.report()).toMatchObject({ batches: 1, maxBatchMs: 1, slowBatches: 0 });
  });

  it('reports pauses as slept, per signal, and keeps a bounded log of decisions', () => {
    const { pacer, full } = setup();
    pacer.paused('lock wait', 90);
    pacer.paused('lock wait', 10);
    pacer.paused('replica lag', 400);
    for (let i = 0; i < STEPS_KEPT + 5; i++) full(70);
    const report = pacer.report();
    expect(report.pausedMs).toBe(500);
    expect(report.pauses).toEqual({ 'lock wait': { count: 2, ms: 100 }, 'fetch latency': { count: 0, ms: 0 }, 'replica lag': { count: 1, ms: 400 } });
    expect(report.steps).toHaveLength(STEPS_KEPT);
    expect(report.stepsLeftOut).toBe(5);
  });
});
