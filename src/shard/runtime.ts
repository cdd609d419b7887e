import { createHash } from 'node:crypto';
import { REST } from '@discordjs/rest';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Coordination } from '../coordination/index.js';
import { dispatchGuildId } from '../discord/dispatch.js';
import type { Logger } from '../logging/logger.js';
import { EventPipeline, type EventPipelineOptions, type ShardEvent } from './event-pipeline.js';
import { GuildStateStore } from './guild-state.js';
import { RECEIPT_TIMED_DISPATCHES, normalizeDispatch, VoiceStates } from './normalize.js';
import { type HeldShard, ShardPod, type SideEffects } from './pod.js';

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
  /** Work to finish under a shard's lease before it is released (see `ShardPodOptional.beforeRelease`). */
  readonly beforeRelease?: (shard: HeldShard) => Promise<void>;
  /**
   * Extra per-dispatch work (the cog host plugs in here), with what side effects the dispatch may have
   * (see {@link SideEffects}; `claim` comes with the event's claim key).
   */
  readonly onDispatch?: (
    payload: GatewayDispatchPayload,
    shard: HeldShard,
    sideEffects: SideEffects,
    eventKey: string | undefined,
  ) => void;
}

/** How long a dispatch claim holds (docs/reshard.md): far longer than two generations' skew. */
export const EVENT_CLAIM_TTL_MS = 120_000;

/**
 * The deterministic key of a dispatch: the same for every shard generation that delivers it (Discord
 * sends identical payloads), so claims on it make a reshard's doubled events count once.
 *
 * @example
 * await coordination.claims.claim(`event:${dispatchKey(payload)}`, EVENT_CLAIM_TTL_MS);
 */
export function dispatchKey(payload: { readonly t: string; readonly d: unknown }): string {
  return createHash('sha1').update(payload.t).update(JSON.stringify(payload.d)).digest('base64url');
}

/**
 * A shard pod's runtime: the {@link ShardPod} (leases + gateway connections), the compact per-guild
 * state, and the activity pipeline (gateway dispatch → normalized events with the lease's fence →
 * batched appends to the event log).
 *
 * During a reshard a pod may receive a guild's events on two connections (the active and the shadow
 * generation). The guild state follows one of them (the guild's *owner* connection: the first that
 * delivered its GUILD_CREATE, handed to the other when it closes). Events with payload-derived ids are
 * recorded from both (the writer stores an id once); events stamped with their receipt time
 * ({@link RECEIPT_TIMED_DISPATCHES}) are claimed first while a reshard runs, so exactly one generation,
 * in whichever pod, records them.
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
  /** Guilds seen per connection (`<generation>:<shardId>`), and the connection whose events a guild's state follows. */
  private readonly guildsByShard = new Map<string, Set<string>>();
  private readonly owner = new Map<string, string>();
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
        labelNames: ['shard', 'generation'],
        registers: [opts.metrics],
        collect() {
          this.reset();
          for (const [conn, guilds] of guildsByShard) {
            const [generation = '', shard = ''] = conn.split(':');
            this.set({ shard, generation }, guilds.size);
          }
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
      onRelease: (shard) => this.forget(connectionOf(shard)),
      beforeRelease: opts.beforeRelease,
      stream: this.pipeline,
      onDispatch: (payload, shard, receivedAt, stream, sideEffects) => {
        dispatches?.inc({ event: payload.t });
        // Keyed before anything can touch the payload; only needed while a reshard runs.
        const key = this.pod.claiming() ? dispatchKey(payload) : undefined;
        if (this.track(payload, connectionOf(shard))) this.guilds.apply(payload);
        const events = normalizeDispatch(payload, receivedAt, this.voice);
        const record = (): void => {
          for (const event of events) {
            this.pipeline.push(stream, payload.s, {
              event,
              shardId: shard.shardId,
              generation: shard.generation,
              epoch: shard.epoch,
            });
          }
        };
        opts.onDispatch?.(payload, shard, sideEffects, key);
        if (key === undefined || events.length === 0 || !RECEIPT_TIMED_DISPATCHES.has(payload.t)) {
          record();
          return;
        }
        // The shard's later dispatches wait for this claim (the pod keeps their order). A claims outage
        // records the event (a possible duplicate beats a loss).
        return opts.coordination.claims.claim(`record:${key}`, EVENT_CLAIM_TTL_MS).then(
          (won) => {
            if (won) record();
          },
          () => record(),
        );
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

  /** Guilds the runtime has seen on a shard it holds (of the given generation, default: the active one). */
  guildCount(shardId: number, generation = this.pod.currentPlan?.generation ?? 0): number {
    return this.guildsByShard.get(`${generation}:${shardId}`)?.size ?? 0;
  }

  get uptimeMs(): number {
    return Date.now() - this.startedAt;
  }

  /** Records which guilds a connection carries; true when the guild's state follows this connection. */
  private track(payload: GatewayDispatchPayload, conn: string): boolean {
    if (payload.t === 'GUILD_CREATE') {
      let set = this.guildsByShard.get(conn);
      if (!set) this.guildsByShard.set(conn, (set = new Set()));
      set.add(payload.d.id);
      const owner = this.owner.get(payload.d.id);
      if (owner === undefined || !this.guildsByShard.has(owner)) this.owner.set(payload.d.id, conn);
    } else if (payload.t === 'GUILD_DELETE') {
      this.guildsByShard.get(conn)?.delete(payload.d.id);
    }
    const guild = dispatchGuildId(payload.t, payload.d);
    if (guild === null) return true;
    const owner = this.owner.get(guild);
    return owner === undefined || owner === conn;
  }

  /** A connection closed: its guilds' state moves to another connection carrying them, or is dropped. */
  private forget(conn: string): void {
    const guilds = this.guildsByShard.get(conn);
    this.guildsByShard.delete(conn);
    for (const g of guilds ?? []) {
      if (this.owner.get(g) !== conn) continue;
      const heir = [...this.guildsByShard].find(([, set]) => set.has(g))?.[0];
      if (heir !== undefined) {
        this.owner.set(g, heir);
        continue;
      }
      this.owner.delete(g);
      this.guilds.drop(g);
      this.voice.dropGuild(g);
    }
  }
}

function connectionOf(shard: HeldShard): string {
  return `${shard.generation}:${shard.shardId}`;
}
