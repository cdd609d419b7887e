import { systemClock } from '../../coordination/clock.js';

/**
 * The small interfaces a cog host needs from the rest of the platform. Each one is a subset of what
 * `src/coordination` ships (its `Cache`, `PubSub` and `Clock` satisfy these), so the shard runtime passes
 * the real pieces and tests pass in-memory ones.
 */

/**
 * A shared JSON cache with TTLs (a subset of coordination's `Cache`). A cog sees it through
 * `ctx.cache`, with every key prefixed by `cog:<name>:`.
 *
 * @example
 * await ctx.cache.set(`cooldown:${userId}`, true, 30_000);
 * if (await ctx.cache.get(`cooldown:${userId}`)) return;
 */
export interface CogCache {
  get<T = unknown>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlMs: number, tags?: readonly string[]): Promise<void>;
  delete(key: string): Promise<void>;
}

/**
 * Broadcast of JSON messages to every process (a subset of coordination's `PubSub`). `subscribe`
 * resolves once the subscription is live and returns the unsubscribe function.
 *
 * @example
 * const off = await pubsub.subscribe<{ cog: string }>('cogs.reload', ({ cog }) => host.reload(cog));
 * await pubsub.publish('cogs.reload', { cog: 'leveling' });
 */
export interface CogPubSub {
  publish(channel: string, message: unknown): Promise<void>;
  subscribe<T = unknown>(
    channel: string,
    handler: (message: T) => void | Promise<void>,
  ): Promise<() => Promise<void>>;
}

/**
 * Time (a subset of coordination's `Clock`): `now()` and an abortable `sleep`. The per-cog scheduler and
 * the interaction auto-defer run on it, so tests may pass a simulated clock.
 *
 * @example
 * const started = clock.now();
 * await clock.sleep(1_000, signal);
 */
export interface CogClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * First-come claims with a TTL (coordination's `Claims`, Redis `SET NX PX`). While two shard generations
 * overlap during a reshard, both receive the same events; claiming a deterministic id lets one pod act.
 *
 * @example
 * if (await claims.claim(`interaction:${id}`, 60_000)) await route(interaction);
 */
export interface CogClaims {
  /** True for exactly one caller per `key` until the claim expires. */
  claim(key: string, ttlMs: number): Promise<boolean>;
}

/**
 * A domain operation call (`ctx.read` / `ctx.write`): the operation name declared with
 * `defineRead`/`defineWrite` and its input. In a cluster it is a POST to the api pod; in `all` mode a
 * direct call.
 *
 * @example
 * const created = await ctx.write('cases.create', { guildId, userId, reason });
 */
export type DomainCall = (opName: string, input: unknown) => Promise<unknown>;

/** One shard this process runs, as `/status` shows it. */
export interface LocalShardStatus {
  readonly id: number;
  /** Last heartbeat round trip in milliseconds, or null before the first ACK. */
  readonly latencyMs: number | null;
  /** Guilds currently on this shard. */
  readonly guilds: number;
  /** e.g. `ready`, `resuming`, `connecting`, `shadow`. */
  readonly status: string;
}

/** One pod of the cluster, as the controller or lease store sees it. */
export interface ClusterPodStatus {
  readonly pod: string;
  readonly shards: readonly number[];
  readonly ready: boolean;
}

/**
 * What the process knows about its shards, read live (leases move shards between pods). The shard runtime
 * implements it over its `WebSocketManager`; `cluster()` is optional (a lease-store view of every pod).
 *
 * @example
 * const shardId = shardForGuild(guildId, ctx.shard.shardCount());
 * const mine = ctx.shard.local().find((s) => s.id === shardId);
 */
export interface ShardView {
  /** This pod's name (hostname in Kubernetes). */
  readonly podId: string;
  /** Process start, epoch milliseconds. */
  readonly startedAt: number;
  /** Total shards of the current plan. */
  shardCount(): number;
  /** Shards this process runs right now. */
  local(): readonly LocalShardStatus[];
  /** Every pod of the cluster and its shards (absent when there is no cluster view). */
  cluster?(): Promise<readonly ClusterPodStatus[]>;
}

/**
 * Discord's shard for a guild: `(guild_id >> 22) % shardCount`.
 *
 * @example
 * shardForGuild('81384788765712384', 4); // 2
 */
export { shardForGuild } from '../../discord/snowflake.js';

/**
 * The real clock: `Date.now()` and `setTimeout` (the coordination layer's; the interfaces are the same).
 *
 * @example
 * new CogHost({ ...required, clock: systemCogClock });
 */
export const systemCogClock: CogClock = systemClock;
