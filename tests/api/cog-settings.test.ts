import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { domainCogSettings } from '../../src/domain/cog-settings.js';
import { createRemoteOps } from '../../src/domain/remote.js';
import { IDS, type TestApi, call, seed, startTestApi } from './harness.js';

describe('cog settings for the cog framework (GuildCogSettings over domain ops)', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi();
    await seed(t, { days: 1 });
  });
  afterAll(() => t.close());

  it('round-trips through the in-process and the remote ops, validates known cogs and shows in the admin API', async () => {
    const local = domainCogSettings(t.deps.ops);
    const remote = domainCogSettings(createRemoteOps(t.url, await t.serviceToken('shard-0')));
    expect(await remote.load(IDS.guildA)).toEqual({});
    await remote.update(IDS.guildA, 'leveling', { enabled: false });
    await local.update(IDS.guildA, 'leveling', { config: { xpPerMessage: 4 } });
    await remote.update(IDS.guildA, 'not-in-this-catalog', { config: { anything: [1, 2] } });
    expect(await remote.load(IDS.guildA)).toEqual({
      leveling: { enabled: false, config: { xpPerMessage: 4, announceChannelId: null, noXpRoles: [] } },
      'not-in-this-catalog': { enabled: true, config: { anything: [1, 2] } },
    });
    await expect(
      remote.update(IDS.guildA, 'leveling', { config: { xpPerMessage: 'lots' } }),
    ).rejects.toMatchObject({
      status: 400,
      code: 'validation_failed',
    });
    await expect(remote.update(IDS.guildGone, 'leveling', { enabled: true })).rejects.toMatchObject({
      status: 404,
    });
    const admin = await t.token(IDS.admin);
    const cog = await call(t, 'GET', `/api/v1/guilds/${IDS.guildA}/cogs/leveling`, { token: admin });
    expect(cog.json).toMatchObject({ enabled: false, configured: true, config: { xpPerMessage: 4 } });
    const actions = (
      await call(t, 'GET', `/api/v1/guilds/${IDS.guildA}/audit-log?action=cog.settings.update`, {
        token: admin,
      })
    ).json.items;
    expect(actions).toHaveLength(3);
    expect(actions.map((a: { actorType: string }) => a.actorType).sort()).toEqual([
      'service',
      'service',
      'system',
    ]);
  });
});
