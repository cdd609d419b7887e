import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { healthRouter } from '../api/health.js';
import type { Coordination } from '../coordination/index.js';
import { type RoleContext, openCoordination } from '../runtime.js';
import { serviceTokenSource } from '../api/auth/service-tokens.js';
import type { CogHost } from '../cogs/framework/index.js';
import { domainCogSettings } from '../domain/cog-settings.js';
import type { DomainOps } from '../domain/ops.js';
import { createRemoteOps } from '../domain/remote.js';
import { applicationIdFromToken, startShardCogs } from './cogs.js';
import { GuildReporter } from './guild-reporter.js';
import { EVENT_CLAIM_TTL_MS, ShardRuntime } from './runtime.js';

/** Domain RPC to the api pod (`API_INTERNAL_URL`) with a service token (audience `internal`). */
async function remoteOps(ctx: RoleContext): Promise<DomainOps> {
  const { api } = ctx.config;
  if (!api.internalUrl) throw new Error('API_INTERNAL_URL is required for the shard role');
  const token = await serviceTokenSource(
    { secret: api.jwtSecret, ed25519PrivateKeyPem: api.jwtPrivateKey, issuer: api.jwtIssuer },
    ctx.config.shard.podName,
  );
  return createRemoteOps(api.internalUrl, token);
}

/** A running shard role. */
export interface ShardHandle {
  readonly runtime: ShardRuntime;
  readonly cogs: CogHost;
  readonly applicationId: string;
  readonly url: string;
}

/**
 * Starts a shard pod (`guildhall shard`): Redis coordination, the shard runtime (leases, gateway, guild
 * state, event pipeline) and `/healthz`, `/readyz` (ready once a plan is known and every held shard is
 * connected), `/metrics`. In role `all` the caller passes the in-process coordination and token instead.
 */
export async function startShard(
  ctx: RoleContext,
  deps: {
    coordination?: Coordination;
    token?: string;
    apiUrl?: string;
    serveHttp?: boolean;
    /** Domain ops to call in process (role `all`); otherwise the api pod's /internal/v1 is used. */
    ops?: DomainOps;
  } = {},
): Promise<ShardHandle> {
  const { config } = ctx;
  const log = ctx.log.child({ module: 'shard' });
  const coordination = deps.coordination ?? (await openCoordination(ctx));

  const token = deps.token ?? config.discord.token;
  if (!token) throw new Error('DISCORD_TOKEN is required for the shard role');
  const applicationId = config.discord.applicationId ?? applicationIdFromToken(token);
  if (!applicationId)
    throw new Error('DISCORD_APPLICATION_ID is required (it cannot be derived from this token)');
  const late: { cogs?: CogHost; guilds?: GuildReporter } = {}; // the cogs need the runtime's REST client, the runtime their dispatch
  const runtime = new ShardRuntime({
    podName: config.shard.podName,
    token,
    intents: config.discord.intents,
    apiUrl: deps.apiUrl ?? config.discord.apiUrl,
    coordination,
    log: ctx.log,
    metrics: ctx.metrics,
    leaseTtlMs: config.shard.leaseTtlMs,
    // Guild reports carry the lease's fence: send them before the next owner's fence supersedes it.
    beforeRelease: async () => late.guilds?.flush(),
    onDispatch: (payload, shard, sideEffects, key) => {
      const cogs = late.cogs;
      if (!cogs || sideEffects === 'skip') return; // shadow generation: state and events only
      late.guilds?.observe(payload, shard);
      // While a reshard runs both generations deliver each event: the first pod to claim it runs the
      // cogs (interactions are claimed by id in the cog host's router).
      if (sideEffects === 'run' || key === undefined || payload.t === 'INTERACTION_CREATE') {
        void cogs.dispatch(payload, shard.shardId);
        return;
      }
      if (!cogs.handles(payload.t)) return;
      void coordination.claims.claim(`event:${key}`, EVENT_CLAIM_TTL_MS).then(
        (won) => (won ? cogs.dispatch(payload, shard.shardId) : undefined),
        (err: unknown) => {
          log.warn({ err, event: payload.t }, 'event claim failed; running the cogs anyway');
          return cogs.dispatch(payload, shard.shardId);
        },
      );
    },
  });
  // Cogs first (so no dispatch finds them missing); on shutdown the runtime stops before the cogs close.
  const ops = deps.ops ?? (await remoteOps(ctx));
  const host = await startShardCogs({
    runtime,
    coordination,
    log: ctx.log,
    metrics: ctx.metrics,
    applicationId,
    podName: config.shard.podName,
    settings: domainCogSettings(ops),
    read: (op, input) => ops.read(op as never, input as never),
    write: (op, input) => ops.write(op as never, input as never),
  });
  late.cogs = host;
  ctx.lifecycle.onShutdown('cogs', () => host.close());
  const guilds = new GuildReporter(
    (op, input, o) => ops.write(op as never, input as never, o),
    log.child({ module: 'guild-reporter' }),
  );
  late.guilds = guilds;
  ctx.lifecycle.onShutdown('guild-reports', () => guilds.close());
  await runtime.start();
  ctx.lifecycle.onShutdown('shard-runtime', () => runtime.stop());

  let url = '';
  if (deps.serveHttp !== false) {
    const app = new Koa();
    app.use(
      healthRouter(ctx.metrics, {
        plan: () => runtime.pod.currentPlan !== null,
        shards: () => runtime.pod.status().every((s) => s.ready),
        coordination: () => coordination.ping(),
      }).routes(),
    );
    const server = app.listen(config.shard.port, config.shard.host);
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    ctx.lifecycle.onShutdown('shard-http', () => new Promise<void>((r) => server.close(() => r())));
    url = `http://${config.shard.host}:${(server.address() as AddressInfo).port}`;
    log.info({ url, pod: config.shard.podName }, 'shard pod listening');
  }
  return { runtime, cogs: host, applicationId, url };
}
