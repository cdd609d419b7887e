import {
  type APIChannel,
  type APIGuildMember,
  type APIOverwrite,
  type APIRole,
  type GatewayDispatchPayload,
  GatewayDispatchEvents,
  type GatewayGuildCreateDispatchData,
} from 'discord-api-types/v10';

/** A role as cogs need it: position and permission bits. */
export interface RoleState {
  readonly id: string;
  readonly position: number;
  readonly permissions: bigint;
  readonly managed: boolean;
}

/** A permission overwrite: target id, 0 = role / 1 = member, allow and deny bits. */
export type OverwriteState = readonly [id: string, type: number, allow: bigint, deny: bigint];

/** A channel as cogs need it (no topic, no messages, no member lists). */
export interface ChannelState {
  readonly id: string;
  readonly type: number;
  readonly parentId: string | null;
  readonly name: string;
  readonly overwrites: readonly OverwriteState[];
}

/** What a shard keeps per guild. */
export interface GuildState {
  readonly id: string;
  name: string;
  ownerId: string;
  memberCount: number;
  readonly roles: Map<string, RoleState>;
  readonly channels: Map<string, ChannelState>;
  /** Role ids of the bot's own member (for permission checks before acting). */
  botRoles: readonly string[];
}

const NO_OVERWRITES: readonly OverwriteState[] = Object.freeze([]);

function role(r: APIRole): RoleState {
  return { id: r.id, position: r.position, permissions: BigInt(r.permissions), managed: r.managed };
}

function channel(c: APIChannel): ChannelState {
  const overwrites =
    'permission_overwrites' in c && c.permission_overwrites && c.permission_overwrites.length > 0
      ? c.permission_overwrites.map(
          (o: APIOverwrite) => [o.id, o.type, BigInt(o.allow), BigInt(o.deny)] as const,
        )
      : NO_OVERWRITES;
  return {
    id: c.id,
    type: c.type,
    parentId: 'parent_id' in c ? (c.parent_id ?? null) : null,
    name: 'name' in c && c.name ? c.name : '',
    overwrites,
  };
}

/**
 * The compact per-guild state a shard keeps instead of discord.js's object caches (~85–165 KB per guild):
 * roles with positions and permissions, channels with type, parent and overwrites, member count and the
 * bot's own roles — what cogs need for permission checks and routing, a few KB per guild. Updated from
 * gateway dispatches with {@link GuildStateStore.apply}.
 *
 * @example
 * const state = new GuildStateStore(botUserId);
 * state.apply(dispatch);
 * const perms = state.basePermissions(guildId, memberRoleIds);
 */
export class GuildStateStore {
  private readonly guilds = new Map<string, GuildState>();

  private readonly botUserId: () => string;

  /** `botUserId`: the bot's user id, or a getter for it (known once READY arrives). */
  constructor(botUserId: string | (() => string)) {
    this.botUserId = typeof botUserId === 'string' ? () => botUserId : botUserId;
  }

  get size(): number {
    return this.guilds.size;
  }

  get(guildId: string): GuildState | undefined {
    return this.guilds.get(guildId);
  }

  ids(): IterableIterator<string> {
    return this.guilds.keys();
  }

  /** Replaces a guild's state from its GUILD_CREATE payload. */
  load(g: GatewayGuildCreateDispatchData): GuildState {
    const bot = g.members?.find((m: APIGuildMember) => m.user?.id === this.botUserId());
    const state: GuildState = {
      id: g.id,
      name: g.name,
      ownerId: g.owner_id,
      memberCount: g.member_count ?? 0,
      roles: new Map(g.roles.map((r) => [r.id, role(r)])),
      channels: new Map(
        [...(g.channels ?? []), ...(g.threads ?? [])].map((c) => [c.id, channel(c as APIChannel)]),
      ),
      botRoles: bot?.roles ?? [],
    };
    this.guilds.set(g.id, state);
    return state;
  }

