import { REST } from '@discordjs/rest';
import { type APIGatewayBotInfo, Routes } from 'discord-api-types/v10';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startSim } from '../../src/sim/role.js';
import { createRoleContext } from '../../src/runtime.js';
import { RawClient } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('guildhall sim (startSim)', () => {
  it('serves the configured world, prints how to connect, and closes on shutdown', async () => {
    const ctx = createRoleContext('sim', { SIM_PORT: '0', SIM_GUILDS: '7', LOG_LEVEL: 'silent' });
    let printed = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed += String(chunk);
      return true;
    });
    const sim = await startSim(ctx, { membersPerGuild: 3, maxConcurrency: 2 });
    vi.restoreAllMocks();

    expect(sim.world.guildIds()).toHaveLength(7);
    expect(sim.world.app.maxConcurrency).toBe(2);
    expect(printed).toContain(sim.token);
    expect(printed).toContain(sim.applicationId);
    expect(printed).toContain(sim.gatewayUrl);
    expect(printed).toContain(sim.restUrl);

    const info = (await new REST({ api: sim.restUrl })
      .setToken(sim.token)
      .get(Routes.gatewayBot())) as APIGatewayBotInfo;
    expect(info.url).toBe(sim.gatewayUrl);
    expect(info.session_start_limit.max_concurrency).toBe(2);
    const c = await RawClient.open(sim.gatewayUrl);
    await c.next((p) => p.op === 10);

    expect(await ctx.lifecycle.shutdown('test')).toBe(true);
    expect((await c.closed).code).toBe(1006);
    await expect(fetch(`${sim.restUrl}/v10/gateway`)).rejects.toThrow();
  });
});
