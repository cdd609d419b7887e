import {
  ChannelType,
  GatewayDispatchEvents,
  GatewayIntentBits,
  MessageType,
  type APIUser,
  type GatewayMessageCreateDispatchData,
  type GatewayMessageReactionAddDispatchData,
  type GatewayTypingStartDispatchData,
} from 'discord-api-types/v10';
import type { DispatchEvent, GatewayWorld } from './contracts.js';
import { KNOWN_INTENTS } from './gateway/constants.js';
import { DISCORD_EPOCH as DISCORD_EPOCH_MS } from '../discord/snowflake.js';

/**
 * The dispatches the load generator can produce.
 *
 * @example
 * startLoad({ world, sink, mix: { MESSAGE_CREATE: 3, TYPING_START: 1 } satisfies Partial<Record<LoadEventKind, number>> });
 */
export type LoadEventKind = 'MESSAGE_CREATE' | 'TYPING_START' | 'MESSAGE_REACTION_ADD';

/** What the load generator cannot run without. */
export interface LoadDeps {
  /** Where guilds, channels and authors come from. */
  readonly world: Pick<GatewayWorld, 'guildIds' | 'guildCreate'>;
  /**
   * Receives every event: the gateway's fan-out directly (`gateway.dispatch`, the fast path) or anything
   * that forwards to the world's listeners.
   */
  readonly sink: (event: DispatchEvent) => void;
}

/** Tunables of {@link startLoad}; defaults in {@link loadDefaults}. */
export interface LoadSettings {
  /** Target events per second (a ceiling: backpressure may slow it down). */
  ratePerSecond: number;
  /** Stop after this many events (0 = no count bound, then durationMs must be set). */
  maxEvents: number;
  /** Stop after this long (0 = no time bound, then maxEvents must be set). */
  durationMs: number;
  /** Relative weights of the event kinds. */
  mix: Partial<Record<LoadEventKind, number>>;
  /** Largest burst emitted in one tick, so sockets get written between bursts. */
  maxBatch: number;
  /** Pause while this returns true (e.g. `() => gateway.maxBufferedBytes() > 8 MiB`). */
  backpressure: () => boolean;
  /** Spread over at most this many guilds of the world (0 = all). */
  guildLimit: number;
}

/**
 * Defaults of {@link LoadSettings}.
 *
 * @example
 * startLoad({ world, sink: (e) => gateway.dispatch(e), ...loadDefaults, ratePerSecond: 500, durationMs: 2_000 });
 */
export const loadDefaults = {
  ratePerSecond: 1_000,
  maxEvents: 10_000,
  durationMs: 60_000,
  mix: { MESSAGE_CREATE: 1 },
  maxBatch: 2_000,
  backpressure: () => false,
  guildLimit: 0,
} as const satisfies LoadSettings;

/**
 * Options of {@link startLoad}.
 *
 * @example
 * const options: LoadOptions = { world, sink: (e) => gateway.dispatch(e), ratePerSecond: 100, maxEvents: 500 };
 */
export type LoadOptions = LoadDeps & Partial<LoadSettings>;

/**
 * Outcome of a load run.
 *
 * @example
 * const { emitted, elapsedMs } = await startLoad(options).done;
 */
export interface LoadStats {
  readonly emitted: number;
  readonly byKind: Readonly<Record<LoadEventKind, number>>;
  readonly elapsedMs: number;
  /** Ticks skipped because of backpressure. */
  readonly pausedTicks: number;
}

/**
 * A running load generator.
 *
 * @example
 * const run = startLoad(options);
 * setTimeout(() => run.stop(), 1_000);
 */
export interface LoadRun {
  /** Resolves when the count or time bound is reached, or after {@link LoadRun.stop}. */
  readonly done: Promise<LoadStats>;
  /** Events emitted so far. */
  readonly emitted: () => number;
  stop(): void;
}

/** Where load lands in one guild, with the JSON fragments every message there shares. */
export interface GuildTarget {
  readonly guildId: string;
  readonly channelId: string;
  readonly authors: readonly APIUser[];
  /** `JSON.stringify` of each author, computed once. */
  readonly authorsJson: readonly string[];
  /** `"channel_id":…,"guild_id":…` */
  readonly placeJson: string;
}

/** What varies between two load messages. */
export interface LoadMessageFields {
  readonly id: string;
  readonly n: number;
  readonly timestamp: string;
  readonly target: GuildTarget;
  /** Index into `target.authors`. */
  readonly author: number;
}

