/**
 * Discord's permission computation (https://discord.com/developers/docs/topics/permissions): base
 * permissions from @everyone and roles, ADMINISTRATOR and ownership short-cuts, channel overwrites in the
 * documented order, implicit denials, the timeout mask, and the role hierarchy rules.
 */
import { OverwriteType, PermissionFlagsBits } from 'discord-api-types/v10';

/**
 * Every permission bit Discord defines.
 *
 * @example
 * basePermissions(guild, owner, Date.now()) === ALL_PERMISSIONS; // true
 */
export const ALL_PERMISSIONS: bigint = Object.values(PermissionFlagsBits).reduce((a, b) => a | b, 0n);

/** What a timed-out member keeps (Discord: only view + read history). */
const TIMEOUT_MASK = PermissionFlagsBits.ViewChannel | PermissionFlagsBits.ReadMessageHistory;

/** The minimal view of a guild the computation needs. */
export interface PermissionGuild {
  readonly id: string;
  readonly ownerId: string;
  /** Role id → permissions and position. */
  role(id: string): { readonly permissions: string; readonly position: number } | undefined;
}

/** The minimal view of a member. */
export interface PermissionMember {
  readonly userId: string;
  readonly roles: readonly string[];
  readonly communicationDisabledUntil: string | null;
}

/** One channel overwrite as Discord stores it. */
export interface PermissionOverwrite {
  readonly id: string;
  readonly type: OverwriteType;
  readonly allow: string;
  readonly deny: string;
}

/**
 * Guild-level permissions of a member (owner and ADMINISTRATOR get everything; timeouts mask the rest).
 *
 * @example
 * const perms = basePermissions(guild, member, Date.now());
 * (perms & PermissionFlagsBits.BanMembers) !== 0n;
 */
export function basePermissions(guild: PermissionGuild, member: PermissionMember, now: number): bigint {
  if (member.userId === guild.ownerId) return ALL_PERMISSIONS;
  let perms = BigInt(guild.role(guild.id)?.permissions ?? '0');
  for (const roleId of member.roles) perms |= BigInt(guild.role(roleId)?.permissions ?? '0');
  if (perms & PermissionFlagsBits.Administrator) return ALL_PERMISSIONS;
  if (isTimedOut(member, now)) perms &= TIMEOUT_MASK;
  return perms;
}

/**
 * Channel-level permissions: base permissions with overwrites applied in Discord's order
 * (@everyone deny/allow, role deny/allow, member deny/allow), then implicit denials.
 *
 * @example
 * channelPermissions(guild, member, channel.permissionOverwrites, Date.now());
 */
export function channelPermissions(
  guild: PermissionGuild,
  member: PermissionMember,
  overwrites: readonly PermissionOverwrite[],
  now: number,
): bigint {
  const base = basePermissions(guild, member, now);
  if (base & PermissionFlagsBits.Administrator) return ALL_PERMISSIONS;
  let perms = base;
  const everyone = overwrites.find((o) => o.id === guild.id);
  if (everyone) {
    perms &= ~BigInt(everyone.deny);
    perms |= BigInt(everyone.allow);
  }
  let allow = 0n;
  let deny = 0n;
  for (const o of overwrites) {
    if (o.type === OverwriteType.Role && o.id !== guild.id && member.roles.includes(o.id)) {
      allow |= BigInt(o.allow);
      deny |= BigInt(o.deny);
    }
  }
  perms &= ~deny;
  perms |= allow;
  const own = overwrites.find((o) => o.type === OverwriteType.Member && o.id === member.userId);
  if (own) {
    perms &= ~BigInt(own.deny);
    perms |= BigInt(own.allow);
  }
  if (isTimedOut(member, now) && member.userId !== guild.ownerId) perms &= TIMEOUT_MASK;
  if (!(perms & PermissionFlagsBits.ViewChannel)) return 0n;
  if (!(perms & PermissionFlagsBits.SendMessages)) {
    perms &= ~(
      PermissionFlagsBits.MentionEveryone |
      PermissionFlagsBits.SendTTSMessages |
      PermissionFlagsBits.AttachFiles |
      PermissionFlagsBits.EmbedLinks
    );
  }
  return perms;
}

/**
 * Position of a member's highest role (0 = only @everyone).
 *
 * @example
 * topRolePosition(guild, member) > topRolePosition(guild, target); // may act on target
 */
export function topRolePosition(guild: PermissionGuild, member: PermissionMember): number {
  let top = 0;
  for (const roleId of member.roles) top = Math.max(top, guild.role(roleId)?.position ?? 0);
  return top;
}

/**
 * Whether `actor` may kick/ban/timeout/rename `target`: never the owner, otherwise the owner may act on
 * anyone and others only on members whose highest role is strictly lower than theirs.
 *
 * @example
 * if (!outranks(guild, bot, target)) throw missingPermissions();
 */
export function outranks(guild: PermissionGuild, actor: PermissionMember, target: PermissionMember): boolean {
  if (target.userId === guild.ownerId) return false;
  if (actor.userId === guild.ownerId) return true;
  return topRolePosition(guild, actor) > topRolePosition(guild, target);
}

/**
 * True while `communication_disabled_until` lies in the future.
 *
 * @example
 * isTimedOut({ communicationDisabledUntil: '2999-01-01T00:00:00Z', ... }, Date.now()); // true
 */
export function isTimedOut(member: PermissionMember, now: number): boolean {
  return member.communicationDisabledUntil !== null && Date.parse(member.communicationDisabledUntil) > now;
}
