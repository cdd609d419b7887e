// The simulator's `oauthUser` option: a user created at start that /oauth2/authorize signs in as and that
// owns the first N guilds — what `guildhall all` uses for its admin login.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type SimulatorHandle } from '../../src/sim/index.js';

describe('simulator oauthUser option', () => {
  let sim: SimulatorHandle;
  const redirectUri = 'http://127.0.0.1:1/api/v1/auth/callback';

  beforeAll(async () => {
    sim = await createSimulator({
      guilds: 4,
      membersPerGuild: 5,
      oauthUser: { username: 'sim_admin', globalName: 'Sim Admin', ownsGuilds: 2 },
    });
    sim.http.scenario.addRedirectUris([redirectUri]);
  });
  afterAll(() => sim.close());

  it('signs in as the created user, who owns the first guilds and only those', async () => {
    const user = sim.oauthUser!;
    expect(user).toMatchObject({ username: 'sim_admin', global_name: 'Sim Admin' });
    const ids = sim.world.guildIds();
    expect(ids.map((id) => sim.world.guild(id)!.ownerId === user.id)).toEqual([true, true, false, false]);

    const authorize = new URL('/oauth2/authorize', sim.url);
    for (const [k, v] of Object.entries({
      client_id: sim.applicationId,
      response_type: 'code',
      scope: 'identify guilds',
      redirect_uri: redirectUri,
    }))
      authorize.searchParams.set(k, v);
    const approved = await fetch(authorize, { redirect: 'manual' });
    expect(approved.status).toBe(302);
    const code = new URL(approved.headers.get('location')!).searchParams.get('code')!;
    const token = await fetch(`${sim.restUrl}/v10/oauth2/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${sim.applicationId}:${sim.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri }),
    });
    expect(token.status).toBe(200);
    const { access_token } = (await token.json()) as { access_token: string };
    const headers = { authorization: `Bearer ${access_token}` };
    expect(await (await fetch(`${sim.restUrl}/v10/users/@me`, { headers })).json()).toMatchObject({
      id: user.id,
      username: 'sim_admin',
    });
    const mine = (await (await fetch(`${sim.restUrl}/v10/users/@me/guilds`, { headers })).json()) as {
      id: string;
      owner: boolean;
    }[];
    expect(mine.map((g) => ({ id: g.id, owner: g.owner }))).toEqual(
      ids.slice(0, 2).map((id) => ({ id, owner: true })),
    );
  });

  it('refuses a negative or fractional ownsGuilds', async () => {
    await expect(createSimulator({ oauthUser: { ownsGuilds: -1 } })).rejects.toThrow(/ownsGuilds/);
    await expect(createSimulator({ oauthUser: { ownsGuilds: 1.5 } })).rejects.toThrow(/ownsGuilds/);
  });
});
