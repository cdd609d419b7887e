// A shard pod when Redis goes away (a real redis-server, killed and restarted empty): it keeps its gateway
// connection while its lease would still be valid, identifies nothing while Redis is down, hands the shard
// over once the lease must have lapsed, and connects it again when Redis is back.
import { GatewayIntentBits } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Coordination, createCoordination } from '../../src/coordination/index.js';
import { silentLogger } from '../../src/logging/logger.js';
import { ShardRuntime } from '../../src/shard/runtime.js';
import { type SimulatorHandle, createSimulator } from '../../src/sim/index.js';
import { RedisServer } from '../helpers/redis-server.js';
import { waitUntil } from '../helpers/wait.js';

const TTL_MS = 2000;
let redis: RedisServer;
let sim: SimulatorHandle;
let coordination: Coordination;
let runtime: ShardRuntime;

const connected = () => sim.gateway.sessions().filter((s) => s.connected).length;
const identifies = () => sim.world.app.sessionStartLimit.total - sim.world.app.sessionStartLimit.remaining;

beforeAll(async () => {
  redis = await RedisServer.start();
  sim = await createSimulator({ guilds: 4, membersPerGuild: 3, channelsPerGuild: 2 });
  coordination = await createCoordination({
    redisUrl: redis.url,
    keyPrefix: 'outage:',
    log: silentLogger(),
    redis: { commandTimeoutMs: 300 },
  });
  await coordination.plans.publish(
    { generation: 1, totalShards: 1, maxConcurrency: 1, shardsPerPod: 1 },
    null,
  );
  runtime = new ShardRuntime({
    podName: 'guildhall-shard-0',
    token: sim.token,
    intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages,
    apiUrl: sim.restUrl,
    coordination,
    log: silentLogger(),
    leaseTtlMs: TTL_MS,
  });
  await runtime.start();
  await waitUntil('the shard to connect', () => connected() === 1, 15_000, 50);
});

afterAll(async () => {
  await runtime?.stop();
  await coordination?.close();
  await sim?.close();
  await redis?.stop();
});

describe('shard pod during a Redis outage', () => {
  it('keeps the connection within the lease TTL, identifies nothing, then drops and recovers', async () => {
    expect(identifies()).toBe(1);
    await redis.kill();
    const downAt = Date.now();
    // Within the TTL the connection stays up.
    await new Promise((r) => setTimeout(r, TTL_MS / 2));
    expect(connected()).toBe(1);
    // Past the TTL (plus a renewal tick) the pod hands the shard over rather than risk two owners.
    await waitUntil('the shard to be dropped', () => connected() === 0, TTL_MS * 4, 50);
    expect(Date.now() - downAt).toBeGreaterThanOrEqual(TTL_MS);
    // Redis stays down a while: nothing identifies meanwhile.
    await new Promise((r) => setTimeout(r, 1500));
    expect(identifies()).toBe(1);
    expect(connected()).toBe(0);

    // Redis returns (empty, as a restarted server without persistence): the pod leases the shard again and
    // reconnects.
    await redis.restart();
    await waitUntil('the shard to reconnect after Redis returned', () => connected() === 1, 20_000, 50);
    expect(runtime.pod.held().map((h) => h.shardId)).toEqual([0]);
    expect(sim.violations.list()).toEqual([]);
  }, 60_000);
});
