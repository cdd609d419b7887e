import { describe, expect, it } from 'vitest';
import { describeGuild, loadMessage, loadMessageJson } from './load.js';

const world = {
  guildIds: () => ['1200000000000000000'],
  guildCreate: () =>
    ({
      channels: [
        { id: '1200000000000000009', type: 4 },
        { id: '1200000000000000001', type: 0 },
      ],
      members: [
        {
          user: { id: '5', username: 'bot', discriminator: '0', global_name: null, avatar: null, bot: true },
        },
        {
          user: {
            id: '6',
            username: 'quote " back\\slash ☃',
            discriminator: '0',
            global_name: 'G',
            avatar: 'a_1',
          },
        },
      ],
    }) as never,
};

describe('load message serialization', () => {
  it('the template produces exactly JSON.stringify of the typed payload', () => {
    const target = describeGuild(world, '1200000000000000000');
    expect(target.channelId).toBe('1200000000000000001');
    expect(target.authors.map((a) => a.id)).toEqual(['6']);
    const f = { id: '1300000000000000000', n: 42, timestamp: new Date(0).toISOString(), target, author: 0 };
    expect(loadMessageJson(f)).toBe(JSON.stringify(loadMessage(f)));
    expect(JSON.parse(loadMessageJson(f))).toEqual(loadMessage(f));
  });
});
