import { REST, DiscordAPIError } from '@discordjs/rest';
import {
  AuditLogEvent,
  ChannelType,
  GatewayIntentBits as I,
  Routes,
  type APIAuditLog,
  type APIAutoModerationRule,
  type APIChannel,
  type APIGuildMember,
  type APIGuildScheduledEvent,
  type APIMessage,
  type APIRole,
  type APIThreadChannel,
  type APIUser,
} from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DispatchEvent } from '../../src/sim/contracts.js';
import { startRestServer, type RestServer } from '../../src/sim/rest/server.js';
import type { Scenario } from '../../src/sim/scenario/index.js';
import { World } from '../../src/sim/world/index.js';

// Moderation and community features through an unmodified @discordjs/rest: every write changes the world,
// emits the gateway events Discord sends and lands in the audit log with the X-Audit-Log-Reason.
describe('moderation and community REST routes', () => {
  let world: World;
  let server: RestServer;
  let rest: REST;
  let scenario: Scenario;
  let guildId: string;
  let channelId: string;
  let mallory: string;
  const events: DispatchEvent[] = [];

  beforeAll(async () => {
    world = World.create({
      guilds: 2,
      membersPerGuild: 15,
      channelsPerGuild: 12,
      rolesPerGuild: 6,
      seed: 31,
    });
    world.onDispatch((e) => events.push(e));
    server = await startRestServer({ world, rateLimits: { enabled: false } });
    rest = new REST({ api: server.restUrl }).setToken(world.app.token);
    scenario = server.handler.scenario;
    guildId = world.guildIds()[0] as string;
    channelId = world.guild(guildId)?.systemChannelId as string;
    mallory = scenario.createUser({ username: 'mallory' }).id;
    scenario.joinGuild(guildId, mallory);
  });

  afterAll(async () => {
    await server.close();
  });

  async function auditLog(action: AuditLogEvent): Promise<APIAuditLog> {
    return (await rest.get(Routes.guildAuditLog(guildId), {
      query: new URLSearchParams({ action_type: String(action) }),
    })) as APIAuditLog;
  }

  function since(mark: number): [string, number][] {
    return events.slice(mark).map((e) => [e.t, e.intents]);
  }

  it('timeout (≤ 28 days), nickname and role changes; GUILD_MEMBER_UPDATE and audit entries with the reason', async () => {
    const g = world.guild(guildId);
    const cosmetic = [...(g?.roles.values() ?? [])].find((r) => r.position === 1) as APIRole;
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const mark = events.length;
    const member = (await rest.patch(Routes.guildMember(guildId, mallory), {
      body: { communication_disabled_until: until, nick: 'quiet' },
      reason: 'cool down',
    })) as APIGuildMember;
    expect(member.communication_disabled_until).toBe(until);
    expect(member.nick).toBe('quiet');
    await rest.put(Routes.guildMemberRole(guildId, mallory, cosmetic.id), { reason: 'earned it' });
    expect(world.member(guildId, mallory)?.roles).toContain(cosmetic.id);
    expect(since(mark).filter(([t]) => t === 'GUILD_MEMBER_UPDATE')).toEqual([
      ['GUILD_MEMBER_UPDATE', I.GuildMembers],
      ['GUILD_MEMBER_UPDATE', I.GuildMembers],
    ]);
    const updates = await auditLog(AuditLogEvent.MemberUpdate);
    expect(updates.audit_log_entries[0]).toMatchObject({
      target_id: mallory,
      user_id: world.botId,
      reason: 'cool down',
    });
    expect(updates.audit_log_entries[0]?.changes?.map((c) => c.key).sort()).toEqual([
      'communication_disabled_until',
      'nick',
    ]);
    const roles = await auditLog(AuditLogEvent.MemberRoleUpdate);
    expect(roles.audit_log_entries[0]).toMatchObject({ target_id: mallory, reason: 'earned it' });
    // A timed-out member can only view and read history.
    const perms = world.permissionsIn(
      g as never,
      world.member(guildId, mallory) as never,
      world.channel(channelId) as never,
    );
    expect(perms & 0x800n).toBe(0n);
  });

  it('ban: GUILD_BAN_ADD + GUILD_MEMBER_REMOVE, recent messages deleted, GET bans, audit entry; unban: GUILD_BAN_REMOVE', async () => {
    const spam = scenario.postMessage({ channelId, userId: mallory, content: 'spam spam' })
      .message as APIMessage;
    const mark = events.length;
    await rest.put(Routes.guildBan(guildId, mallory), {
      body: { delete_message_seconds: 3600 },
      reason: 'spam',
    });
    const got = since(mark);
    expect(got).toContainEqual(['GUILD_BAN_ADD', I.GuildModeration]);
    expect(got).toContainEqual(['GUILD_MEMBER_REMOVE', I.GuildMembers]);
    // The spam and the join message are both within the hour: one MESSAGE_DELETE_BULK.
    expect(got).toContainEqual(['MESSAGE_DELETE_BULK', I.GuildMessages]);
    expect(got).toContainEqual(['GUILD_AUDIT_LOG_ENTRY_CREATE', I.GuildModeration]);
    expect(world.message(channelId, spam.id)).toBeUndefined();
    expect(world.member(guildId, mallory)).toBeUndefined();
    const ban = (await rest.get(Routes.guildBan(guildId, mallory))) as { reason: string; user: APIUser };
    expect(ban).toMatchObject({ reason: 'spam', user: { id: mallory } });
    expect((await auditLog(AuditLogEvent.MemberBanAdd)).audit_log_entries[0]).toMatchObject({
      target_id: mallory,
      reason: 'spam',
    });
    // A banned user cannot rejoin.
    expect(() => scenario.joinGuild(guildId, mallory)).toThrow();
    await rest.delete(Routes.guildBan(guildId, mallory));
    expect(since(mark).map(([t]) => t)).toContain('GUILD_BAN_REMOVE');
    scenario.joinGuild(guildId, mallory);
  });

  it('kick: GUILD_MEMBER_REMOVE and a MemberKick audit entry', async () => {
    const mark = events.length;
    await rest.delete(Routes.guildMember(guildId, mallory), { reason: 'bye' });
    expect(since(mark)).toContainEqual(['GUILD_MEMBER_REMOVE', I.GuildMembers]);
    expect((await auditLog(AuditLogEvent.MemberKick)).audit_log_entries[0]).toMatchObject({
      target_id: mallory,
      reason: 'bye',
    });
    const err = await rest.get(Routes.guildMember(guildId, mallory)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiscordAPIError);
    expect((err as DiscordAPIError).code).toBe(10007);
    scenario.joinGuild(guildId, mallory);
  });

  it('roles CRUD respects the hierarchy: the bot can edit roles below its own, not above', async () => {
    const role = (await rest.post(Routes.guildRoles(guildId), {
      body: { name: 'Helpers', permissions: '0', color: 0x00ff00 },
    })) as APIRole;
    expect(role.position).toBe(1);
    expect(since(0).map(([t]) => t)).toContain('GUILD_ROLE_CREATE');
    const renamed = (await rest.patch(Routes.guildRole(guildId, role.id), {
      body: { name: 'Helpers+' },
    })) as APIRole;
    expect(renamed.name).toBe('Helpers+');
    const admin = [...(world.guild(guildId)?.roles.values() ?? [])].find(
      (r) => r.name === 'Admin',
    ) as APIRole;
    const err = (await rest
      .patch(Routes.guildRole(guildId, admin.id), { body: { name: 'pwned' } })
      .catch((e: unknown) => e)) as DiscordAPIError;
    expect(err.code).toBe(50013);
    // Granting a permission the bot does not have is refused too.
    const err2 = (await rest
      .post(Routes.guildRoles(guildId), { body: { name: 'x', permissions: String(1n << 3n) } })
      .catch((e: unknown) => e)) as DiscordAPIError;
    expect(err2.code).toBe(50013);
    await rest.delete(Routes.guildRole(guildId, role.id));
    expect(world.guild(guildId)?.roles.has(role.id)).toBe(false);
    expect((await auditLog(AuditLogEvent.RoleDelete)).audit_log_entries[0]?.target_id).toBe(role.id);
  });

  it('AutoMod rules CRUD (AUTO_MODERATION_CONFIGURATION events) and a user message tripping the rule (AUTO_MODERATION_EXECUTION + alert)', async () => {
    const modLog = [...(world.guild(guildId)?.channels.values() ?? [])].find((c) => c.name === 'mod-log')
      ?.id as string;
    const mark = events.length;
    const rule = (await rest.post(Routes.guildAutoModerationRules(guildId), {
      body: {
        name: 'links',
        event_type: 1,
        trigger_type: 1,
        trigger_metadata: { keyword_filter: ['*discord.gg*'] },
        actions: [
          { type: 1 },
          { type: 2, metadata: { channel_id: modLog } },
          { type: 3, metadata: { duration_seconds: 60 } },
        ],
        enabled: true,
      },
    })) as APIAutoModerationRule;
    expect(since(mark)).toContainEqual(['AUTO_MODERATION_RULE_CREATE', I.AutoModerationConfiguration]);
    const listed = (await rest.get(Routes.guildAutoModerationRules(guildId))) as APIAutoModerationRule[];
    expect(listed.map((r) => r.id)).toEqual([rule.id]);
    const before = events.length;
    const result = scenario.postMessage({
      channelId,
      userId: mallory,
      content: 'join https://discord.gg/xyz',
    });
    expect(result.message).toBeNull();
    const exec = events.slice(before).filter((e) => e.t === 'AUTO_MODERATION_ACTION_EXECUTION');
    expect(exec).toHaveLength(3);
    expect(exec[0]).toMatchObject({ intents: I.AutoModerationExecution });
    expect((exec[1]?.d as { alert_system_message_id?: string }).alert_system_message_id).toBeDefined();
    expect(world.member(guildId, mallory)?.communicationDisabledUntil).not.toBeNull();
    // Validation: an alert action needs a channel; invalid trigger types are rejected with field errors.
    const bad = (await rest
      .post(Routes.guildAutoModerationRules(guildId), {
        body: { name: 'x', event_type: 1, trigger_type: 1, actions: [{ type: 2, metadata: {} }] },
      })
      .catch((e: unknown) => e)) as DiscordAPIError;
    expect(bad.code).toBe(50035);
    expect(bad.rawError).toMatchObject({
      errors: { actions: { 0: { metadata: { channel_id: { _errors: [{ code: 'BASE_TYPE_REQUIRED' }] } } } } },
    });
    await rest.patch(Routes.guildAutoModerationRule(guildId, rule.id), { body: { enabled: false } });
    await rest.delete(Routes.guildAutoModerationRule(guildId, rule.id));
    expect(since(mark).map(([t]) => t)).toEqual(
      expect.arrayContaining(['AUTO_MODERATION_RULE_UPDATE', 'AUTO_MODERATION_RULE_DELETE']),
    );
    world.updateMember(guildId, mallory, { communicationDisabledUntil: null });
  });

  it('scheduled events: create, interest from users, status transitions, 180000 once finished', async () => {
    const voice = [...(world.guild(guildId)?.channels.values() ?? [])].find(
      (c) => c.type === ChannelType.GuildVoice,
    )?.id as string;
    const ev = (await rest.post(Routes.guildScheduledEvents(guildId), {
      body: {
        name: 'Game night',
        privacy_level: 2,
        scheduled_start_time: new Date(Date.now() + 86_400_000).toISOString(),
        entity_type: 2,
        channel_id: voice,
      },
    })) as APIGuildScheduledEvent;
    scenario.eventInterest(guildId, ev.id, mallory);
    const users = (await rest.get(Routes.guildScheduledEventUsers(guildId, ev.id))) as { user: APIUser }[];
    expect(users.map((u) => u.user.id)).toEqual([mallory]);
    expect(events.map((e) => e.t)).toContain('GUILD_SCHEDULED_EVENT_USER_ADD');
    await rest.patch(Routes.guildScheduledEvent(guildId, ev.id), { body: { status: 2 } });
    await rest.patch(Routes.guildScheduledEvent(guildId, ev.id), { body: { status: 3 } });
    const err = (await rest
      .patch(Routes.guildScheduledEvent(guildId, ev.id), { body: { name: 'again' } })
      .catch((e: unknown) => e)) as DiscordAPIError;
    expect(err.code).toBe(180000);
  });

  it('reactions, threads and DMs', async () => {
    const msg = (await rest.post(Routes.channelMessages(channelId), {
      body: { content: 'vote' },
    })) as APIMessage;
    await rest.put(Routes.channelMessageOwnReaction(channelId, msg.id, encodeURIComponent('✅')));
    scenario.react(channelId, msg.id, mallory, '✅');
    const voters = (await rest.get(
      Routes.channelMessageReaction(channelId, msg.id, encodeURIComponent('✅')),
    )) as APIUser[];
    expect(voters.map((u) => u.id).sort()).toEqual([world.botId, mallory].sort());
    const fetched = (await rest.get(Routes.channelMessage(channelId, msg.id))) as APIMessage;
    expect(fetched.reactions).toEqual([
      expect.objectContaining({ count: 2, me: true, emoji: { id: null, name: '✅' } }),
    ]);
    await rest.delete(
      Routes.channelMessageUserReaction(channelId, msg.id, encodeURIComponent('✅'), mallory),
    );
    expect(events.map((e) => e.t)).toContain('MESSAGE_REACTION_REMOVE');

    const thread = (await rest.post(Routes.threads(channelId, msg.id), {
      body: { name: 'discussion' },
    })) as APIThreadChannel;
    expect(thread.id).toBe(msg.id);
    expect(thread.parent_id).toBe(channelId);
    expect(events.find((e) => e.t === 'THREAD_CREATE')?.intents).toBe(I.Guilds);
    const inThread = (await rest.post(Routes.channelMessages(thread.id), {
      body: { content: 'in thread' },
    })) as APIMessage;
    expect(inThread.channel_id).toBe(thread.id);
    const dupe = (await rest
      .post(Routes.threads(channelId, msg.id), { body: { name: 'again' } })
      .catch((e: unknown) => e)) as DiscordAPIError;
    expect(dupe.code).toBe(160004);

    const dm = (await rest.post(Routes.userChannels(), { body: { recipient_id: mallory } })) as APIChannel;
    expect(dm.type).toBe(ChannelType.DM);
    const mark = events.length;
    await rest.post(Routes.channelMessages(dm.id), { body: { content: 'hello in private' } });
    expect(events.slice(mark)[0]).toMatchObject({
      t: 'MESSAGE_CREATE',
      guildId: null,
      intents: I.DirectMessages,
    });
  });
});
