/**
 * The simulated Discord world: guilds, channels, roles, members, users, bans, messages, reactions, voice
 * states, scheduled events, AutoMod rules, audit log, application commands and interactions. Every
 * mutation emits the gateway dispatch Discord would send, tagged with the intent bits a session needs to
 * receive it. The REST layer (`src/sim/rest`) checks permissions and shapes errors, then calls these
 * methods; the scenario API calls them directly to play users.
 */
import { randomBytes } from 'node:crypto';
import type { AuditLogEvent } from 'discord-api-types/v10';
import {
  AutoModerationActionType,
  AutoModerationRuleTriggerType,
  ChannelType,
  GatewayIntentBits,
  MessageFlags,
  MessageType,
  PermissionFlagsBits,
  type APIApplicationCommand,
  type APIApplicationRoleConnectionMetadata,
  type APIAuditLogEntry,
  type APIAutoModerationRule,
  type APIChannel,
  type APIGuildMember,
  type APIGuildScheduledEvent,
  type APIMessage,
  type APIPartialEmoji,
  type APIRole,
  type APIUser,
  type GatewayGuildCreateDispatchData,
} from 'discord-api-types/v10';
import type { DispatchEvent, GatewayWorld, SimApplication } from '../contracts.js';
import {
  DEFAULT_BOT_PERMISSIONS,
  generatedOwner,
  generateGuild,
  guildTimestamp,
  IdKind,
  isPoolMember,
  newChannel,
  poolIndex,
  poolUser,
  type GenerationContext,
  type GuildSeed,
} from './generate.js';
import { intentsFor, MESSAGE_CONTENT_EVENTS } from './intents.js';
import { InteractionStore } from './interactions.js';
import { basePermissions, channelPermissions, type PermissionGuild } from './permissions.js';
import { Random } from './random.js';
import {
  toApiChannel,
  toApiGuild,
  toApiMember,
  toApiMessage,
  toApiThreadMember,
  toApiVoiceState,
} from './serialize.js';
import { snowflakeFrom, SnowflakeGenerator, snowflakeTimestamp } from './snowflake.js';
import type {
  ChannelRecord,
  GuildRecord,
  MemberRecord,
  MessageInput,
  MessageRecord,
  VoiceStateRecord,
} from './state.js';

export type {
  ChannelRecord,
  GuildRecord,
  MemberRecord,
  MessageInput,
  MessageRecord,
  VoiceStateRecord,
} from './state.js';
export { InteractionStore } from './interactions.js';
export type { InteractionRecord, InteractionResponseRecord } from './interactions.js';
export { shardOf, snowflakeTimestamp, isSnowflake } from './snowflake.js';

/** Options of {@link World.create}; every field has a default in {@link WORLD_DEFAULTS}. */
export interface WorldOptions {
  /** Guilds the bot is in at start. */
  guilds?: number;
  membersPerGuild?: number;
  /** Guild channels (categories, text, voice, forum, announcement); threads come on top (about 1 per 10). */
  channelsPerGuild?: number;
  /** Roles including @everyone and the bot's managed role. */
  rolesPerGuild?: number;
  maxConcurrency?: number;
  /** GatewayIntentBits the app may use among GUILD_MEMBERS, GUILD_PRESENCES, MESSAGE_CONTENT. */
  privilegedIntents?: number;
  maxGuildsPerShard?: number;
  sessionStartLimitTotal?: number;
  /** Bot token; generated when omitted. */
  token?: string;
  /** Same seed → same world. */
  seed?: number;
  /** Time source (tests may move time). */
  clock?: () => number;
  /** Messages kept per channel (oldest dropped). */
  maxMessagesPerChannel?: number;
  /** Permissions of the bot's managed role in generated guilds. */
  botPermissions?: bigint;
  /** Distinct users generated members are drawn from. */
  userPoolSize?: number;
  /** Audit log entries kept per guild. */
  auditLogLimit?: number;
  /** An interaction must get its initial response within this (Discord: 3 s) or it is unknown (10062). */
  interactionAckTimeoutMs?: number;
  /** Interaction tokens (follow-ups, @original) stay valid this long (Discord: 15 min). */
  interactionTokenTtlMs?: number;
}

/**
 * Defaults of {@link WorldOptions}.
 *
 * @example
 * World.create({ ...WORLD_DEFAULTS, guilds: 100 });
 */
export const WORLD_DEFAULTS = {
  guilds: 1,
  membersPerGuild: 50,
  channelsPerGuild: 12,
  rolesPerGuild: 8,
  maxConcurrency: 1,
  privilegedIntents:
    GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences | GatewayIntentBits.MessageContent,
  maxGuildsPerShard: 2500,
  sessionStartLimitTotal: 1000,
  seed: 1,
  maxMessagesPerChannel: 200,
  botPermissions: DEFAULT_BOT_PERMISSIONS,
  userPoolSize: 0,
  auditLogLimit: 1000,
  interactionAckTimeoutMs: 3000,
  interactionTokenTtlMs: 15 * 60_000,
} as const satisfies Required<Omit<WorldOptions, 'token' | 'clock'>>;

/** Optional fields of a user created by the scenario API or OAuth2 tests. */
export interface UserInit {
  id?: string;
  username?: string;
  globalName?: string | null;
  bot?: boolean;
  email?: string | null;
  verified?: boolean;
  avatar?: string | null;
}

/** Options for guilds added at run time (scenario API). */
export interface GuildInit {
  name?: string;
  members?: number;
  channels?: number;
  roles?: number;
  /** Emit GUILD_CREATE (the bot "joins"); default true. */
  announce?: boolean;
}

/**
 * A user-visible failure of a world operation, mapped by REST to Discord's error body.
 *
 * @example
 * throw new WorldError(404, 10008, 'Unknown Message');
 */
export class WorldError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'WorldError';
  }
}

const MAX_TIMEOUT_MS = 28 * 86_400_000;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function emojiKey(e: APIPartialEmoji): string {
  return e.id ? `${e.name ?? '_'}:${e.id}` : (e.name ?? '');
}

/**
 * The whole simulated Discord, in memory.
 *
 * @example
 * const world = World.create({ guilds: 100, membersPerGuild: 50, channelsPerGuild: 12, rolesPerGuild: 8 });
 * world.onDispatch((e) => console.log(e.t));
 * const [guildId] = world.guildIds();
 * world.createMessage(world.guild(guildId!)!.systemChannelId!, someUserId, { content: 'hi' });
 */
export class World implements GatewayWorld {
  readonly app: SimApplication;
  readonly clock: () => number;
  readonly ids: SnowflakeGenerator;
  readonly interactions: InteractionStore;
  /** Global application commands of the app. */
  readonly globalCommands = new Map<string, APIApplicationCommand>();
  /** Application role connection metadata records (linked roles). */
  roleConnectionMetadata: APIApplicationRoleConnectionMetadata[] = [];
  /** userId → role connection the app set for that user. */
  readonly roleConnections = new Map<
    string,
    { platform_name: string | null; platform_username: string | null; metadata: Record<string, string> }
  >();
  readonly options: Readonly<Required<Omit<WorldOptions, 'token' | 'clock'>>>;

  private readonly gen: GenerationContext;
  private readonly listeners = new Set<(event: DispatchEvent) => void>();
  private readonly seeds = new Map<string, GuildSeed>();
  private readonly records = new Map<string, GuildRecord>();
  private readonly usedGuildTs = new Set<number>();
  private readonly users = new Map<string, APIUser & { email?: string | null; verified?: boolean }>();
  /** Channels created at run time (not derivable from a generated id): id → guild id (null = DM). */
  private readonly channelIndex = new Map<string, string | null>();
  private readonly dms = new Map<string, ChannelRecord>();
  private readonly dmByUser = new Map<string, string>();
  private nextGuildIndex = 0;

