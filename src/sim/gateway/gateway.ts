import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  GatewayCloseCodes,
  GatewayDispatchEvents,
  GatewayIntentBits,
  type APIGuildMember,
  type GatewayGuildMembersChunkDispatchData,
  type GatewayReadyDispatchData,
  type GatewayRequestGuildMembersData,
  type GatewayRequestGuildMembersDataWithQuery,
} from 'discord-api-types/v10';
import { WebSocketServer, type WebSocket } from 'ws';
import { type Logger, silentLogger } from '../../logging/logger.js';
import type {
  DispatchEvent,
  GatewayControl,
  GatewayWorld,
  SessionSummary,
  ViolationLog,
} from '../contracts.js';
import { CONTROL, type ConnectionHost, GatewayConnection } from './connection.js';
import {
  KNOWN_INTENTS,
  PRIVILEGED_INTENTS,
  SUPPORTED_VERSIONS,
  applicationFlagsFor,
  gatewayDefaults,
} from './constants.js';
import { EncodedDispatch, dispatchHead, dispatchTail, shardIdOf } from './fanout.js';
import { Outbound, type TransportCompression, WriteBatcher } from './outbound.js';
import { Session, frameHeaderLengthOf } from './session.js';

/**
 * Tunables of the gateway; every one has a default in {@link gatewayDefaults}.
 *
 * @example
 * const fast: Partial<GatewaySettings> = { heartbeatIntervalMs: 500, identifyWindowMs: 200, resumeWindowMs: 5_000 };
 */
export type GatewaySettings = { -readonly [K in keyof typeof gatewayDefaults]: number } & {
  /** Deadline for the next heartbeat (default: interval + max(interval / 2, 1 s)). */
  heartbeatTimeoutMs: number;
};

/**
 * What the gateway cannot run without.
 *
 * @example
 * const deps: GatewayServerDeps = { world, violations: new ViolationLog(), resumeUrl: () => wsUrl };
 */
export interface GatewayServerDeps {
  readonly world: GatewayWorld;
  readonly violations: ViolationLog;
  /** The simulator's own WebSocket URL, sent as READY `resume_gateway_url` (no query string). */
  readonly resumeUrl: () => string;
  readonly log?: Logger;
  readonly clock?: () => number;
}

/**
 * Options of {@link GatewayServer}: the dependencies plus any settings to override.
 *
 * @example
 * new GatewayServer({ ...deps, heartbeatIntervalMs: 1_000 } satisfies GatewayServerOptions);
 */
export type GatewayServerOptions = GatewayServerDeps & Partial<GatewaySettings>;

/**
 * A filter of {@link GatewayControl} calls: by shard id and/or session id; empty = every session.
 *
 * @example
 * gateway.requestReconnect({ shardId: 3 } satisfies SessionFilter);
 */
export type SessionFilter = { shardId?: number; sessionId?: string };

interface ShardGroup {
  readonly shards: Set<Session>[];
  readonly guildShard: Map<string, number>;
}

/**
 * The simulator's Discord gateway (v10, JSON, optional `zlib-stream`): HELLO/heartbeats, IDENTIFY with
 * Discord's validation (token, shard, intents, sharding required, per-bucket identify concurrency, daily
 * session budget), READY + GUILD_CREATE per shard, fan-out of world dispatches to every session owning
 * the guild (intents, MESSAGE_CONTENT), RESUME with replay, and the {@link GatewayControl} knobs the
 * scenario API uses. Mount it on any HTTP server through {@link GatewayServer.handleUpgrade}.
 *
 * @example
 * const gateway = new GatewayServer({ world, violations, resumeUrl: () => 'ws://127.0.0.1:8090' });
 * server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
 * gateway.forceDisconnect({ shardId: 0 }); // the client should RESUME
 */
