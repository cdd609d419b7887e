import { Writable } from 'node:stream';
import {
  type APIApplicationCommandInteractionDataOption,
  type APIInteraction,
  ApplicationCommandType,
  ComponentType,
  InteractionType,
  PermissionFlagsBits,
} from 'discord-api-types/v10';
import { Registry } from 'prom-client';
import { MemoryGuildCogSettings } from '../../../src/cogs/framework/index.js';
import { CogHost, type CogHostOptions } from '../../../src/cogs/framework/host.js';
import type { ShardView } from '../../../src/cogs/framework/services.js';
import { type Coordination, createCoordination } from '../../../src/coordination/index.js';
import { type Logger, createLogger } from '../../../src/logging/logger.js';
import { FakeDiscord } from './fake-discord.js';

export const APP_ID = '900000000000000001';
export const GUILD = '100000000000000001';
export const OTHER_GUILD = '100000000000000002';
export const CHANNEL = '200000000000000001';
export const USER = '300000000000000001';

let seq = 0;
const nextId = () => String(500000000000000000n + BigInt(++seq));

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

  messages(): string[] {
    return this.lines.map((l) => String(l.msg));
  }
}

interface Who {
  guildId?: string | null;
  permissions?: bigint;
}

function base(type: InteractionType, who: Who = {}) {
  const id = nextId();
  const guildId = who.guildId === undefined ? GUILD : who.guildId;
  const user = { id: USER, username: 'tester', discriminator: '0', global_name: null, avatar: null };
  return {
    id,
    application_id: APP_ID,
    type,
    token: `tok${id}`,
    version: 1,
    locale: 'en-US',
    app_permissions: '0',
    entitlements: [],
    authorizing_integration_owners: {},
    channel_id: CHANNEL,
    channel: { id: CHANNEL, type: 0 },
    ...(guildId
      ? {
          guild_id: guildId,
          member: {
            user,
            roles: [],
            permissions: String(who.permissions ?? PermissionFlagsBits.SendMessages),
            joined_at: '2024-01-01T00:00:00.000Z',
            deaf: false,
            mute: false,
            flags: 0,
          },
          context: 0,
        }
      : { user, context: 1 }),
  };
}

/** A chat input command interaction. */
export function slash(
  name: string,
  options: APIApplicationCommandInteractionDataOption[] = [],
  who?: Who,
): APIInteraction & { token: string } {
  return {
    ...base(InteractionType.ApplicationCommand, who),
    data: { id: nextId(), name, type: ApplicationCommandType.ChatInput, options },
  } as unknown as APIInteraction & { token: string };
}

/** A user/message context menu command interaction. */
export function contextMenu(
  name: string,
  type: ApplicationCommandType.User | ApplicationCommandType.Message,
  targetId: string,
  who?: Who,
): APIInteraction & { token: string } {
  return {
    ...base(InteractionType.ApplicationCommand, who),
    data: { id: nextId(), name, type, target_id: targetId, resolved: {} },
  } as unknown as APIInteraction & { token: string };
}

/** An autocomplete interaction. */
export function autocomplete(
  name: string,
  options: APIApplicationCommandInteractionDataOption[],
  who?: Who,
): APIInteraction & { token: string } {
  return {
    ...base(InteractionType.ApplicationCommandAutocomplete, who),
    data: { id: nextId(), name, type: ApplicationCommandType.ChatInput, options },
  } as unknown as APIInteraction & { token: string };
}

/** A button press on a message. */
export function button(customId: string, who?: Who): APIInteraction & { token: string } {
  return {
    ...base(InteractionType.MessageComponent, who),
    message: { id: nextId(), channel_id: CHANNEL, content: 'panel', components: [] },
    data: { custom_id: customId, component_type: ComponentType.Button },
  } as unknown as APIInteraction & { token: string };
}

/** A modal submit (not from a message) with text inputs. */
export function modalSubmit(
  customId: string,
  fields: Record<string, string>,
  who?: Who,
): APIInteraction & { token: string } {
  return {
    ...base(InteractionType.ModalSubmit, who),
    data: {
      custom_id: customId,
      components: Object.entries(fields).map(([id, value]) => ({
        type: ComponentType.ActionRow,
        components: [{ type: ComponentType.TextInput, custom_id: id, value }],
      })),
    },
  } as unknown as APIInteraction & { token: string };
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

/** A host wired to a fake Discord, memory settings and in-memory coordination (pub/sub, cache, claims). */
export interface Harness {
  readonly host: CogHost;
  readonly fake: FakeDiscord;
  readonly settings: MemoryGuildCogSettings;
  readonly coordination: Coordination;
  readonly metrics: Registry;
  readonly logs: LogCapture;
  close(): Promise<void>;
}

export async function harness(overrides: Partial<CogHostOptions> = {}): Promise<Harness> {
  const fake = await FakeDiscord.start();
  const logs = new LogCapture();
  const metrics = new Registry();
  const settings = new MemoryGuildCogSettings();
  const coordination = await createCoordination({ keyPrefix: 'test:', log: logs.log });
  const host = new CogHost({
    log: logs.log,
    metrics,
    rest: fake.rest(),
    applicationId: APP_ID,
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
  return {
    host,
    fake,
    settings,
    coordination,
    metrics,
    logs,
    close: async () => {
      await host.close();
      await coordination.close();
      await fake.close();
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
