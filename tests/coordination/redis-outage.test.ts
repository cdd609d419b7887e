import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Coordination } from '../../src/coordination/coordination.js';
import { CoordinationUnavailableError } from '../../src/coordination/errors.js';
import type { WebSocketManager } from '@discordjs/ws';
import { createCoordination, identifyThrottler } from '../../src/coordination/index.js';
import { silentLogger } from '../../src/logging/logger.js';
import { freePort } from '../helpers/ports.js';
import { RedisServer } from '../helpers/redis-server.js';

// Bounds under test: with commandTimeoutMs = 1000 every call must settle well within BOUND_MS while
// Redis is dead (the only timing asserted here is "does not hang").
const COMMAND_TIMEOUT_MS = 1_000;
const BOUND_MS = 4_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function failsFast(op: () => Promise<unknown>): Promise<CoordinationUnavailableError> {
  const started = Date.now();
  const err = await op().then(
    () => new Error('expected the operation to fail while Redis is down'),
    (e: unknown) => e,
  );
  expect(Date.now() - started).toBeLessThan(BOUND_MS);
  expect(err).toBeInstanceOf(CoordinationUnavailableError);
  expect(err).toMatchObject({ code: 'coordination_unavailable', status: 503 });
  return err as CoordinationUnavailableError;
}

async function eventually<T>(op: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (!(err instanceof CoordinationUnavailableError) || Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

describe('redis outage: bounded typed failures, recovery after restart', () => {
  let server: RedisServer;
  let c: Coordination;

  beforeAll(async () => {
    server = await RedisServer.start();
    c = await createCoordination({
      redisUrl: server.url,
      keyPrefix: 'outage:',
      log: silentLogger(),
      redis: { commandTimeoutMs: COMMAND_TIMEOUT_MS, maxBlockMs: 1_000 },
      sessions: { flushIntervalMs: 60_000 },
    });
  });
  afterAll(async () => {
    await c.close();
    await server.stop();
  });

  it('createCoordination against an unreachable Redis fails with the typed error instead of hanging', async () => {
    const port = await freePort();
    await failsFast(() =>
      createCoordination({
        redisUrl: `redis://127.0.0.1:${port}`,
        keyPrefix: 'x:',
        log: silentLogger(),
        redis: { commandTimeoutMs: COMMAND_TIMEOUT_MS },
      }),
    );
  });

  it('every operation fails fast while Redis is down and works again after it restarts (empty)', async () => {
    const lease = await c.leases.acquire(1, 0, 'pod-a', 60_000);
    const log = c.eventLog<number>('events');
    await log.append([1, 2, 3]);
    expect((await log.read('w', { count: 10, blockMs: 0 })).flatMap((e) => e.events)).toEqual([1, 2, 3]);
    const received: unknown[] = [];
    await c.pubsub.subscribe('ch', (m) => void received.push(m));
    const limit = { total: 1000, remaining: 900, reset_after: 60_000, max_concurrency: 4 };
    const fakeManager = { fetchGatewayInformation: async () => ({ session_start_limit: limit }) };
    const throttler = await identifyThrottler(c.identify, { maxRetryDelayMs: 500 })(
      fakeManager as unknown as WebSocketManager,
    );

    await server.kill();
    // The @discordjs/ws adapter keeps waiting (with backoff) instead of failing the shard's identify.
    let adapterDone = false;
    const adapterWait = throttler
      .waitForIdentify(3, new AbortController().signal)
      .then(() => (adapterDone = true));
    expect(await c.ping()).toBe(false);

    await failsFast(() => c.leases.renew(1, 0, 'pod-a', lease!.epoch, 60_000));
    await failsFast(() => c.cache.getOrLoad('k', 1_000, ['t'], async () => 1));
    await failsFast(() => c.pubsub.publish('ch', { n: 1 }));
    await failsFast(() => c.plans.get());
    await failsFast(() => c.rateLimits.acquire('global', 50, 1_000));
    await failsFast(() => log.append([4]));
    await failsFast(() => log.ack(['1-0']));
    const readErr = await log.read('w', { count: 10, blockMs: 500 }).then(
      (r) => r,
      (e: unknown) => e,
    );
    expect(readErr).toBeInstanceOf(CoordinationUnavailableError);
    c.sessions.set(2, { sessionId: 's', sequence: 5, resumeURL: 'wss://r', shardCount: 4, shardId: 2 });
    const flushErr = await failsFast(() => c.sessions.flush());
    expect(flushErr.operation).toBe('sessions.flush');

    // Late in the outage (reconnect backoff at its cap): these must not run after the restart either.
    await failsFast(() => c.leases.acquire(1, 1, 'pod-a', 60_000));
    await failsFast(() => c.identify.waitForIdentify(1, new AbortController().signal));
    expect(adapterDone).toBe(false);
    await server.restart();
    await adapterWait;
    // Nothing that failed during the outage ran late after the reconnect: no identify lock for bucket 1,
    // no lease on shard 1 (ioredis' offline queue would have replayed both; it is off).
    const admin = new Redis(server.url);
    try {
      expect(await admin.exists('outage:identify:bucket:1')).toBe(0);
      expect(await admin.hexists('outage:lease:1', '1')).toBe(0);
      expect(await admin.exists('outage:identify:bucket:3')).toBe(1); // the adapter's identify did run
    } finally {
      admin.disconnect();
    }

    // Recovers without a new client: the queued session write is still pending and now lands.
    await eventually(() => c.sessions.flush());
    expect(await c.sessions.get(2, 4)).toMatchObject({ sequence: 5 });
    expect(await c.ping()).toBe(true);
    // Redis came back empty: the old lease is gone, and new epochs are still larger (time-seeded).
    const again = await eventually(() => c.leases.acquire(1, 0, 'pod-b', 60_000));
    expect(again!.epoch).toBeGreaterThan(lease!.epoch);
    expect(await c.leases.checkFence(1, 0, lease!.epoch)).toBe(false);
    // The consumer group is re-created on demand.
    await log.append([7, 8]);
    expect((await log.read('w', { count: 10, blockMs: 500 })).flatMap((e) => e.events)).toEqual([7, 8]);
    // ioredis re-subscribed the subscriber connection.
    await eventually(async () => {
      await c.pubsub.publish('ch', { after: 'restart' });
      if (!received.some((m) => JSON.stringify(m) === '{"after":"restart"}')) {
        await sleep(100);
        throw new CoordinationUnavailableError('pubsub.resubscribe', new Error('not delivered yet'));
      }
    });
    await c.identify.waitForIdentify(1, new AbortController().signal);
    expect(await c.cache.getOrLoad('k', 1_000, ['t'], async () => 42)).toBe(42);
  });
});
