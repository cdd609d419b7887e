import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../coordination/index.js';
import { WorkQueue } from './work-queue.js';

describe('WorkQueue', () => {
  it('queues a key once and hands it to one worker at a time; an add while processing re-queues after done', async () => {
    const q = new WorkQueue<'a' | 'b'>();
    const signal = new AbortController().signal;
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.length).toBe(2);
    expect(await q.get(signal)).toBe('a');
    q.add('a'); // while processing: deferred
    expect(await q.get(signal)).toBe('b');
    expect(q.length).toBe(0);
    q.done('a');
    expect(await q.get(signal)).toBe('a');
  });

  it('delays adds and backs off failures exponentially per key until forget', async () => {
    const clock = new SimulatedClock();
    const q = new WorkQueue<'plan'>({ baseDelayMs: 100, maxDelayMs: 350 }, clock);
    const signal = new AbortController().signal;
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const before = clock.now();
      q.addRateLimited('plan');
      const key = await clock.run(q.get(signal));
      delays.push(clock.now() - before);
      q.done(key);
    }
    expect(delays).toEqual([100, 200, 350, 350]);
    expect(q.numRequeues('plan')).toBe(4);
    q.forget('plan');
    expect(q.nextBackoff('plan')).toBe(100);

    const before = clock.now();
    q.addAfter('plan', 1_000);
    q.addAfter('plan', 300); // the earlier one wins
    await clock.run(q.get(signal));
    expect(clock.now() - before).toBe(300);
  });

  it('rejects waiting workers on abort and on shutdown', async () => {
    const q = new WorkQueue();
    const ac = new AbortController();
    const waiting = q.get(ac.signal);
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    const other = q.get(new AbortController().signal);
    q.shutDown();
    await expect(other).rejects.toMatchObject({ name: 'AbortError' });
    q.add('x');
    expect(q.length).toBe(0);
  });
});