  private constructor(opts: WorldOptions) {
    const o = { ...WORLD_DEFAULTS, ...stripUndefined(opts) };
    this.clock = opts.clock ?? Date.now;
    this.ids = new SnowflakeGenerator(this.clock);
    const rng = new Random(o.seed);
    const appId = snowflakeFrom(Date.UTC(2021, 0, 1) + rng.int(0, 86_400_000 * 365), 0, 1, rng.int(0, 4096));
    const poolSize =
      o.userPoolSize > 0
        ? o.userPoolSize
        : Math.max(o.membersPerGuild, Math.min(o.guilds * o.membersPerGuild, 100_000), 100);
    this.options = { ...o, userPoolSize: poolSize };
    const botUser: APIUser = {
      id: appId,
      username: 'guildhall',
      discriminator: '0',
      global_name: null,
      avatar: null,
      bot: true,
    };
    const token =
      opts.token ??
      `${Buffer.from(appId).toString('base64url')}.${randomBytes(4).toString('base64url')}.${randomBytes(27).toString('base64url')}`;
    this.app = {
      id: appId,
      token,
      clientSecret: randomBytes(24).toString('base64url'),
      botUser,
      privilegedIntents: o.privilegedIntents,
      maxConcurrency: o.maxConcurrency,
      maxGuildsPerShard: o.maxGuildsPerShard,
      sessionStartLimit: {
        total: o.sessionStartLimitTotal,
        remaining: o.sessionStartLimitTotal,
        resetAfterMs: 86_400_000,
      },
    };
    this.users.set(appId, botUser);
    this.gen = {
      seed: o.seed,
      botUserId: appId,
      botPermissions: o.botPermissions,
      userPoolSize: poolSize,
      userPoolBaseTs: Date.UTC(2015, 6, 1),
    };
    this.interactions = new InteractionStore(this, o.interactionAckTimeoutMs, o.interactionTokenTtlMs);
    for (let i = 0; i < o.guilds; i++) {
      let ts = guildTimestamp(o.seed, i, o.guilds);
      while (this.usedGuildTs.has(ts)) ts += 1;
      this.addSeed({ ts, channels: o.channelsPerGuild, roles: o.rolesPerGuild, members: o.membersPerGuild });
    }
  }

  /**
   * Builds a world.
   *
   * @example
   * const world = World.create({ guilds: 10, seed: 7 });
   */
  static create(opts: WorldOptions = {}): World {
    return new World(opts);
  }

