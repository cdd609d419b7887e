import { Writable } from 'node:stream';
import { REST, RESTEvents } from '@discordjs/rest';
import {
  type APIApplicationCommandInteractionDataOption,
  ApplicationCommandType,
  ChannelType,
  ComponentType,
  InteractionType,
  PermissionFlagsBits,
} from 'discord-api-types/v10';
import { Registry } from 'prom-client';
import { expect } from 'vitest';
import {
  CogHost,
  type CogHostOptions,
  MemoryGuildCogSettings,
  type ShardView,
} from '../../../src/cogs/framework/index.js';
import { type Coordination, createCoordination } from '../../../src/coordination/index.js';
import { type Logger, createLogger } from '../../../src/logging/logger.js';
import { type SimulatorHandle, createSimulator } from '../../../src/sim/index.js';
import type {
  InteractionInit,
  InteractionOutcome,
  InteractionRecord,
} from '../../../src/sim/world/interactions.js';
import { waitUntil } from '../../helpers/wait.js';

/** Log lines captured from a real pino logger. */
export class LogCapture {
  readonly lines: Record<string, unknown>[] = [];
  readonly log: Logger;

  constructor() {
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        for (const line of chunk.toString('utf8').split('\n'))
          if (line.trim()) this.lines.push(JSON.parse(line));
        done();
      },
    });
    this.log = createLogger({ level: 'debug', destination: sink });
  }

  find(pred: (l: Record<string, unknown>) => boolean): Record<string, unknown> | undefined {
    return this.lines.find(pred);
  }
}

/** One REST request the bot made (observed on the @discordjs/rest client). */
export interface RestCall {
  readonly method: string;
  readonly route: string;
  readonly path: string;
  readonly status: number;
  readonly authorized: boolean;
}

/** A @discordjs/rest client for the simulator that records every response it gets. */
export function recordingRest(sim: SimulatorHandle): { rest: REST; calls: RestCall[] } {
  const rest = new REST({ api: sim.restUrl, version: '10', retries: 0, timeout: 5_000 }).setToken(sim.token);
  const calls: RestCall[] = [];
  rest.on(RESTEvents.Response, (request, response) => {
    calls.push({
      method: request.method,
      route: request.route,
      path: decodeURIComponent(request.path),
      status: response.status,
      authorized: request.data.auth !== false,
    });
  });
  return { rest, calls };
}

/** A ShardView for tests: 2 shards, this pod runs shard 0 and 1. */
export function testShardView(overrides: Partial<ShardView> = {}): ShardView {
  return {
    podId: 'shard-0',
    startedAt: Date.now() - 90_061_000,
    shardCount: () => 2,
    local: () => [
      { id: 0, latencyMs: 41.7, guilds: 12, status: 'ready' },
      { id: 1, latencyMs: null, guilds: 3, status: 'resuming' },
    ],
    ...overrides,
  };
}

/** Who sends an interaction: a guild member (plain, manager, owner) or a DM user. */
export type Who = 'member' | 'manager' | 'owner' | 'dm';

/** Where an interaction happens: which guild (or a DM) and as whom. */
export interface Where {
  readonly guild?: 'main' | 'other';
  readonly as?: Who;
}

/**
 * A cog host wired to the Discord simulator (REST: interaction callbacks, follow-ups, commands), memory
 * settings and in-memory coordination (pub/sub, cache, claims). Interactions are created in the simulated
 * world — which issues their id and token and checks every response — and handed to the host as the
 * INTERACTION_CREATE payload a gateway would carry.
 */
export interface Harness {
  readonly host: CogHost;
  readonly sim: SimulatorHandle;
  readonly rest: REST;
  readonly calls: RestCall[];
  readonly settings: MemoryGuildCogSettings;
  readonly coordination: Coordination;
  readonly metrics: Registry;
  readonly logs: LogCapture;
  readonly guildId: string;
  readonly otherGuildId: string;
  /** A text channel of the guild. */
  channelOf(guildId: string): string;
  /** A user id acting as `who` in the guild (members are created on first use). */
  userFor(guildId: string | null, who: Who): string;
  /** A message by the bot in the main guild's channel, to put components on. */
  panel(): string;
  /** Creates the interaction in the simulator and dispatches it to the host; resolves when routed. */
  interact(
    init: Omit<InteractionInit, 'guildId' | 'channelId' | 'userId'>,
    where?: Where,
  ): Promise<InteractionRecord>;
  /** `interact`, then what the bot answered (the host resolves once the interaction is handled). */
  ask(
    init: Omit<InteractionInit, 'guildId' | 'channelId' | 'userId'>,
    where?: Where,
  ): Promise<InteractionOutcome>;
  close(): Promise<void>;
}

