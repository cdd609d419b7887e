import { InteractionType } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/sim/rest/rate-limit.js';
import { allRoutes } from '../../src/sim/rest/routes/index.js';
import { oauthRoutes } from '../../src/sim/oauth/routes.js';
import { startRestServer, type RestServer } from '../../src/sim/rest/server.js';
import { World } from '../../src/sim/world/index.js';

// Never crash on client input: every route, with real and junk ids, gets malformed bodies of every shape.
// Any 5xx (or a `sim_error` violation) is a simulator bug.
describe('REST robustness against malformed input', () => {
  let world: World;
  let server: RestServer;
  const real: Record<string, string> = {};

  beforeAll(async () => {
    world = World.create({ guilds: 2, membersPerGuild: 8, channelsPerGuild: 10, rolesPerGuild: 5, seed: 51 });
    server = await startRestServer({ world, rateLimits: { enabled: false }, maxBodyBytes: 64 * 1024 });
    const guildId = world.guildIds()[0] as string;
    const g = world.guild(guildId);
    const channelId = g?.systemChannelId as string;
    const userId = g?.ownerId as string;
    const message = world.createMessage(channelId, userId, { content: 'fuzz me' });
    const rec = world.interactions.create({
      type: InteractionType.ApplicationCommand,
      guildId,
      channelId,
      userId,
      data: { id: '1', name: 'x', type: 1 },
    });
    Object.assign(real, {
      guild_id: guildId,
      channel_id: channelId,
      user_id: userId,
      message_id: message.id,
      role_id: [...(g?.roles.keys() ?? [])][1] as string,
      application_id: world.app.id,
      webhook_id: world.app.id,
      webhook_token: rec.token,
      interaction_id: rec.id,
      interaction_token: rec.token,
      emoji: encodeURIComponent('👍'),
      overwrite_id: guildId,
      command_id: '1',
      rule_id: '1',
      event_id: '1',
    });
  });

  afterAll(async () => {
    await server.close();
  });

  const bodies: (string | undefined)[] = [
    undefined,
    '{}',
    '[]',
    'null',
    '"text"',
    '12',
    '{"content": {}, "embeds": {}, "name": 5, "type": "x", "options": "y", "messages": "m", "permissions": [], "roles": "r", "data": 7, "actions": {}}',
    '{"content": "x", "embeds": [{"fields": [{"name": null}]}], "components": [{"type": "a"}], "attachments": [{"id": {}}], "message_reference": {"message_id": 1}}',
    '[{"name": "ok", "description": "d", "options": [{"type": 99, "name": "", "options": [{}]}]}, 5]',
    '{"communication_disabled_until": "not a date", "nick": [], "channel_id": "x", "trigger_metadata": {"regex_patterns": ["("]}, "event_type": 9}',
    '{"type": 4, "data": {"content": 7, "flags": "x"}}',
    '{"type": 9, "data": {"components": "x"}}',
    '{"name": "' + 'n'.repeat(5000) + '"}',
    '{"broken": ',
  ];

  it('answers every route with a non-5xx status for junk ids and malformed bodies', async () => {
    const routes = [...allRoutes(() => new RateLimiter()), ...oauthRoutes()].sort(
      (a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'),
    );
    const failures: string[] = [];
    let requests = 0;
    for (const route of routes) {
      for (const variant of ['real', 'junk', 'huge'] as const) {
        const path = route.path.replace(/:(\w+)/g, (_, name: string) => {
          if (variant === 'real') return real[name] ?? '1';
          if (variant === 'junk') return name.endsWith('token') ? 'x' : 'abc';
          return '99999999999999999999';
        });
        for (const body of route.method === 'GET' ? [undefined] : bodies) {
          for (const contentType of body === undefined
            ? [undefined]
            : ['application/json', 'multipart/form-data; boundary=zz', 'text/plain']) {
            const headers: Record<string, string> = { Authorization: `Bot ${world.app.token}` };
            if (contentType) headers['Content-Type'] = contentType;
            const res = await fetch(`${server.restUrl}/v10${path}?limit=abc&before=x&with_counts=1`, {
              method: route.method,
              headers,
              ...(body !== undefined ? { body } : {}),
            });
            requests += 1;
            const text = await res.text();
            if (res.status >= 500)
              failures.push(
                `${route.method} ${path} [${contentType}] ${body?.slice(0, 60)} → ${res.status} ${text}`,
              );
            else if (res.status !== 204 && res.status !== 302) {
              expect(() => JSON.parse(text) as unknown).not.toThrow();
            }
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(server.violations.list('sim_error')).toEqual([]);
    expect(requests).toBeGreaterThan(1000);
  }, 120_000);
});
