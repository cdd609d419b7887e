/**
 * The seam between the simulator's two halves: the world (state, REST, OAuth2, scenario API — `src/sim/world`,
 * `src/sim/rest`, `src/sim/oauth`) and the gateway (WebSocket sessions — `src/sim/gateway`). The gateway only
 * sees the world through {@link GatewayWorld}; the world and the scenario API only drive the gateway through
 * {@link GatewayControl}. Both record rule breaks in one {@link ViolationLog}.
 */
import type { APIUser, GatewayGuildCreateDispatchData } from 'discord-api-types/v10';

/** One gateway dispatch produced by the world (a REST write, a scenario action, the load generator). */
export interface DispatchEvent {
  /** Dispatch name, e.g. `MESSAGE_CREATE`. */
  readonly t: string;
  /** Payload exactly as Discord sends it (snake_case). */
  readonly d: unknown;
  /** Guild it belongs to (routes it to the shard `(guild_id >> 22) % num_shards`); null = DM → shard 0. */
  readonly guildId: string | null;
  /** Intent bits of which the session needs at least one to receive this event; 0 = always sent. */
  readonly intents: number;
  /**
   * True when `d` carries message content fields (content, embeds, attachments, components, poll) that must
   * be emptied for sessions without MESSAGE_CONTENT unless the bot is mentioned or it is the bot's own message.
   */
  readonly messageContent?: boolean;
  /**
   * `JSON.stringify(d)`, when the producer already has it (the load generator builds it from a template):
   * the gateway then sends it as is and reads `d` only if it must strip message content.
   */
  readonly json?: string;
}

/** The application (bot) the simulator impersonates Discord for. */
export interface SimApplication {
  readonly id: string;
  readonly token: string;
  readonly clientSecret: string;
  readonly botUser: APIUser;
  /** GatewayIntentBits the app is allowed to request among the privileged ones (members, presences, content). */
  privilegedIntents: number;
  /** `session_start_limit.max_concurrency`. */
  maxConcurrency: number;
  /** More guilds than this on one shard → close 4011 (Discord: 2,500). */
  maxGuildsPerShard: number;
  /** Daily identify budget; `remaining` is decremented by every IDENTIFY (not RESUME). */
  readonly sessionStartLimit: { total: number; remaining: number; resetAfterMs: number };
}

/** What the gateway needs from the world. */
export interface GatewayWorld {
  readonly app: SimApplication;
  /** Every guild the bot is in. */
  guildIds(): readonly string[];
  /**
   * The GUILD_CREATE payload of a guild, honouring intents (no members without GUILD_MEMBERS, …) and the
   * IDENTIFY `large_threshold` (50–250, default 50) when given.
   */
  guildCreate(guildId: string, intents: number, largeThreshold?: number): GatewayGuildCreateDispatchData;
  /** Subscribes to every dispatch the world produces; returns the unsubscribe function. */
  onDispatch(listener: (event: DispatchEvent) => void): () => void;
}

/** A live or resumable gateway session, as the scenario API reports it. */
export interface SessionSummary {
  readonly sessionId: string;
  readonly shard: readonly [number, number];
  readonly connected: boolean;
  readonly seq: number;
  readonly intents: number;
  readonly guilds: number;
}

/** What the world and the scenario API may ask of the gateway. */
export interface GatewayControl {
  sessions(): readonly SessionSummary[];
  /** Drops matching connections without a close frame handshake from the client (session stays resumable). */
  forceDisconnect(filter: { shardId?: number; sessionId?: string }, closeCode?: number): number;
  /** Sends op 7 RECONNECT to matching sessions. */
  requestReconnect(filter: { shardId?: number; sessionId?: string }): number;
  /** Sends op 9 INVALID_SESSION(resumable) to matching sessions. */
  invalidateSession(filter: { shardId?: number; sessionId?: string }, resumable: boolean): number;
}

/** One recorded rule break (by the client under test) or enforcement action. */
export interface Violation {
  readonly at: number;
  /** Stable kind, e.g. `identify_too_fast`, `rate_limited`, `invalid_payload`, `close_code`, `invalid_request`. */
  readonly kind: string;
  readonly detail: string;
  readonly shardId?: number;
  readonly sessionId?: string;
  readonly route?: string;
  readonly code?: number;
}

/**
 * The violations log every test of the platform asserts on (zero unexpected violations).
 *
 * @example
 * const log = new ViolationLog();
 * log.record({ kind: 'identify_too_fast', detail: 'bucket 1 identified twice within 5 s', shardId: 3 });
 * expect(log.list()).toEqual([]);
 */
export class ViolationLog {
  private readonly entries: Violation[] = [];
  private readonly countsByKind = new Map<string, number>();

  constructor(private readonly clock: () => number = Date.now) {}

  record(v: Omit<Violation, 'at'>): void {
    const entry = { at: this.clock(), ...v };
    if (this.entries.length < 10_000) this.entries.push(entry);
    this.countsByKind.set(v.kind, (this.countsByKind.get(v.kind) ?? 0) + 1);
  }

  list(kind?: string): readonly Violation[] {
    return kind ? this.entries.filter((e) => e.kind === kind) : [...this.entries];
  }

  counts(): Record<string, number> {
    return Object.fromEntries(this.countsByKind);
  }

  clear(): void {
    this.entries.length = 0;
    this.countsByKind.clear();
  }
}
