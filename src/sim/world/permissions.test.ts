import { OverwriteType, PermissionFlagsBits as P } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import {
  ALL_PERMISSIONS,
  basePermissions,
  channelPermissions,
  outranks,
  type PermissionGuild,
} from './permissions.js';

const GUILD = '100';
const roles: Record<string, { permissions: string; position: number }> = {
  [GUILD]: { permissions: (P.ViewChannel | P.SendMessages | P.ReadMessageHistory).toString(), position: 0 },
  mod: { permissions: (P.KickMembers | P.ManageMessages).toString(), position: 5 },
  admin: { permissions: P.Administrator.toString(), position: 9 },
  muted: { permissions: '0', position: 2 },
};
const guild: PermissionGuild = { id: GUILD, ownerId: 'owner', role: (id) => roles[id] };
const member = (userId: string, r: string[] = [], until: string | null = null) => ({
  userId,
  roles: r,
  communicationDisabledUntil: until,
});
const NOW = Date.UTC(2026, 0, 1);

describe('permissions (Discord algorithm)', () => {
  it('base permissions: @everyone | roles; owner and ADMINISTRATOR get everything', () => {
    expect(basePermissions(guild, member('u', ['mod']), NOW) & P.KickMembers).toBe(P.KickMembers);
    expect(basePermissions(guild, member('u'), NOW) & P.KickMembers).toBe(0n);
    expect(basePermissions(guild, member('owner'), NOW)).toBe(ALL_PERMISSIONS);
    expect(basePermissions(guild, member('u', ['admin']), NOW)).toBe(ALL_PERMISSIONS);
  });

  it('overwrites apply in order: @everyone, roles (allow beats deny across roles), then the member', () => {
    const everyoneDeny = { id: GUILD, type: OverwriteType.Role, allow: '0', deny: P.SendMessages.toString() };
    const mutedDeny = { id: 'muted', type: OverwriteType.Role, allow: '0', deny: P.SendMessages.toString() };
    const modAllow = { id: 'mod', type: OverwriteType.Role, allow: P.SendMessages.toString(), deny: '0' };
    const memberDeny = { id: 'u', type: OverwriteType.Member, allow: '0', deny: P.SendMessages.toString() };
    expect(channelPermissions(guild, member('u'), [everyoneDeny], NOW) & P.SendMessages).toBe(0n);
    expect(
      channelPermissions(guild, member('u', ['mod', 'muted']), [everyoneDeny, mutedDeny, modAllow], NOW) &
        P.SendMessages,
    ).toBe(P.SendMessages);
    expect(
      channelPermissions(guild, member('u', ['mod']), [modAllow, memberDeny], NOW) & P.SendMessages,
    ).toBe(0n);
    expect(channelPermissions(guild, member('u', ['admin']), [memberDeny], NOW)).toBe(ALL_PERMISSIONS);
  });

  it('no VIEW_CHANNEL means nothing; no SEND_MESSAGES drops embed/attach/mention rights', () => {
    const hide = { id: GUILD, type: OverwriteType.Role, allow: '0', deny: P.ViewChannel.toString() };
    expect(channelPermissions(guild, member('u', ['mod']), [hide], NOW)).toBe(0n);
    const mute = {
      id: GUILD,
      type: OverwriteType.Role,
      allow: (P.EmbedLinks | P.AttachFiles).toString(),
      deny: P.SendMessages.toString(),
    };
    expect(channelPermissions(guild, member('u'), [mute], NOW) & (P.EmbedLinks | P.AttachFiles)).toBe(0n);
  });

  it('a timed-out member keeps only VIEW_CHANNEL and READ_MESSAGE_HISTORY (not when the timeout has passed)', () => {
    const future = new Date(NOW + 60_000).toISOString();
    const past = new Date(NOW - 60_000).toISOString();
    expect(channelPermissions(guild, member('u', ['mod'], future), [], NOW)).toBe(
      P.ViewChannel | P.ReadMessageHistory,
    );
    expect(channelPermissions(guild, member('u', ['mod'], past), [], NOW) & P.KickMembers).toBe(
      P.KickMembers,
    );
  });

  it('hierarchy: strictly higher top role wins; the owner outranks everyone and nobody outranks the owner', () => {
    expect(outranks(guild, member('a', ['admin']), member('b', ['mod']))).toBe(true);
    expect(outranks(guild, member('a', ['mod']), member('b', ['mod']))).toBe(false);
    expect(outranks(guild, member('a', ['mod']), member('b', ['admin']))).toBe(false);
    expect(outranks(guild, member('owner'), member('b', ['admin']))).toBe(true);
    expect(outranks(guild, member('a', ['admin']), member('owner'))).toBe(false);
  });
});
