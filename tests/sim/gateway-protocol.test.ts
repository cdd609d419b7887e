import { GatewayIntentBits } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Payload,
  RawClient,
  type TestGateway,
  expectedShard,
  startTestGateway,
  waitFor,
} from './helpers.js';

const { Guilds, GuildMessages, MessageContent, DirectMessages, GuildMembers } = GatewayIntentBits;

let sim: TestGateway | undefined;
const clients: RawClient[] = [];

async function client(query?: string): Promise<RawClient> {
  const c = await RawClient.open(sim!.url, query);
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  await sim?.close();
  sim = undefined;
});

describe('gateway handshake', () => {
  it('sends HELLO with the configured interval and ACKs heartbeats before and after IDENTIFY', async () => {
    sim = await startTestGateway({ guilds: 3 }, { heartbeatIntervalMs: 1_234 });
    const c = await client();
    const hello = await c.next((p) => p.op === 10);
    expect(hello).toEqual({ op: 10, d: { heartbeat_interval: 1_234 }, s: null, t: null });
    c.send({ op: 1, d: null });
    await c.next((p) => p.op === 11);
    await c.identifyAndReady(sim.world.app.token);
    const acks = c.received.filter((p) => p.op === 11).length;
    c.send({ op: 1, d: c.lastSeq });
    await waitFor(() => c.received.filter((p) => p.op === 11).length === acks + 1);
    expect(sim.violations.list()).toEqual([]);
  });

  it('READY carries the session, resume URL, shard and application; then one GUILD_CREATE per owned guild', async () => {
    sim = await startTestGateway({ guilds: 40, privilegedIntents: GuildMembers });
    const c = await client();
    const ready = await c.identifyAndReady(sim.world.app.token, { shard: [1, 3] });
    const owned = sim.world.guildIds().filter((id) => expectedShard(id, 3) === 1);
    expect(owned.length).toBeGreaterThan(5);
    expect(owned.length).toBeLessThan(40);
    const d = ready.d as Record<string, unknown>;
    expect(ready.s).toBe(1);
    expect(d['v']).toBe(10);
    expect(d['session_id']).toMatch(/^[0-9a-f]{32}$/);
    expect(d['resume_gateway_url']).toBe(sim.url);
    expect(d['shard']).toEqual([1, 3]);
    expect(d['user']).toEqual(sim.world.app.botUser);
    expect(d['application']).toEqual({ id: sim.world.app.id, flags: 1 << 14, flags_new: String(1 << 14) });
    expect(d['guilds']).toEqual(owned.map((id) => ({ id, unavailable: true })));
    await waitFor(() => c.dispatches('GUILD_CREATE').length === owned.length);
    const creates = c.dispatches('GUILD_CREATE');
    expect(creates.map((p) => (p.d as { id: string }).id)).toEqual(owned);
    expect(creates.map((p) => p.s)).toEqual(owned.map((_, i) => i + 2));
    // Intents are passed to the world: no GUILD_MEMBERS → only the bot's own member.
    expect((creates[0]!.d as { members: unknown[] }).members).toHaveLength(1);
    expect(sim.world.app.sessionStartLimit.remaining).toBe(999);
  });

  it('passes intents to guildCreate (GUILD_MEMBERS when allowed)', async () => {
    sim = await startTestGateway({ guilds: 2, membersPerGuild: 5, privilegedIntents: GuildMembers });
    const c = await client();
    await c.identifyAndReady(sim.world.app.token, { intents: Guilds | GuildMembers });
    const create = await c.next((p) => p.t === 'GUILD_CREATE');
    expect((create.d as { members: unknown[] }).members).toHaveLength(6);
  });

  it('sends op 1 heartbeat requests on demand; a silent connection is closed with 4009 and stays resumable', async () => {
    sim = await startTestGateway({ guilds: 1 }, { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 600 });
    const c = await client();
    await c.identifyAndReady(sim.world.app.token);
    expect(sim.gateway.requestHeartbeat({})).toBe(1);
    await c.next((p) => p.op === 1);
    const started = Date.now();
    const closed = await c.closed;
    expect(closed.code).toBe(4009);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(sim.violations.list('close_code').map((v) => v.code)).toEqual([4009]);
    // Missed heartbeats are a zombie connection, not the end of the session: it stays resumable.
    await waitFor(() => sim!.gateway.sessions()[0]?.connected === false);
    expect(sim.gateway.sessions()).toHaveLength(1);
  });

  it('keeps a heartbeating connection open past several timeouts', async () => {
    sim = await startTestGateway({ guilds: 1 }, { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 300 });
    const c = await client();
    await c.identifyAndReady(sim.world.app.token);
    const beat = setInterval(() => c.send({ op: 1, d: c.lastSeq }), 100);
    await new Promise((r) => setTimeout(r, 1_000));
    clearInterval(beat);
    expect(c.ws.readyState).toBe(c.ws.OPEN);
    expect(sim.violations.list()).toEqual([]);
  });
});

