import { ChannelType, GatewayIntentBits as I, PermissionFlagsBits as P } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import type { DispatchEvent } from '../../src/sim/contracts.js';
import { Scenario } from '../../src/sim/scenario/index.js';
import { noGateway } from '../../src/sim/rest/server.js';
import { ViolationLog } from '../../src/sim/contracts.js';
import { World } from '../../src/sim/world/index.js';

/** `(id >> 22) % n`, written independently of the code under test. */
function shard(id: string, n: number): number {
  return Number((BigInt(id) >> 22n) % BigInt(n));
}

describe('world generation', () => {
  it('is deterministic per seed and different across seeds', () => {
    const a = World.create({ guilds: 20, membersPerGuild: 30, seed: 7 });
    const b = World.create({ guilds: 20, membersPerGuild: 30, seed: 7 });
    const c = World.create({ guilds: 20, membersPerGuild: 30, seed: 8 });
    expect(a.guildIds()).toEqual(b.guildIds());
    expect(a.guildIds()).not.toEqual(c.guildIds());
    const id = a.guildIds()[3] as string;
    const strip = (w: World) => {
      const gc = w.guildCreate(id, I.Guilds | I.GuildPresences, 250);
      return {
        name: gc.name,
        channels: gc.channels,
        roles: gc.roles,
        members: gc.members.map((m) => [m.user.id, m.roles, m.nick]),
      };
    };
    expect(strip(a)).toEqual(strip(b));
  });

  it('spreads guild ids over shards ((id >> 22) % n)', () => {
    const world = World.create({
      guilds: 2000,
      membersPerGuild: 2,
      channelsPerGuild: 2,
      rolesPerGuild: 2,
      seed: 3,
    });
    for (const n of [2, 4, 16]) {
      const counts = new Array<number>(n).fill(0);
      for (const id of world.guildIds()) counts[shard(id, n)] = (counts[shard(id, n)] ?? 0) + 1;
      const expected = 2000 / n;
      for (const count of counts) {
        expect(count).toBeGreaterThan(expected * 0.6);
        expect(count).toBeLessThan(expected * 1.4);
      }
    }
    expect(new Set(world.guildIds()).size).toBe(2000);
  });

  it('builds realistic guilds: channel types, threads, role hierarchy with the bot role, members from a user pool', () => {
    const world = World.create({
      guilds: 3,
      membersPerGuild: 200,
      channelsPerGuild: 40,
      rolesPerGuild: 12,
      seed: 1,
    });
    const g = world.guild(world.guildIds()[0] as string);
    if (!g) throw new Error('no guild');
    const types = new Set([...g.channels.values()].map((c) => c.type));
    for (const t of [
      ChannelType.GuildCategory,
      ChannelType.GuildText,
      ChannelType.GuildVoice,
      ChannelType.PublicThread,
    ])
      expect(types.has(t)).toBe(true);
    expect([...g.channels.values()].filter((c) => !c.thread)).toHaveLength(40);
    const roles = [...g.roles.values()];
    expect(roles).toHaveLength(12);
    expect(new Set(roles.map((r) => r.position)).size).toBe(12);
    expect(g.roles.get(g.id)?.position).toBe(0);
    const botRole = roles.find((r) => r.managed && r.tags?.bot_id === world.botId);
    expect(botRole).toBeDefined();
    const admin = roles.find((r) => r.name === 'Admin');
    expect(BigInt(admin?.permissions ?? '0') & P.Administrator).toBe(P.Administrator);
    expect(admin?.position).toBeGreaterThan(botRole?.position ?? 0);
    expect(g.members.get(world.botId)?.roles).toEqual([botRole?.id]);
    expect(g.members.size).toBe(201);
    expect(g.members.has(g.ownerId)).toBe(true);
    for (const m of g.members.values()) expect(world.user(m.userId)?.id).toBe(m.userId);
    // Channels, roles and threads of generated guilds are found by id alone.
    const thread = [...g.channels.values()].find((c) => c.thread);
    expect(world.channel(thread?.id as string)).toBe(thread);
  });

  it('GUILD_CREATE honours intents and large_threshold like Discord', () => {
    const world = World.create({
      guilds: 2,
      membersPerGuild: 40,
      channelsPerGuild: 12,
      rolesPerGuild: 5,
      seed: 2,
    });
    const id = world.guildIds()[0] as string;
    const g = world.guild(id);
    if (!g) throw new Error('no guild');
    const voice = [...g.channels.values()].find((c) => c.type === ChannelType.GuildVoice);
    const someone = [...g.members.keys()].find((u) => u !== world.botId && !g.voiceStates.has(u)) as string;
    world.setVoiceState(id, someone, voice?.id as string);

    const noPresences = world.guildCreate(id, I.Guilds | I.GuildMembers);
    const ids = noPresences.members.map((m) => m.user.id);
    expect(ids).toContain(world.botId);
    expect(ids).toContain(someone);
    expect(ids).toHaveLength(1 + g.voiceStates.size);
    expect(noPresences.member_count).toBe(41);
    expect(noPresences.large).toBe(false);

    const small = world.guildCreate(id, I.Guilds | I.GuildPresences);
    expect(small.members).toHaveLength(41);
    const large = world.guildCreate(id, I.Guilds | I.GuildPresences, 10);
    expect(large.large).toBe(true);
    expect(large.members).toHaveLength(1 + g.voiceStates.size);
    expect(small.voice_states.find((v) => v.user_id === someone)?.channel_id).toBe(voice?.id);
    expect(small.channels.every((c) => (c.type as ChannelType) !== ChannelType.PublicThread)).toBe(true);
    expect(small.threads.every((c) => c.type === ChannelType.PublicThread)).toBe(true);
  });

  it('keeps a bounded number of messages per channel', () => {
    const world = World.create({ guilds: 1, membersPerGuild: 3, maxMessagesPerChannel: 10, seed: 2 });
    const g = world.guild(world.guildIds()[0] as string);
    const ch = g?.systemChannelId as string;
    const ids = Array.from(
      { length: 25 },
      (_, i) => world.createMessage(ch, g?.ownerId as string, { content: String(i) }).id,
    );
    expect(world.messagesOf(ch).map((m) => m.content)).toEqual(
      Array.from({ length: 10 }, (_, i) => String(15 + i)),
    );
    expect(world.message(ch, ids[0] as string)).toBeUndefined();
  });
});

