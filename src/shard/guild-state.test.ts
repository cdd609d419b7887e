import { type GatewayDispatchPayload, GatewayDispatchEvents } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { GuildStateStore } from './guild-state.js';

const G = '1100000000000000001';
const BOT = '1300000000000000009';
const d = (t: string, data: unknown) => ({ op: 0, s: 1, t, d: data }) as unknown as GatewayDispatchPayload;
const guildCreate = () =>
  d(GatewayDispatchEvents.GuildCreate, {
    id: G,
    name: 'g',
    owner_id: '1300000000000000001',
    member_count: 3,
    roles: [
      { id: G, position: 0, permissions: String(1n << 10n), managed: false },
      { id: '1400000000000000001', position: 2, permissions: String(1n << 3n), managed: false },
      { id: '1400000000000000002', position: 1, permissions: String(1n << 13n), managed: true },
    ],
    channels: [
      {
        id: '1500000000000000001',
        type: 0,
        name: 'general',
        parent_id: null,
        permission_overwrites: [{ id: G, type: 0, allow: '0', deny: '2048' }],
      },
      { id: '1500000000000000002', type: 2, name: 'voice', permission_overwrites: [] },
    ],
    threads: [],
    members: [{ user: { id: BOT }, roles: ['1400000000000000002'] }],
  });

describe('GuildStateStore', () => {
  it('keeps roles, channels, member count and the bot roles from GUILD_CREATE', () => {
    const s = new GuildStateStore(BOT);
    expect(s.apply(guildCreate())).toBe(true);
    const g = s.get(G)!;
    expect(g.memberCount).toBe(3);
    expect(g.roleCount).toBe(3);
    expect(g.role('1400000000000000002')).toEqual({
      id: '1400000000000000002',
      position: 1,
      permissions: 1n << 13n,
      managed: true,
    });
    expect(g.channel('1500000000000000001')!.overwrites).toEqual([[G, 0, 0n, 2048n]]);
    expect(g.channel('1500000000000000002')).toEqual({
      id: '1500000000000000002',
      type: 2,
      parentId: null,
      overwrites: [],
    });
    expect([...g.channels()].map((c) => c.id)).toEqual(['1500000000000000001', '1500000000000000002']);
    expect(g.botRoles).toEqual(['1400000000000000002']);
  });

  it('follows role, channel and member updates', () => {
    const s = new GuildStateStore(BOT);
    s.apply(guildCreate());
    s.apply(d(GatewayDispatchEvents.GuildMemberAdd, { guild_id: G, user: { id: '1' } }));
    s.apply(d(GatewayDispatchEvents.GuildMemberRemove, { guild_id: G, user: { id: '2' } }));
    s.apply(d(GatewayDispatchEvents.GuildMemberAdd, { guild_id: G, user: { id: '3' } }));
    expect(s.get(G)!.memberCount).toBe(4);
    s.apply(d(GatewayDispatchEvents.GuildRoleDelete, { guild_id: G, role_id: '1400000000000000001' }));
    expect(s.get(G)!.role('1400000000000000001')).toBeUndefined();
    expect(s.get(G)!.roleCount).toBe(2);
    s.apply(
      d(GatewayDispatchEvents.ChannelCreate, {
        id: '1500000000000000003',
        guild_id: G,
        type: 0,
        name: 'new',
        parent_id: '1500000000000000009',
      }),
    );
    expect(s.get(G)!.channel('1500000000000000003')).toMatchObject({
      type: 0,
      parentId: '1500000000000000009',
    });
    s.apply(d(GatewayDispatchEvents.ChannelDelete, { id: '1500000000000000001', guild_id: G, type: 0 }));
    expect(s.get(G)!.channel('1500000000000000001')).toBeUndefined();
    expect(s.get(G)!.channelCount).toBe(2);
    s.apply(d(GatewayDispatchEvents.GuildMemberUpdate, { guild_id: G, user: { id: BOT }, roles: [] }));
    expect(s.get(G)!.botRoles).toEqual([]);
    s.apply(d(GatewayDispatchEvents.GuildDelete, { id: G }));
    expect(s.size).toBe(0);
  });

  it('computes base permissions: owner and ADMINISTRATOR get everything, others the union of their roles', () => {
    const s = new GuildStateStore(BOT);
    s.apply(guildCreate());
    expect(s.basePermissions(G, '1300000000000000001', [])).toBe((1n << 64n) - 1n);
    expect(s.basePermissions(G, '5', ['1400000000000000001'])).toBe((1n << 64n) - 1n);
    expect(s.basePermissions(G, '5', ['1400000000000000002'])).toBe((1n << 10n) | (1n << 13n));
    expect(s.basePermissions(G, '5', [])).toBe(1n << 10n);
    expect(s.topPosition(G, ['1400000000000000002', '1400000000000000001'])).toBe(2);
  });
});