describe('dispatch fan-out', () => {
  it('routes guild events to the owning shard only, numbering them per session', async () => {
    sim = await startTestGateway({ guilds: 12, maxConcurrency: 2 });
    const shards = [await client(), await client()];
    await shards[0]!.identifyAndGuilds(sim.world.app.token, { shard: [0, 2] });
    await shards[1]!.identifyAndGuilds(sim.world.app.token, { shard: [1, 2] });
    const before = shards.map((c) => c.lastSeq);
    for (const id of sim.world.guildIds()) sim.world.emitMessage(id, `hello ${id}`);
    for (const [i, c] of shards.entries()) {
      const owned = sim.world.guildIds().filter((id) => expectedShard(id, 2) === i);
      await waitFor(() => c.dispatches('MESSAGE_CREATE').length === owned.length);
      const got = c.dispatches('MESSAGE_CREATE');
      expect(got.map((p) => (p.d as { guild_id: string }).guild_id)).toEqual(owned);
      expect(got.map((p) => p.s)).toEqual(owned.map((_, k) => before[i]! + k + 1));
    }
  });

  it('sends events to every overlapping session (different num_shards) that owns the guild', async () => {
    sim = await startTestGateway({ guilds: 8, maxConcurrency: 16 }, { identifyWindowMs: 0 });
    const a = await client();
    const b = await client();
    const c = await client();
    await a.identifyAndReady(sim.world.app.token, { shard: [0, 1] });
    await b.identifyAndReady(sim.world.app.token, { shard: [0, 2] });
    await c.identifyAndReady(sim.world.app.token, { shard: [1, 2] });
    const guild = sim.world.guildIds()[3]!;
    sim.world.emitMessage(guild, 'both generations see me');
    const owner = expectedShard(guild, 2) === 0 ? b : c;
    const other = owner === b ? c : b;
    await a.next((p) => p.t === 'MESSAGE_CREATE');
    await owner.next((p) => p.t === 'MESSAGE_CREATE');
    await new Promise((r) => setTimeout(r, 50));
    expect(other.dispatches('MESSAGE_CREATE')).toEqual([]);
  });

  it('filters by intents, empties content without MESSAGE_CONTENT (except mentions, own messages, DMs)', async () => {
    sim = await startTestGateway({ guilds: 1, privilegedIntents: MessageContent }, { identifyWindowMs: 0 });
    const plain = await client();
    const content = await client();
    const noMessages = await client();
    await plain.identifyAndReady(sim.world.app.token, { intents: Guilds | GuildMessages | DirectMessages });
    await content.identifyAndReady(sim.world.app.token, {
      intents: Guilds | GuildMessages | MessageContent,
      shard: [0, 1],
    });
    await noMessages.identifyAndReady(sim.world.app.token, { intents: Guilds });
    const guild = sim.world.guildIds()[0]!;
    const bot = sim.world.app.botUser;
    sim.world.emitMessage(guild, 'secret');
    sim.world.emitMessage(guild, 'hey bot', { mentions: [bot] });
    sim.world.emitMessage(guild, 'mine', { author: bot });
    sim.world.emitMessage(null, 'a DM');
    await waitFor(() => plain.dispatches('MESSAGE_CREATE').length === 4);
    await waitFor(() => content.dispatches('MESSAGE_CREATE').length === 3);
    const view = (c: RawClient) =>
      c.dispatches('MESSAGE_CREATE').map((p: Payload) => {
        const d = p.d as { content: string; embeds: unknown[] };
        return [d.content, d.embeds.length];
      });
    expect(view(plain)).toEqual([
      ['', 0],
      ['hey bot', 1],
      ['mine', 1],
      ['a DM', 1],
    ]);
    // No DIRECT_MESSAGES intent → no DM.
    expect(view(content)).toEqual([
      ['secret', 1],
      ['hey bot', 1],
      ['mine', 1],
    ]);
    await new Promise((r) => setTimeout(r, 50));
    expect(noMessages.dispatches('MESSAGE_CREATE')).toEqual([]);
  });

  it('DMs go to shard 0 only', async () => {
    sim = await startTestGateway({ guilds: 4, maxConcurrency: 2 });
    const s0 = await client();
    const s1 = await client();
    const intents = Guilds | DirectMessages;
    await s0.identifyAndReady(sim.world.app.token, { shard: [0, 2], intents });
    await s1.identifyAndReady(sim.world.app.token, { shard: [1, 2], intents });
    sim.world.emitMessage(null, 'dm');
    await s0.next((p) => p.t === 'MESSAGE_CREATE');
    await new Promise((r) => setTimeout(r, 50));
    expect(s1.dispatches('MESSAGE_CREATE')).toEqual([]);
  });

  it('answers REQUEST_GUILD_MEMBERS with GUILD_MEMBERS_CHUNK (query, limit, user_ids, nonce)', async () => {
    sim = await startTestGateway({ guilds: 1, membersPerGuild: 30, privilegedIntents: GuildMembers });
    const c = await client();
    await c.identifyAndReady(sim.world.app.token, { intents: Guilds | GuildMembers });
    const guild = sim.world.guildIds()[0]!;
    c.send({ op: 8, d: { guild_id: guild, query: 'user1', limit: 5, nonce: 'q' } });
    const chunk = await c.next((p) => p.t === 'GUILD_MEMBERS_CHUNK');
    const d = chunk.d as { members: { user: { username: string } }[]; nonce: string; chunk_count: number };
    expect(d.nonce).toBe('q');
    expect(d.chunk_count).toBe(1);
    expect(d.members.map((m) => m.user.username)).toEqual(['user1', 'user10', 'user11', 'user12', 'user13']);
    const wanted = sim.world.member(2).user.id;
    c.send({ op: 8, d: { guild_id: guild, user_ids: [wanted, '1'], nonce: 'ids' } });
    const byId = await c.next(
      (p) => p.t === 'GUILD_MEMBERS_CHUNK' && (p.d as { nonce: string }).nonce === 'ids',
    );
    expect(byId.d).toMatchObject({ members: [{ user: { id: wanted } }], not_found: ['1'] });
  });
  it('ignores (and records) a whole-member-list request without GUILD_MEMBERS; caps prefix queries at 100', async () => {
    sim = await startTestGateway({ guilds: 1, membersPerGuild: 150 });
    const c = await client();
    await c.identifyAndGuilds(sim.world.app.token);
    const guild = sim.world.guildIds()[0]!;
    c.send({ op: 8, d: { guild_id: guild, query: '', limit: 0, nonce: 'all' } });
    c.send({ op: 8, d: { guild_id: guild, query: 'user', limit: 0, nonce: 'prefix' } });
    const chunk = await c.next((p) => p.t === 'GUILD_MEMBERS_CHUNK');
    expect(chunk.d).toMatchObject({ nonce: 'prefix' });
    expect((chunk.d as { members: unknown[] }).members).toHaveLength(100);
    expect(c.dispatches('GUILD_MEMBERS_CHUNK')).toHaveLength(1);
    expect(sim.violations.list('invalid_request')).toHaveLength(1);
  });
});

