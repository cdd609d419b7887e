import { type GatewayDispatchPayload, GatewayDispatchEvents, InteractionType } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { activityEventSchema, eventTime } from '../storage/index.js';
import { VoiceStates, normalizeDispatch, snowflakeTime } from './normalize.js';

const G = '1100000000000000001';
const C = '1200000000000000001';
const U = '1300000000000000001';
// A snowflake created at 2026-11-25T12:00:00Z.
const MSG = String((BigInt(Date.UTC(2026, 10, 25, 12)) - 1_420_070_400_000n) << 22n);

const d = (t: string, data: unknown) => ({ op: 0, s: 1, t, d: data }) as unknown as GatewayDispatchPayload;
const message = (over: Record<string, unknown> = {}) =>
  d(GatewayDispatchEvents.MessageCreate, {
    id: MSG,
    guild_id: G,
    channel_id: C,
    author: { id: U, username: 'u', bot: false },
    content: 'secret words',
    attachments: [],
    ...over,
  });

describe('normalizeDispatch', () => {
  it('turns a guild message into a message event timed by its snowflake, without its content', () => {
    const [e, ...rest] = normalizeDispatch(message(), 999, new VoiceStates());
    expect(rest).toEqual([]);
    expect(e).toMatchObject({
      kind: 'message',
      guildId: G,
      channelId: C,
      userId: U,
      ts: Date.UTC(2026, 10, 25, 12),
    });
    expect(eventTime(e!.id)).toBe(e!.ts);
    expect(JSON.stringify(e)).not.toContain('secret');
    expect(activityEventSchema.safeParse(e).success).toBe(true);
  });

  it('gives the same id to the same fact seen twice at different times (two shard generations)', () => {
    const a = normalizeDispatch(message(), 1_000, new VoiceStates());
    const b = normalizeDispatch(message(), 9_000, new VoiceStates());
    expect(a[0]!.id).toBe(b[0]!.id);
  });

  it('skips bot, webhook and DM messages', () => {
    const v = new VoiceStates();
    expect(normalizeDispatch(message({ author: { id: U, username: 'b', bot: true } }), 1, v)).toEqual([]);
    expect(normalizeDispatch(message({ webhook_id: '1' }), 1, v)).toEqual([]);
    expect(normalizeDispatch(message({ guild_id: undefined }), 1, v)).toEqual([]);
  });

  it('tracks voice joins, moves and leaves per user', () => {
    const v = new VoiceStates();
    const vs = (channel: string | null) =>
      d(GatewayDispatchEvents.VoiceStateUpdate, {
        guild_id: G,
        user_id: U,
        channel_id: channel,
        session_id: 's',
      });
    expect(normalizeDispatch(vs('1'), 10, v).map((e) => e.kind)).toEqual(['voice_join']);
    expect(normalizeDispatch(vs('1'), 11, v)).toEqual([]); // mute/deafen: same channel
    const [move] = normalizeDispatch(vs('2'), 12, v);
    expect(move).toMatchObject({ kind: 'voice_move', channelId: '2', attrs: { from: '1' } });
    expect(normalizeDispatch(vs(null), 13, v).map((e) => [e.kind, e.channelId])).toEqual([
      ['voice_leave', '2'],
    ]);
  });

  it('records joins at joined_at, leaves, commands, bans and reactions', () => {
    const v = new VoiceStates();
    const joined = '2026-11-20T10:00:00.000Z';
    expect(
      normalizeDispatch(
        d(GatewayDispatchEvents.GuildMemberAdd, { guild_id: G, user: { id: U }, joined_at: joined }),
        5,
        v,
      )[0],
    ).toMatchObject({ kind: 'member_join', ts: Date.parse(joined), userId: U });
    expect(
      normalizeDispatch(
        d(GatewayDispatchEvents.GuildMemberRemove, { guild_id: G, user: { id: U } }),
        5,
        v,
      )[0],
    ).toMatchObject({
      kind: 'member_leave',
      ts: 5,
    });
    const cmd = normalizeDispatch(
      d(GatewayDispatchEvents.InteractionCreate, {
        id: MSG,
        type: InteractionType.ApplicationCommand,
        guild_id: G,
        channel: { id: C },
        member: { user: { id: U } },
        data: { name: 'rank' },
      }),
      5,
      v,
    )[0];
    expect(cmd).toMatchObject({ kind: 'command', ts: snowflakeTime(MSG), attrs: { name: 'rank' } });
    expect(
      normalizeDispatch(d(GatewayDispatchEvents.GuildBanAdd, { guild_id: G, user: { id: U } }), 5, v)[0],
    ).toMatchObject({
      kind: 'moderation',
      attrs: { action: 'ban' },
    });
    const reaction = normalizeDispatch(
      d(GatewayDispatchEvents.MessageReactionAdd, {
        guild_id: G,
        channel_id: C,
        message_id: MSG,
        user_id: U,
        emoji: { id: null, name: '👍' },
      }),
      5,
      v,
    );
    expect(reaction[0]).toMatchObject({ kind: 'reaction_add', attrs: { emoji: '👍' } });
    for (const e of [cmd!, reaction[0]!]) expect(activityEventSchema.safeParse(e).success).toBe(true);
  });

  it('ignores dispatches that are not activity', () => {
    expect(
      normalizeDispatch(d(GatewayDispatchEvents.TypingStart, { guild_id: G }), 5, new VoiceStates()),
    ).toEqual([]);
  });
});
