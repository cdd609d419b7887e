import { GatewayDispatchEvents } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  COG_CHANNELS,
  type GuildCogSettings,
  MemoryGuildCogSettings,
  defineCog,
} from '../../src/cogs/framework/index.js';
import { CogHost } from '../../src/cogs/framework/host.js';
import { createCoordination } from '../../src/coordination/index.js';
import { RedisServer } from '../helpers/redis-server.js';
import {
  type Harness,
  eventually,
  harness,
  histogramCount,
  metricValue,
  testShardView,
} from './helpers/harness.js';

// Gateway payloads are built here and handed to the host as the shard runtime would.
const GUILD = '100000000000000001';
const OTHER_GUILD = '100000000000000002';

const message = (guildId: string | undefined, content: string) => ({
  t: GatewayDispatchEvents.MessageCreate,
  d: {
    id: '600000000000000001',
    channel_id: '200000000000000001',
    content,
    author: { id: '300000000000000001', username: 'u', discriminator: '0', global_name: null, avatar: null },
    ...(guildId ? { guild_id: guildId } : {}),
  },
});

describe('gateway event dispatch', () => {
  let h: Harness;
  const seen: { cog: string; guildId: string | null; content: string }[] = [];
  const prefixes: string[] = [];

  const alpha = defineCog({
    name: 'alpha',
    description: 'throws on every message',
    events: {
      MESSAGE_CREATE: (msg) => {
        throw new Error(`alpha cannot handle ${msg.content}`);
      },
    },
  });
  const beta = defineCog({
    name: 'beta',
    description: 'records messages and guilds',
    events: {
      MESSAGE_CREATE: (msg, _ctx, meta) =>
        void seen.push({ cog: 'beta', guildId: meta.guildId, content: msg.content }),
      GUILD_CREATE: (guild, _ctx, meta) =>
        void seen.push({ cog: 'beta', guildId: meta.guildId, content: `guild ${guild.id}` }),
    },
  });
  const gamma = defineCog({
    name: 'gamma',
    description: 'reads its config',
    config: z.object({ prefix: z.string().min(1).default('!'), limit: z.number().int().default(3) }),
    events: {
      MESSAGE_CREATE: async (msg, ctx) => {
        const cfg = await ctx.config(msg.guild_id ?? null);
        prefixes.push(`${cfg.prefix}${cfg.limit}`);
      },
    },
  });

  beforeAll(async () => {
    h = await harness();
    for (const cog of [alpha, beta, gamma]) expect((await h.host.load(cog)).ok).toBe(true);
  });
  afterAll(() => h.close());

  it('isolates a failing handler: others still run, dispatch resolves, the error is logged and counted', async () => {
    seen.length = 0;
    await expect(h.host.dispatch(message(GUILD, 'hello'), 0)).resolves.toBeUndefined();
    expect(seen).toEqual([{ cog: 'beta', guildId: GUILD, content: 'hello' }]);
    expect(
      await metricValue(h.metrics, 'guildhall_cog_handler_errors_total', {
        cog: 'alpha',
        event: 'MESSAGE_CREATE',
      }),
    ).toBe(1);
    expect(
      await metricValue(h.metrics, 'guildhall_cog_handler_errors_total', {
        cog: 'beta',
        event: 'MESSAGE_CREATE',
      }),
    ).toBe(0);
    expect(
      await histogramCount(h.metrics, 'guildhall_cog_handler_duration_seconds', {
        cog: 'beta',
        event: 'MESSAGE_CREATE',
      }),
    ).toBe(1);
    expect(
      await histogramCount(h.metrics, 'guildhall_cog_handler_duration_seconds', {
        cog: 'alpha',
        event: 'MESSAGE_CREATE',
      }),
    ).toBe(1);
    const logged = h.logs.find((l) => l.msg === 'cog handler failed' && l.cog === 'alpha');
    expect(logged).toMatchObject({ guildId: GUILD, event: 'MESSAGE_CREATE' });
    expect((logged?.err as { message: string }).message).toBe('alpha cannot handle hello');
  });

  it('skips cogs disabled in the event’s guild; guildless events reach every cog; GUILD_CREATE uses d.id', async () => {
    await h.host.setEnabled(OTHER_GUILD, 'beta', false);
    seen.length = 0;
    await h.host.dispatch(message(OTHER_GUILD, 'in other'));
    await h.host.dispatch(message(undefined, 'in a DM'));
    await h.host.dispatch({ t: GatewayDispatchEvents.GuildCreate, d: { id: GUILD, name: 'g' } });
    await h.host.dispatch({ t: GatewayDispatchEvents.GuildCreate, d: { id: OTHER_GUILD, name: 'o' } });
    expect(seen).toEqual([
      { cog: 'beta', guildId: null, content: 'in a DM' },
      { cog: 'beta', guildId: GUILD, content: `guild ${GUILD}` },
    ]);
    expect(await h.host.isEnabled(OTHER_GUILD, 'beta')).toBe(false);
    expect(await h.host.isEnabled(GUILD, 'beta')).toBe(true);
  });

  it('applies a config change live when it is announced on the settings channel', async () => {
    prefixes.length = 0;
    await h.host.dispatch(message(GUILD, 'a'));
    expect(prefixes).toEqual(['!3']);

    // The store changes (as the api pod would write it) but nobody announced it: the cached settings stay.
    await h.settings.update(GUILD, 'gamma', { config: { prefix: '?' } });
    await h.host.dispatch(message(GUILD, 'b'));
    expect(prefixes).toEqual(['!3', '!3']);

    // The writer announces the change; the host re-reads on the next event.
    await h.coordination.pubsub.publish(COG_CHANNELS.settings, { guildId: GUILD });
    await eventually(async () => {
      await h.host.dispatch(message(GUILD, 'c'));
      return prefixes.at(-1) === '?3';
    });
    // other guilds keep their defaults
    await h.host.dispatch(message(OTHER_GUILD, 'd'));
    expect(prefixes.at(-1)).toBe('!3');
  });

  it('falls back to defaults (logged, counted) when a guild’s config fails the schema', async () => {
    await h.settings.update(GUILD, 'gamma', { config: { prefix: '', limit: 'many' } });
    await h.coordination.pubsub.publish(COG_CHANNELS.settings, { guildId: GUILD });
    await eventually(async () => {
      await h.host.dispatch(message(GUILD, 'e'));
      return prefixes.at(-1) === '!3';
    });
    expect(
      await metricValue(h.metrics, 'guildhall_cog_config_invalid_total', { cog: 'gamma' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      h.logs.find((l) => l.msg === 'guild config fails the schema; using defaults' && l.guildId === GUILD),
    ).toBeDefined();
  });

  it('rejects an invalid config on write with the zod issues', async () => {
    await expect(h.host.setConfig(GUILD, 'gamma', { limit: 1.5 })).rejects.toMatchObject({
      status: 422,
      code: 'invalid_cog_config',
    });
    await h.host.setConfig(GUILD, 'gamma', { prefix: '>', limit: 9 });
    await h.host.dispatch(message(GUILD, 'f'));
    expect(prefixes.at(-1)).toBe('>9');
  });

  it('counts and logs timer callback errors of a cog', async () => {
    const ticking = defineCog({
      name: 'ticking',
      description: 'a failing timer',
      onLoad: (ctx) => {
        ctx.scheduler.setTimeout(() => {
          throw new Error('tick failed');
        }, 5);
      },
    });
    await h.host.load(ticking);
    await eventually(
      async () =>
        (await metricValue(h.metrics, 'guildhall_cog_handler_errors_total', {
          cog: 'ticking',
          event: 'timer',
        })) === 1,
    );
    expect(h.logs.find((l) => l.msg === 'cog timer callback failed' && l.cog === 'ticking')).toBeDefined();
  });
});

describe('settings store failures and TTL', () => {
  it('skips events of a guild whose settings cannot be loaded, and recovers', async () => {
    const store = new MemoryGuildCogSettings();
    let down = true;
    const flaky: GuildCogSettings = {
      load: (g) => (down ? Promise.reject(new Error('api unreachable')) : store.load(g)),
      update: (g, c, p) => store.update(g, c, p),
    };
    const got: string[] = [];
    const h = await harness({ settings: flaky });
    try {
      await h.host.load(
        defineCog({
          name: 'rec',
          description: 'r',
          events: { MESSAGE_CREATE: (m) => void got.push(m.content) },
        }),
      );
      await expect(h.host.dispatch(message(GUILD, 'lost'))).resolves.toBeUndefined();
      expect(got).toEqual([]);
      expect(await metricValue(h.metrics, 'guildhall_cog_settings_unavailable_total', {})).toBe(1);
      down = false;
      await h.host.dispatch(message(GUILD, 'kept'));
      expect(got).toEqual(['kept']);
    } finally {
      await h.close();
    }
  });

  it('re-reads settings after the TTL even without an announcement', async () => {
    const store = new MemoryGuildCogSettings();
    let loads = 0;
    const counting: GuildCogSettings = {
      load: (g) => (loads++, store.load(g)),
      update: (g, c, p) => store.update(g, c, p),
    };
    const got: string[] = [];
    const h = await harness({ settings: counting, settingsTtlMs: 100 });
    try {
      await h.host.load(
        defineCog({
          name: 'rec',
          description: 'r',
          events: { MESSAGE_CREATE: (m) => void got.push(m.content) },
        }),
      );
      await h.host.dispatch(message(GUILD, '1'));
      await h.host.dispatch(message(GUILD, '2'));
      expect(loads).toBe(1); // cached
      await store.update(GUILD, 'rec', { enabled: false });
      await new Promise((r) => setTimeout(r, 150));
      await h.host.dispatch(message(GUILD, '3')); // stale value served while it refreshes
      await eventually(() => loads === 2);
      await h.host.dispatch(message(GUILD, '4'));
      expect(got).toEqual(['1', '2', '3']);
    } finally {
      await h.close();
    }
  });
});

describe('settings changes across pods over Redis pub/sub', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(() => redis.stop());

  it('a change made on one pod reaches another pod’s host through a real redis-server', async () => {
    const shared = new MemoryGuildCogSettings(); // the api pod's store, seen by both pods
    const got: string[] = [];
    const podA = await harness({ settings: shared });
    const coordB = await createCoordination({ redisUrl: redis.url, keyPrefix: 'gh:', log: podA.logs.log });
    const coordA = await createCoordination({ redisUrl: redis.url, keyPrefix: 'gh:', log: podA.logs.log });
    const rec = defineCog({
      name: 'rec',
      description: 'r',
      events: { MESSAGE_CREATE: (m) => void got.push(m.content) },
    });
    const hostA = new CogHost({
      log: podA.logs.log,
      metrics: podA.metrics,
      rest: podA.rest,
      applicationId: podA.sim.applicationId,
      settings: shared,
      shard: testShardView(),
      cache: coordA.cache,
      read: async () => null,
      write: async () => null,
      pubsub: coordA.pubsub,
    });
    const hostB = new CogHost({
      log: podA.logs.log,
      metrics: podA.metrics,
      rest: podA.rest,
      applicationId: podA.sim.applicationId,
      settings: shared,
      shard: testShardView(),
      cache: coordB.cache,
      read: async () => null,
      write: async () => null,
      pubsub: coordB.pubsub,
    });
    try {
      await hostA.start();
      await hostB.start();
      await hostA.load(rec);
      await hostB.load(rec);
      await hostB.dispatch(message(GUILD, 'before'));
      expect(got).toEqual(['before']);
      await hostA.setEnabled(GUILD, 'rec', false);
      await eventually(async () => {
        const n = got.length;
        await hostB.dispatch(message(GUILD, 'after'));
        return got.length === n;
      });
      expect(await hostB.isEnabled(GUILD, 'rec')).toBe(false);
    } finally {
      await hostA.close();
      await hostB.close();
      await coordA.close();
      await coordB.close();
      await podA.close();
    }
  });
});
