import { once } from 'node:events';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Inflate, constants as zlibConstants, createInflate, inflateSync } from 'node:zlib';
import {
  type ChannelFlags,
  ChannelType,
  GatewayIntentBits,
  type APIGatewayBotInfo,
  type APIGuildMember,
  type GatewayDispatchPayload,
  type APIMessage,
  type APIUser,
  type GatewayGuildCreateDispatchData,
  GuildDefaultMessageNotifications,
  GuildExplicitContentFilter,
  type GuildHubType,
  type GuildMemberFlags,
  GuildMFALevel,
  GuildNSFWLevel,
  GuildPremiumTier,
  GuildSystemChannelFlags,
  GuildVerificationLevel,
  Locale,
  MessageType,
  type RoleFlags,
} from 'discord-api-types/v10';
import { REST } from '@discordjs/rest';
import {
  type OptionalWebSocketManagerOptions,
  type SessionInfo,
  WebSocketManager,
  WebSocketShardEvents,
} from '@discordjs/ws';
import { WebSocket } from 'ws';
import {
  type DispatchEvent,
  type GatewayWorld,
  type SimApplication,
  ViolationLog,
} from '../../src/sim/contracts.js';
import { GatewayServer, type GatewayServerOptions } from '../../src/sim/gateway/index.js';
import type { World } from '../../src/sim/world/index.js';

/** Snowflake for a guild/user/channel: timestamp part spreads ids evenly over shards. */
export function snowflake(n: number, kind = 0): string {
  const ts = 400_000_000_000n + BigInt(n) * 7_919n;
  return ((ts << 22n) | (BigInt(kind) << 17n) | BigInt(n & 0xfff)).toString();
}

/** `(guild_id >> 22) % num_shards`, written independently of the code under test. */
export function expectedShard(guildId: string, numShards: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(numShards));
}

export interface FakeWorldOptions {
  guilds?: number;
  membersPerGuild?: number;
  maxConcurrency?: number;
  privilegedIntents?: number;
  maxGuildsPerShard?: number;
  sessionStartLimit?: number;
}

/**
 * A tiny in-test world implementing {@link GatewayWorld}: N guilds with a text channel, a few members and
 * the bot; `emit` feeds dispatches to the gateway.
 */
export class FakeWorld implements GatewayWorld {
  readonly app: SimApplication;
  private readonly ids: string[];
  private readonly listeners = new Set<(e: DispatchEvent) => void>();
  private readonly membersPerGuild: number;
  private nextMessage = 1;

  constructor(opts: FakeWorldOptions = {}) {
    const botUser: APIUser = {
      id: snowflake(900_001, 4),
      username: 'guildhall-bot',
      discriminator: '0',
      global_name: null,
      avatar: null,
      bot: true,
    };
    this.app = {
      id: snowflake(900_000, 3),
      token: 'sim-token-abc.def.ghi',
      clientSecret: 'secret',
      botUser,
      privilegedIntents: opts.privilegedIntents ?? 0,
      maxConcurrency: opts.maxConcurrency ?? 1,
      maxGuildsPerShard: opts.maxGuildsPerShard ?? 2500,
      sessionStartLimit: {
        total: opts.sessionStartLimit ?? 1000,
        remaining: opts.sessionStartLimit ?? 1000,
        resetAfterMs: 86_400_000,
      },
    };
    this.ids = Array.from({ length: opts.guilds ?? 10 }, (_, i) => snowflake(i + 1));
    this.membersPerGuild = opts.membersPerGuild ?? 3;
  }

  guildIds(): readonly string[] {
    return this.ids;
  }

  channelOf(guildId: string): string {
    return (BigInt(guildId) + 1n).toString();
  }

  member(i: number): APIGuildMember {
    return {
      user: {
        id: snowflake(10_000 + i, 4),
        username: `user${i}`,
        discriminator: '0',
        global_name: null,
        avatar: null,
      },
      roles: [],
      joined_at: new Date(1_700_000_000_000).toISOString(),
      deaf: false,
      mute: false,
      flags: 0 as GuildMemberFlags,
    };
  }