export async function harness(overrides: Partial<CogHostOptions> = {}): Promise<Harness> {
  const sim = await createSimulator({ guilds: 2, membersPerGuild: 4, channelsPerGuild: 6, seed: 7 });
  const { rest, calls } = recordingRest(sim);
  const logs = new LogCapture();
  const metrics = new Registry();
  const settings = new MemoryGuildCogSettings();
  const coordination = await createCoordination({ keyPrefix: 'test:', log: logs.log });
  const host = new CogHost({
    log: logs.log,
    metrics,
    rest,
    applicationId: sim.applicationId,
    settings,
    shard: testShardView(),
    cache: coordination.cache,
    read: async (op) => ({ op }),
    write: async (op) => ({ op }),
    pubsub: coordination.pubsub,
    claims: coordination.claims,
    ...overrides,
  });
  await host.start();

  const world = sim.world;
  const [guildId, otherGuildId] = world.guildIds() as [string, string];
  const people = new Map<string, string>();
  const channelOf = (gid: string) => {
    const c = [...world.requireGuild(gid).channels.values()].find((ch) => ch.type === ChannelType.GuildText);
    if (!c) throw new Error(`no text channel in ${gid}`);
    return c.id;
  };
  const userFor = (gid: string | null, who: Who): string => {
    const key = `${gid}:${who}`;
    const known = people.get(key);
    if (known) return known;
    let id: string;
    if (gid === null || who === 'dm') id = world.createUser({}).id;
    else if (who === 'owner') id = world.requireGuild(gid).ownerId;
    else {
      id = world.createUser({}).id;
      const roles =
        who === 'manager'
          ? [
              world.createRole(gid, {
                name: 'managers',
                permissions: String(PermissionFlagsBits.ManageGuild),
              }).id,
            ]
          : [];
      world.addMember(gid, id, { roles });
      const g = world.requireGuild(gid);
      const perms = world.permissionsIn(g, g.members.get(id)!, world.requireChannel(channelOf(gid)));
      const manages = (perms & (PermissionFlagsBits.ManageGuild | PermissionFlagsBits.Administrator)) !== 0n;
      expect(manages).toBe(who === 'manager');
    }
    people.set(key, id);
    return id;
  };
  const interact: Harness['interact'] = async (init, where = {}) => {
    const who = where.as ?? 'member';
    const gid = who === 'dm' ? null : where.guild === 'other' ? otherGuildId : guildId;
    const userId = userFor(gid, who);
    const rec = world.interactions.create({
      ...init,
      guildId: gid,
      channelId: gid === null ? world.dmChannel(userId).id : channelOf(gid),
      userId,
    });
    await host.dispatch({ t: 'INTERACTION_CREATE', d: rec.payload });
    return rec;
  };
  return {
    host,
    sim,
    rest,
    calls,
    settings,
    coordination,
    metrics,
    logs,
    guildId,
    otherGuildId,
    channelOf,
    userFor,
    panel: () => world.createMessage(channelOf(guildId), world.botId, { content: 'panel' }).id,
    interact,
    ask: async (init, where) => world.interactions.outcome((await interact(init, where)).id),
    close: async () => {
      await host.close();
      await coordination.close();
      await sim.close();
    },
  };
}

type Init = Omit<InteractionInit, 'guildId' | 'channelId' | 'userId'>;

/** A chat input command. */
export function slash(name: string, options: APIApplicationCommandInteractionDataOption[] = []): Init {
  return {
    type: InteractionType.ApplicationCommand,
    data: { id: '1', name, type: ApplicationCommandType.ChatInput, options },
  };
}

/** A user/message context menu command. */
export function contextMenu(
  name: string,
  type: ApplicationCommandType.User | ApplicationCommandType.Message,
  targetId: string,
): Init {
  return {
    type: InteractionType.ApplicationCommand,
    data: { id: '1', name, type, target_id: targetId, resolved: {} },
  };
}

/** An autocomplete request. */
export function autocomplete(name: string, options: APIApplicationCommandInteractionDataOption[]): Init {
  return {
    type: InteractionType.ApplicationCommandAutocomplete,
    data: { id: '1', name, type: ApplicationCommandType.ChatInput, options },
  };
}

/** A button press on message `messageId`. */
export function button(customId: string, messageId: string): Init {
  return {
    type: InteractionType.MessageComponent,
    messageId,
    data: { custom_id: customId, component_type: ComponentType.Button },
  };
}

/** A modal submit (from a command, not a message) with text inputs. */
export function modalSubmit(customId: string, fields: Record<string, string>): Init {
  return {
    type: InteractionType.ModalSubmit,
    data: {
      custom_id: customId,
      components: Object.entries(fields).map(([id, value]) => ({
        type: ComponentType.ActionRow,
        components: [{ type: ComponentType.TextInput, custom_id: id, value }],
      })),
    },
  };
}

/** The value of a counter/gauge sample with these labels (0 when absent). */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  return sample(registry, name, name, labels);
}

/** How many observations a histogram has with these labels. */
export async function histogramCount(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  return sample(registry, name, `${name}_count`, labels);
}

async function sample(registry: Registry, name: string, series: string, labels: Record<string, string>) {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  const found = data.values.find(
    (v) =>
      ((v as { metricName?: string }).metricName ?? name) === series &&
      Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val),
  );
  return found?.value ?? 0;
}

/** Polls `check` until it holds (or fails after `timeoutMs`). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  await waitUntil('condition', check, timeoutMs, 15);
}
