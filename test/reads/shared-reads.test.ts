import { describe, expect, it } from 'vitest';
import { SharedReads } from '../../src/queue/shared-reads.js';

/** The sharing rules on their own, with a clock the test moves. */
describe('SharedReads', () => {
  const clock = () => {
    let t = 1_000_000;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };
  const gate = () => {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    return { opened, open };
  };

  it('joins a question in flight: one load for many askers, only the first is not marked reused', async () => {
    const c = clock();
    const shared = new SharedReads(5_000, c.now);
    const g = gate();
    let loads = 0;
    const load = async () => {
      loads++;
      await g.opened;
      return { answer: 42 };
    };
    const asks = [shared.get('stats', load), shared.get('stats', load), shared.get('stats', load)];
    g.open();
    const results = await Promise.all(asks);
    expect(loads).toBe(1);
    expect(results.map((r) => r.reused)).toEqual([false, true, true]);
    expect(new Set(results.map((r) => r.value)).size).toBe(1);
  });

  it('reuses a finished answer within the window, reads afresh after it, and keeps different questions apart', async () => {
    const c = clock();
    const shared = new SharedReads(5_000, c.now);
    let loads = 0;
    const load = async () => ++loads;
    expect((await shared.get('a', load)).value).toBe(1);
    c.advance(4_999);
    const reused = await shared.get('a', load);
    expect(reused).toEqual({ value: 1, at: 1_000_000, reused: true });
    expect((await shared.get('b', load)).value).toBe(2);
    c.advance(1);
    expect(await shared.get('a', load)).toEqual({ value: 3, at: 1_004_999 + 1, reused: false });
  });

  it('forgets every answer after a change, and never keeps a failure', async () => {
    const c = clock();
    const shared = new SharedReads(5_000, c.now);
    let loads = 0;
    await shared.get('a', async () => ++loads);
    shared.forget();
    expect((await shared.get('a', async () => ++loads)).value).toBe(2);
    await expect(shared.get('x', async () => Promise.reject(new Error('statement timeout')))).rejects.toThrow('statement timeout');
    expect((await shared.get('x', async () => 'ok')).value).toBe('ok');
  });

  it('with a zero window only joins reads still running', async () => {
    const shared = new SharedReads(0);
    let loads = 0;
    await shared.get('a', async () => ++loads);
    await shared.get('a', async () => ++loads);
    expect(loads).toBe(2);
  });
});