/**
 * A load MESSAGE_CREATE as a typed payload (the reference shape {@link loadMessageJson} must produce).
 *
 * @example
 * loadMessage({ id: '1', n: 0, timestamp: new Date().toISOString(), target, author: 0 }).content; // 'load message 0'
 */
export function loadMessage(f: LoadMessageFields): GatewayMessageCreateDispatchData {
  return {
    id: f.id,
    channel_id: f.target.channelId,
    guild_id: f.target.guildId,
    author: f.target.authors[f.author]!,
    content: `load message ${f.n}`,
    timestamp: f.timestamp,
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: [],
    embeds: [],
    pinned: false,
    type: MessageType.Default,
  };
}

/**
 * `JSON.stringify(loadMessage(f))` built from cached fragments — several times cheaper than serializing
 * the object, which is what lets one process push 100k+ events/s.
 *
 * @example
 * JSON.parse(loadMessageJson(f)); // deep-equals loadMessage(f)
 */
export function loadMessageJson(f: LoadMessageFields): string {
  return `{"id":"${f.id}",${f.target.placeJson},"author":${f.target.authorsJson[f.author]},"content":"load message ${f.n}","timestamp":"${f.timestamp}","edited_timestamp":null,"tts":false,"mention_everyone":false,"mentions":[],"mention_roles":[],"attachments":[],"embeds":[],"pinned":false,"type":${MessageType.Default}}`;
}

/** A dispatch whose payload is already serialized; `d` is parsed only if someone asks for it. */
class PreSerializedEvent implements DispatchEvent {
  constructor(
    readonly t: string,
    readonly json: string,
    readonly guildId: string,
    readonly intents: number,
    readonly messageContent: boolean,
  ) {}

  get d(): unknown {
    return JSON.parse(this.json);
  }
}

const DISCORD_EPOCH = BigInt(DISCORD_EPOCH_MS);

/**
 * Emits gateway events at a target rate, spread round-robin over the world's guilds (each event in a text
 * channel of its guild, by one of its members), bounded in count and time. Events go to `sink`, typically
 * the gateway fan-out.
 *
 * @example
 * const run = startLoad({ world, sink: (e) => gateway.dispatch(e), ratePerSecond: 5_000, maxEvents: 20_000 });
 * const stats = await run.done; // { emitted: 20000, … }
 */
