import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../coordination/clock.js';
import { InstanceScheduler } from './scheduler.js';

describe('InstanceScheduler', () => {
  it('runs timeouts and intervals on the clock and stops everything on dispose', async () => {
    const clock = new SimulatedClock();
    const errors: unknown[] = [];
    const s = new InstanceScheduler(clock, (err) => errors.push(err));
    const fired: string[] = [];
    s.setTimeout(() => fired.push(`once@${clock.now()}`), 100);
    const cancelled = s.setTimeout(() => fired.push('cancelled'), 50);
    s.setInterval(() => fired.push(`tick@${clock.now()}`), 40);
    s.setTimeout(() => {
      throw new Error('boom');
    }, 10);
    cancelled.cancel();
    expect(s.pending).toBe(3);

    await clock.advance(130);
    expect(fired).toEqual(['tick@40', 'tick@80', 'once@100', 'tick@120']);
    expect(errors).toHaveLength(1);

    s.dispose();
    expect(s.signal.aborted).toBe(true);
    expect(s.pending).toBe(0);
    s.setTimeout(() => fired.push('after dispose'), 1);
    await clock.advance(500);
    expect(fired).toHaveLength(4);
    expect(clock.pendingTimers).toBe(0);
  });
});
