import { ApplicationFlags, GatewayIntentBits, GatewayOpcodes } from 'discord-api-types/v10';

/**
 * Every intent bit Discord defines (discord-api-types v10); any other bit in IDENTIFY → close 4013.
 *
 * @example
 * (intents & ~KNOWN_INTENTS) !== 0; // → the gateway closes with 4013
 */
export const KNOWN_INTENTS: number = Object.values(GatewayIntentBits)
  .filter((v): v is number => typeof v === 'number')
  .reduce((acc, bit) => acc | bit, 0);

/**
 * Intents an application must have enabled (or be approved for) to request; otherwise close 4014.
 *
 * @example
 * const disallowed = intents & PRIVILEGED_INTENTS & ~app.privilegedIntents; // ≠ 0 → close 4014
 */
export const PRIVILEGED_INTENTS: number =
  GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences | GatewayIntentBits.MessageContent;

/** Opcodes a client may send (Discord: “Send” events). Anything else → close 4001. */
export const CLIENT_OPCODES: ReadonlySet<number> = new Set([
  GatewayOpcodes.Heartbeat,
  GatewayOpcodes.Identify,
  GatewayOpcodes.PresenceUpdate,
  GatewayOpcodes.VoiceStateUpdate,
  GatewayOpcodes.Resume,
  GatewayOpcodes.RequestGuildMembers,
  GatewayOpcodes.RequestSoundboardSounds,
  GatewayOpcodes.RequestChannelInfo,
]);

/** The gateway API versions the simulator speaks; any other `?v=` → close 4012. */
export const SUPPORTED_VERSIONS: ReadonlySet<string> = new Set(['10']);

/** Maps privileged intents the app has enabled to the `application.flags` bits READY reports. */
export function applicationFlagsFor(privilegedIntents: number): number {
  let flags = 0;
  if (privilegedIntents & GatewayIntentBits.GuildPresences) flags |= ApplicationFlags.GatewayPresence;
  if (privilegedIntents & GatewayIntentBits.GuildMembers) flags |= ApplicationFlags.GatewayGuildMembers;
  if (privilegedIntents & GatewayIntentBits.MessageContent) flags |= ApplicationFlags.GatewayMessageContent;
  return flags;
}

/**
 * Defaults of {@link GatewayServerOptions}: Discord's real values except where a test wants them short.
 *
 * @example
 * const gateway = new GatewayServer({ world, violations, resumeUrl: () => url, heartbeatIntervalMs: 500 });
 */
export const gatewayDefaults = {
  /** Discord sends 41,250 ms today. */
  heartbeatIntervalMs: 41_250,
  /** One identify per `shard_id % max_concurrency` bucket per window. */
  identifyWindowMs: 5_000,
  /**
   * Slack granted on the identify window for delivery and event-loop jitter between client and server
   * (the client measures the window when it sends, the server when it has parsed the payload).
   */
  identifyToleranceMs: 100,
  /** After op 7 RECONNECT, the server closes a connection the client kept open this long. */
  reconnectGraceMs: 5_000,
  /** How long a dropped session stays resumable (Discord: “a few minutes”). */
  resumeWindowMs: 180_000,
  /** Dispatches kept per session for RESUME replay; a resume from further back is refused. */
  replayBufferSize: 10_000,
  /** Bytes of frames kept per session for replay (one ring each, allocated on first use; min 1 MiB). */
  replayBufferBytes: 4 * 1024 * 1024,
  /** Gateway commands per connection per window (Discord: 120 per 60 s), heartbeats included. */
  commandLimit: 120,
  commandWindowMs: 60_000,
  /** Largest payload a client may send (Discord: 4096 bytes → close 4002). */
  maxClientPayloadBytes: 4096,
  /** Frames beyond this are refused by the WebSocket layer itself (close 1009). */
  maxFrameBytes: 1024 * 1024,
  /** With IDENTIFY `compress: true`, payloads at least this large are sent zlib-compressed. */
  payloadCompressionThreshold: 1024,
  /** A connection whose unsent bytes exceed this is dropped (session kept resumable). */
  maxBufferedBytesPerConnection: 256 * 1024 * 1024,
} as const satisfies Record<string, number>;
