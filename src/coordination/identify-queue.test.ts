import type { WebSocketManager } from '@discordjs/ws';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logging/logger.js';
import { SimulatedClock } from './clock.js';
import { IdentifyBudgetExhaustedError } from './errors.js';
import { identifyThrottler } from './identify-queue.js';
import { MemoryHub, createMemoryCoordination } from './memory/index.js';

describe('identifyThrottler (the @discordjs/ws adapter)', () => {
  it('syncs from GET /gateway/bot and, when the breaker trips, waits for the daily reset instead of throwing', async () => {
    const clock = new SimulatedClock();
    const c = createMemoryCoordination({
      hub: new MemoryHub(clock),
      log: silentLogger(),
      identify: { reserve: 1 },
    });
    const manager = {
      fetchGatewayInformation: async () => ({
        url: 'wss://gateway.test',
        shards: 2,
        session_start_limit: { total: 100, remaining: 2, reset_after: 600_000, max_concurrency: 2 },
      }),
    } as unknown as WebSocketManager;
    const tripped: number[] = [];
    const throttler = await identifyThrottler(c.identify, {
      clock,
      onBudgetExhausted: (err, shardId) => {
        expect(err).toBeInstanceOf(IdentifyBudgetExhaustedError);
        tripped.push(shardId);
      },
    })(manager);
    expect(await c.identify.budget()).toMatchObject({ remaining: 2, total: 100 });

    await clock.run(throttler.waitForIdentify(0, new AbortController().signal));
    const second = throttler.waitForIdentify(1, new AbortController().signal).then(() => clock.now());
    const identifiedAt = await clock.run(second);
    expect(tripped).toEqual([1]);
    expect(identifiedAt).toBeGreaterThanOrEqual(600_000); // only after the reset
    expect(await c.identify.budget()).toMatchObject({ remaining: 99 }); // re-created from the total
  });

  it('stays abortable while waiting for the reset', async () => {
    const clock = new SimulatedClock();
    const c = createMemoryCoordination({
      hub: new MemoryHub(clock),
      log: silentLogger(),
      identify: { reserve: 5 },
    });
    await c.identify.sync({ total: 100, remaining: 5, reset_after: 600_000, max_concurrency: 1 });
    const throttler = await identifyThrottler(c.identify, { clock })({
      fetchGatewayInformation: async () => ({
        session_start_limit: { total: 100, remaining: 5, reset_after: 600_000, max_concurrency: 1 },
      }),
    } as unknown as WebSocketManager);
    const ac = new AbortController();
    const waiting = throttler.waitForIdentify(0, ac.signal);
    await clock.advance(1_000);
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
  });
});
