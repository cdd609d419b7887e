import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { healthRouter } from '../api/health.js';
import { ConfigError } from '../config/index.js';
import type { Coordination } from '../coordination/index.js';
import { type RoleContext, openCoordination } from '../runtime.js';
import { coordinationLock } from './coordination-lock.js';
import { Controller } from './controller.js';
import { type GatewaySource, cachedGateway, discordRest, restGateway } from './gateway.js';
import { KubeApi, kubeConfigFor, kubeConnectionFromConfig } from './kube-client.js';
import { kubeLeaseLock } from './kube-lease-lock.js';
import { checkTimings, createLeaderElector } from './leader-election.js';
import { controllerMetrics } from './metrics.js';
import { type CommandSync, RECONCILER_DEFAULTS, Reconciler } from './reconciler.js';
import { readControllerStatus } from './status.js';
import { noWorkload, statefulSetWorkload } from './workload.js';

/**
 * What the controller role can be handed instead of building it from the config: role `all` passes its
 * shared in-memory coordination, the cog framework passes the command sync hook, tests pass an identity.
 *
 * @example
 * await controllerRole(ctx, { coordination, commands: { hash: () => cogs.hash(), sync: () => cogs.register() } });
 */
export interface ControllerRoleDeps {
  readonly coordination?: Coordination | undefined;
  readonly commands?: CommandSync | undefined;
  readonly gateway?: GatewaySource | undefined;
  readonly guildCount?: ((signal: AbortSignal) => Promise<number | null>) | undefined;
  readonly identity?: string | undefined;
  /** Serve /healthz, /readyz, /metrics and /status (default true; role `all` serves them from the api). */
  readonly serveHttp?: boolean | undefined;
}

/**
 * A running controller role.
 *
 * @example
 * const handle = await controllerRole(ctx);
 * console.log(handle.url, handle.identity, handle.controller.isLeader);
 */
export interface ControllerHandle {
  /** Base URL of /healthz, /readyz, /metrics and /status ('' with `serveHttp: false`). */
  readonly url: string;
  readonly identity: string;
  readonly controller: Controller;
  /** How leadership is decided: `Lease <ns>/<name>` or `coordination lease -1/0`. */
  readonly lock: string;
}

/**
 * `guildhall controller`: campaigns for leadership (a Kubernetes Lease when a Kubernetes API is configured
 * or the process runs in a cluster, the coordination lock in Redis otherwise) and, while leading, runs
 * the reconcile loop (shard plan, reshards, StatefulSet scaling, status, events, slash-command sync).
 * Serves `/healthz`, `/readyz` (coordination reachable), `/metrics` and `/status` (the controller status
 * as JSON) on CONTROLLER_HOST:CONTROLLER_PORT. Standbys are ready too: readiness is not leadership.
 *
 * @example
 * // src/cli.ts
 * controller: async () => (await import('./controller/index.js')).controllerRole,
 */
export async function controllerRole(
  ctx: RoleContext,
  deps: ControllerRoleDeps = {},
): Promise<ControllerHandle> {
  const cfg = ctx.config.controller;
  const log = ctx.log.child({ module: 'controller' });
  const timings = {
    leaseDurationMs: cfg.leaderLeaseDurationMs,
    renewDeadlineMs: cfg.leaderRenewDeadlineMs,
    retryPeriodMs: cfg.leaderRetryPeriodMs,
  };
  const problems = checkTimings(timings).map((p) => `LEADER_*: ${p}`);
  const token = ctx.config.discord.token;
  if (!deps.gateway && !token) problems.push('DISCORD_TOKEN: required for the controller (GET /gateway/bot)');
  if (problems.length > 0) throw new ConfigError(problems);

  const coordination = deps.coordination ?? (await openCoordination(ctx));

  const identity = deps.identity ?? `${ctx.config.shard.podName}_${randomBytes(4).toString('hex')}`;
  const metrics = controllerMetrics(ctx.metrics);
  const conn = kubeConnectionFromConfig(cfg);
  const kube = conn
    ? new KubeApi(kubeConfigFor(conn), {
        namespace: cfg.namespace,
        requestTimeoutMs: cfg.kubernetesRequestTimeoutMs,
        metrics: ctx.metrics,
      })
    : null;
  const lock = kube
    ? kubeLeaseLock(kube, { name: cfg.leaderLeaseName, identity, leaseDurationMs: timings.leaseDurationMs })
    : coordinationLock(coordination.leases, { identity, leaseDurationMs: timings.leaseDurationMs });
  const elector = createLeaderElector({ lock, identity, log, ...timings });
  const workload = kube
    ? statefulSetWorkload(kube, {
        name: cfg.shardStatefulSet,
        component: 'guildhall-controller',
        instance: identity,
      })
    : noWorkload;
  const gateway =
    deps.gateway ??
    cachedGateway(
      restGateway(discordRest({ apiUrl: ctx.config.discord.apiUrl, token: token! })),
      Math.min(10_000, Math.max(0, Math.floor(cfg.reconcileIntervalMs / 3))),
    );
  const reconciler = new Reconciler(
    {
      coordination,
      gateway,
      workload,
      identity,
      log: ctx.log,
      metrics,
      commands: deps.commands,
      guildCount: deps.guildCount,
    },
    {
      ...RECONCILER_DEFAULTS,
      shardsPerPod: ctx.config.shard.shardsPerPod,
      hysteresis: cfg.reshardHysteresis,
      fixedShardCount: cfg.fixedShardCount,
      identifyReserve: ctx.config.coordination.identifyReserve,
      identifyWindowMs: ctx.config.coordination.identifyWindowMs,
      reshardTimeoutMs: cfg.reshardTimeoutMs,
      drainTimeoutMs: 3 * ctx.config.shard.leaseTtlMs,
      pollMs: Math.min(RECONCILER_DEFAULTS.pollMs, cfg.reconcileIntervalMs),
    },
  );
  const controller = new Controller({
    elector,
    reconciler,
    pubsub: coordination.pubsub,
    log: ctx.log,
    metrics,
    resyncMs: cfg.reconcileIntervalMs,
  });
  controller.start();
  ctx.lifecycle.onShutdown('controller', () => controller.stop());

  if (deps.serveHttp === false) {
    log.info({ identity, lock: lock.description, workload: workload.description }, 'controller started');
    return { url: '', identity, controller, lock: lock.description };
  }
  const c = coordination;
  const app = new Koa();
  app.use(healthRouter(ctx.metrics, { coordination: () => c.ping() }).routes());
  app.use(async (kctx, next) => {
    if (kctx.method !== 'GET' || kctx.path !== '/status') return next();
    kctx.body = { identity, leader: controller.isLeader, status: await readControllerStatus(c) };
  });
  const server = app.listen(cfg.port, cfg.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  ctx.lifecycle.onShutdown('http', () => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const url = `http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${port}`;
  log.info(
    { url, identity, lock: lock.description, workload: workload.description, backend: coordination.backend },
    'controller started; campaigning for leadership',
  );
  return { url, identity, controller, lock: lock.description };
}
