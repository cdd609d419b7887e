import { GatewayCloseCodes, GatewayOpcodes } from 'discord-api-types/v10';
import type {
  GatewayHeartbeatAck,
  GatewayHeartbeatRequest,
  GatewayHello,
  GatewayInvalidSession,
  GatewayReconnect,
} from 'discord-api-types/v10';
import type { RawData } from 'ws';
import { CLIENT_OPCODES } from './constants.js';
import type { Outbound } from './outbound.js';
import type { Session } from './session.js';

/** A decoded client payload: `op` checked to be an integer, `d` still untrusted. */
export interface ClientPayload {
  readonly op: number;
  readonly d: unknown;
}

/** What a connection asks of the gateway server (global state: sessions, limits, the world). */
export interface ConnectionHost {
  readonly settings: {
    readonly heartbeatIntervalMs: number;
    readonly commandLimit: number;
    readonly commandWindowMs: number;
    readonly maxClientPayloadBytes: number;
  };
  now(): number;
  identify(conn: GatewayConnection, d: unknown): void;
  resume(conn: GatewayConnection, d: unknown): void;
  requestGuildMembers(conn: GatewayConnection, d: unknown): void;
  /** Records a close code the server sends (ViolationLog kind `close_code`). */
  recordClose(conn: GatewayConnection, code: number, detail: string): void;
}

/**
 * A non-dispatch payload exactly as Discord frames it (`t` and `s` null; `d` null where the type has none).
 * `d` is typed from the discord-api-types payload of that opcode.
 */
function control<
  P extends
    GatewayHello | GatewayHeartbeatAck | GatewayReconnect | GatewayInvalidSession | GatewayHeartbeatRequest,
>(op: P['op'], d: P['d'] extends undefined ? null : P['d']): Buffer {
  return Buffer.from(JSON.stringify({ t: null, s: null, op, d }));
}

/** Pre-serialized control payloads. */
export const CONTROL = {
  heartbeatAck: control<GatewayHeartbeatAck>(GatewayOpcodes.HeartbeatAck, null),
  heartbeatRequest: control<GatewayHeartbeatRequest>(GatewayOpcodes.Heartbeat, null),
  reconnect: control<GatewayReconnect>(GatewayOpcodes.Reconnect, null),
  invalidSession: (resumable: boolean): Buffer =>
    control<GatewayInvalidSession>(GatewayOpcodes.InvalidSession, resumable),
  hello: (heartbeatInterval: number): Buffer =>
    control<GatewayHello>(GatewayOpcodes.Hello, { heartbeat_interval: heartbeatInterval }),
} as const;

/** Close codes after which the session is gone for good (Discord: do not reconnect / start over). */
const SESSION_ENDING_CODES: ReadonlySet<number> = new Set([
  GatewayCloseCodes.AuthenticationFailed,
  GatewayCloseCodes.InvalidShard,
  GatewayCloseCodes.ShardingRequired,
  GatewayCloseCodes.InvalidAPIVersion,
  GatewayCloseCodes.InvalidIntents,
  GatewayCloseCodes.DisallowedIntents,
]);

/**
 * The server side of one gateway WebSocket: enforces payload size, the per-connection command rate limit,
 * JSON decoding, opcodes and the authentication state, answers heartbeats, and hands IDENTIFY / RESUME /
 * REQUEST_GUILD_MEMBERS to the {@link ConnectionHost}. It never throws on client input: every protocol error
 * becomes a close code.
 */
export class GatewayConnection {
  /** The session this connection carries; null before IDENTIFY/RESUME or after an INVALID_SESSION. */
  session: Session | null = null;
  lastHeartbeatAt: number;
  /** The code the server closed with, once it did. */
  serverCloseCode: number | null = null;
  /** Set for forced disconnects: the session stays resumable whatever the close code. */
  keepSessionOnClose = false;
  private commandWindowStart: number;
  private commandCount = 0;