  /** The bot's user id (= application id). */
  get botId(): string {
    return this.app.id;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Gateway seam

  guildIds(): readonly string[] {
    return [...this.seeds.keys()];
  }

  onDispatch(listener: (event: DispatchEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * GUILD_CREATE payload. Without GUILD_PRESENCES (or when the guild is larger than `largeThreshold`, all
   * simulated members being offline) `members` holds only the bot and members in voice, as Discord does.
   */
  guildCreate(guildId: string, intents: number, largeThreshold = 50): GatewayGuildCreateDispatchData {
    const g = this.records.get(guildId) ?? this.peekGuild(guildId);
    if (!g) throw new WorldError(404, 10004, 'Unknown Guild');
    const large = g.members.size > largeThreshold;
    const full = (intents & GatewayIntentBits.GuildPresences) !== 0 && !large;
    const members: APIGuildMember[] = [];
    for (const m of g.members.values()) {
      if (full || m.userId === this.botId || g.voiceStates.has(m.userId))
        members.push(toApiMember(m, this.userOf));
    }
    const channels: ChannelRecord[] = [];
    const threads: ChannelRecord[] = [];
    const bot = g.members.get(this.botId);
    for (const c of g.channels.values()) {
      if (c.thread) {
        if (c.thread.archived) continue;
        const parent = c.parentId ? g.channels.get(c.parentId) : undefined;
        if (bot && parent && !(this.permissionsIn(g, bot, parent) & PermissionFlagsBits.ViewChannel))
          continue;
        threads.push(c);
      } else channels.push(c);
    }
    return {
      ...toApiGuild(g, null),
      joined_at: g.joinedAt,
      large,
      unavailable: false,
      member_count: g.members.size,
      voice_states: [...g.voiceStates.values()].map((vs) => {
        const v = toApiVoiceState(null, vs, undefined);
        return v;
      }),
      members,
      channels: channels.map((c) =>
        toApiChannel(c, this.userOf),
      ) as GatewayGuildCreateDispatchData['channels'],
      threads: threads.map((c) => toApiChannel(c, this.userOf)) as GatewayGuildCreateDispatchData['threads'],
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [...g.scheduledEvents.values()].map((e) => ({ ...e })),
      soundboard_sounds: [],
    };
  }

  /**
   * Emits one dispatch to every listener (the gateway). Intents default to Discord's table.
   *
   * @example
   * world.emit('TYPING_START', { channel_id, user_id, timestamp }, guildId);
   */
  emit(
    t: string,
    d: unknown,
    guildId: string | null,
    intents = intentsFor(t, guildId !== null),
    messageContent?: boolean,
  ): void {
    const event: DispatchEvent = {
      t,
      d,
      guildId,
      intents,
      ...((messageContent ?? (MESSAGE_CONTENT_EVENTS.has(t) && guildId !== null))
        ? { messageContent: true }
        : {}),
    };
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A listener failing must not break the world or other listeners.
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Users

  /** The user with this id (bot, generated pool user, or created), or undefined. */
  user(id: string): (APIUser & { email?: string | null; verified?: boolean }) | undefined {
    const known = this.users.get(id);
    if (known) return known;
    const idx = poolIndex(this.gen, id);
    return idx === undefined ? undefined : poolUser(this.gen, idx);
  }

  /** Like {@link user} but for ids known to exist (members, authors). */
  readonly userOf = (id: string): APIUser => {
    return (
      this.user(id) ?? {
        id,
        username: 'deleted_user',
        discriminator: '0',
        global_name: 'Deleted User',
        avatar: null,
      }
    );
  };

  /**
   * Creates a user (for scenario actors and OAuth2 logins).
   *
   * @example
   * const alice = world.createUser({ username: 'alice', email: 'alice@example.test' });
   */
  createUser(init: UserInit = {}): APIUser {
    const id = init.id ?? this.ids.next();
    const username = init.username ?? `user${id.slice(-6)}`;
    const user: APIUser & { email?: string | null; verified?: boolean } = {
      id,
      username,
      discriminator: '0',
      global_name: init.globalName === undefined ? username : init.globalName,
      avatar: init.avatar ?? null,
      ...(init.bot ? { bot: true } : {}),
      email: init.email === undefined ? `${username}@users.sim.test` : init.email,
      verified: init.verified ?? true,
    };
    this.users.set(id, user);
    return user;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Guilds

  hasGuild(id: string): boolean {
    return this.seeds.has(id);
  }

  /** The guild record (materialized on first access), or undefined when the bot is not in it. */
  guild(id: string): GuildRecord | undefined {
    const existing = this.records.get(id);
    if (existing) return existing;
    const seed = this.seeds.get(id);
    if (!seed) return undefined;
    const g = generateGuild(this.gen, seed);
    this.records.set(id, g);
    return g;
  }

  /**
   * The guild as it is now, without materializing an untouched generated guild (a throwaway copy is built).
   * Read-only use: changes to a throwaway copy are lost.
   *
   * @example
   * world.guildSnapshot(id)?.name;
   */
  guildSnapshot(id: string): GuildRecord | undefined {
    return this.records.get(id) ?? this.peekGuild(id);
  }

  /** Whether a user is a member of a guild (untouched generated guilds are answered without building them). */
  isMember(guildId: string, userId: string): boolean {
    const rec = this.records.get(guildId);
    if (rec) return rec.members.has(userId);
    const seed = this.seeds.get(guildId);
    if (!seed) return false;
    if (userId === this.botId) return true;
    const idx = poolIndex(this.gen, userId);
    return idx !== undefined && isPoolMember(this.gen, seed, idx);
  }

  /** Guild ids (of guilds the bot is in) a user is a member of. */
  guildsOf(userId: string): string[] {
    return [...this.seeds.keys()].filter((id) => this.isMember(id, userId));
  }

  /**
   * Adds a generated guild the bot joins now; emits GUILD_CREATE unless `announce: false`.
   *
   * @example
   * const id = world.addGuild({ name: 'Test', members: 10 });
   */
  addGuild(init: GuildInit = {}): string {
    let ts = this.clock() - 1000;
    while (this.usedGuildTs.has(ts)) ts -= 1;
    const seed = this.addSeed({
      ts,
      channels: init.channels ?? this.options.channelsPerGuild,
      roles: init.roles ?? this.options.rolesPerGuild,
      members: init.members ?? this.options.membersPerGuild,
      ...(init.name ? { name: init.name } : {}),
    });
    const g = this.guild(seed.id) as GuildRecord;
    g.joinedAt = iso(this.clock());
    if (init.announce !== false) this.emit('GUILD_CREATE', this.guildCreate(seed.id, 0), seed.id);
    return seed.id;
  }

  /**
   * The bot leaves (or is removed from) a guild: GUILD_DELETE without `unavailable`.
   *
   * @example
   * world.removeGuild(guildId);
   */
  removeGuild(id: string): void {
    if (!this.seeds.delete(id)) throw new WorldError(404, 10004, 'Unknown Guild');
    this.records.delete(id);
    this.emit('GUILD_DELETE', { id }, id);
  }

  /** Marks a guild unavailable (outage): GUILD_DELETE with `unavailable: true`. */
  guildOutage(id: string): void {
    if (!this.seeds.has(id)) throw new WorldError(404, 10004, 'Unknown Guild');
    this.emit('GUILD_DELETE', { id, unavailable: true }, id);
  }

  /** Updates guild settings; emits GUILD_UPDATE. */
  updateGuild(
    id: string,
    patch: Partial<
      Pick<
        GuildRecord,
        | 'name'
        | 'description'
        | 'icon'
        | 'systemChannelId'
        | 'preferredLocale'
        | 'afkChannelId'
        | 'verificationLevel'
      >
    >,
  ): GuildRecord {
    const g = this.requireGuild(id);
    Object.assign(g, stripUndefined(patch));
    this.emit('GUILD_UPDATE', toApiGuild(g, null), id);
    return g;
  }

  /**
   * Makes a user the guild's owner (Discord's ownership transfer), joining them first when they are not a
   * member; emits GUILD_UPDATE. The former owner stays a member.
   *
   * @example
   * world.transferOwnership(guildId, alice.id);
   */
  transferOwnership(guildId: string, userId: string): GuildRecord {
    const g = this.requireGuild(guildId);
    this.addMember(guildId, userId);
    g.ownerId = userId;
    this.emit('GUILD_UPDATE', toApiGuild(g, null), guildId);
    return g;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Permissions

  /** The guild as the permission functions see it. */
  permissionGuild(g: GuildRecord): PermissionGuild {
    return { id: g.id, ownerId: g.ownerId, role: (rid) => g.roles.get(rid) };
  }

  /** Guild-level permissions of a member. */
  guildPermissions(g: GuildRecord, m: MemberRecord): bigint {
    return basePermissions(this.permissionGuild(g), m, this.clock());
  }

  /** Channel-level permissions of a member (threads inherit their parent's overwrites). */
  permissionsIn(g: GuildRecord, m: MemberRecord, c: ChannelRecord): bigint {
    const source = c.thread && c.parentId ? (g.channels.get(c.parentId) ?? c) : c;
    return channelPermissions(this.permissionGuild(g), m, source.permissionOverwrites, this.clock());
  }

  // ---------------------------------------------------------------------------------------------------------
  // Channels

  /** Any channel by id: guild channel, thread or DM. */
  channel(id: string): ChannelRecord | undefined {
    const indexed = this.channelIndex.get(id);
    if (indexed === null) return this.dms.get(id);
    if (indexed !== undefined)
      return this.records.get(indexed)?.channels.get(id) ?? this.guild(indexed)?.channels.get(id);
    const owner = generatedOwner(id);
    if (owner?.kind !== IdKind.channel) return undefined;
    return this.guild(owner.guildId)?.channels.get(id);
  }

  /** Channel payload. */
  apiChannel(c: ChannelRecord): APIChannel {
    return toApiChannel(c, this.userOf);
  }

  /**
   * Creates a guild channel or thread; emits CHANNEL_CREATE or THREAD_CREATE.
   *
   * @example
   * world.createChannel(guildId, { type: ChannelType.GuildText, name: 'new' });
   */
  createChannel(
    guildId: string,
    init: Partial<ChannelRecord> & { type: ChannelType; name: string },
    opts: { threadOwnerId?: string; starterMessageId?: string } = {},
  ): ChannelRecord {
    const g = this.requireGuild(guildId);
    const id = opts.starterMessageId ?? this.ids.next();
    const isThread =
      init.type === ChannelType.PublicThread ||
      init.type === ChannelType.PrivateThread ||
      init.type === ChannelType.AnnouncementThread;
    const now = iso(this.clock());
    const siblings = [...g.channels.values()].filter((c) => !c.thread && c.type === init.type);
    const c = newChannel({
      ...init,
      id,
      guildId,
      position: init.position ?? siblings.length,
      thread: isThread
        ? {
            ownerId: opts.threadOwnerId ?? this.botId,
            archived: false,
            locked: false,
            invitable: true,
            autoArchiveDuration: init.thread?.autoArchiveDuration ?? 4320,
            archiveTimestamp: now,
            createTimestamp: now,
            messageCount: 0,
            totalMessageSent: 0,
            appliedTags: init.thread?.appliedTags ?? [],
            members: new Set([opts.threadOwnerId ?? this.botId]),
          }
        : null,
    });
    if (c.type === ChannelType.GuildVoice || c.type === ChannelType.GuildStageVoice) {
      c.bitrate ??= 64_000;
      c.userLimit ??= 0;
    }
    g.channels.set(id, c);
    this.channelIndex.set(id, guildId);
    if (isThread) {
      const owner = opts.threadOwnerId ?? this.botId;
      this.emit(
        'THREAD_CREATE',
        {
          ...this.apiChannel(c),
          newly_created: true,
          ...(owner === this.botId ? { member: toApiThreadMember(id, owner, now) } : {}),
        },
        guildId,
      );
    } else {
      this.emit('CHANNEL_CREATE', this.apiChannel(c), guildId);
    }
    return c;
  }

  /**
   * Changes channel fields; emits CHANNEL_UPDATE or THREAD_UPDATE.
   *
   * @example
   * world.updateChannel(channelId, { topic: 'rules', rateLimitPerUser: 10 });
   */
  updateChannel(
    id: string,
    patch: Partial<Omit<ChannelRecord, 'id' | 'type' | 'guildId' | 'messages' | 'thread'>> & {
      thread?: Partial<NonNullable<ChannelRecord['thread']>>;
    },
  ): ChannelRecord {
    const c = this.requireChannel(id);
    const { thread, ...rest } = patch;
    Object.assign(c, stripUndefined(rest));
    if (thread && c.thread) {
      const wasArchived = c.thread.archived;
      Object.assign(c.thread, stripUndefined(thread));
      if (thread.archived !== undefined && thread.archived !== wasArchived)
        c.thread.archiveTimestamp = iso(this.clock());
    }
    if (c.guildId) this.emit(c.thread ? 'THREAD_UPDATE' : 'CHANNEL_UPDATE', this.apiChannel(c), c.guildId);
    return c;
  }

  /** Deletes a channel (and its threads); emits CHANNEL_DELETE / THREAD_DELETE. */
  deleteChannel(id: string): APIChannel {
    const c = this.requireChannel(id);
    const payload = this.apiChannel(c);
    if (c.type === ChannelType.DM) {
      return payload;
    }
    const g = this.requireGuild(c.guildId as string);
    g.channels.delete(id);
    this.channelIndex.delete(id);
    if (c.thread) {
      this.emit('THREAD_DELETE', { id, guild_id: g.id, parent_id: c.parentId, type: c.type }, g.id);
    } else {
      for (const child of [...g.channels.values()]) {
        if (child.thread && child.parentId === id) {
          g.channels.delete(child.id);
          this.emit('THREAD_DELETE', { id: child.id, guild_id: g.id, parent_id: id, type: child.type }, g.id);
        } else if (child.parentId === id) child.parentId = null;
      }
      this.emit('CHANNEL_DELETE', payload, g.id);
    }
    return payload;
  }

  /** Adds a user to a thread; emits THREAD_MEMBERS_UPDATE (and THREAD_MEMBER_UPDATE for the bot). */
  joinThread(threadId: string, userId: string): void {
    const c = this.requireChannel(threadId);
    if (!c.thread || !c.guildId)
      throw new WorldError(400, 50024, 'Cannot execute action on this channel type');
    if (c.thread.members.has(userId)) return;
    c.thread.members.add(userId);
    const tm = toApiThreadMember(threadId, userId, iso(this.clock()));
    if (userId === this.botId) this.emit('THREAD_MEMBER_UPDATE', { ...tm, guild_id: c.guildId }, c.guildId);
    this.emit(
      'THREAD_MEMBERS_UPDATE',
      {
        id: threadId,
        guild_id: c.guildId,
        member_count: Math.min(50, c.thread.members.size),
        added_members: [tm],
      },
      c.guildId,
      userId === this.botId ? GatewayIntentBits.Guilds : GatewayIntentBits.GuildMembers,
    );
  }

  /** Removes a user from a thread; emits THREAD_MEMBERS_UPDATE. */
  leaveThread(threadId: string, userId: string): void {
    const c = this.requireChannel(threadId);
    if (!c.thread || !c.guildId)
      throw new WorldError(400, 50024, 'Cannot execute action on this channel type');
    if (!c.thread.members.delete(userId)) return;
    this.emit(
      'THREAD_MEMBERS_UPDATE',
      {
        id: threadId,
        guild_id: c.guildId,
        member_count: Math.min(50, c.thread.members.size),
        removed_member_ids: [userId],
      },
      c.guildId,
      userId === this.botId ? GatewayIntentBits.Guilds : GatewayIntentBits.GuildMembers,
    );
  }

  /**
   * The DM channel between the bot and a user (created on first use; no event, as on Discord).
   *
   * @example
   * const dm = world.dmChannel(userId);
   */
  dmChannel(userId: string): ChannelRecord {
    const existing = this.dmByUser.get(userId);
    if (existing) return this.dms.get(existing) as ChannelRecord;
    if (!this.user(userId)) throw new WorldError(404, 10013, 'Unknown User');
    const id = this.ids.next();
    const c = newChannel({ id, type: ChannelType.DM, guildId: null, recipients: [userId] });
    this.dms.set(id, c);
    this.dmByUser.set(userId, id);
    this.channelIndex.set(id, null);
    return c;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Messages

  /** A stored message, or undefined. */
  message(channelId: string, messageId: string): MessageRecord | undefined {
    return this.channel(channelId)?.messages.get(messageId);
  }

  /**
   * Posts a message as `authorId`; emits MESSAGE_CREATE (GUILD_MESSAGES in guilds, DIRECT_MESSAGES in DMs).
   * Ephemeral messages (flags 64) are returned but neither stored nor dispatched.
   *
   * @example
   * world.createMessage(channelId, userId, { content: 'hello <@' + botId + '>' });
   */
  createMessage(
    channelId: string,
    authorId: string,
    input: MessageInput,
    extra: {
      type?: MessageType;
      webhookId?: string;
      applicationId?: string;
      interactionMetadata?: APIMessage['interaction_metadata'];
      timestampMs?: number;
      id?: string;
      authorOverride?: APIUser;
    } = {},
  ): APIMessage {
    const c = this.requireChannel(channelId);
    const ts = extra.timestampMs ?? this.clock();
    const id = extra.id ?? (extra.timestampMs !== undefined ? this.ids.at(ts) : this.ids.next());
    const g = c.guildId ? this.requireGuild(c.guildId) : undefined;
    const author = extra.authorOverride ?? this.userOf(authorId);
    const mentions = this.parseMentions(input, g);
    let referenced: APIMessage | null | undefined;
    if (input.messageReference) {
      const ref = c.messages.get(input.messageReference.message_id);
      referenced = ref ? toApiMessage(ref, this.botId) : null;
      if (
        referenced &&
        input.allowedMentions?.replied_user !== false &&
        !mentions.users.some((u) => u.id === referenced?.author.id)
      ) {
        mentions.users.push(referenced.author);
      }
    }
    const message: APIMessage = {
      id,
      channel_id: channelId,
      author,
      content: input.content ?? '',
      timestamp: iso(ts),
      edited_timestamp: null,
      tts: input.tts ?? false,
      mention_everyone: mentions.everyone,
      mentions: mentions.users,
      mention_roles: mentions.roles,
      attachments: input.attachments ?? [],
      embeds: input.embeds ?? [],
      pinned: false,
      type: extra.type ?? (input.messageReference ? MessageType.Reply : MessageType.Default),
      flags: input.flags ?? 0,
      ...(input.components ? { components: input.components as APIMessage['components'] } : {}),
      ...(input.nonce !== undefined ? { nonce: input.nonce } : {}),
      ...(extra.webhookId ? { webhook_id: extra.webhookId } : {}),
      ...(extra.applicationId ? { application_id: extra.applicationId } : {}),
      ...(extra.interactionMetadata ? { interaction_metadata: extra.interactionMetadata } : {}),
      ...(input.messageReference
        ? {
            message_reference: {
              type: 0,
              message_id: input.messageReference.message_id,
              channel_id: channelId,
              ...(c.guildId ? { guild_id: c.guildId } : {}),
            },
            referenced_message: referenced ?? null,
          }
        : {}),
      ...(input.poll ? { poll: input.poll as APIMessage['poll'] } : {}),
    };
    if (((input.flags ?? 0) & MessageFlags.Ephemeral) !== 0) return message;
    const record: MessageRecord = { message, reactions: new Map() };
    c.messages.set(id, record);
    while (c.messages.size > this.options.maxMessagesPerChannel) {
      const oldest = c.messages.keys().next().value as string;
      c.messages.delete(oldest);
    }
    if (extra.timestampMs === undefined || !c.lastMessageId || BigInt(id) > BigInt(c.lastMessageId))
      c.lastMessageId = id;
    if (c.thread) {
      c.thread.messageCount += 1;
      c.thread.totalMessageSent += 1;
    }
    this.emit(
      'MESSAGE_CREATE',
      this.messageEventPayload(message, g),
      g?.id ?? null,
      undefined,
      g ? true : false,
    );
    return message;
  }

  /** MESSAGE_CREATE/UPDATE payload: message + guild_id + member (+ members on mentions). */
  private messageEventPayload(message: APIMessage, g: GuildRecord | undefined): unknown {
    if (!g) return { ...message };
    const m = g.members.get(message.author.id);
    return {
      ...message,
      guild_id: g.id,
      ...(m && !message.webhook_id ? { member: toApiMember(m, this.userOf, false) } : {}),
      mentions: message.mentions.map((u) => {
        const mm = g.members.get(u.id);
        return mm ? { ...u, member: toApiMember(mm, this.userOf, false) } : u;
      }),
    };
  }

  private parseMentions(
    input: MessageInput,
    g: GuildRecord | undefined,
  ): { users: APIUser[]; roles: string[]; everyone: boolean } {
    const content = input.content ?? '';
    const allowed = input.allowedMentions;
    const parse = allowed?.parse ?? (allowed ? [] : ['users', 'roles', 'everyone']);
    const users: APIUser[] = [];
    const roles: string[] = [];
    for (const match of content.matchAll(/<@!?(\d{1,20})>/g)) {
      const id = match[1] as string;
      const ok = parse.includes('users') || (allowed?.users ?? []).includes(id);
      const u = this.user(id);
      if (ok && u && !users.some((x) => x.id === id)) users.push(u);
    }
    for (const match of content.matchAll(/<@&(\d{1,20})>/g)) {
      const id = match[1] as string;
      const ok = parse.includes('roles') || (allowed?.roles ?? []).includes(id);
      if (ok && g?.roles.has(id) && !roles.includes(id)) roles.push(id);
    }
    const everyone = parse.includes('everyone') && /@(everyone|here)/.test(content);
    return { users, roles, everyone };
  }

  /**
   * Edits a message; emits MESSAGE_UPDATE.
   *
   * @example
   * world.editMessage(channelId, messageId, { content: 'edited' });
   */
  editMessage(
    channelId: string,
    messageId: string,
    input: MessageInput & { clearAttachments?: boolean },
  ): APIMessage {
    const c = this.requireChannel(channelId);
    const r = c.messages.get(messageId);
    if (!r) throw new WorldError(404, 10008, 'Unknown Message');
    const g = c.guildId ? this.requireGuild(c.guildId) : undefined;
    const m = { ...r.message };
    if (input.content !== undefined) {
      m.content = input.content;
      const mentions = this.parseMentions(input, g);
      m.mentions = mentions.users;
      m.mention_roles = mentions.roles;
      m.mention_everyone = mentions.everyone;
    }
    if (input.embeds !== undefined) m.embeds = input.embeds;
    if (input.components !== undefined) m.components = input.components as APIMessage['components'];
    if (input.attachments !== undefined) m.attachments = input.attachments;
    if (input.flags !== undefined)
      m.flags = ((m.flags ?? 0) & ~MessageFlags.SuppressEmbeds) | (input.flags & MessageFlags.SuppressEmbeds);
    m.flags = (m.flags ?? 0) & ~MessageFlags.Loading;
    m.edited_timestamp = iso(this.clock());
    r.message = m;
    this.emit(
      'MESSAGE_UPDATE',
      this.messageEventPayload(toApiMessage(r, this.botId), g),
      g?.id ?? null,
      undefined,
      g ? true : false,
    );
    return toApiMessage(r, this.botId);
  }

  /** Deletes one message; emits MESSAGE_DELETE. */
  deleteMessage(channelId: string, messageId: string): void {
    const c = this.requireChannel(channelId);
    if (!c.messages.delete(messageId)) throw new WorldError(404, 10008, 'Unknown Message');
    c.pins = c.pins.filter((p) => p !== messageId);
    this.emit(
      'MESSAGE_DELETE',
      { id: messageId, channel_id: channelId, ...(c.guildId ? { guild_id: c.guildId } : {}) },
      c.guildId,
    );
  }

  /** Deletes many messages; emits MESSAGE_DELETE_BULK (unknown ids are ignored, as Discord does). */
  bulkDeleteMessages(channelId: string, ids: readonly string[]): string[] {
    const c = this.requireChannel(channelId);
    const deleted = ids.filter((id) => c.messages.delete(id));
    if (deleted.length > 0) {
      this.emit(
        'MESSAGE_DELETE_BULK',
        { ids: deleted, channel_id: channelId, ...(c.guildId ? { guild_id: c.guildId } : {}) },
        c.guildId,
      );
    }
    return deleted;
  }

  /**
   * Messages of a channel newest first, like GET /channels/:id/messages.
   *
   * @example
   * world.listMessages(channelId, { limit: 50, before: someId });
   */
  listMessages(
    channelId: string,
    q: { limit?: number; before?: string; after?: string; around?: string },
    viewerId = this.botId,
  ): APIMessage[] {
    const c = this.requireChannel(channelId);
    const limit = Math.max(1, Math.min(100, q.limit ?? 50));
    const all = [...c.messages.values()].sort((a, b) =>
      BigInt(a.message.id) < BigInt(b.message.id) ? 1 : -1,
    );
    let out: MessageRecord[];
    if (q.around) {
      const pivot = BigInt(q.around);
      const newer = all
        .filter((r) => BigInt(r.message.id) > pivot)
        .reverse()
        .slice(0, Math.floor(limit / 2))
        .reverse();
      const older = all.filter((r) => BigInt(r.message.id) <= pivot).slice(0, limit - newer.length);
      out = [...newer, ...older];
    } else if (q.after) {
      const after = BigInt(q.after);
      out = all
        .filter((r) => BigInt(r.message.id) > after)
        .reverse()
        .slice(0, limit)
        .reverse();
    } else if (q.before) {
      const before = BigInt(q.before);
      out = all.filter((r) => BigInt(r.message.id) < before).slice(0, limit);
    } else out = all.slice(0, limit);
    return out.map((r) => toApiMessage(r, viewerId));
  }

  /** Pins a message; emits CHANNEL_PINS_UPDATE. */
  pinMessage(channelId: string, messageId: string, pinned: boolean): void {
    const c = this.requireChannel(channelId);
    const r = c.messages.get(messageId);
    if (!r) throw new WorldError(404, 10008, 'Unknown Message');
    if (pinned && !c.pins.includes(messageId)) {
      if (c.pins.length >= 250) throw new WorldError(400, 30003, 'Maximum number of pins reached (250)');
      c.pins.push(messageId);
    } else if (!pinned) c.pins = c.pins.filter((p) => p !== messageId);
    r.message = { ...r.message, pinned };
    c.lastPinTimestamp = pinned ? iso(this.clock()) : c.lastPinTimestamp;
    this.emit(
      'CHANNEL_PINS_UPDATE',
      {
        channel_id: channelId,
        last_pin_timestamp: c.lastPinTimestamp,
        ...(c.guildId ? { guild_id: c.guildId } : {}),
      },
      c.guildId,
    );
  }

  // ---------------------------------------------------------------------------------------------------------
  // Reactions

  /**
   * Adds a reaction; emits MESSAGE_REACTION_ADD. Returns false when it already existed.
   *
   * @example
   * world.addReaction(channelId, messageId, userId, { id: null, name: '👍' });
   */
  addReaction(channelId: string, messageId: string, userId: string, emoji: APIPartialEmoji): boolean {
    const c = this.requireChannel(channelId);
    const r = c.messages.get(messageId);
    if (!r) throw new WorldError(404, 10008, 'Unknown Message');
    const key = emojiKey(emoji);
    let reaction = r.reactions.get(key);
    if (!reaction) {
      if (r.reactions.size >= 20)
        throw new WorldError(400, 30010, 'Maximum number of reactions reached (20)');
      reaction = {
        emoji: {
          id: emoji.id ?? null,
          name: emoji.name ?? null,
          ...(emoji.animated ? { animated: true } : {}),
        },
        users: new Set(),
      };
      r.reactions.set(key, reaction);
    }
    if (reaction.users.has(userId)) return false;
    reaction.users.add(userId);
    const g = c.guildId ? this.guild(c.guildId) : undefined;
    const member = g?.members.get(userId);
    this.emit(
      'MESSAGE_REACTION_ADD',
      {
        user_id: userId,
        channel_id: channelId,
        message_id: messageId,
        ...(g ? { guild_id: g.id } : {}),
        ...(member ? { member: toApiMember(member, this.userOf) } : {}),
        emoji: { ...reaction.emoji },
        message_author_id: r.message.author.id,
        burst: false,
        burst_colors: [],
        type: 0,
      },
      c.guildId,
    );
    return true;
  }

  /** Removes one user's reaction; emits MESSAGE_REACTION_REMOVE. */
  removeReaction(channelId: string, messageId: string, userId: string, emoji: APIPartialEmoji): boolean {
    const c = this.requireChannel(channelId);
    const r = c.messages.get(messageId);
    if (!r) throw new WorldError(404, 10008, 'Unknown Message');
    const key = emojiKey(emoji);
    const reaction = r.reactions.get(key);
    if (!reaction?.users.delete(userId)) return false;
    if (reaction.users.size === 0) r.reactions.delete(key);
    this.emit(
      'MESSAGE_REACTION_REMOVE',
      {
        user_id: userId,
        channel_id: channelId,
        message_id: messageId,
        ...(c.guildId ? { guild_id: c.guildId } : {}),
        emoji: { ...reaction.emoji },
        burst: false,
        type: 0,
      },
      c.guildId,
    );
    return true;
  }

  /** Removes all reactions (or all of one emoji); emits MESSAGE_REACTION_REMOVE_ALL / _EMOJI. */
  removeAllReactions(channelId: string, messageId: string, emoji?: APIPartialEmoji): void {
    const c = this.requireChannel(channelId);
    const r = c.messages.get(messageId);
    if (!r) throw new WorldError(404, 10008, 'Unknown Message');
    const base = {
      channel_id: channelId,
      message_id: messageId,
      ...(c.guildId ? { guild_id: c.guildId } : {}),
    };
    if (emoji) {
      const reaction = r.reactions.get(emojiKey(emoji));
      if (!reaction) return;
      r.reactions.delete(emojiKey(emoji));
      this.emit('MESSAGE_REACTION_REMOVE_EMOJI', { ...base, emoji: { ...reaction.emoji } }, c.guildId);
    } else {
      r.reactions.clear();
      this.emit('MESSAGE_REACTION_REMOVE_ALL', base, c.guildId);
    }
  }

  /** Users that reacted with an emoji (by id order, paginated with `after`). */
  reactionUsers(
    channelId: string,
    messageId: string,
    emoji: APIPartialEmoji,
    q: { limit?: number; after?: string } = {},
  ): APIUser[] {
    const r = this.message(channelId, messageId);
    if (!r) throw new WorldError(404, 10008, 'Unknown Message');
    const reaction = r.reactions.get(emojiKey(emoji));
    if (!reaction) throw new WorldError(404, 10014, 'Unknown Emoji');
    const after = q.after ? BigInt(q.after) : -1n;
    return [...reaction.users]
      .filter((id) => BigInt(id) > after)
      .sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))
      .slice(0, Math.max(1, Math.min(100, q.limit ?? 25)))
      .map((id) => this.userOf(id));
  }

  // ---------------------------------------------------------------------------------------------------------
  // Members, bans

  member(guildId: string, userId: string): MemberRecord | undefined {
    return this.guild(guildId)?.members.get(userId);
  }

  apiMember(guildId: string, m: MemberRecord): APIGuildMember {
    return toApiMember(m, this.userOf);
  }

  /**
   * A user joins a guild: GUILD_MEMBER_ADD plus the system welcome message when the guild has a system
   * channel.
   *
   * @example
   * world.addMember(guildId, alice.id);
   */
  addMember(
    guildId: string,
    userId: string,
    init: Partial<Pick<MemberRecord, 'nick' | 'roles'>> = {},
  ): MemberRecord {
    const g = this.requireGuild(guildId);
    if (!this.user(userId)) throw new WorldError(404, 10013, 'Unknown User');
    if (g.bans.has(userId)) throw new WorldError(403, 40007, 'The user is banned from this guild.');
    const existing = g.members.get(userId);
    if (existing) return existing;
    const m: MemberRecord = {
      userId,
      nick: init.nick ?? null,
      roles: init.roles ?? [],
      joinedAt: iso(this.clock()),
      premiumSince: null,
      deaf: false,
      mute: false,
      flags: 0,
      pending: false,
      communicationDisabledUntil: null,
      avatar: null,
    };
    g.members.set(userId, m);
    this.emit('GUILD_MEMBER_ADD', { ...toApiMember(m, this.userOf), guild_id: guildId }, guildId);
    if (g.systemChannelId && g.channels.has(g.systemChannelId)) {
      this.createMessage(g.systemChannelId, userId, { content: '' }, { type: MessageType.UserJoin });
    }
    return m;
  }

  /** A member leaves or is kicked: GUILD_MEMBER_REMOVE (and their voice state ends). */
  removeMember(guildId: string, userId: string): void {
    const g = this.requireGuild(guildId);
    if (!g.members.delete(userId)) throw new WorldError(404, 10007, 'Unknown Member');
    if (g.voiceStates.has(userId)) this.setVoiceState(guildId, userId, null);
    this.emit('GUILD_MEMBER_REMOVE', { guild_id: guildId, user: this.userOf(userId) }, guildId);
  }

  /**
   * Updates a member; emits GUILD_MEMBER_UPDATE (sent for the bot itself even without GUILD_MEMBERS).
   *
   * @example
   * world.updateMember(guildId, userId, { communicationDisabledUntil: new Date(Date.now() + 60_000).toISOString() });
   */
  updateMember(
    guildId: string,
    userId: string,
    patch: Partial<
      Pick<
        MemberRecord,
        'nick' | 'roles' | 'communicationDisabledUntil' | 'mute' | 'deaf' | 'flags' | 'pending'
      >
    >,
  ): MemberRecord {
    const g = this.requireGuild(guildId);
    const m = g.members.get(userId);
    if (!m) throw new WorldError(404, 10007, 'Unknown Member');
    if (patch.communicationDisabledUntil) {
      const until = Date.parse(patch.communicationDisabledUntil);
      if (until - this.clock() > MAX_TIMEOUT_MS) throw new WorldError(400, 50035, 'Invalid Form Body');
    }
    Object.assign(m, stripUndefined(patch));
    if (patch.roles) m.roles = [...new Set(patch.roles)].filter((r) => r !== guildId && g.roles.has(r));
    this.emit(
      'GUILD_MEMBER_UPDATE',
      { ...toApiMember(m, this.userOf), guild_id: guildId },
      guildId,
      userId === this.botId ? 0 : GatewayIntentBits.GuildMembers,
    );
    return m;
  }

  /**
   * Bans a user: GUILD_BAN_ADD, GUILD_MEMBER_REMOVE when they were a member, and MESSAGE_DELETE_BULK for
   * their messages of the last `deleteMessageSeconds` (≤ 7 days).
   *
   * @example
   * world.ban(guildId, userId, 'spam', 3600);
   */
  ban(guildId: string, userId: string, reason: string | null, deleteMessageSeconds = 0): void {
    const g = this.requireGuild(guildId);
    if (!this.user(userId)) throw new WorldError(404, 10013, 'Unknown User');
    g.bans.set(userId, { reason });
    this.emit('GUILD_BAN_ADD', { guild_id: guildId, user: this.userOf(userId) }, guildId);
    if (g.members.has(userId)) this.removeMember(guildId, userId);
    if (deleteMessageSeconds > 0) {
      const since = this.clock() - Math.min(deleteMessageSeconds, 604_800) * 1000;
      for (const c of g.channels.values()) {
        const ids = [...c.messages.values()]
          .filter((r) => r.message.author.id === userId && snowflakeTimestamp(r.message.id) >= since)
          .map((r) => r.message.id);
        if (ids.length === 1) this.deleteMessage(c.id, ids[0] as string);
        else if (ids.length > 1) this.bulkDeleteMessages(c.id, ids);
      }
    }
  }

  /** Lifts a ban; emits GUILD_BAN_REMOVE. */
  unban(guildId: string, userId: string): void {
    const g = this.requireGuild(guildId);
    if (!g.bans.delete(userId)) throw new WorldError(404, 10026, 'Unknown Ban');
    this.emit('GUILD_BAN_REMOVE', { guild_id: guildId, user: this.userOf(userId) }, guildId);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Roles

  /** Creates a role just above @everyone (as Discord does); emits GUILD_ROLE_CREATE. */
  createRole(guildId: string, init: Partial<Omit<APIRole, 'id'>>): APIRole {
    const g = this.requireGuild(guildId);
    if (g.roles.size >= 250) throw new WorldError(400, 30005, 'Maximum number of guild roles reached (250)');
    for (const r of g.roles.values()) if (r.id !== guildId && r.position >= 1) r.position += 1;
    const role: APIRole = {
      id: this.ids.next(),
      name: 'new role',
      color: 0,
      colors: { primary_color: init.color ?? 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      icon: null,
      unicode_emoji: null,
      permissions: '0',
      managed: false,
      mentionable: false,
      flags: 0 as APIRole['flags'],
      ...stripUndefined(init),
      position: 1,
    };
    g.roles.set(role.id, role);
    this.emit('GUILD_ROLE_CREATE', { guild_id: guildId, role: { ...role } }, guildId);
    return role;
  }

  /** Updates a role; emits GUILD_ROLE_UPDATE. */
  updateRole(guildId: string, roleId: string, patch: Partial<Omit<APIRole, 'id'>>): APIRole {
    const g = this.requireGuild(guildId);
    const r = g.roles.get(roleId);
    if (!r) throw new WorldError(404, 10011, 'Unknown Role');
    Object.assign(r, stripUndefined(patch));
    this.emit('GUILD_ROLE_UPDATE', { guild_id: guildId, role: { ...r } }, guildId);
    return r;
  }

  /** Deletes a role (removed from every member); emits GUILD_ROLE_DELETE. */
  deleteRole(guildId: string, roleId: string): void {
    const g = this.requireGuild(guildId);
    const r = g.roles.get(roleId);
    if (!r) throw new WorldError(404, 10011, 'Unknown Role');
    g.roles.delete(roleId);
    for (const m of g.members.values())
      if (m.roles.includes(roleId)) m.roles = m.roles.filter((x) => x !== roleId);
    this.emit('GUILD_ROLE_DELETE', { guild_id: guildId, role_id: roleId }, guildId);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Voice

  /**
   * Joins, moves or leaves (null) a voice channel; emits VOICE_STATE_UPDATE.
   *
   * @example
   * world.setVoiceState(guildId, userId, voiceChannelId, { selfMute: true });
   */
  setVoiceState(
    guildId: string,
    userId: string,
    channelId: string | null,
    flags: Partial<
      Pick<VoiceStateRecord, 'selfMute' | 'selfDeaf' | 'selfVideo' | 'selfStream' | 'suppress'>
    > = {},
  ): void {
    const g = this.requireGuild(guildId);
    const m = g.members.get(userId);
    if (!m && channelId) throw new WorldError(404, 10007, 'Unknown Member');
    const prev = g.voiceStates.get(userId);
    if (channelId === null) {
      if (!prev) return;
      g.voiceStates.delete(userId);
      this.emit(
        'VOICE_STATE_UPDATE',
        toApiVoiceState(
          guildId,
          { userId, channelId: null, sessionId: prev.sessionId },
          m ? toApiMember(m, this.userOf) : undefined,
        ),
        guildId,
      );
      return;
    }
    const c = g.channels.get(channelId);
    if (!c || (c.type !== ChannelType.GuildVoice && c.type !== ChannelType.GuildStageVoice))
      throw new WorldError(400, 50024, 'Cannot execute action on this channel type');
    const vs: VoiceStateRecord = {
      userId,
      channelId,
      sessionId: prev?.sessionId ?? randomBytes(16).toString('hex'),
      selfMute: flags.selfMute ?? prev?.selfMute ?? false,
      selfDeaf: flags.selfDeaf ?? prev?.selfDeaf ?? false,
      selfVideo: flags.selfVideo ?? prev?.selfVideo ?? false,
      selfStream: flags.selfStream ?? prev?.selfStream ?? false,
      suppress: flags.suppress ?? c.type === ChannelType.GuildStageVoice,
      requestToSpeakTimestamp: null,
    };
    g.voiceStates.set(userId, vs);
    this.emit(
      'VOICE_STATE_UPDATE',
      toApiVoiceState(guildId, vs, m ? toApiMember(m, this.userOf) : undefined),
      guildId,
    );
  }

  // ---------------------------------------------------------------------------------------------------------
  // Scheduled events

  /** Creates a scheduled event; emits GUILD_SCHEDULED_EVENT_CREATE. */
  createScheduledEvent(
    guildId: string,
    init: Omit<APIGuildScheduledEvent, 'id' | 'guild_id' | 'user_count'>,
  ): APIGuildScheduledEvent {
    const g = this.requireGuild(guildId);
    if (g.scheduledEvents.size >= 100)
      throw new WorldError(400, 30038, 'Maximum number of guild scheduled events reached (100)');
    const ev = { ...init, id: this.ids.next(), guild_id: guildId, user_count: 0 } as APIGuildScheduledEvent;
    g.scheduledEvents.set(ev.id, ev);
    g.scheduledEventUsers.set(ev.id, new Set());
    this.emit('GUILD_SCHEDULED_EVENT_CREATE', { ...ev }, guildId);
    return ev;
  }

  /** Updates a scheduled event; emits GUILD_SCHEDULED_EVENT_UPDATE. */
  updateScheduledEvent(
    guildId: string,
    eventId: string,
    patch: Partial<APIGuildScheduledEvent>,
  ): APIGuildScheduledEvent {
    const g = this.requireGuild(guildId);
    const ev = g.scheduledEvents.get(eventId);
    if (!ev) throw new WorldError(404, 10070, 'Unknown Guild Scheduled Event');
    const next = { ...ev, ...stripUndefined(patch), id: ev.id, guild_id: guildId } as APIGuildScheduledEvent;
    g.scheduledEvents.set(eventId, next);
    this.emit('GUILD_SCHEDULED_EVENT_UPDATE', { ...next }, guildId);
    return next;
  }

  /** Deletes a scheduled event; emits GUILD_SCHEDULED_EVENT_DELETE. */
  deleteScheduledEvent(guildId: string, eventId: string): void {
    const g = this.requireGuild(guildId);
    const ev = g.scheduledEvents.get(eventId);
    if (!ev) throw new WorldError(404, 10070, 'Unknown Guild Scheduled Event');
    g.scheduledEvents.delete(eventId);
    g.scheduledEventUsers.delete(eventId);
    this.emit('GUILD_SCHEDULED_EVENT_DELETE', { ...ev }, guildId);
  }

  /** A user marks interest (true) or withdraws (false); emits GUILD_SCHEDULED_EVENT_USER_ADD/_REMOVE. */
  setScheduledEventInterest(guildId: string, eventId: string, userId: string, interested: boolean): void {
    const g = this.requireGuild(guildId);
    const ev = g.scheduledEvents.get(eventId);
    const users = g.scheduledEventUsers.get(eventId);
    if (!ev || !users) throw new WorldError(404, 10070, 'Unknown Guild Scheduled Event');
    const changed = interested ? !users.has(userId) && users.add(userId) !== undefined : users.delete(userId);
    if (!changed) return;
    g.scheduledEvents.set(eventId, { ...ev, user_count: users.size });
    this.emit(
      interested ? 'GUILD_SCHEDULED_EVENT_USER_ADD' : 'GUILD_SCHEDULED_EVENT_USER_REMOVE',
      { guild_scheduled_event_id: eventId, user_id: userId, guild_id: guildId },
      guildId,
    );
  }

  // ---------------------------------------------------------------------------------------------------------
  // AutoMod

  /** Creates an AutoMod rule; emits AUTO_MODERATION_RULE_CREATE. */
  createAutoModRule(
    guildId: string,
    init: Omit<APIAutoModerationRule, 'id' | 'guild_id'>,
  ): APIAutoModerationRule {
    const g = this.requireGuild(guildId);
    const rule: APIAutoModerationRule = { ...init, id: this.ids.next(), guild_id: guildId };
    g.autoModerationRules.set(rule.id, rule);
    this.emit('AUTO_MODERATION_RULE_CREATE', structuredClone(rule), guildId);
    return rule;
  }

  /** Updates an AutoMod rule; emits AUTO_MODERATION_RULE_UPDATE. */
  updateAutoModRule(
    guildId: string,
    ruleId: string,
    patch: Partial<APIAutoModerationRule>,
  ): APIAutoModerationRule {
    const g = this.requireGuild(guildId);
    const rule = g.autoModerationRules.get(ruleId);
    if (!rule) throw new WorldError(404, 10066, 'Unknown auto moderation rule');
    const next: APIAutoModerationRule = {
      ...rule,
      ...stripUndefined(patch),
      id: rule.id,
      guild_id: guildId,
      trigger_type: rule.trigger_type,
    };
    g.autoModerationRules.set(ruleId, next);
    this.emit('AUTO_MODERATION_RULE_UPDATE', structuredClone(next), guildId);
    return next;
  }

  /** Deletes an AutoMod rule; emits AUTO_MODERATION_RULE_DELETE. */
  deleteAutoModRule(guildId: string, ruleId: string): void {
    const g = this.requireGuild(guildId);
    const rule = g.autoModerationRules.get(ruleId);
    if (!rule) throw new WorldError(404, 10066, 'Unknown auto moderation rule');
    g.autoModerationRules.delete(ruleId);
    this.emit('AUTO_MODERATION_RULE_DELETE', structuredClone(rule), guildId);
  }

  /**
   * Runs a rule's actions against a user's content: one AUTO_MODERATION_ACTION_EXECUTION per action, the
   * alert message for SEND_ALERT_MESSAGE and the timeout for TIMEOUT. Returns whether the message is blocked.
   *
   * @example
   * world.executeAutoMod(guildId, ruleId, { userId, channelId, content: 'bad word', matchedKeyword: 'bad' });
   */
  executeAutoMod(
    guildId: string,
    ruleId: string,
    ctx: {
      userId: string;
      channelId?: string | null;
      content: string;
      matchedKeyword?: string | null;
      matchedContent?: string | null;
      messageId?: string | null;
    },
  ): { blocked: boolean } {
    const g = this.requireGuild(guildId);
    const rule = g.autoModerationRules.get(ruleId);
    if (!rule) throw new WorldError(404, 10066, 'Unknown auto moderation rule');
    let blocked = false;
    for (const action of rule.actions) {
      let alertId: string | undefined;
      if (action.type === AutoModerationActionType.BlockMessage) blocked = true;
      if (
        action.type === AutoModerationActionType.SendAlertMessage &&
        action.metadata?.channel_id &&
        g.channels.has(action.metadata.channel_id)
      ) {
        alertId = this.createMessage(
          action.metadata.channel_id,
          ctx.userId,
          {
            content: '',
            embeds: [
              {
                type: 'auto_moderation_message' as never,
                description: ctx.content,
                fields: [{ name: 'rule_name', value: rule.name }],
              },
            ],
          },
          { type: MessageType.AutoModerationAction },
        ).id;
      }
      if (
        action.type === AutoModerationActionType.Timeout &&
        action.metadata?.duration_seconds &&
        g.members.has(ctx.userId)
      ) {
        this.updateMember(guildId, ctx.userId, {
          communicationDisabledUntil: iso(this.clock() + action.metadata.duration_seconds * 1000),
        });
      }
      this.emit(
        'AUTO_MODERATION_ACTION_EXECUTION',
        {
          guild_id: guildId,
          action: structuredClone(action),
          rule_id: rule.id,
          rule_trigger_type: rule.trigger_type,
          user_id: ctx.userId,
          ...(ctx.channelId ? { channel_id: ctx.channelId } : {}),
          ...(ctx.messageId && !blocked ? { message_id: ctx.messageId } : {}),
          ...(alertId ? { alert_system_message_id: alertId } : {}),
          content: ctx.content,
          matched_keyword: ctx.matchedKeyword ?? null,
          matched_content: ctx.matchedContent ?? ctx.matchedKeyword ?? null,
        },
        guildId,
        undefined,
        // execution content needs MESSAGE_CONTENT like a message does
        true,
      );
    }
    return { blocked };
  }

  /**
   * Enabled keyword rules of a guild that match content (exempt roles/channels honoured); `*` wildcards.
   *
   * @example
   * world.matchAutoMod(guildId, userId, channelId, 'some text');
   */
  matchAutoMod(
    guildId: string,
    userId: string,
    channelId: string,
    content: string,
  ): { rule: APIAutoModerationRule; keyword: string }[] {
    const g = this.guild(guildId);
    if (!g) return [];
    const m = g.members.get(userId);
    const out: { rule: APIAutoModerationRule; keyword: string }[] = [];
    for (const rule of g.autoModerationRules.values()) {
      if (!rule.enabled || rule.trigger_type !== AutoModerationRuleTriggerType.Keyword) continue;
      if (rule.exempt_channels.includes(channelId)) continue;
      if (m && rule.exempt_roles.some((r) => m.roles.includes(r))) continue;
      const allow = (rule.trigger_metadata.allow_list ?? []).map((a) => a.toLowerCase());
      for (const kw of rule.trigger_metadata.keyword_filter ?? []) {
        const re = keywordRegex(kw);
        const hit = re.exec(content);
        if (hit && !allow.includes(hit[0].toLowerCase())) {
          out.push({ rule, keyword: kw });
          break;
        }
      }
      for (const pattern of rule.trigger_metadata.regex_patterns ?? []) {
        try {
          if (new RegExp(pattern, 'i').test(content)) {
            out.push({ rule, keyword: pattern });
            break;
          }
        } catch {
          // invalid patterns never match
        }
      }
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Audit log

  /**
   * Records an audit log entry; emits GUILD_AUDIT_LOG_ENTRY_CREATE when the bot may view the audit log.
   *
   * @example
   * world.addAuditLogEntry(guildId, { action_type: AuditLogEvent.MemberBanAdd, user_id: botId, target_id: userId, reason: 'spam' });
   */
  addAuditLogEntry(guildId: string, entry: Omit<APIAuditLogEntry, 'id'>): APIAuditLogEntry {
    const g = this.requireGuild(guildId);
    const full: APIAuditLogEntry = { ...stripUndefined(entry), id: this.ids.next() } as APIAuditLogEntry;
    g.auditLog.push(full);
    if (g.auditLog.length > this.options.auditLogLimit) g.auditLog.shift();
    const bot = g.members.get(this.botId);
    if (bot && this.guildPermissions(g, bot) & PermissionFlagsBits.ViewAuditLog) {
      this.emit('GUILD_AUDIT_LOG_ENTRY_CREATE', { ...structuredClone(full), guild_id: guildId }, guildId);
    }
    return full;
  }

  /** Audit log entries newest first, filtered like GET /guilds/:id/audit-logs. */
  auditLog(
    guildId: string,
    q: { userId?: string; actionType?: AuditLogEvent; before?: string; after?: string; limit?: number },
  ): APIAuditLogEntry[] {
    const g = this.requireGuild(guildId);
    let entries = [...g.auditLog].reverse();
    if (q.userId) entries = entries.filter((e) => e.user_id === q.userId);
    if (q.actionType !== undefined) entries = entries.filter((e) => e.action_type === q.actionType);
    if (q.before) entries = entries.filter((e) => BigInt(e.id) < BigInt(q.before as string));
    if (q.after) entries = entries.filter((e) => BigInt(e.id) > BigInt(q.after as string)).reverse();
    return entries.slice(0, Math.max(1, Math.min(100, q.limit ?? 50))).map((e) => structuredClone(e));
  }

  // ---------------------------------------------------------------------------------------------------------
  // Helpers for REST / scenario

  requireGuild(id: string): GuildRecord {
    const g = this.guild(id);
    if (!g) throw new WorldError(404, 10004, 'Unknown Guild');
    return g;
  }

  requireChannel(id: string): ChannelRecord {
    const c = this.channel(id);
    if (!c) throw new WorldError(404, 10003, 'Unknown Channel');
    return c;
  }

  /** Messages of a channel as stored (for tests and the scenario API). */
  messagesOf(channelId: string): APIMessage[] {
    return [...this.requireChannel(channelId).messages.values()].map((r) => toApiMessage(r, this.botId));
  }

  /** The guild record of a generated or materialized guild without caching it. */
  private peekGuild(id: string): GuildRecord | undefined {
    const seed = this.seeds.get(id);
    return seed ? generateGuild(this.gen, seed) : undefined;
  }

  private addSeed(s: Omit<GuildSeed, 'index' | 'id'>): GuildSeed {
    const index = this.nextGuildIndex++;
    const seed: GuildSeed = { ...s, index, id: snowflakeFrom(s.ts, IdKind.guild, 0, 0) };
    this.usedGuildTs.add(s.ts);
    this.seeds.set(seed.id, seed);
    return seed;
  }
}

/** A keyword filter entry as a regex: `*` at either end means "part of a word". */
function keywordRegex(keyword: string): RegExp {
  const prefix = keyword.startsWith('*');
  const suffix = keyword.endsWith('*');
  const core = keyword.replace(/^\*|\*$/g, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(
    `${prefix ? '' : '(?<![\\p{L}\\p{N}])'}${core}${suffix ? '' : '(?![\\p{L}\\p{N}])'}`,
    'iu',
  );
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
