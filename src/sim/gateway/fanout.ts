import { GatewayIntentBits } from 'discord-api-types/v10';
import type { DispatchEvent } from '../contracts.js';
import { shardForGuild } from '../../discord/snowflake.js';

/**
 * Discord's routing rule: `shard_id = (guild_id >> 22) % num_shards`.
 *
 * @example
 * shardIdOf('41771983423143937', 4); // → 2
 */
export function shardIdOf(guildId: string, shardCount: number): number {
  return shardForGuild(guildId, shardCount);
}

const headCache = new Map<string, Buffer>();

/** `{"t":"NAME","s":` — the part of a dispatch payload before its sequence number (cached per name). */
export function dispatchHead(t: string): Buffer {
  let head = headCache.get(t);
  if (!head) {
    head = Buffer.from(`{"t":${JSON.stringify(t)},"s":`);
    if (headCache.size < 1_000) headCache.set(t, head);
  }
  return head;
}

/** `,"op":0,"d":…}` — the part of a dispatch payload after its sequence number. */
export function dispatchTail(dJson: string): Buffer {
  return Buffer.from(`,"op":0,"d":${dJson}}`);
}

const CONTENT_FIELDS_EMPTY_ARRAY = ['embeds', 'attachments', 'components'] as const;

/**
 * A message payload as a session without MESSAGE_CONTENT sees it: content, embeds, attachments and
 * components emptied, poll removed (Discord's rule for apps without the intent).
 */
export function stripMessageContent(d: unknown): unknown {
  if (typeof d !== 'object' || d === null) return d;
  const copy: Record<string, unknown> = { ...(d as Record<string, unknown>) };
  if ('content' in copy) copy['content'] = '';
  for (const key of CONTENT_FIELDS_EMPTY_ARRAY) if (key in copy) copy[key] = [];
  delete copy['poll'];
  return copy;
}

/**
 * True when content must reach every session regardless of MESSAGE_CONTENT: DMs, the bot's own messages
 * and messages mentioning the bot.
 */
export function contentAlwaysVisible(event: DispatchEvent, botId: string): boolean {
  if (event.guildId === null) return true;
  const d = event.d as { author?: { id?: unknown }; mentions?: unknown } | null;
  if (!d || typeof d !== 'object') return true;
  if (d.author?.id === botId) return true;
  if (Array.isArray(d.mentions)) {
    for (const m of d.mentions as { id?: unknown }[]) if (m && m.id === botId) return true;
  }
  return false;
}

/**
 * One dispatch as it leaves the fan-out: the payload is serialized at most twice per event (full, and
 * content-stripped when some session lacks MESSAGE_CONTENT), never once per session.
 */
export class EncodedDispatch {
  readonly head: Buffer;
  private full: Buffer | undefined;
  private stripped: Buffer | undefined;
  private contentVisible: boolean | undefined;

  constructor(
    private readonly event: DispatchEvent,
    private readonly botId: string,
  ) {
    this.head = dispatchHead(event.t);
  }

  /** The tail for a session with these intents, or null when the intents filter drops the event. */
  tailFor(intents: number): Buffer | null {
    const event = this.event;
    const need = event.intents;
    if (need !== 0 && (intents & need) === 0) return null;
    if (!event.messageContent || (intents & GatewayIntentBits.MessageContent) !== 0 || this.visible()) {
      this.full ??= dispatchTail(event.json ?? JSON.stringify(event.d));
      return this.full;
    }
    this.stripped ??= dispatchTail(JSON.stringify(stripMessageContent(event.d)));
    return this.stripped;
  }

  private visible(): boolean {
    this.contentVisible ??= contentAlwaysVisible(this.event, this.botId);
    return this.contentVisible;
  }
}