  constructor(
    private readonly host: ConnectionHost,
    readonly out: Outbound,
  ) {
    this.lastHeartbeatAt = host.now();
    this.commandWindowStart = this.lastHeartbeatAt;
  }

  /** True once the server has started closing this connection. */
  get closing(): boolean {
    return this.serverCloseCode !== null || !this.out.writable;
  }

  /** Queues one payload for the client. */
  send(payload: Buffer): void {
    this.out.send(payload);
  }

  /** Queues one dispatch frame of the session this connection carries. */
  sendFrame(frame: Buffer, headerLength: number): void {
    this.out.sendFrame(frame, headerLength);
  }

  /** Sends HELLO with the heartbeat interval. */
  hello(): void {
    this.out.send(CONTROL.hello(this.host.settings.heartbeatIntervalMs));
  }

  /** Closes with a gateway close code, recording it. */
  close(code: number, detail: string): void {
    if (this.serverCloseCode !== null) return;
    this.serverCloseCode = code;
    this.host.recordClose(this, code, detail);
    this.out.close(code, detail);
  }

  /** Whether the session must be dropped after this server close code. */
  static endsSession(code: number): boolean {
    return SESSION_ENDING_CODES.has(code);
  }

  /** One WebSocket message from the client. */
  onMessage(data: RawData): void {
    if (this.closing) return;
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const { maxClientPayloadBytes, commandLimit, commandWindowMs } = this.host.settings;
    if (buf.length > maxClientPayloadBytes) {
      this.close(
        GatewayCloseCodes.DecodeError,
        `payload of ${buf.length} bytes exceeds ${maxClientPayloadBytes}`,
      );
      return;
    }
    const now = this.host.now();
    if (now - this.commandWindowStart >= commandWindowMs) {
      this.commandWindowStart = now;
      this.commandCount = 0;
    }
    if (++this.commandCount > commandLimit) {
      this.close(
        GatewayCloseCodes.RateLimited,
        `more than ${commandLimit} commands in ${commandWindowMs} ms`,
      );
      return;
    }
    const payload = decode(buf);
    if (!payload) {
      this.close(GatewayCloseCodes.DecodeError, 'payload is not a JSON object with an integer op');
      return;
    }
    if (!CLIENT_OPCODES.has(payload.op)) {
      this.close(GatewayCloseCodes.UnknownOpcode, `unknown opcode ${payload.op}`);
      return;
    }
    this.handle(payload, now);
  }

  private handle(payload: ClientPayload, now: number): void {
    switch (payload.op) {
      case GatewayOpcodes.Heartbeat:
        if (payload.d !== null && payload.d !== undefined && !Number.isInteger(payload.d)) {
          this.close(GatewayCloseCodes.DecodeError, 'heartbeat d must be the last sequence number or null');
          return;
        }
        this.lastHeartbeatAt = now;
        this.out.send(CONTROL.heartbeatAck);
        return;
      case GatewayOpcodes.Identify:
        if (this.session) {
          this.close(GatewayCloseCodes.AlreadyAuthenticated, 'IDENTIFY on an authenticated connection');
          return;
        }
        this.host.identify(this, payload.d);
        return;
      case GatewayOpcodes.Resume:
        if (this.session) {
          this.close(GatewayCloseCodes.AlreadyAuthenticated, 'RESUME on an authenticated connection');
          return;
        }
        this.host.resume(this, payload.d);
        return;
      default:
        if (!this.session) {
          this.close(GatewayCloseCodes.NotAuthenticated, `opcode ${payload.op} before IDENTIFY`);
          return;
        }
        if (payload.op === GatewayOpcodes.RequestGuildMembers) this.host.requestGuildMembers(this, payload.d);
      // Presence, voice state, soundboard and channel-info requests are accepted and have no effect here.
    }
  }
}

function decode(buf: Buffer): ClientPayload | null {
  let value: unknown;
  try {
    value = JSON.parse(buf.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const op = (value as { op?: unknown }).op;
  if (typeof op !== 'number' || !Number.isInteger(op)) return null;
  return { op, d: (value as { d?: unknown }).d };
}
