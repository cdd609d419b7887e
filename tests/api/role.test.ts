import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHandle, startApi } from '../../src/api/role.js';
import { COG_CHANNELS } from '../../src/cogs/framework/settings.js';
import { issueAccessToken } from '../../src/api/auth/tokens.js';
import { type Coordination, createCoordination } from '../../src/coordination/index.js';
import { silentLogger } from '../../src/logging/logger.js';
import { type RoleContext, createRoleContext } from '../../src/runtime.js';
import type { ShardEvent } from '../../src/shard/event-pipeline.js';
import { EVENT_LOG_NAME } from '../../src/shard/runtime.js';
import { eventId } from '../../src/storage/index.js';
import { tempDir } from '../helpers/temp.js';
import { IDS, JWT_SECRET, call } from './harness.js';

describe('the api role', () => {
  const tmp = tempDir('guildhall-api-role-');
  let ctx: RoleContext;
  let coordination: Coordination;
  let api: ApiHandle;
  let token: string;
  beforeAll(async () => {
    ctx = createRoleContext('api', {
      DATA_DIR: tmp.path,
      API_PORT: '0',
      JWT_SECRET,
      LOG_LEVEL: 'silent',
      METRICS_DEFAULT: 'false',
    });
    coordination = await createCoordination({ keyPrefix: 't:', log: silentLogger() });
    api = await startApi(ctx, { coordination });
    await api.deps.ops.call('guilds.upsert', { id: IDS.guildA, name: 'Guild A' }, { kind: 'write' });
    await api.deps.ops.call(
      'roles.grant',
      { guildId: IDS.guildA, userId: IDS.viewer, role: 'viewer' },
      { kind: 'write' },
    );
    token = await issueAccessToken(api.deps.keys, { userId: IDS.viewer, ttlSeconds: 600 });
  });
  afterAll(async () => {
    await ctx.lifecycle.shutdown('test');
    await coordination.close();
    tmp.cleanup();
  });

  it('serves the admin API, docs and metrics, and is ready', async () => {
    expect((await call(api, 'GET', '/readyz')).json).toEqual({ status: 'ready' });
    expect((await call(api, 'GET', '/api/v1/openapi.json')).json.openapi).toBe('3.1.0');
    expect((await call(api, 'GET', `/api/v1/guilds/${IDS.guildA}`, { token })).json.name).toBe('Guild A');
    expect((await call(api, 'GET', '/metrics')).text).toContain(
      'guildhall_http_request_duration_seconds_bucket',
    );
  });

  it('tells shards over pub/sub when a guild’s cog settings change', async () => {
    const got: unknown[] = [];
    const stop = await coordination.pubsub.subscribe(COG_CHANNELS.settings, (m) => void got.push(m));
    try {
      await api.deps.ops.call(
        'cogs.settings.update',
        { guildId: IDS.guildA, cog: 'music', patch: { enabled: false } },
        { kind: 'write' },
      );
      for (let i = 0; i < 50 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(got).toEqual([{ guildId: IDS.guildA }]);
    } finally {
      await stop();
    }
  });

  it('writes shard events from the event log, invalidates cached analytics and streams live activity', async () => {
    const overview = () => call(api, 'GET', `/api/v1/guilds/${IDS.guildA}/analytics/overview`, { token });
    expect((await overview()).json.messages).toBe(0); // now cached
    const live = await fetch(`${api.url}/api/v1/guilds/${IDS.guildA}/live`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const reader = live.body!.getReader();
    const now = Date.now();
    const events: ShardEvent[] = Array.from({ length: 25 }, (_, i) => ({
      event: {
        id: eventId(now - i, `m${i}`),
        ts: now - i,
        guildId: IDS.guildA,
        channelId: IDS.channel1,
        userId: IDS.viewer,
        kind: 'message',
      },
      shardId: 0,
      generation: 1,
      epoch: 0,
    }));
    await coordination.eventLog<ShardEvent>(EVENT_LOG_NAME).append(events);
    let messages = 0;
    for (let i = 0; i < 100 && messages !== 25; i++) {
      await new Promise((r) => setTimeout(r, 50));
      messages = (await overview()).json.messages;
    }
    expect(messages).toBe(25);
    let text = '';
    const decoder = new TextDecoder();
    const deadline = Date.now() + 5000;
    while (!text.includes('event: activity') && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    await reader.cancel();
    expect(text).toContain('event: activity');
    expect(text).toContain('"message":25');
  });
});