  guildCreate(guildId: string, intents: number): GatewayGuildCreateDispatchData {
    const members: APIGuildMember[] = [
      { ...this.member(0), user: this.app.botUser },
      ...((intents & GatewayIntentBits.GuildMembers) !== 0
        ? Array.from({ length: this.membersPerGuild }, (_, i) => this.member(i + 1))
        : []),
    ];
    return {
      id: guildId,
      name: `guild ${guildId.slice(-4)}`,
      icon: null,
      splash: null,
      discovery_splash: null,
      owner_id: this.member(1).user.id,
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: GuildVerificationLevel.None,
      default_message_notifications: GuildDefaultMessageNotifications.OnlyMentions,
      explicit_content_filter: GuildExplicitContentFilter.Disabled,
      roles: [
        {
          id: guildId,
          name: '@everyone',
          color: 0,
          colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
          hoist: false,
          position: 0,
          permissions: '1024',
          managed: false,
          mentionable: false,
          flags: 0 as RoleFlags,
        },
      ],
      emojis: [],
      features: [],
      mfa_level: GuildMFALevel.None,
      application_id: null,
      system_channel_id: null,
      system_channel_flags: GuildSystemChannelFlags.SuppressJoinNotifications,
      rules_channel_id: null,
      vanity_url_code: null,
      description: null,
      banner: null,
      premium_tier: GuildPremiumTier.None,
      preferred_locale: Locale.EnglishUS,
      public_updates_channel_id: null,
      nsfw_level: GuildNSFWLevel.Default,
      premium_progress_bar_enabled: false,
      hub_type: null satisfies GuildHubType | null,
      safety_alerts_channel_id: null,
      incidents_data: null,
      stickers: [],
      joined_at: new Date(1_700_000_000_000).toISOString(),
      large: false,
      member_count: this.membersPerGuild + 1,
      voice_states: [],
      members,
      channels: [
        {
          id: this.channelOf(guildId),
          type: ChannelType.GuildText,
          guild_id: guildId,
          name: 'general',
          position: 0,
          permission_overwrites: [],
          nsfw: false,
          parent_id: null,
          topic: null,
          last_message_id: null,
          rate_limit_per_user: 0,
          flags: 0 as ChannelFlags,
        },
      ],
      threads: [],
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  onDispatch(listener: (event: DispatchEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: DispatchEvent): void {
    for (const l of this.listeners) l(event);
  }

  /** A MESSAGE_CREATE in the guild's text channel (or a DM when guildId is null). */
  message(guildId: string | null, content: string, extra: Partial<APIMessage> = {}): APIMessage {
    const n = this.nextMessage++;
    const author = this.member(1).user;
    return {
      id: snowflake(500_000 + n, 2),
      channel_id: guildId ? this.channelOf(guildId) : snowflake(800_000, 1),
      author,
      content,
      timestamp: new Date(1_700_000_000_000 + n).toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: [{ description: `embed ${n}` }],
      pinned: false,
      type: MessageType.Default,
      ...(guildId ? { guild_id: guildId } : {}),
      ...extra,
    } as APIMessage;
  }

  emitMessage(guildId: string | null, content: string, extra: Partial<APIMessage> = {}): APIMessage {
    const d = this.message(guildId, content, extra);
    this.emit({
      t: 'MESSAGE_CREATE',
      d,
      guildId,
      intents: guildId ? GatewayIntentBits.GuildMessages : GatewayIntentBits.DirectMessages,
      messageContent: true,
    });
    return d;
  }
}

/** A gateway on a real HTTP server on 127.0.0.1 with a {@link FakeWorld}. */
export interface TestGateway {
  readonly url: string;
  readonly world: FakeWorld;
  readonly gateway: GatewayServer;
  readonly violations: ViolationLog;
  readonly server: Server;
  close(): Promise<void>;
}

export async function startTestGateway(
  worldOpts: FakeWorldOptions = {},
  gatewayOpts: Partial<Omit<GatewayServerOptions, 'world' | 'violations' | 'resumeUrl'>> = {},
): Promise<TestGateway> {
  const world = new FakeWorld(worldOpts);
  const violations = new ViolationLog();
  let url = '';
  const gateway = new GatewayServer({
    world,
    violations,
    resumeUrl: () => url,
    heartbeatIntervalMs: 1_000,
    identifyWindowMs: 300,
    identifyToleranceMs: 0,
    ...gatewayOpts,
  });
  const server = createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    world,
    gateway,
    violations,
    server,
    close: async () => {
      gateway.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A gateway payload as a client sees it. */
export interface Payload {
  op: number;
  d: unknown;
  s: number | null;
  t: string | null;
}

/**
 * A raw `ws` gateway client for protocol tests: collects every decoded payload (text JSON, zlib-stream
 * or per-payload zlib) and waits for the ones a test expects.
 */
export class RawClient {
  readonly ws: WebSocket;
  readonly received: Payload[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private inflate: Inflate | undefined;
  private inflated: Buffer[] = [];
  private waiters: { pred: (p: Payload) => boolean; resolve: (p: Payload) => void }[] = [];
  private decodeQueue: Promise<void> = Promise.resolve();

  constructor(url: string, query = '?v=10&encoding=json') {
    this.ws = new WebSocket(`${url}/${query}`);
    this.ws.on('error', () => undefined);
    if (query.includes('compress=zlib-stream')) {
      this.inflate = createInflate({ flush: zlibConstants.Z_SYNC_FLUSH });
      this.inflate.on('data', (c: Buffer) => this.inflated.push(c));
    }
    this.closed = new Promise((resolve) =>
      this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    this.ws.on('message', (data, isBinary) => {
      const buf = data as Buffer;
      this.decodeQueue = this.decodeQueue.then(() => this.decode(buf, isBinary));
    });
  }

  static async open(url: string, query?: string): Promise<RawClient> {
    const c = new RawClient(url, query);
    await once(c.ws, 'open');
    return c;
  }

  private async decode(buf: Buffer, isBinary: boolean): Promise<void> {
    let text: string;
    if (!isBinary) {
      text = buf.toString('utf8');
    } else if (this.inflate) {
      const inflate = this.inflate;
      await new Promise<void>((resolve) => {
        inflate.write(buf);
        inflate.flush(zlibConstants.Z_SYNC_FLUSH, () => resolve());
      });
      text = Buffer.concat(this.inflated).toString('utf8');
      this.inflated = [];
    } else {
      text = inflateSync(buf).toString('utf8');
    }
    const p = JSON.parse(text) as Payload;
    this.received.push(p);
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred(p)) return true;
      w.resolve(p);
      return false;
    });
  }

  /** Resolves with the first payload (already received or future) matching `pred`. */
  next(pred: (p: Payload) => boolean, timeoutMs = 5_000): Promise<Payload> {
    const seen = this.received.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a gateway payload')), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
      });
    });
  }

