import { describe, expect, it } from 'vitest';
import { SimulatedClock, systemClock } from './clock.js';

describe('SimulatedClock', () => {
  it('fires timers in time order as time advances, without real waiting', async () => {
    const clock = new SimulatedClock(1_000);
    const fired: string[] = [];
    void clock.sleep(300).then(() => fired.push(`b@${clock.now()}`));
    void clock.sleep(100).then(() => fired.push(`a@${clock.now()}`));
    void clock.sleep(5_000).then(() => fired.push(`c@${clock.now()}`));
    await clock.advance(299);
    expect(fired).toEqual(['a@1100']);
    expect(clock.now()).toBe(1_299);
    await clock.advance(1);
    expect(fired).toEqual(['a@1100', 'b@1300']);
    expect(clock.pendingTimers).toBe(1);
  });

  it('run() jumps from timer to timer until the promise settles, including chained sleeps', async () => {
    const clock = new SimulatedClock();
    const started = Date.now();
    const done = (async () => {
      for (let i = 0; i < 100; i++) await clock.sleep(5_000);
      return clock.now();
    })();
    expect(await clock.run(done)).toBe(500_000);
    expect(Date.now() - started).toBeLessThan(5_000); // 500 simulated seconds, no real waiting
  });

  it('aborting a sleep rejects it with AbortError and cancels the timer', async () => {
    const clock = new SimulatedClock();
    const ac = new AbortController();
    const p = clock.sleep(1_000, ac.signal);
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(clock.pendingTimers).toBe(0);
    await expect(clock.sleep(1, ac.signal)).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('run() reports a deadlock instead of spinning forever', async () => {
    const clock = new SimulatedClock();
    await expect(clock.run(new Promise(() => undefined))).rejects.toThrow(/deadlock/);
  });
});

describe('systemClock', () => {
  it('sleeps in real time and honours abort', async () => {
    const t0 = Date.now();
    await systemClock.sleep(20);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(15);
    const ac = new AbortController();
    const p = systemClock.sleep(10_000, ac.signal);
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });
});
