import type { Coordination } from '../coordination/index.js';
import type { Fence } from '../domain/ops.js';
import type { ApiDepsExtras } from './app.js';
import type { ApiCache } from './ports/cache.js';
import { type ControllerPlan, generationsToRun, planPhase } from '../controller/plan.js';
import { observeGeneration } from '../controller/readiness.js';
import { readControllerStatus } from '../controller/status.js';
import type { ClusterView, ControllerStatusView, PodStatus, ShardStatus } from './ports/cluster-view.js';
import type { LiveEvent, LiveFeed } from './ports/live-feed.js';
import type { RateLimiter } from './ports/rate-limiter.js';

/**
 * The API's cache port over the coordination `Cache` (Redis or memory): same tags, TTLs and single-flight,
 * with the coordination cache's stamp check so a load that raced an invalidation is not stored. When the
 * backend is unreachable, reads fall back to loading directly (uncached) and the error is reported.
 *
 * @example
 * createApiDeps(base, { cache: apiCacheFromCoordination(coordination.cache, (err) => log.warn({ err })) });
 */
export function apiCacheFromCoordination(
  cache: Coordination['cache'],
  onError: (err: unknown) => void = () => {},
): ApiCache {
  return {
    async get(key) {
      try {
        return await cache.get<string>(key);
      } catch (err) {
        onError(err);
        return undefined;
      }
    },
    set: (key, value, o) => cache.set(key, value, o.ttlMs, o.tags),
    async invalidateTags(tags) {
      await Promise.all(tags.map((t) => cache.invalidateTag(t)));
    },
    async getOrLoad(key, o, load) {
      let failed: { err: unknown } | undefined;
      try {
        return await cache.getOrLoad<string>(key, o.ttlMs, o.tags, async () => {
          try {
            return await load();
          } catch (err) {
            failed = { err };
            throw err;
          }
        });
      } catch (err) {
        if (failed) throw failed.err;
        onError(err);
        return load();
      }
    },
  };
}

/**
 * Live guild updates over the coordination pub/sub (channel `live:<guildId>`): one backend subscription
 * per guild with local listeners, dropped when the last listener leaves.
 *
 * @example
 * const liveFeed = liveFeedFromPubSub(coordination.pubsub);
 */
export function liveFeedFromPubSub(
  pubsub: Coordination['pubsub'],
  onError: (err: unknown) => void = () => {},
): LiveFeed {
  const guilds = new Map<
    string,
    { listeners: Set<(e: LiveEvent) => void>; unsubscribe: Promise<() => Promise<void>> }
  >();
  return {
    subscribe(guildId, listener) {
      let g = guilds.get(guildId);
      if (!g) {
        const listeners = new Set<(e: LiveEvent) => void>();
        const unsubscribe = pubsub.subscribe<LiveEvent>(`live:${guildId}`, (e) => {
          for (const l of listeners) {
            try {
              l(e);
            } catch {
              // one broken stream must not stop the others
            }
          }
        });
        unsubscribe.catch(onError);
        g = { listeners, unsubscribe };
        guilds.set(guildId, g);
      }
      g.listeners.add(listener);
      const entry = g;
      return () => {
        entry.listeners.delete(listener);
        if (entry.listeners.size === 0 && guilds.get(guildId) === entry) {
          guilds.delete(guildId);
          entry.unsubscribe.then((stop) => stop()).catch(onError);
        }
      };
    },
    publish: (guildId, event) => pubsub.publish(`live:${guildId}`, event),
  };
}

/**
 * The domain ops' fence check over the shard leases: a write may act for shard `s` only with the epoch of
 * its live current lease in that plan generation.
 *
 * @example
 * createApiDeps(base, { checkFence: checkFenceWithLeases(coordination.leases) });
 */
export function checkFenceWithLeases(leases: Coordination['leases']): (fence: Fence) => Promise<boolean> {
  return (f) => leases.checkFence(f.generation, f.shardId, f.epoch);
}

/**
 * The cluster view over the plan store and shard leases: the published plan, every shard of the current
 * generation with its lease holder and epoch, and the pods holding them.
 *
 * @example
 * createApiDeps(base, { cluster: clusterViewFromCoordination(coordination) });
 */
