import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Coordination } from '../../src/coordination/coordination.js';
import { IdentifyBudgetExhaustedError } from '../../src/coordination/errors.js';
import type { IdentifyOptions } from '../../src/coordination/identify-queue.js';
import type { SessionInfo, SessionOptions } from '../../src/coordination/session-store.js';

/** Per-pod overrides a contract test may ask for. */
export interface PodOptions {
  readonly identify?: Partial<IdentifyOptions>;
  readonly sessions?: Partial<SessionOptions>;
}

/** A fresh, empty slice of the backend; pods created from one namespace share state (like one Redis). */
export interface ContractNamespace {
  pod(opts?: PodOptions): Promise<Coordination>;
  /** Session writes that reached the backend so far (Redis: SET/DEL commandstats; memory: hub counter). */
  sessionWrites(): Promise<number>;
}

/** What a backend under test provides to {@link describeContract}. */
export interface ContractBackend {
  namespace(): ContractNamespace;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const never = () => new AbortController().signal;

function session(shardId: number, sequence: number, shardCount = 4, sessionId = 'sess'): SessionInfo {
  return { sessionId, sequence, resumeURL: 'wss://gateway.test', shardCount, shardId };
}

/**
 * The one behavioural contract every coordination backend must meet. Runs on real time with short
 * TTLs/windows so the same tests drive the memory backend and a real redis-server.
 *
 * @example
 * describeContract('memory', async () => memoryBackend());
 */
export function describeContract(name: string, factory: () => Promise<ContractBackend>): void {
  describe(`coordination contract: ${name}`, () => {
    let backend: ContractBackend;
    let pods: Coordination[] = [];
    let ns: ContractNamespace;
    const pod = async (opts?: PodOptions) => {
      const p = await ns.pod(opts);
      pods.push(p);
      return p;
    };

    beforeAll(async () => {
      backend = await factory();
    });
    afterAll(async () => {
      await backend.close();
    });
    afterEach(async () => {
      await Promise.all(pods.map((p) => p.close()));
      pods = [];
    });
    const fresh = () => {
      ns = backend.namespace();
    };

    describe('shard leases', () => {
      it('acquire, renew, release; a held lease is refused to others and listed in holders', async () => {
        fresh();
        const [a, b] = [await pod(), await pod()];
        const lease = await a.leases.acquire(1, 3, 'pod-a', 5_000);
        expect(lease).not.toBeNull();
        expect(await b.leases.acquire(1, 3, 'pod-b', 5_000)).toBeNull();
        expect(await b.leases.acquire(1, 4, 'pod-b', 5_000)).not.toBeNull();
        const holders = await b.leases.holders(1);
        expect(holders.map((h) => [h.shardId, h.holder])).toEqual([
          [3, 'pod-a'],
          [4, 'pod-b'],
        ]);
        expect(holders[0]!.epoch).toBe(lease!.epoch);
        expect(holders[0]!.expiresAt).toBeGreaterThan(Date.now());
        expect(await b.leases.holders(2)).toEqual([]);

        expect(await a.leases.renew(1, 3, 'pod-a', lease!.epoch, 5_000)).toBe(true);
        expect(await b.leases.renew(1, 3, 'pod-b', lease!.epoch, 5_000)).toBe(false);
        expect(await a.leases.renew(1, 3, 'pod-a', lease!.epoch + 1, 5_000)).toBe(false);
        expect(await b.leases.release(1, 3, 'pod-b', lease!.epoch)).toBe(false);
        expect(await a.leases.release(1, 3, 'pod-a', lease!.epoch)).toBe(true);
        expect(await a.leases.renew(1, 3, 'pod-a', lease!.epoch, 5_000)).toBe(false);
        const taken = await b.leases.acquire(1, 3, 'pod-b', 5_000);
        expect(taken!.epoch).toBeGreaterThan(lease!.epoch);
      });

      it('a lease expires after its TTL unless renewed', async () => {
        fresh();
        const [a, b] = [await pod(), await pod()];
        const l3 = await a.leases.acquire(1, 3, 'pod-a', 300);
        const l4 = await a.leases.acquire(1, 4, 'pod-a', 300);
        await sleep(100);
        expect(await a.leases.renew(1, 4, 'pod-a', l4!.epoch, 1_000)).toBe(true);
        await sleep(300);
        // 3 lapsed, 4 was renewed
        expect((await b.leases.holders(1)).map((h) => h.shardId)).toEqual([4]);
        expect(await a.leases.renew(1, 3, 'pod-a', l3!.epoch, 300)).toBe(false);
        expect(await a.leases.checkFence(1, 3, l3!.epoch)).toBe(false);
        expect(await b.leases.acquire(1, 3, 'pod-b', 5_000)).not.toBeNull();
        expect(await b.leases.acquire(1, 4, 'pod-b', 5_000)).toBeNull();
      });

      it('fencing: after a takeover the stale owner cannot renew and its epoch fails checkFence', async () => {
        fresh();
        const [a, b] = [await pod(), await pod()];
        const old = await a.leases.acquire(2, 0, 'pod-a', 120);
        expect(await b.leases.checkFence(2, 0, old!.epoch)).toBe(true);
        await sleep(180); // pod-a "paused" past its TTL
        const next = await b.leases.acquire(2, 0, 'pod-b', 5_000);
        expect(next!.epoch).toBeGreaterThan(old!.epoch);
        expect(await a.leases.renew(2, 0, 'pod-a', old!.epoch, 5_000)).toBe(false);
        expect(await a.leases.checkFence(2, 0, old!.epoch)).toBe(false);
        expect(await a.leases.checkFence(2, 0, next!.epoch)).toBe(true);
        expect(await a.leases.release(2, 0, 'pod-a', old!.epoch)).toBe(false);
        expect((await a.leases.holders(2))[0]!.holder).toBe('pod-b');
        // re-acquire by the same holder issues a new epoch that fences the previous incarnation
        const again = await b.leases.acquire(2, 0, 'pod-b', 5_000);
        expect(again!.epoch).toBeGreaterThan(next!.epoch);
        expect(await b.leases.checkFence(2, 0, next!.epoch)).toBe(false);
        expect(await b.leases.renew(2, 0, 'pod-b', next!.epoch, 5_000)).toBe(false);
      });

      it('epochs only grow, per (generation, shard), across release, expiry and takeover', async () => {
        fresh();
        const [a, b] = [await pod(), await pod()];
        expect(await a.leases.currentEpoch(5, 1)).toBe(0);
        const seen: number[] = [];
        for (let i = 0; i < 6; i++) {
          const who = i % 2 === 0 ? a : b;
          const holder = i % 2 === 0 ? 'pod-a' : 'pod-b';
          const l = await who.leases.acquire(5, 1, holder, i % 3 === 0 ? 40 : 5_000);
          expect(l).not.toBeNull();
          seen.push(l!.epoch);
          expect(await b.leases.currentEpoch(5, 1)).toBe(l!.epoch);
          if (i % 3 === 0) await sleep(70);
          else await who.leases.release(5, 1, holder, l!.epoch);
        }
        for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
        // another shard / generation has its own sequence, still never below zero
        expect(await a.leases.currentEpoch(5, 2)).toBe(0);
      });

      it('exactly one of many concurrent acquirers wins', async () => {
        fresh();
        const contenders = await Promise.all(Array.from({ length: 6 }, () => pod()));
        const results = await Promise.all(
          contenders.flatMap((c, i) =>
            [0, 1, 2].map(async () => ({
              holder: `pod-${i}`,
              lease: await c.leases.acquire(9, 7, `pod-${i}`, 5_000),
            })),
          ),
        );
        const winners = new Set(results.filter((r) => r.lease !== null).map((r) => r.holder));
        // the winner may re-acquire its own lease (a new epoch); no other pod gets it
        expect(winners.size).toBe(1);
        const holders = await contenders[0]!.leases.holders(9);
        expect(holders).toHaveLength(1);
        expect(holders[0]!.holder).toBe([...winners][0]);
        expect(await contenders[0]!.leases.checkFence(9, 7, holders[0]!.epoch)).toBe(true);
      });
    });

    describe('identify queue', () => {
      it('one identify per bucket per window across pods; different buckets proceed in parallel', async () => {
        fresh();
        const windowMs = 250;
        const pods3 = await Promise.all([0, 1, 2].map(() => pod({ identify: { windowMs, jitterMs: 5 } })));
        const limit = { total: 1000, remaining: 1000, reset_after: 60_000, max_concurrency: 4 };
        for (const p of pods3) await p.identify.sync(limit);
        const grants: { shard: number; bucket: number; at: number }[] = [];
        const shards = Array.from({ length: 16 }, (_, i) => i);
        await Promise.all(
          shards.map(async (shard) => {
            await pods3[shard % 3]!.identify.waitForIdentify(shard, never());
            grants.push({ shard, bucket: shard % 4, at: Date.now() });
          }),
        );
        expect(grants).toHaveLength(16);
        for (let b = 0; b < 4; b++) {
          const times = grants.filter((g) => g.bucket === b).map((g) => g.at);
          expect(times).toHaveLength(4);
          // local timestamps lag the grant a little; overlapping grants would be ~0 ms apart
          for (let i = 1; i < times.length; i++)
            expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(windowMs * 0.6);
        }
        // the first grant of every bucket comes before any bucket's second grant
        const sorted = [...grants].sort((x, y) => x.at - y.at);
        expect(new Set(sorted.slice(0, 4).map((g) => g.bucket)).size).toBe(4);
        expect((await pods3[0]!.identify.budget())!.remaining).toBe(1000 - 16);
      });

      it('waiting is abortable', async () => {
        fresh();
        const p = await pod({ identify: { windowMs: 5_000 } });
        await p.identify.sync({ total: 1000, remaining: 1000, reset_after: 60_000, max_concurrency: 1 });
        await p.identify.waitForIdentify(0, never());
        const ac = new AbortController();
        const waiting = p.identify.waitForIdentify(1, ac.signal);
        setTimeout(() => ac.abort(), 50);
        await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
      });

      it('the daily budget breaker refuses before remaining drops below the reserve, shared across pods', async () => {
        fresh();
        const [a, b] = [await pod({ identify: { reserve: 10 } }), await pod({ identify: { reserve: 10 } })];
        await a.identify.sync({ total: 1000, remaining: 13, reset_after: 60_000, max_concurrency: 16 });
        await b.identify.sync({ total: 1000, remaining: 500, reset_after: 60_000, max_concurrency: 16 }); // keeps the lower
        expect((await b.identify.budget())!.remaining).toBe(13);
        await a.identify.waitForIdentify(0, never());
        await b.identify.waitForIdentify(1, never());
        await a.identify.waitForIdentify(2, never());
        const refused = await b.identify.waitForIdentify(3, never()).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(IdentifyBudgetExhaustedError);
        expect(refused).toMatchObject({ code: 'identify_budget_exhausted', remaining: 10, reserve: 10 });
        expect((refused as IdentifyBudgetExhaustedError).resetAfterMs).toBeGreaterThan(50_000);
        await expect(a.identify.waitForIdentify(4, never())).rejects.toBeInstanceOf(
          IdentifyBudgetExhaustedError,
        );
        const budget = await a.identify.budget();
        expect(budget).toMatchObject({ remaining: 10, total: 1000 });
      });
    });

    describe('session store', () => {
      it('debounces: many sets cost few backend writes; flush persists; another pod reads it', async () => {
        fresh();
        const [a, b] = [await pod({ sessions: { flushIntervalMs: 300 } }), await pod()];
        const before = await ns.sessionWrites();
        for (let seq = 1; seq <= 200; seq++) a.sessions.set(1, session(1, seq));
        a.sessions.set(2, session(2, 7));
        expect(await a.sessions.get(1, 4)).toMatchObject({ sequence: 200 }); // sees its own queued write
        expect(await b.sessions.get(1, 4)).toBeNull(); // not flushed yet
        await a.sessions.flush();
        expect((await ns.sessionWrites()) - before).toBe(2);
        expect(await b.sessions.get(1, 4)).toEqual(session(1, 200));
        expect(await b.sessions.get(2, 4)).toMatchObject({ sequence: 7 });
        expect(await b.sessions.get(1, 8)).toBeNull(); // another shard count is another session
      });

      it('flushes on its own after the interval, and deletes', async () => {
        fresh();
        const [a, b] = [await pod({ sessions: { flushIntervalMs: 100 } }), await pod()];
        const before = await ns.sessionWrites();
        for (let seq = 1; seq <= 50; seq++) a.sessions.set(3, session(3, seq));
        await sleep(350);
        expect(await b.sessions.get(3, 4)).toMatchObject({ sequence: 50 });
        expect((await ns.sessionWrites()) - before).toBeLessThanOrEqual(2);
        a.sessions.delete(3, 4);
        await a.sessions.flush();
        expect(await b.sessions.get(3, 4)).toBeNull();
      });

      it('close() flushes pending writes', async () => {
        fresh();
        const [a, b] = [await pod({ sessions: { flushIntervalMs: 60_000 } }), await pod()];
        a.sessions.set(0, session(0, 99));
        await a.close();
        expect(await b.sessions.get(0, 4)).toMatchObject({ sequence: 99 });
      });

      it('fenced writes of a stale owner are refused', async () => {
        fresh();
        const [a, b] = [await pod(), await pod()];
        const old = await a.leases.acquire(1, 5, 'pod-a', 100);
        a.sessions.set(5, session(5, 10, 4, 'old'), { generation: 1, epoch: old!.epoch });
        await a.sessions.flush();
        expect(await b.sessions.get(5, 4)).toMatchObject({ sessionId: 'old', sequence: 10 });
        await sleep(150);
        const next = await b.leases.acquire(1, 5, 'pod-b', 5_000);
        b.sessions.set(5, session(5, 11, 4, 'new'), { generation: 1, epoch: next!.epoch });
        await b.sessions.flush();
        a.sessions.set(5, session(5, 12, 4, 'old'), { generation: 1, epoch: old!.epoch }); // late write
        await a.sessions.flush();
        expect(await b.sessions.get(5, 4)).toMatchObject({ sessionId: 'new', sequence: 11 });
      });
    });

    describe('event log', () => {
      it('writes a checkpoint together with the entries it describes, visible to other pods', async () => {
        fresh();
        const [a, b] = [await pod(), await pod()];
        const log = a.eventLog<{ n: number }>('events-cp', { packSize: 10 });
        expect(await log.checkpoint('shard:4:1')).toBeNull();
        const ids = await log.append(
          [{ n: 1 }, { n: 2 }],
          [{ key: 'shard:4:1', value: '{"seq":2}', ttlMs: 60_000 }],
        );
        expect(ids).toHaveLength(1);
        const other = b.eventLog<{ n: number }>('events-cp', { packSize: 10 });
        expect(await other.checkpoint('shard:4:1')).toBe('{"seq":2}');
        expect((await other.read('w', { count: 10, blockMs: 0 })).flatMap((e) => e.events)).toEqual([
          { n: 1 },
          { n: 2 },
        ]);
        // A checkpoint alone (nothing to append) still lands; other keys are independent.
        expect(await log.append([], [{ key: 'shard:4:1', value: '{"seq":3}', ttlMs: 60_000 }])).toEqual([]);
        expect(await other.checkpoint('shard:4:1')).toBe('{"seq":3}');
        expect(await other.checkpoint('shard:4:2')).toBeNull();
      });

      it('append, read, ack; each entry is delivered to one consumer of the group', async () => {
        fresh();
        const [a, b] = [await pod(), await pod()];
        const log = a.eventLog<{ n: number }>('events', { packSize: 10 });
        const ids = await log.append(Array.from({ length: 25 }, (_, n) => ({ n })));
        expect(ids).toHaveLength(3);
        expect([...ids].sort(cmpId)).toEqual(ids);
        const reader = b.eventLog<{ n: number }>('events', { packSize: 10 });
        const first = await reader.read('w1', { count: 2, blockMs: 0 });
        const second = await reader.read('w2', { count: 10, blockMs: 0 });
        expect(first.map((e) => e.id)).toEqual(ids.slice(0, 2));
        expect(second.map((e) => e.id)).toEqual(ids.slice(2));
        expect([...first, ...second].flatMap((e) => e.events.map((x) => x.n))).toEqual(
          Array.from({ length: 25 }, (_, n) => n),
        );
        expect(await reader.pending()).toMatchObject({ pending: 3, lag: 0, length: 3 });
        expect(await reader.ack(first.map((e) => e.id))).toBe(2);
        expect(await reader.ack(first.map((e) => e.id))).toBe(0);
        const info = await reader.pending();
        expect(info.pending).toBe(1);
        expect(info.length).toBe(1); // acknowledged entries were trimmed
        expect(info.consumers.find((c) => c.name === 'w2')?.pending).toBe(1);
        expect(await reader.read('w1', { count: 10, blockMs: 0 })).toEqual([]);
        await log.append([{ n: 99 }]);
        expect(await reader.pending()).toMatchObject({ lag: 1, length: 2 });
        await reader.ack(second.map((e) => e.id)); // the undelivered entry is kept
        expect(await reader.pending()).toMatchObject({ pending: 0, lag: 1, length: 1 });
      });

      it('a blocking read wakes up on append', async () => {
        fresh();
        const [a, b] = [await pod(), await pod()];
        const reader = b.eventLog('events');
        const waiting = reader.read('w1', { count: 10, blockMs: 3_000 });
        await sleep(100);
        await a.eventLog('events').append([{ hello: 'world' }]);
        const got = await waiting;
        expect(got.flatMap((e) => e.events)).toEqual([{ hello: 'world' }]);
      });

      it('entries pending on a dead consumer are redelivered by reclaim; nothing is lost', async () => {
        fresh();
        const [producer, dead, alive] = [await pod(), await pod(), await pod()];
        const total = 120;
        const log = producer.eventLog<number>('events', { packSize: 7 });
        await log.append(Array.from({ length: total }, (_, i) => i));
        const deadLog = dead.eventLog<number>('events');
        const taken = await deadLog.read('dead', { count: 5, blockMs: 0 });
        await deadLog.ack([taken[0]!.id]); // processed one, then crashed
        await dead.close();
        const aliveLog = alive.eventLog<number>('events');
        const processed = new Set<number>(taken[0]!.events);
        expect(await aliveLog.reclaim('alive', 60_000, 100)).toEqual([]); // not idle long enough yet
        await sleep(150);
        const reclaimed = await aliveLog.reclaim('alive', 100, 100);
        expect(reclaimed.map((e) => e.id)).toEqual(taken.slice(1).map((e) => e.id));
        for (const batch of [reclaimed, ...(await drain(aliveLog))]) {
          for (const e of batch) for (const n of e.events) processed.add(n);
          await aliveLog.ack(batch.map((e) => e.id));
        }
        expect(processed.size).toBe(total);
        expect(await aliveLog.pending()).toMatchObject({ pending: 0, lag: 0, length: 0 });
      });
    });

    describe('cache', () => {
      it('get/set with TTL, delete, tag invalidation across pods', async () => {
        fresh();
        const [a, b] = [await pod(), await pod()];
        await a.cache.set('g1:config', { prefix: '!' }, 5_000, ['guild:1']);
        await a.cache.set('g1:roles', [1, 2], 5_000, ['guild:1', 'roles']);
        await a.cache.set('g2:config', { prefix: '?' }, 5_000, ['guild:2']);
        await a.cache.set('short', 1, 80);
        expect(await b.cache.get('g1:config')).toEqual({ prefix: '!' });
        expect(await b.cache.invalidateTag('guild:1')).toBe(2);
        expect(await a.cache.get('g1:config')).toBeUndefined();
        expect(await a.cache.get('g1:roles')).toBeUndefined();
        expect(await a.cache.get('g2:config')).toEqual({ prefix: '?' });
        await b.cache.delete('g2:config');
        expect(await a.cache.get('g2:config')).toBeUndefined();
        await sleep(150);
        expect(await a.cache.get('short')).toBeUndefined();
        await a.cache.set('null', null, 5_000);
        expect(await b.cache.get('null')).toBeNull();
      });

      it('getOrLoad collapses concurrent loads and respects invalidation during a load', async () => {
        fresh();
        const [a, b] = [await pod(), await pod()];
        let loads = 0;
        const loader = async () => {
          loads++;
          await sleep(50);
          return { v: loads };
        };
        const results = await Promise.all(
          Array.from({ length: 20 }, () => a.cache.getOrLoad('k', 5_000, ['t'], loader)),
        );
        expect(loads).toBe(1);
        expect(results.every((r) => r.v === 1)).toBe(true);
        expect(await b.cache.getOrLoad('k', 5_000, ['t'], loader)).toEqual({ v: 1 }); // cached, shared
        expect(loads).toBe(1);
        await b.cache.invalidateTag('t');
        expect(await a.cache.getOrLoad('k', 5_000, ['t'], loader)).toEqual({ v: 2 });
        // an invalidation that lands while a load runs: the (stale) result is not cached
        const slow = a.cache.getOrLoad('k2', 5_000, ['t2'], async () => {
          await sleep(100);
          return 'stale';
        });
        await sleep(30);
        await b.cache.invalidateTag('t2');
        expect(await slow).toBe('stale');
        expect(await b.cache.get('k2')).toBeUndefined();
      });
    });

    describe('claims', () => {
      it('exactly one pod claims an id until the claim expires', async () => {
        fresh();
        const claimants = await Promise.all([0, 1, 2].map(() => pod()));
        const results = await Promise.all(
          claimants.flatMap((c) => [0, 1, 2].map(() => c.claims.claim('event:42', 150))),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await claimants[0]!.claims.claim('event:43', 150)).toBe(true);
        await sleep(220);
        expect(await claimants[1]!.claims.claim('event:42', 150)).toBe(true);
      });
    });

    describe('pub/sub and plan store', () => {
      it('delivers JSON messages to subscribers in other pods until they unsubscribe', async () => {
        fresh();
        const [a, b, c] = [await pod(), await pod(), await pod()];
        const gotB: unknown[] = [];
        const gotC: unknown[] = [];
        const offB = await b.pubsub.subscribe('cogs', (m) => void gotB.push(m));
        const offC = await c.pubsub.subscribe('cogs', (m) => void gotC.push(m));
        await c.pubsub.subscribe('other', () => {
          throw new Error('handler errors are contained');
        });
        await a.pubsub.publish('cogs', { reload: 'leveling', n: 1 });
        await a.pubsub.publish('other', 'x');
        await waitFor(() => gotB.length === 1 && gotC.length === 1);
        expect(gotB).toEqual([{ reload: 'leveling', n: 1 }]);
        await offB();
        await a.pubsub.publish('cogs', { n: 2 });
        await waitFor(() => gotC.length === 2);
        await sleep(50);
        expect(gotB).toHaveLength(1);
        await offC();
      });

      it('plan compare-and-set and watch', async () => {
        fresh();
        const [controller, rival, shard] = [await pod(), await pod(), await pod()];
        const plan = (generation: number, totalShards = 8) => ({
          generation,
          totalShards,
          maxConcurrency: 1,
          shardsPerPod: 2,
        });
        expect(await shard.plans.get()).toBeNull();
        const seen: number[] = [];
        const stop = await shard.plans.watch((p) => void seen.push(p.generation));
        expect(await controller.plans.publish(plan(1), null)).toBe(true);
        expect(await rival.plans.publish(plan(1, 16), null)).toBe(false);
        expect(await rival.plans.publish(plan(2), 0)).toBe(false);
        expect(await controller.plans.publish(plan(2, 16), 1)).toBe(true);
        expect(await rival.plans.publish(plan(3), 1)).toBe(false); // stale expectation
        expect(await rival.plans.publish(plan(1), 2)).toBe(false); // generations never go back
        expect(await shard.plans.get()).toEqual(plan(2, 16));
        await waitFor(() => seen.length === 2);
        expect(seen).toEqual([1, 2]);
        await stop();
        const late: number[] = [];
        const stop2 = await shard.plans.watch((p) => void late.push(p.generation));
        expect(late).toEqual([2]); // current plan delivered on watch
        await stop2();
      });
    });

    describe('rate limits', () => {
      it('a shared sliding window is respected by 3 concurrent clients', async () => {
        fresh();
        const clients = await Promise.all([0, 1, 2].map(() => pod()));
        const limit = 5;
        const windowMs = 200;
        const runMs = 1_000;
        const grants: number[] = [];
        const start = Date.now();
        await Promise.all(
          clients.map(async (c) => {
            while (Date.now() - start < runMs) {
              const wait = await c.rateLimits.acquire('global', limit, windowMs);
              if (wait === 0) grants.push(Date.now());
              else await sleep(Math.min(wait, 50));
            }
          }),
        );
        grants.sort((x, y) => x - y);
        expect(grants.length).toBeLessThanOrEqual(limit * (runMs / windowMs + 1));
        expect(grants.length).toBeGreaterThanOrEqual(limit * (runMs / windowMs - 1));
        // no more than `limit` grants inside any window (local timestamps lag grants a little; without
        // the shared limiter the three clients would get thousands of grants milliseconds apart)
        for (let i = limit; i < grants.length; i++) {
          expect(grants[i]! - grants[i - limit]!).toBeGreaterThanOrEqual(windowMs * 0.7);
        }
      });

      it('header state from responses governs a bucket until it resets; invalid requests are counted centrally', async () => {
        fresh();
        const [a, b, c] = [await pod(), await pod(), await pod()];
        await a.rateLimits.update('route:messages', { remaining: 2, resetAfterMs: 800 });
        expect(await b.rateLimits.acquire('route:messages', 50, 1000)).toBe(0);
        expect(await c.rateLimits.acquire('route:messages', 50, 1000)).toBe(0);
        const wait = await a.rateLimits.acquire('route:messages', 50, 1000);
        expect(wait).toBeGreaterThan(0);
        expect(wait).toBeLessThanOrEqual(800);
        await sleep(wait + 30);
        expect(await b.rateLimits.acquire('route:messages', 50, 1000)).toBe(0); // window limiter again
        expect(await a.rateLimits.recordInvalid()).toBe(1);
        expect(await b.rateLimits.recordInvalid(4)).toBe(5);
        await c.rateLimits.recordInvalid(2);
        expect(await a.rateLimits.invalidCount()).toBe(7);
      });
    });
  });
}

function cmpId(x: string, y: string): number {
  const [xm, xs] = x.split('-').map(Number) as [number, number];
  const [ym, ys] = y.split('-').map(Number) as [number, number];
  return xm - ym || xs - ys;
}

async function drain<T>(log: {
  read(c: string, o: { count: number; blockMs: number }): Promise<T[]>;
}): Promise<T[][]> {
  const out: T[][] = [];
  for (;;) {
    const batch = await log.read('alive', { count: 4, blockMs: 0 });
    if (batch.length === 0) return out;
    out.push(batch);
  }
}

async function waitFor(cond: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}