  /** Resolves with the first payload received after this call matching `pred`. */
  nextNew(pred: (p: Payload) => boolean, timeoutMs = 5_000): Promise<Payload> {
    const start = this.received.length;
    return this.next((p) => this.received.indexOf(p) >= start && pred(p), timeoutMs);
  }

  dispatches(t?: string): Payload[] {
    return this.received.filter((p) => p.op === 0 && (t === undefined || p.t === t));
  }

  send(payload: unknown): void {
    this.ws.send(typeof payload === 'string' ? payload : JSON.stringify(payload));
  }

  identify(token: string, extra: Record<string, unknown> = {}): void {
    this.send({
      op: 2,
      d: {
        token,
        intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages,
        properties: props,
        ...extra,
      },
    });
  }

  /** Waits for HELLO, identifies and waits for READY. */
  async identifyAndReady(token: string, extra: Record<string, unknown> = {}): Promise<Payload> {
    await this.next((p) => p.op === 10);
    this.identify(token, extra);
    return this.next((p) => p.t === 'READY');
  }

  /** Identifies and waits for READY plus the GUILD_CREATE of every guild READY listed. */
  async identifyAndGuilds(token: string, extra: Record<string, unknown> = {}): Promise<Payload> {
    const ready = await this.identifyAndReady(token, extra);
    const ids = new Set((ready.d as { guilds: { id: string }[] }).guilds.map((g) => g.id));
    await waitFor(
      () =>
        this.dispatches('GUILD_CREATE').filter((p) => ids.has((p.d as { id: string }).id)).length ===
        ids.size,
      5_000,
      'GUILD_CREATEs',
    );
    return ready;
  }