export class GatewayServer implements GatewayControl, ConnectionHost {
  readonly settings: Readonly<GatewaySettings>;
  private readonly world: GatewayWorld;
  private readonly violations: ViolationLog;
  private readonly resumeUrl: () => string;
  private readonly log: Logger;
  private readonly clock: () => number;
  private readonly wss: WebSocketServer;
  private readonly batcher = new WriteBatcher();
  private readonly connections = new Set<GatewayConnection>();
  private readonly sessionsById = new Map<string, Session>();
  private readonly groups = new Map<number, ShardGroup>();
  private readonly lastIdentifyByBucket = new Map<number, number>();
  private readonly unsubscribe: () => void;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(options: GatewayServerOptions) {
    const { world, violations, resumeUrl, log, clock, ...overrides } = options;
    const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
    const base = { ...gatewayDefaults, ...defined } as Omit<GatewaySettings, 'heartbeatTimeoutMs'> &
      Partial<GatewaySettings>;
    const interval = base.heartbeatIntervalMs;
    this.settings = Object.freeze({
      ...base,
      heartbeatTimeoutMs: base.heartbeatTimeoutMs ?? interval + Math.max(interval / 2, 1_000),
    });
    this.world = world;
    this.violations = violations;
    this.resumeUrl = resumeUrl;
    this.log = (log ?? silentLogger()).child({ module: 'sim-gateway' });
    this.clock = clock ?? Date.now;
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      clientTracking: false,
      maxPayload: this.settings.maxFrameBytes,
    });
    this.unsubscribe = world.onDispatch((event) => this.dispatch(event));
    const sweepEvery = Math.max(10, Math.min(1_000, Math.floor(this.settings.heartbeatIntervalMs / 4)));
    this.sweeper = setInterval(() => this.sweep(), sweepEvery);
    this.sweeper.unref();
  }

  now(): number {
    return this.clock();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Connections

  /**
   * Takes over an HTTP upgrade request. Only `/` is the gateway; the query carries `v`, `encoding` and the
   * optional `compress=zlib-stream`.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'ws://sim');
    if (this.closed || (url.pathname !== '/' && url.pathname !== '')) {
      socket.on('error', () => undefined);
      socket.end(this.closed ? 'HTTP/1.1 503 Service Unavailable\r\n\r\n' : 'HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    socket.on('error', () => undefined);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, socket, url.searchParams));
  }

  private accept(ws: WebSocket, socket: Duplex, params: URLSearchParams): void {
    const compress = params.get('compress');
    const compression: TransportCompression = compress === 'zlib-stream' ? 'zlib-stream' : 'none';
    const out = new Outbound(
      ws,
      socket,
      compression,
      this.batcher,
      this.settings.payloadCompressionThreshold,
    );
    const conn = new GatewayConnection(this, out);
    this.connections.add(conn);
    ws.on('error', (err) => {
      this.violations.record({ kind: 'invalid_frame', detail: err.message, ...this.ids(conn) });
    });
    ws.on('message', (data) => {
      try {
        conn.onMessage(data);
      } catch (err) {
        // A bug of ours, never the client's: keep the server alive and make it visible.
        this.log.error({ err }, 'gateway message handler failed');
        conn.close(GatewayCloseCodes.UnknownError, 'internal simulator error');
      }
    });
    ws.on('close', (code) => this.onClose(conn, code));

    const version = params.get('v');
    if (version === null || !SUPPORTED_VERSIONS.has(version)) {
      conn.close(GatewayCloseCodes.InvalidAPIVersion, `unsupported gateway version ${version ?? '(none)'}`);
      return;
    }
    const encoding = params.get('encoding') ?? 'json';
    if (encoding !== 'json') {
      conn.close(GatewayCloseCodes.DecodeError, `encoding ${encoding} is not supported by the simulator`);
      return;
    }
    if (compress !== null && compress !== 'zlib-stream') {
      conn.close(GatewayCloseCodes.UnknownError, `compress=${compress} is not supported by the simulator`);
      return;
    }
    conn.hello();
  }

  private onClose(conn: GatewayConnection, clientCode: number): void {
    this.connections.delete(conn);
    conn.out.dispose();
    const session = conn.session;
    if (!session) return;
    conn.session = null;
    if (session.link !== conn) return;
    const serverCode = conn.serverCloseCode;
    const ends = conn.keepSessionOnClose
      ? false
      : serverCode !== null
        ? GatewayConnection.endsSession(serverCode)
        : clientCode === 1000 || clientCode === 1001;
    if (ends) {
      this.dropSession(session);
    } else {
      session.link = null;
      session.disconnectedAt = this.now();
    }
  }

  recordClose(conn: GatewayConnection, code: number, detail: string): void {
    this.violations.record({ kind: 'close_code', code, detail, ...this.ids(conn) });
    this.log.debug({ code, detail, ...this.ids(conn) }, 'closing gateway connection');
  }

  private ids(conn: GatewayConnection): { shardId?: number; sessionId?: string } {
    const s = conn.session;
    return s ? { shardId: s.shardId, sessionId: s.id } : {};
  }

  // ---------------------------------------------------------------------------------------------------------
  // IDENTIFY / RESUME

  identify(conn: GatewayConnection, d: unknown): void {
    const data = d as Record<string, unknown> | null;
    if (
      typeof data !== 'object' ||
      data === null ||
      typeof data['token'] !== 'string' ||
      typeof data['properties'] !== 'object' ||
      data['properties'] === null
    ) {
      conn.close(GatewayCloseCodes.DecodeError, 'IDENTIFY needs token, properties and intents');
      return;
    }
    const app = this.world.app;
    if (!this.tokenMatches(data['token'])) {
      conn.close(GatewayCloseCodes.AuthenticationFailed, 'IDENTIFY with an invalid token');
      return;
    }
    const shard = data['shard'] ?? [0, 1];
    if (
      !Array.isArray(shard) ||
      shard.length !== 2 ||
      !Number.isInteger(shard[0]) ||
      !Number.isInteger(shard[1]) ||
      shard[1] < 1 ||
      shard[0] < 0 ||
      shard[0] >= shard[1]
    ) {
      conn.close(GatewayCloseCodes.InvalidShard, `invalid shard ${JSON.stringify(shard)}`);
      return;
    }
    const [shardId, shardCount] = shard as [number, number];
    const intents = data['intents'];
    if (
      typeof intents !== 'number' ||
      !Number.isInteger(intents) ||
      intents < 0 ||
      (intents & ~KNOWN_INTENTS) !== 0
    ) {
      conn.close(GatewayCloseCodes.InvalidIntents, `invalid intents ${String(intents)}`);
      return;
    }
    const disallowed = intents & PRIVILEGED_INTENTS & ~app.privilegedIntents;
    if (disallowed !== 0) {
      conn.close(GatewayCloseCodes.DisallowedIntents, `privileged intents ${disallowed} are not enabled`);
      return;
    }
    const largeThreshold = data['large_threshold'] ?? 50;
    if (
      typeof largeThreshold !== 'number' ||
      !Number.isInteger(largeThreshold) ||
      largeThreshold < 50 ||
      largeThreshold > 250
    ) {
      conn.close(GatewayCloseCodes.DecodeError, `large_threshold must be an integer in 50..250`);
      return;
    }
    const guildIds = this.world.guildIds().filter((id) => shardIdOf(id, shardCount) === shardId);
    if (guildIds.length > app.maxGuildsPerShard) {
      conn.close(
        GatewayCloseCodes.ShardingRequired,
        `shard ${shardId}/${shardCount} would hold ${guildIds.length} guilds (max ${app.maxGuildsPerShard})`,
      );
      return;
    }

    const now = this.now();
    const bucket = shardId % Math.max(1, app.maxConcurrency);
    const last = this.lastIdentifyByBucket.get(bucket);
    const { identifyWindowMs, identifyToleranceMs } = this.settings;
    if (last !== undefined && now - last < identifyWindowMs - identifyToleranceMs) {
      this.violations.record({
        kind: 'identify_too_fast',
        detail: `bucket ${bucket} (max_concurrency ${app.maxConcurrency}) identified again after ${now - last} ms (window ${identifyWindowMs} ms)`,
        shardId,
      });
      conn.send(CONTROL.invalidSession(false));
      return;
    }
    if (app.sessionStartLimit.remaining <= 0) {
      this.violations.record({
        kind: 'session_start_limit',
        detail: `daily session start limit of ${app.sessionStartLimit.total} exhausted`,
        shardId,
      });
      conn.send(CONTROL.invalidSession(false));
      return;
    }
    this.lastIdentifyByBucket.set(bucket, now);
    app.sessionStartLimit.remaining--;

    const session = new Session(
      randomBytes(16).toString('hex'),
      shardId,
      shardCount,
      intents,
      guildIds.length,
      { maxEvents: this.settings.replayBufferSize, maxBytes: this.settings.replayBufferBytes },
    );
    this.addSession(session);
    this.attach(conn, session);
    if (data['compress'] === true && conn.out.compression === 'none') conn.out.payloadCompression = true;

    const flags = applicationFlagsFor(app.privilegedIntents);
    const ready: GatewayReadyDispatchData = {
      v: 10,
      user: app.botUser,
      guilds: guildIds.map((id) => ({ id, unavailable: true })),
      session_id: session.id,
      resume_gateway_url: this.resumeUrl(),
      shard: [shardId, shardCount],
      application: { id: app.id, flags, flags_new: String(flags) },
    };
    this.sendTo(session, GatewayDispatchEvents.Ready, ready);
    for (const id of guildIds) {
      this.sendTo(
        session,
        GatewayDispatchEvents.GuildCreate,
        this.world.guildCreate(id, intents, largeThreshold),
      );
    }
    this.log.debug({ shardId, shardCount, sessionId: session.id, guilds: guildIds.length }, 'identified');
  }

  resume(conn: GatewayConnection, d: unknown): void {
    const data = d as Record<string, unknown> | null;
    if (
      typeof data !== 'object' ||
      data === null ||
      typeof data['token'] !== 'string' ||
      typeof data['session_id'] !== 'string' ||
      typeof data['seq'] !== 'number' ||
      !Number.isInteger(data['seq'])
    ) {
      conn.close(GatewayCloseCodes.DecodeError, 'RESUME needs token, session_id and seq');
      return;
    }
    if (!this.tokenMatches(data['token'])) {
      conn.close(GatewayCloseCodes.AuthenticationFailed, 'RESUME with an invalid token');
      return;
    }
    const session = this.sessionsById.get(data['session_id']);
    if (!session || this.expired(session, this.now())) {
      if (session) this.dropSession(session);
      conn.send(CONTROL.invalidSession(false));
      return;
    }
    const seq = data['seq'];
    if (seq > session.seq) {
      conn.close(GatewayCloseCodes.InvalidSeq, `RESUME from seq ${seq} but the session is at ${session.seq}`);
      return;
    }
    const replay = session.replayAfter(seq);
    if (!replay) {
      this.dropSession(session);
      conn.send(CONTROL.invalidSession(false));
      return;
    }
    const previous = session.link;
    if (previous instanceof GatewayConnection && previous !== conn) {
      previous.session = null;
      previous.close(GatewayCloseCodes.UnknownError, 'session resumed on another connection');
    }
    this.attach(conn, session);
    for (const frame of replay) conn.sendFrame(frame, frameHeaderLengthOf(frame));
    const resumed = Buffer.from(`{"t":"${GatewayDispatchEvents.Resumed}","s":${session.seq},"op":0,"d":{}}`);
    conn.send(resumed);
    this.log.debug({ sessionId: session.id, from: seq, replayed: replay.length }, 'resumed');
  }

  requestGuildMembers(conn: GatewayConnection, d: unknown): void {
    const session = conn.session!;
    const data = d as Partial<GatewayRequestGuildMembersData> | null;
    if (typeof data !== 'object' || data === null || typeof data.guild_id !== 'string') {
      conn.close(GatewayCloseCodes.DecodeError, 'REQUEST_GUILD_MEMBERS needs guild_id');
      return;
    }
    const guildId = data.guild_id;
    if (
      !this.world.guildIds().includes(guildId) ||
      shardIdOf(guildId, session.shardCount) !== session.shardId
    ) {
      return;
    }
    // Every member: presences on and no large threshold make GUILD_CREATE list them all.
    const everyone = session.intents | GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences;
    const all: APIGuildMember[] =
      this.world.guildCreate(guildId, everyone, Number.MAX_SAFE_INTEGER).members ?? [];
    let members: APIGuildMember[];
    let notFound: string[] | undefined;
    if ('user_ids' in data && data.user_ids !== undefined) {
      const wanted = (Array.isArray(data.user_ids) ? data.user_ids : [data.user_ids]).slice(0, 100);
      const byId = new Map(all.map((m) => [m.user.id, m]));
      members = wanted.flatMap((id) => byId.get(id) ?? []);
      notFound = wanted.filter((id) => !byId.has(id));
    } else {
      const byQuery = data as Partial<GatewayRequestGuildMembersDataWithQuery>;
      const query = (byQuery.query ?? '').toLowerCase();
      const limit = byQuery.limit ?? 0;
      if (query === '' && limit === 0 && (session.intents & GatewayIntentBits.GuildMembers) === 0) {
        // Discord: the entire member list needs GUILD_MEMBERS; the request is ignored.
        this.violations.record({
          kind: 'invalid_request',
          detail: 'REQUEST_GUILD_MEMBERS for the whole list without the GUILD_MEMBERS intent',
          shardId: session.shardId,
          sessionId: session.id,
        });
        return;
      }
      members = all.filter((m) => m.user.username.toLowerCase().startsWith(query));
      // A prefix query returns at most 100 members; only the whole list (query '', limit 0) is unbounded.
      if (query !== '' || limit > 0)
        members = members.slice(0, query === '' ? limit : Math.min(limit || 100, 100));
    }
    const nonce =
      typeof data.nonce === 'string' && Buffer.byteLength(data.nonce) <= 32 ? data.nonce : undefined;
    const presences = data.presences === true && (session.intents & GatewayIntentBits.GuildPresences) !== 0;
    const chunkCount = Math.max(1, Math.ceil(members.length / 1000));
    for (let i = 0; i < chunkCount; i++) {
      const chunk: GatewayGuildMembersChunkDispatchData = {
        guild_id: guildId,
        members: members.slice(i * 1000, (i + 1) * 1000),
        chunk_index: i,
        chunk_count: chunkCount,
        ...(notFound && notFound.length > 0 && i === 0 ? { not_found: notFound } : {}),
        ...(presences ? { presences: [] } : {}),
        ...(nonce !== undefined ? { nonce } : {}),
      };
      this.sendTo(session, GatewayDispatchEvents.GuildMembersChunk, chunk);
    }
  }

  private tokenMatches(token: string): boolean {
    const raw = token.startsWith('Bot ') ? token.slice(4) : token;
    return raw === this.world.app.token;
  }

  private attach(conn: GatewayConnection, session: Session): void {
    conn.session = session;
    session.link = conn;
    session.disconnectedAt = null;
  }

  private sendTo(session: Session, t: string, d: unknown): void {
    session.dispatch(dispatchHead(t), dispatchTail(JSON.stringify(d)));
  }

  // ---------------------------------------------------------------------------------------------------------
  // Sessions and fan-out

  private addSession(session: Session): void {
    this.sessionsById.set(session.id, session);
    let group = this.groups.get(session.shardCount);
    if (!group) {
      group = {
        shards: Array.from({ length: session.shardCount }, () => new Set<Session>()),
        guildShard: new Map(),
      };
      this.groups.set(session.shardCount, group);
    }
    group.shards[session.shardId]!.add(session);
  }

  private dropSession(session: Session): void {
    if (!this.sessionsById.delete(session.id)) return;
    const group = this.groups.get(session.shardCount);
    if (group) {
      group.shards[session.shardId]!.delete(session);
      if (group.shards.every((s) => s.size === 0)) this.groups.delete(session.shardCount);
    }
    const link = session.link;
    session.link = null;
    if (link instanceof GatewayConnection && link.session === session) link.session = null;
  }

  private expired(session: Session, now: number): boolean {
    return session.disconnectedAt !== null && now - session.disconnectedAt > this.settings.resumeWindowMs;
  }

  /**
   * Sends one world event to every session (live or resumable) whose shard owns the guild — sessions of
   * different shard counts included — honouring intents and MESSAGE_CONTENT. DMs go to shard 0. Returns
   * how many sessions got it. This is also the load generator's fast path.
   */
  dispatch(event: DispatchEvent): number {
    if (this.groups.size === 0) return 0;
    let encoded: EncodedDispatch | undefined;
    let delivered = 0;
    for (const [count, group] of this.groups) {
      let shardId = 0;
      if (event.guildId !== null) {
        const cached = group.guildShard.get(event.guildId);
        if (cached === undefined) {
          shardId = shardIdOf(event.guildId, count);
          if (group.guildShard.size > 1_000_000) group.guildShard.clear();
          group.guildShard.set(event.guildId, shardId);
        } else {
          shardId = cached;
        }
      }
      const targets = group.shards[shardId]!;
      if (targets.size === 0) continue;
      encoded ??= new EncodedDispatch(event, this.world.app.botUser.id);
      for (const session of targets) {
        const tail = encoded.tailFor(session.intents);
        if (!tail) continue;
        session.dispatch(encoded.head, tail);
        delivered++;
      }
    }
    return delivered;
  }

  // ---------------------------------------------------------------------------------------------------------
  // GatewayControl

  sessions(): readonly SessionSummary[] {
    return [...this.sessionsById.values()].map((s) => s.summary());
  }

  forceDisconnect(filter: SessionFilter, closeCode?: number): number {
    let n = 0;
    for (const conn of this.liveConnections(filter)) {
      if (closeCode === undefined) {
        const session = conn.session!;
        this.violations.record({
          kind: 'forced_disconnect',
          detail: 'connection dropped without a close frame',
          shardId: session.shardId,
          sessionId: session.id,
        });
        conn.out.terminate();
      } else {
        // Forced closes keep the session resumable whatever the code (unlike the client's 1000/1001).
        conn.keepSessionOnClose = true;
        conn.close(closeCode, 'forced disconnect');
      }
      n++;
    }
    return n;
  }

  /**
   * Sends op 7 RECONNECT; like Discord, a connection the client has not closed after
   * `reconnectGraceMs` is closed by the server (4000, session kept resumable).
   */
  requestReconnect(filter: SessionFilter): number {
    let n = 0;
    for (const conn of this.liveConnections(filter)) {
      conn.send(CONTROL.reconnect);
      const timer = setTimeout(() => {
        if (!this.connections.has(conn) || conn.closing) return;
        conn.keepSessionOnClose = true;
        conn.close(GatewayCloseCodes.UnknownError, 'did not reconnect after op 7 RECONNECT');
      }, this.settings.reconnectGraceMs);
      timer.unref();
      n++;
    }
    return n;
  }

  invalidateSession(filter: SessionFilter, resumable: boolean): number {
    let n = 0;
    for (const session of [...this.sessionsById.values()]) {
      if (!matches(session, filter)) continue;
      const conn = session.link instanceof GatewayConnection ? session.link : null;
      if (conn && !conn.closing) conn.send(CONTROL.invalidSession(resumable));
      if (resumable) {
        // The client may RESUME on this very connection (that is what @discordjs/ws does).
        if (conn) conn.session = null;
        session.link = null;
        session.disconnectedAt = this.now();
      } else {
        this.dropSession(session);
      }
      n++;
    }
    return n;
  }

  /** Sends op 1 HEARTBEAT (a heartbeat request) to matching live sessions. */
  requestHeartbeat(filter: SessionFilter): number {
    let n = 0;
    for (const conn of this.liveConnections(filter)) {
      conn.send(CONTROL.heartbeatRequest);
      n++;
    }
    return n;
  }

  /** Open connections (authenticated or not). */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** The largest number of bytes waiting to reach one client; load generators use it for backpressure. */
  maxBufferedBytes(): number {
    let max = 0;
    for (const conn of this.connections) max = Math.max(max, conn.out.bufferedBytes);
    return max;
  }

  /** Drops every connection and stops the timers. Sessions are forgotten. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.unsubscribe();
    for (const conn of this.connections) conn.out.terminate();
    this.connections.clear();
    this.sessionsById.clear();
    this.groups.clear();
    this.wss.close();
  }

  private *liveConnections(filter: SessionFilter): Generator<GatewayConnection> {
    for (const conn of [...this.connections]) {
      const session = conn.session;
      if (!session || conn.closing || !matches(session, filter)) continue;
      yield conn;
    }
  }

  private sweep(): void {
    const now = this.now();
    const { heartbeatTimeoutMs, maxBufferedBytesPerConnection } = this.settings;
    for (const conn of [...this.connections]) {
      if (conn.closing) continue;
      if (now - conn.lastHeartbeatAt > heartbeatTimeoutMs) {
        conn.close(GatewayCloseCodes.SessionTimedOut, `no heartbeat for ${now - conn.lastHeartbeatAt} ms`);
      } else if (conn.out.bufferedBytes > maxBufferedBytesPerConnection) {
        this.violations.record({
          kind: 'slow_consumer',
          detail: `${conn.out.bufferedBytes} bytes unsent`,
          ...this.ids(conn),
        });
        conn.out.terminate();
      }
    }
    for (const session of [...this.sessionsById.values()]) {
      if (this.expired(session, now)) this.dropSession(session);
    }
  }
}

function matches(session: Session, filter: SessionFilter): boolean {
  return (
    (filter.shardId === undefined || session.shardId === filter.shardId) &&
    (filter.sessionId === undefined || session.id === filter.sessionId)
  );
}