describe('dispatches carry the intent Discord requires', () => {
  const world = World.create({
    guilds: 1,
    membersPerGuild: 10,
    channelsPerGuild: 12,
    rolesPerGuild: 5,
    seed: 6,
  });
  const scenario = new Scenario({ world, gateway: noGateway, violations: new ViolationLog() });
  const events: DispatchEvent[] = [];
  world.onDispatch((e) => events.push(e));
  const guildId = world.guildIds()[0] as string;
  const g = world.guild(guildId);
  const channelId = g?.systemChannelId as string;
  const voiceId = [...(g?.channels.values() ?? [])].find((c) => c.type === ChannelType.GuildVoice)
    ?.id as string;
  const user = scenario.createUser({ username: 'eve' }).id;

  function last(t: string): DispatchEvent {
    const e = [...events].reverse().find((x) => x.t === t);
    if (!e) throw new Error(`no ${t} in ${events.map((x) => x.t).join(',')}`);
    return e;
  }

  it('member join/leave → GUILD_MEMBERS; the welcome message → GUILD_MESSAGES', () => {
    scenario.joinGuild(guildId, user);
    expect(last('GUILD_MEMBER_ADD')).toMatchObject({ guildId, intents: I.GuildMembers });
    expect((last('MESSAGE_CREATE').d as { type: number }).type).toBe(7);
  });

  it('guild message → GUILD_MESSAGES with message content; DM → DIRECT_MESSAGES on shard 0 (guildId null)', () => {
    scenario.postMessage({ channelId, userId: user, content: 'hello' });
    expect(last('MESSAGE_CREATE')).toMatchObject({ guildId, intents: I.GuildMessages, messageContent: true });
    scenario.directMessage(user, 'psst');
    const dm = last('MESSAGE_CREATE');
    expect(dm).toMatchObject({ guildId: null, intents: I.DirectMessages });
    expect(dm.messageContent).toBeUndefined();
  });

  it('reaction → GUILD_MESSAGE_REACTIONS, voice → GUILD_VOICE_STATES, typing → GUILD_MESSAGE_TYPING', () => {
    const msg = scenario.postMessage({ channelId, userId: user, content: 'react to me' }).message;
    scenario.react(channelId, msg?.id as string, user, '👍');
    expect(last('MESSAGE_REACTION_ADD')).toMatchObject({ intents: I.GuildMessageReactions });
    scenario.joinVoice(guildId, user, voiceId);
    expect(last('VOICE_STATE_UPDATE')).toMatchObject({ intents: I.GuildVoiceStates });
    expect((last('VOICE_STATE_UPDATE').d as { channel_id: string }).channel_id).toBe(voiceId);
    scenario.typing(channelId, user);
    expect(last('TYPING_START')).toMatchObject({ intents: I.GuildMessageTyping });
  });

  it('ban → GUILD_BAN_ADD (GUILD_MODERATION) then GUILD_MEMBER_REMOVE (GUILD_MEMBERS)', () => {
    const mark = events.length;
    world.ban(guildId, user, 'spam', 0);
    const ts = events.slice(mark).map((e) => [e.t, e.intents]);
    expect(ts).toContainEqual(['GUILD_BAN_ADD', I.GuildModeration]);
    expect(ts).toContainEqual(['GUILD_MEMBER_REMOVE', I.GuildMembers]);
    expect(ts).toContainEqual(['VOICE_STATE_UPDATE', I.GuildVoiceStates]);
  });

  it('AutoMod rule changes → AUTO_MODERATION_CONFIGURATION; executions → AUTO_MODERATION_EXECUTION; a blocked message is never created', () => {
    const rule = world.createAutoModRule(guildId, {
      name: 'no bad words',
      creator_id: world.botId,
      event_type: 1,
      trigger_type: 1,
      trigger_metadata: { keyword_filter: ['bad*'] },
      actions: [{ type: 1 }],
      enabled: true,
      exempt_roles: [],
      exempt_channels: [],
    });
    expect(last('AUTO_MODERATION_RULE_CREATE')).toMatchObject({ intents: I.AutoModerationConfiguration });
    const carol = scenario.createUser({ username: 'carol' }).id;
    scenario.joinGuild(guildId, carol);
    const mark = events.length;
    const res = scenario.postMessage({ channelId, userId: carol, content: 'this is badness' });
    expect(res.message).toBeNull();
    expect(res.autoModeration).toEqual([{ ruleId: rule.id, keyword: 'bad*' }]);
    expect(events.slice(mark).map((e) => e.t)).toEqual(['AUTO_MODERATION_ACTION_EXECUTION']);
    expect(last('AUTO_MODERATION_ACTION_EXECUTION')).toMatchObject({
      intents: I.AutoModerationExecution,
      messageContent: true,
    });
  });

  it('the bot member update is sent without GUILD_MEMBERS; INTERACTION_CREATE always', () => {
    world.updateMember(guildId, world.botId, { nick: 'helper' });
    expect(last('GUILD_MEMBER_UPDATE').intents).toBe(0);
    world.updateMember(guildId, g?.ownerId as string, { nick: 'boss' });
    expect(last('GUILD_MEMBER_UPDATE').intents).toBe(I.GuildMembers);
    world.globalCommands.clear();
    world.interactions.create({
      type: 2,
      guildId,
      channelId,
      userId: g?.ownerId as string,
      data: { id: '1', name: 'x', type: 1 },
    });
    expect(last('INTERACTION_CREATE').intents).toBe(0);
  });

  it('audit log entries → GUILD_AUDIT_LOG_ENTRY_CREATE (GUILD_MODERATION) only while the bot has VIEW_AUDIT_LOG', () => {
    world.addAuditLogEntry(guildId, { action_type: 22, user_id: world.botId, target_id: user });
    expect(last('GUILD_AUDIT_LOG_ENTRY_CREATE')).toMatchObject({ intents: I.GuildModeration });
    const botRole = [...(g?.roles.values() ?? [])].find((r) => r.managed);
    world.updateRole(guildId, botRole?.id as string, {
      permissions: (BigInt(botRole?.permissions ?? '0') & ~P.ViewAuditLog).toString(),
    });
    const mark = events.length;
    world.addAuditLogEntry(guildId, { action_type: 22, user_id: world.botId, target_id: user });
    expect(events.slice(mark).map((e) => e.t)).not.toContain('GUILD_AUDIT_LOG_ENTRY_CREATE');
  });
});
