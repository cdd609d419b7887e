import { REST } from '@discordjs/rest';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Coordination, ShardPlan } from '../coordination/index.js';
import type { Logger } from '../logging/logger.js';
import { EventPipeline, type EventPipelineOptions, type ShardEvent } from './event-pipeline.js';
import { GuildStateStore } from './guild-state.js';
import { normalizeDispatch, VoiceStates } from './normalize.js';
import { type HeldShard, ShardPod } from './pod.js';
import { roundUpToMultiple } from '../controller/plan.js';

/** The name of the event log shards append to and the api writer drains. */
export const EVENT_LOG_NAME = 'events';

/** What a shard runtime needs: identity, Discord credentials, coordination and observability. */
export interface ShardRuntimeOptions {
  readonly podName: string;
  readonly token: string;
  readonly intents: number;
  /** Discord REST base, e.g. `https://discord.com/api` (the simulator's `…/api` in tests). */
  readonly apiUrl: string;
  readonly coordination: Coordination;
  readonly log: Logger;
  readonly metrics?: Registry;
  readonly leaseTtlMs?: number;
  readonly maxShards?: number;
  /** IDENTIFY `large_threshold` (50–250); the default (50) keeps GUILD_CREATEs small. */
  readonly largeThreshold?: number;
  readonly pipeline?: Partial<EventPipelineOptions>;
  /** Extra per-dispatch work (the cog host plugs in here). */
  readonly onDispatch?: (payload: GatewayDispatchPayload, shard: HeldShard) => void;
}

/**
 * A shard pod's runtime: the {@link ShardPod} (leases + gateway connections), the compact per-guild
 * state, and the activity pipeline (gateway dispatch → normalized events with the lease's fence →
 * batched appends to the event log).
 *
 * @example
 * const runtime = new ShardRuntime({ podName, token, intents, apiUrl, coordination, log, metrics });
 * await runtime.start();
 * lifecycle.onShutdown('shard', () => runtime.stop());
 */
export class ShardRuntime {
  readonly rest: REST;
  readonly guilds: GuildStateStore;
  readonly pod: ShardPod;
  readonly pipeline: EventPipeline;
  private readonly voice = new VoiceStates();
  private readonly guildsByShard = new Map<number, Set<string>>();
  private readonly startedAt = Date.now();
  private botUserId = '';

  constructor(private readonly opts: ShardRuntimeOptions) {
    this.rest = new REST({ api: opts.apiUrl, version: '10' }).setToken(opts.token);
    this.guilds = new GuildStateStore(() => this.botUserId);
    this.pipeline = new EventPipeline(
      opts.coordination.eventLog<ShardEvent>(EVENT_LOG_NAME),
      opts.log.child({ module: 'event-pipeline' }),
      opts.pipeline,
      opts.metrics,
    );
    const dispatches = opts.metrics
      ? new Counter({
          name: 'guildhall_gateway_events_total',
          help: 'Gateway dispatches received by this pod, by event type.',
          labelNames: ['event'],
          registers: [opts.metrics],
        })
      : undefined;
    if (opts.metrics) {
      const guildsByShard = this.guildsByShard;
      new Gauge({
        name: 'guildhall_shard_guilds',
        help: 'Guilds per shard held by this pod.',
        labelNames: ['shard'],
        registers: [opts.metrics],
        collect() {
          this.reset();
          for (const [shard, guilds] of guildsByShard) this.set({ shard: String(shard) }, guilds.size);
        },
      });
    }
    this.pod = new ShardPod({
      podName: opts.podName,
      token: opts.token,
      intents: opts.intents,
      rest: this.rest,
      coordination: opts.coordination,
      log: opts.log,
      metrics: opts.metrics,
      leaseTtlMs: opts.leaseTtlMs,
      maxShards: opts.maxShards,
      largeThreshold: opts.largeThreshold,
      onReady: (_shard, data) => {
        this.botUserId = data.user.id;
      },
      onRelease: (shard) => {
        for (const g of this.guildsByShard.get(shard.shardId) ?? []) {
          this.guilds.drop(g);
          this.voice.dropGuild(g);
        }
        this.guildsByShard.delete(shard.shardId);
      },
      stream: this.pipeline,
      onDispatch: (payload, shard, receivedAt, stream) => {
        dispatches?.inc({ event: payload.t });
        this.track(payload, shard.shardId);
        this.guilds.apply(payload);
        for (const event of normalizeDispatch(payload, receivedAt, this.voice)) {
          this.pipeline.push(stream, payload.s, {
            event,
            shardId: shard.shardId,
            generation: shard.generation,
            epoch: shard.epoch,
          });
        }
        opts.onDispatch?.(payload, shard);
      },
    });
  }

  async start(): Promise<void> {
    await this.pod.start();
  }

  /** Flushes events, hands every shard over resumably and releases the leases. */
  async stop(): Promise<void> {
    await this.pod.stop();
    await this.pipeline.close();
  }

  /** Guilds the runtime has seen on a shard it holds. */
  guildCount(shardId: number): number {
    return this.guildsByShard.get(shardId)?.size ?? 0;
  }

  get uptimeMs(): number {
    return Date.now() - this.startedAt;
  }

  private track(payload: GatewayDispatchPayload, shardId: number): void {
    if (payload.t === 'GUILD_CREATE') {
      let set = this.guildsByShard.get(shardId);
      if (!set) this.guildsByShard.set(shardId, (set = new Set()));
      set.add(payload.d.id);
    } else if (payload.t === 'GUILD_DELETE') {
      this.guildsByShard.get(shardId)?.delete(payload.d.id);
    }
  }
}

/**
 * Publishes a first shard plan from Discord's recommendation when none exists — the single-process
 * stand-in for the controller (role `all`, tests). The controller role replaces it in a cluster.
 *
 * @example
 * await ensurePlan(coordination, rest, { shardsPerPod: 4 });
 */
export async function ensurePlan(
  coordination: Coordination,
  rest: REST,
  opts: { shardsPerPod?: number; totalShards?: number } = {},
): Promise<ShardPlan> {
  const existing = await coordination.plans.get();
  if (existing) return existing;
  const info = (await rest.get('/gateway/bot')) as {
    shards: number;
    session_start_limit: { max_concurrency: number };
  };
  const maxConcurrency = info.session_start_limit.max_concurrency;
  const wanted = opts.totalShards ?? info.shards;
  const totalShards = roundUpToMultiple(wanted, maxConcurrency);
  const plan: ShardPlan = {
    generation: 1,
    totalShards,
    maxConcurrency,
    shardsPerPod: opts.shardsPerPod ?? totalShards,
  };
  if (!(await coordination.plans.publish(plan, null))) {
    const now = await coordination.plans.get();
    if (now) return now;
  }
  return plan;
}