export function startLoad(options: LoadOptions): LoadRun {
  const { world, sink, ...overrides } = options;
  const settings: LoadSettings = {
    ...loadDefaults,
    ...(Object.fromEntries(
      Object.entries(overrides).filter(([, v]) => v !== undefined),
    ) as Partial<LoadSettings>),
  };
  if (settings.maxEvents <= 0 && settings.durationMs <= 0) {
    throw new RangeError('startLoad needs maxEvents or durationMs: a load run must be bounded');
  }
  if (!(settings.ratePerSecond > 0)) throw new RangeError('ratePerSecond must be positive');

  const ids = world.guildIds();
  const guildIds = settings.guildLimit > 0 ? ids.slice(0, settings.guildLimit) : ids;
  if (guildIds.length === 0) throw new RangeError('the world has no guild to load');
  const targets: (GuildTarget | undefined)[] = new Array(guildIds.length);
  const target = (i: number): GuildTarget => (targets[i] ??= describeGuild(world, guildIds[i]!));

  const kinds = pickList(settings.mix);
  const byKind: Record<LoadEventKind, number> = {
    MESSAGE_CREATE: 0,
    TYPING_START: 0,
    MESSAGE_REACTION_ADD: 0,
  };
  const started = Date.now();
  const limit = settings.maxEvents > 0 ? settings.maxEvents : Number.POSITIVE_INFINITY;
  let emitted = 0;
  let pausedTicks = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let increment = 0;
  let lastMessageId = '0';
  let isoAt = 0;
  let iso = '';

  let finish!: (stats: LoadStats) => void;
  const done = new Promise<LoadStats>((resolve) => (finish = resolve));
  const end = () => {
    if (timer) clearTimeout(timer);
    finish({ emitted, byKind: { ...byKind }, elapsedMs: Date.now() - started, pausedTicks });
  };

  const nextId = (now: number): string =>
    (((BigInt(now) - DISCORD_EPOCH) << 22n) | BigInt(increment++ & 0x3fffff)).toString();

  const emitOne = (now: number) => {
    const kind = kinds[emitted % kinds.length]!;
    const t = target(emitted % guildIds.length);
    const author = t.authors[emitted % t.authors.length]!;
    switch (kind) {
      case 'MESSAGE_CREATE': {
        const id = nextId(now);
        lastMessageId = id;
        if (now !== isoAt) {
          isoAt = now;
          iso = new Date(now).toISOString();
        }
        const fields: LoadMessageFields = {
          id,
          n: emitted,
          timestamp: iso,
          target: t,
          author: emitted % t.authors.length,
        };
        sink(
          new PreSerializedEvent(
            GatewayDispatchEvents.MessageCreate,
            loadMessageJson(fields),
            t.guildId,
            GatewayIntentBits.GuildMessages,
            true,
          ),
        );
        break;
      }
      case 'TYPING_START': {
        const d: GatewayTypingStartDispatchData = {
          channel_id: t.channelId,
          guild_id: t.guildId,
          user_id: author.id,
          timestamp: Math.floor(now / 1000),
        };
        sink({
          t: GatewayDispatchEvents.TypingStart,
          d,
          guildId: t.guildId,
          intents: GatewayIntentBits.GuildMessageTyping,
        });
        break;
      }
      case 'MESSAGE_REACTION_ADD': {
        const d: GatewayMessageReactionAddDispatchData = {
          user_id: author.id,
          channel_id: t.channelId,
          message_id: lastMessageId === '0' ? nextId(now) : lastMessageId,
          guild_id: t.guildId,
          emoji: { id: null, name: '👍' },
          burst: false,
          type: 0,
        };
        sink({
          t: GatewayDispatchEvents.MessageReactionAdd,
          d,
          guildId: t.guildId,
          intents: GatewayIntentBits.GuildMessageReactions,
        });
        break;
      }
    }
    byKind[kind]++;
    emitted++;
  };

  const tick = () => {
    timer = undefined;
    if (stopped) return end();
    const now = Date.now();
    const elapsed = now - started;
    if (emitted >= limit || (settings.durationMs > 0 && elapsed >= settings.durationMs)) return end();
    if (settings.backpressure()) {
      pausedTicks++;
    } else {
      const due = Math.min(limit, Math.floor((settings.ratePerSecond * elapsed) / 1000) + 1);
      const batchEnd = Math.min(due, emitted + settings.maxBatch);
      while (emitted < batchEnd) emitOne(now);
    }
    if (emitted >= limit) return end();
    // Behind schedule → next tick at once; ahead → sleep until the next event is due.
    const aheadMs = (emitted * 1000) / settings.ratePerSecond - (Date.now() - started);
    timer = setTimeout(tick, aheadMs > 1 ? Math.min(aheadMs, 50) : 0);
  };
  timer = setTimeout(tick, 0);

  return {
    done,
    emitted: () => emitted,
    stop: () => {
      stopped = true;
    },
  };
}

/**
 * Picks the text channel and the authors of load in one guild.
 *
 * @example
 * describeGuild(world, world.guildIds()[0]!).channelId;
 */
export function describeGuild(world: LoadDeps['world'], guildId: string): GuildTarget {
  // Everything visible: all intents and no large threshold, so the member list is complete.
  const g = world.guildCreate(guildId, KNOWN_INTENTS, Number.MAX_SAFE_INTEGER);
  const text = g.channels.find((c) => c.type === ChannelType.GuildText) ?? g.channels[0];
  const members = g.members.map((m) => m.user).filter((u) => !u.bot);
  const authors: APIUser[] =
    members.length > 0
      ? members
      : [{ id: '1', username: 'load', discriminator: '0', global_name: null, avatar: null }];
  const channelId = text?.id ?? guildId;
  return {
    guildId,
    channelId,
    authors,
    authorsJson: authors.map((a) => JSON.stringify(a)),
    placeJson: `"channel_id":${JSON.stringify(channelId)},"guild_id":${JSON.stringify(guildId)}`,
  };
}

function pickList(mix: Partial<Record<LoadEventKind, number>>): LoadEventKind[] {
  // Interleaved weighted list, e.g. {A: 2, B: 1} → [A, B, A].
  const entries = (Object.entries(mix) as [LoadEventKind, number][]).filter(([, w]) => w > 0);
  if (entries.length === 0) throw new RangeError('mix needs at least one positive weight');
  const total = entries.reduce((a, [, w]) => a + Math.round(w), 0);
  const out: LoadEventKind[] = [];
  const counts = new Map(entries.map(([k]) => [k, 0]));
  for (let i = 0; i < Math.max(1, total); i++) {
    let best = entries[0]![0];
    let bestScore = Number.NEGATIVE_INFINITY;
    for (const [k, w] of entries) {
      const score = w * (i + 1) - counts.get(k)! * total;
      if (score > bestScore) {
        bestScore = score;
        best = k;
      }
    }
    counts.set(best, counts.get(best)! + 1);
    out.push(best);
  }
  return out;
}