  /** Forgets a guild (left it, or the shard that owns it moved). */
  drop(guildId: string): void {
    this.guilds.delete(guildId);
  }

  /** Applies one dispatch; returns true when it changed the state. Unknown events are ignored. */
  apply(p: GatewayDispatchPayload): boolean {
    switch (p.t) {
      case GatewayDispatchEvents.GuildCreate:
        if ('unavailable' in p.d && p.d.unavailable) return false;
        this.load(p.d);
        return true;
      case GatewayDispatchEvents.GuildUpdate: {
        const g = this.guilds.get(p.d.id);
        if (!g) return false;
        g.name = p.d.name;
        g.ownerId = p.d.owner_id;
        return true;
      }
      case GatewayDispatchEvents.GuildDelete:
        return this.guilds.delete(p.d.id);
      case GatewayDispatchEvents.GuildRoleCreate:
      case GatewayDispatchEvents.GuildRoleUpdate: {
        const g = this.guilds.get(p.d.guild_id);
        if (!g) return false;
        g.roles.set(p.d.role.id, role(p.d.role));
        return true;
      }
      case GatewayDispatchEvents.GuildRoleDelete:
        return this.guilds.get(p.d.guild_id)?.roles.delete(p.d.role_id) ?? false;
      case GatewayDispatchEvents.ChannelCreate:
      case GatewayDispatchEvents.ChannelUpdate:
      case GatewayDispatchEvents.ThreadCreate:
      case GatewayDispatchEvents.ThreadUpdate: {
        const gid = 'guild_id' in p.d ? p.d.guild_id : undefined;
        const g = gid ? this.guilds.get(gid) : undefined;
        if (!g) return false;
        g.channels.set(p.d.id, channel(p.d as APIChannel));
        return true;
      }
      case GatewayDispatchEvents.ChannelDelete:
      case GatewayDispatchEvents.ThreadDelete: {
        const gid = 'guild_id' in p.d ? p.d.guild_id : undefined;
        return (gid && this.guilds.get(gid)?.channels.delete(p.d.id)) || false;
      }
      case GatewayDispatchEvents.GuildMemberAdd: {
        const g = this.guilds.get(p.d.guild_id);
        if (!g) return false;
        g.memberCount++;
        return true;
      }
      case GatewayDispatchEvents.GuildMemberRemove: {
        const g = this.guilds.get(p.d.guild_id);
        if (!g) return false;
        g.memberCount = Math.max(0, g.memberCount - 1);
        return true;
      }
      case GatewayDispatchEvents.GuildMemberUpdate: {
        if (p.d.user.id !== this.botUserId()) return false;
        const g = this.guilds.get(p.d.guild_id);
        if (!g) return false;
        g.botRoles = p.d.roles;
        return true;
      }
      default:
        return false;
    }
  }

  /**
   * Guild-level permissions of a member with the given roles (owner: all; ADMINISTRATOR: all), as Discord
   * computes them before channel overwrites.
   */
  basePermissions(guildId: string, userId: string, roleIds: readonly string[]): bigint {
    const g = this.guilds.get(guildId);
    if (!g) return 0n;
    if (userId === g.ownerId) return ALL;
    let perms = g.roles.get(guildId)?.permissions ?? 0n; // @everyone has the guild's id
    for (const id of roleIds) perms |= g.roles.get(id)?.permissions ?? 0n;
    return (perms & ADMINISTRATOR) !== 0n ? ALL : perms;
  }

  /** Highest role position among `roleIds` (0 = only @everyone); for hierarchy checks. */
  topPosition(guildId: string, roleIds: readonly string[]): number {
    const g = this.guilds.get(guildId);
    let top = 0;
    for (const id of roleIds) top = Math.max(top, g?.roles.get(id)?.position ?? 0);
    return top;
  }
}

const ADMINISTRATOR = 1n << 3n;
const ALL = (1n << 64n) - 1n;
