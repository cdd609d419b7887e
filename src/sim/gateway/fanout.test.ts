import { GatewayIntentBits } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import type { DispatchEvent } from '../contracts.js';
import { EncodedDispatch, contentAlwaysVisible, shardIdOf, stripMessageContent } from './fanout.js';

const bot = '100';
const message = (extra: Record<string, unknown> = {}): DispatchEvent => ({
  t: 'MESSAGE_CREATE',
  d: {
    id: '1',
    content: 'hi',
    embeds: [{}],
    attachments: [{}],
    components: [{}],
    poll: {},
    author: { id: '2' },
    mentions: [],
    ...extra,
  },
  guildId: '41771983423143937',
  intents: GatewayIntentBits.GuildMessages,
  messageContent: true,
});

describe('fan-out helpers', () => {
  it('computes (guild_id >> 22) % num_shards', () => {
    expect(shardIdOf('41771983423143937', 1)).toBe(0);
    expect(shardIdOf('41771983423143937', 4)).toBe(Number((41771983423143937n >> 22n) % 4n));
    expect(shardIdOf(String(5n << 22n), 4)).toBe(1);
  });

  it('empties content fields and drops the poll', () => {
    expect(stripMessageContent(message().d)).toEqual({
      id: '1',
      content: '',
      embeds: [],
      attachments: [],
      components: [],
      author: { id: '2' },
      mentions: [],
    });
  });

  it('keeps content for DMs, the bot’s own messages and mentions of the bot', () => {
    expect(contentAlwaysVisible(message(), bot)).toBe(false);
    expect(contentAlwaysVisible({ ...message(), guildId: null }, bot)).toBe(true);
    expect(contentAlwaysVisible(message({ author: { id: bot } }), bot)).toBe(true);
    expect(contentAlwaysVisible(message({ mentions: [{ id: bot }] }), bot)).toBe(true);
  });

  it('serializes once per variant and filters by intents', () => {
    const e = new EncodedDispatch(message(), bot);
    const withContent = GatewayIntentBits.GuildMessages | GatewayIntentBits.MessageContent;
    expect(e.tailFor(GatewayIntentBits.Guilds)).toBeNull();
    const full = e.tailFor(withContent)!;
    expect(e.tailFor(withContent)).toBe(full);
    const stripped = e.tailFor(GatewayIntentBits.GuildMessages)!;
    expect(JSON.parse(`{"s":1${full.toString()}`).d.content).toBe('hi');
    expect(JSON.parse(`{"s":1${stripped.toString()}`).d.content).toBe('');
    expect(e.head.toString()).toBe('{"t":"MESSAGE_CREATE","s":');
  });
});
