import type { Registry } from 'prom-client';
import {
  CogHost,
  CogLoader,
  type GuildCogSettings,
  MemoryGuildCogSettings,
  type ShardView,
} from '../cogs/framework/index.js';
import type { Coordination } from '../coordination/index.js';
import type { Logger } from '../logging/logger.js';
import type { ShardRuntime } from './runtime.js';

/** What the cogs of a shard pod need besides the runtime. */
export interface ShardCogsOptions {
  readonly runtime: ShardRuntime;
  readonly coordination: Coordination;
  readonly log: Logger;
  readonly metrics: Registry;
  /** The application (client) id; derived from the bot token when not configured. */
  readonly applicationId: string;
  readonly podName: string;
  /** Per-guild cog switches and config; in-memory until the api pod's domain ops serve them. */
  readonly settings?: GuildCogSettings;
  /** Domain RPC to the api pod (`/internal/v1`); not wired yet (cogs get an error). */
  readonly read?: (op: string, input: unknown) => Promise<unknown>;
  readonly write?: (op: string, input: unknown) => Promise<unknown>;
  /** Where cog modules live (default: `src/cogs`, or `dist/cogs` in a build). */
  readonly cogsDir?: string;
}

/**
 * The application id a bot token belongs to: a bot token's first segment is the base64 of the bot user's
 * id, which is the application id for every application created since 2018.
 *
 * @example
 * applicationIdFromToken('ODc3Mjk4MjU2NjEzMjE2MjY3.xxx.yyy'); // '877298256613216267'
 */
export function applicationIdFromToken(token: string): string | undefined {
  const first = token.split('.')[0] ?? '';
  const decoded = Buffer.from(first, 'base64').toString('utf8');
  return /^\d{17,20}$/.test(decoded) ? decoded : undefined;
}

/**
 * Builds the shard pod's {@link CogHost}: every cog under the cogs directory loaded, fed by the runtime's
 * dispatches (`runtime` must be created with `onDispatch: (p, s) => cogs.dispatch(p, s)`), answering over
 * the runtime's REST client, with live settings and reloads over coordination pub/sub and interaction
 * dedupe over coordination claims.
 *
 * @example
 * const host = await startShardCogs({ runtime, coordination, log, metrics, applicationId, podName });
 */
export async function startShardCogs(opts: ShardCogsOptions): Promise<CogHost> {
  const { runtime, coordination } = opts;
  const startedAt = Date.now();
  const shard: ShardView = {
    podId: opts.podName,
    startedAt,
    shardCount: () => runtime.pod.currentPlan?.totalShards ?? 1,
    local: () =>
      runtime.pod
        .status()
        .filter((s) => s.mode !== 'shadow') // a reshard's new generation is not serving yet
        .map((s) => ({
          id: s.shardId,
          latencyMs: s.latencyMs >= 0 ? s.latencyMs : null,
          guilds: runtime.guildCount(s.shardId, s.generation),
          status: s.ready ? 'ready' : 'connecting',
        })),
  };
  const notWired = async (op: string) => {
    throw new Error(`domain op ${op}: the api pod's domain RPC is not wired into shard pods yet`);
  };
  const host = new CogHost({
    log: opts.log.child({ module: 'cogs' }),
    metrics: opts.metrics,
    rest: runtime.rest,
    applicationId: opts.applicationId,
    settings: opts.settings ?? new MemoryGuildCogSettings(),
    shard,
    cache: coordination.cache,
    read: opts.read ?? notWired,
    write: opts.write ?? notWired,
    pubsub: coordination.pubsub,
    claims: coordination.claims,
    loader: new CogLoader({ dir: opts.cogsDir, log: opts.log }),
  });
  await host.start();
  const results = await host.loadAll();
  for (const r of results) {
    if (!r.ok) opts.log.error({ cog: r.cog, stage: r.stage, error: r.error }, 'cog failed to load');
  }
  return host;
}