  get lastSeq(): number {
    let s = 0;
    for (const p of this.received) if (p.s !== null && p.s > s) s = p.s;
    return s;
  }

  close(code = 1000): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code);
    return this.closed;
  }

  terminate(): void {
    this.ws.terminate();
  }
}

const props = { os: 'linux', browser: 'guildhall-tests', device: 'guildhall-tests' };

/** Polls `cond` until it is true (or throws after `timeoutMs`). */
export async function waitFor(cond: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** GET /gateway/bot as Discord answers it, for a simulator at `url` (stands in until REST is wired). */
export function gatewayBotInfo(url: string, app: SimApplication, shards = 1): APIGatewayBotInfo {
  return {
    url,
    shards,
    session_start_limit: {
      total: app.sessionStartLimit.total,
      remaining: app.sessionStartLimit.remaining,
      reset_after: app.sessionStartLimit.resetAfterMs,
      max_concurrency: app.maxConcurrency,
    },
  };
}

/** A REST stand-in answering only `GET /gateway/bot` (what WebSocketManager asks of `rest`). */
export function gatewayOnlyRest(info: () => APIGatewayBotInfo): REST {
  return {
    get: async (route: string) => {
      if (route !== '/gateway/bot') throw new Error(`unexpected REST call ${route}`);
      return info();
    },
  } as unknown as REST;
}

/** An unmodified @discordjs/ws 2.x manager plus what it received, per shard. */
export interface ManagerHarness {
  readonly manager: WebSocketManager;
  readonly dispatches: Map<number, GatewayDispatchPayload[]>;
  readonly sessions: Map<number, SessionInfo>;
  readonly closes: { shardId: number; code: number }[];
  destroy(): Promise<void>;
}

export function startManager(
  options: Partial<OptionalWebSocketManagerOptions> & { token: string; intents: number; rest: REST },
): ManagerHarness {
  const dispatches = new Map<number, GatewayDispatchPayload[]>();
  const sessions = new Map<number, SessionInfo>();
  const closes: { shardId: number; code: number }[] = [];
  const manager = new WebSocketManager({
    retrieveSessionInfo: (shardId) => sessions.get(shardId) ?? null,
    updateSessionInfo: (shardId, info) => {
      if (info) sessions.set(shardId, info);
      else sessions.delete(shardId);
    },
    ...options,
  });
  manager.on(WebSocketShardEvents.Dispatch, (payload, shardId) => {
    let list = dispatches.get(shardId);
    if (!list) dispatches.set(shardId, (list = []));
    list.push(payload);
  });
  manager.on(WebSocketShardEvents.Closed, (code, shardId) => closes.push({ shardId, code }));
  manager.on(WebSocketShardEvents.Error, () => undefined);
  return {
    manager,
    dispatches,
    sessions,
    closes,
    destroy: async () => {
      await manager.destroy({ code: 1000, reason: 'test over' });
    },
  };
}

/**
 * Posts a message as a (non-bot) member in the guild's system channel of a real simulator world, through
 * the world (so it is stored and dispatched exactly as a REST write would be).
 */
export function postMessage(world: World, guildId: string, content: string): void {
  const guild = world.guild(guildId)!;
  const author = [...guild.members.keys()].find((id) => id !== world.botId)!;
  world.createMessage(guild.systemChannelId!, author, { content });
}

/** A real @discordjs/rest client pointed at the simulator's REST (what WebSocketManager fetches /gateway/bot with). */
export function simRest(sim: { restUrl: string; token: string }): REST {
  return new REST({ api: sim.restUrl }).setToken(sim.token);
}