describe('compression', () => {
  it('speaks zlib-stream: one zlib context per connection, a Z_SYNC_FLUSH per payload', async () => {
    sim = await startTestGateway({ guilds: 20, privilegedIntents: MessageContent });
    const c = await client('?v=10&encoding=json&compress=zlib-stream');
    const frames: Buffer[] = [];
    c.ws.on('message', (data, isBinary) => {
      expect(isBinary).toBe(true);
      frames.push(data as Buffer);
    });
    await c.identifyAndGuilds(sim.world.app.token, { intents: Guilds | GuildMessages | MessageContent });
    for (let i = 0; i < 50; i++) sim.world.emitMessage(sim.world.guildIds()[0]!, `compressed ${i}`);
    await waitFor(() => c.dispatches('MESSAGE_CREATE').length === 50);
    expect(c.dispatches('MESSAGE_CREATE').map((p) => (p.d as { content: string }).content)).toEqual(
      Array.from({ length: 50 }, (_, i) => `compressed ${i}`),
    );
    expect(frames.length).toBe(c.received.length);
    for (const f of frames) expect([...f.subarray(-4)]).toEqual([0, 0, 0xff, 0xff]);
    // A shared context: only the first frame carries the zlib header.
    expect(frames[0]![0]).toBe(0x78);
    expect(frames.slice(1).some((f) => f[0] === 0x78 && f[1] === 0x9c)).toBe(false);
  });

  it('compresses large payloads individually when IDENTIFY asks for payload compression', async () => {
    sim = await startTestGateway({ guilds: 2, membersPerGuild: 50, privilegedIntents: GuildMembers });
    const c = await client();
    let binary = 0;
    c.ws.on('message', (_d, isBinary) => {
      if (isBinary) binary++;
    });
    await c.identifyAndReady(sim.world.app.token, { compress: true, intents: Guilds | GuildMembers });
    await waitFor(() => c.dispatches('GUILD_CREATE').length === 2);
    expect(binary).toBe(2);
  });
});