export function clusterViewFromCoordination(
  c: Pick<Coordination, 'backend' | 'plans' | 'leases' | 'cache'>,
  now: () => number = Date.now,
): ClusterView {
  const shards = async (): Promise<ShardStatus[]> => {
    const plan = (await c.plans.get()) as ControllerPlan | null;
    if (!plan) return [];
    const out: ShardStatus[] = [];
    for (const run of generationsToRun(plan)) {
      const seen = await observeGeneration(c, run.generation, run.totalShards);
      for (const s of seen.shards) {
        out.push({
          shardId: s.shardId,
          generation: run.generation,
          pod: s.holder,
          epoch: s.epoch,
          status: s.ready ? 'ready' : s.holder !== null ? 'leased' : 'unassigned',
          guilds: null,
          latencyMs: null,
        });
      }
    }
    return out;
  };
  return {
    source: c.backend,
    async plan() {
      const p = (await c.plans.get()) as ControllerPlan | null;
      if (!p) return null;
      const ref = (g: { generation: number; totalShards: number } | undefined) =>
        g ? { generation: g.generation, totalShards: g.totalShards } : null;
      return {
        generation: p.generation,
        totalShards: p.totalShards,
        maxConcurrency: p.maxConcurrency,
        shardsPerPod: p.shardsPerPod,
        publishedAt: null,
        phase: planPhase(p),
        next: ref(p.next),
        previous: ref(p.previous),
      };
    },
    shards,
    async pods(): Promise<PodStatus[]> {
      const byPod = new Map<string, number[]>();
      for (const s of await shards()) if (s.pod) byPod.set(s.pod, [...(byPod.get(s.pod) ?? []), s.shardId]);
      return [...byPod].map(([name, ids]) => ({
        name,
        role: 'shard',
        shards: ids,
        lastSeen: new Date(now()).toISOString(),
      }));
    },
    async controller(): Promise<ControllerStatusView | null> {
      const s = await readControllerStatus(c);
      if (!s) return null;
      const r = s.reshard;
      const last = s.lastReshard;
      return {
        leader: s.leader,
        updatedAt: s.updatedAt,
        observedGeneration: s.observedGeneration,
        phase: s.phase,
        reshard: r
          ? {
              phase: r.phase,
              fromGeneration: r.fromGeneration,
              toGeneration: r.toGeneration,
              fromShards: r.fromShards,
              toShards: r.toShards,
              leased: r.leased,
              ready: r.ready,
              total: r.total,
              startedAt: r.startedAt,
            }
          : null,
        lastReshard: last
          ? {
              outcome: last.outcome,
              reason: last.reason ?? null,
              fromShards: last.fromShards,
              toShards: last.toShards,
              toGeneration: last.toGeneration,
              finishedAt: last.finishedAt,
            }
          : null,
        counts: {
          totalShards: s.counts.totalShards,
          leased: s.counts.leased,
          ready: s.counts.ready,
          replicas: s.counts.replicas,
          desiredReplicas: s.counts.desiredReplicas,
        },
        identifyBudget: s.identifyBudget
          ? {
              remaining: s.identifyBudget.remaining,
              total: s.identifyBudget.total,
              resetAfterMs: s.identifyBudget.resetAfterMs,
            }
          : null,
        conditions: s.conditions.map((x) => ({
          type: x.type,
          status: x.status,
          reason: x.reason,
          message: x.message,
          lastTransitionTime: x.lastTransitionTime,
        })),
        lastError: s.lastError ? { message: s.lastError.message, at: s.lastError.at } : null,
      };
    },
  };
}

/**
 * Per-principal API rate limits over the coordination rate-limit store (a sliding window shared by every
 * pod; refusals do not consume). Keys are prefixed `api:` so they never mix with Discord REST buckets.
 * When the store is unreachable the limiter fails open (and reports the error).
 *
 * @example
 * createApiDeps(base, { rateLimiter: rateLimiterFromStore(coordination.rateLimits, { limit: 600 }) });
 */
export function rateLimiterFromStore(
  store: Coordination['rateLimits'],
  o: { limit: number; windowMs?: number; onError?: (err: unknown) => void },
): RateLimiter {
  const windowMs = o.windowMs ?? 60_000;
  return {
    async consume(key) {
      try {
        const wait = await store.acquire(`api:${key}`, o.limit, windowMs);
        return { allowed: wait <= 0, limit: o.limit, retryAfterMs: Math.max(0, wait) };
      } catch (err) {
        // Fail open: an unreachable Redis must not take the admin API down with it.
        o.onError?.(err);
        return { allowed: true, limit: o.limit, retryAfterMs: 0 };
      }
    },
  };
}

/**
 * Every coordination-backed port of the API at once: Redis (or memory) cache, pub/sub live feed, lease
 * fence check, cluster view, shared rate limits, and a `coordination` readiness check.
 *
 * @example
 * const coordination = await createCoordination({ redisUrl: config.redis.url, keyPrefix: config.redis.keyPrefix, log });
 * await createApiDeps(base, apiExtrasFromCoordination(coordination, { rateLimitPerMinute: config.api.rateLimitPerMinute, onError }));
 */
export function apiExtrasFromCoordination(
  c: Coordination,
  o: { rateLimitPerMinute: number; onError?: (err: unknown) => void },
): ApiDepsExtras {
  const onError = o.onError ?? (() => {});
  return {
    cache: apiCacheFromCoordination(c.cache, onError),
    liveFeed: liveFeedFromPubSub(c.pubsub, onError),
    checkFence: checkFenceWithLeases(c.leases),
    cluster: clusterViewFromCoordination(c),
    rateLimiter: rateLimiterFromStore(c.rateLimits, { limit: o.rateLimitPerMinute, onError }),
    readiness: { coordination: () => c.ping() },
  };
}
