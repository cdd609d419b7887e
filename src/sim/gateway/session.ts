import type { SessionSummary } from '../contracts.js';

/** What a session needs from the connection currently carrying it. */
export interface SessionLink {
  /**
   * One dispatch as a complete unmasked text WebSocket frame whose payload starts at `headerLength`. The
   * bytes may be a view into the session's replay ring: copy them before this tick ends or before
   * {@link SYNC_FLUSH_BYTES} more bytes are queued (the ring is at least four times that).
   */
  sendFrame(frame: Buffer, headerLength: number): void;
}

/** A link must copy queued ring views once this many bytes are pending (see {@link SessionLink}). */
export const SYNC_FLUSH_BYTES = 256 * 1024;

/** The smallest replay ring; frames larger than a quarter of the ring are kept as their own buffers. */
const MIN_RING_BYTES = 4 * SYNC_FLUSH_BYTES;

/** Header length of an unmasked server frame built by {@link Session.dispatch}. */
export function frameHeaderLengthOf(frame: Buffer): number {
  const len7 = frame[1]! & 0x7f;
  return len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
}

/** Length of the WebSocket frame header for a payload of `n` bytes (RFC 6455 §5.2, unmasked). */
export function frameHeaderLength(n: number): number {
  return n < 126 ? 2 : n < 65_536 ? 4 : 10;
}

/**
 * One gateway session: identity (shard, intents), its sequence counter and a bounded replay buffer of the
 * dispatches it produced. A session outlives its connection: while it is disconnected but resumable,
 * dispatches keep being numbered and buffered so a RESUME can replay them.
 *
 * Frames are written once, straight into a byte ring (no object per event for the garbage collector to
 * promote): the live send and a replay are views of the same bytes.
 *
 * @example
 * const s = new Session('abc', 0, 1, 513, 10, { maxEvents: 1000, maxBytes: 1 << 20 });
 * s.dispatch(Buffer.from('{"t":"X","s":'), Buffer.from(',"op":0,"d":{}}')); // seq 1, buffered
 * s.replayAfter(0); // [<Buffer 81 1d {"t":"X","s":1,"op":0,"d":{}}>] (a text frame)
 */
export class Session {
  /** Last sequence number handed out. */
  seq = 0;
  /** The connection carrying the session, or null while it waits to be resumed. */
  link: SessionLink | null = null;
  /** When the session lost its connection (ms since epoch); null while connected. */
  disconnectedAt: number | null = null;
  private readonly replay: ReplayRing;

  constructor(
    readonly id: string,
    readonly shardId: number,
    readonly shardCount: number,
    readonly intents: number,
    readonly guildCount: number,
    limits: { maxEvents: number; maxBytes: number },
  ) {
    this.replay = new ReplayRing(limits.maxEvents, limits.maxBytes);
  }

  /**
   * Numbers, buffers and (when connected) sends one dispatch built as `head + seq + tail`, where head is
   * `{"t":"NAME","s":` and tail is `,"op":0,"d":…}`. Returns the sequence number it got.
   */
  dispatch(head: Buffer, tail: Buffer): number {
    const seq = ++this.seq;
    const digits = seqDigits(seq);
    const length = head.length + digits + tail.length;
    const h = frameHeaderLength(length);
    const frame = this.replay.reserve(seq, h + length);
    frame[0] = 0x81; // FIN + text
    if (h === 2) {
      frame[1] = length;
    } else if (h === 4) {
      frame[1] = 126;
      frame.writeUInt16BE(length, 2);
    } else {
      frame[1] = 127;
      frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
      frame.writeUInt32BE(length >>> 0, 6);
    }
    head.copy(frame, h);
    frame.write(String(seq), h + head.length, digits, 'latin1');
    tail.copy(frame, h + head.length + digits);
    this.link?.sendFrame(frame, h);
    return seq;
  }

  /**
   * The buffered dispatches (complete frames, see {@link SessionLink.sendFrame}) with a sequence number above
   * `seq`, in order; null when some of them have already been evicted from the replay buffer (the session
   * can no longer be resumed from there).
   */
  replayAfter(seq: number): Buffer[] | null {
    if (seq > this.seq || seq < 0) return null;
    if (seq + 1 < this.replay.oldest) return null;
    const out: Buffer[] = [];
    for (let s = seq + 1; s <= this.seq; s++) out.push(this.replay.get(s));
    return out;
  }

  /** The shape the scenario API reports. */
  summary(): SessionSummary {
    return {
      sessionId: this.id,
      shard: [this.shardId, this.shardCount],
      connected: this.link !== null,
      seq: this.seq,
      intents: this.intents,
      guilds: this.guildCount,
    };
  }
}

/**
 * The last `maxEvents` frames of a session within `maxBytes`, in one preallocated buffer written in a
 * circle. Frames too big for the ring (over a quarter of it) are kept as separate buffers.
 */
class ReplayRing {
  /** Oldest sequence number still available. */
  oldest = 1;
  private bytes: Buffer | undefined;
  private readonly capacity: number;
  private readonly maxEvents: number;
  private readonly offsets: Float64Array;
  private readonly lengths: Float64Array;
  private readonly large = new Map<number, Buffer>();
  private writePos = 0;

  constructor(maxEvents: number, maxBytes: number) {
    this.maxEvents = Math.max(1, maxEvents);
    this.capacity = Math.max(MIN_RING_BYTES, maxBytes);
    this.offsets = new Float64Array(this.maxEvents);
    this.lengths = new Float64Array(this.maxEvents);
  }

  /** Space for frame `seq` (always `newest + 1`), evicting whatever it overwrites. */
  reserve(seq: number, size: number): Buffer {
    const slot = seq % this.maxEvents;
    if (size > this.capacity / 4) {
      const frame = Buffer.allocUnsafeSlow(size);
      this.large.set(seq, frame);
      this.offsets[slot] = -1;
      this.lengths[slot] = size;
      this.evict(seq, -1, -1, this.capacity);
      return frame;
    }
    this.bytes ??= Buffer.allocUnsafeSlow(this.capacity);
    // Wrapping skips [writePos, capacity): frames there count as overwritten (they precede the new ones).
    const skipFrom = this.writePos + size > this.capacity ? this.writePos : this.capacity;
    if (skipFrom < this.capacity) this.writePos = 0;
    const start = this.writePos;
    this.writePos += size;
    this.offsets[slot] = start;
    this.lengths[slot] = size;
    this.evict(seq, start, start + size, skipFrom);
    return this.bytes.subarray(start, start + size);
  }

  get(seq: number): Buffer {
    const slot = seq % this.maxEvents;
    const offset = this.offsets[slot]!;
    if (offset < 0) return this.large.get(seq)!;
    return this.bytes!.subarray(offset, offset + this.lengths[slot]!);
  }

  /**
   * Drops frames older than the count bound, those whose bytes [start, end) were just overwritten and
   * those in the tail [skipFrom, capacity) a wrap just skipped.
   * Ring frames sit around the ring in sequence order, so the overwritten ones are a prefix of the
   * survivors (big frames kept aside do not end that prefix); everything before the last dropped frame
   * goes too, keeping the available range contiguous.
   */
  private evict(seq: number, start: number, end: number, skipFrom: number): void {
    let through = this.oldest - 1;
    for (let s = this.oldest; s < seq; s++) {
      const slot = s % this.maxEvents;
      const offset = this.offsets[slot]!;
      const tooOld = s <= seq - this.maxEvents;
      if (offset < 0) {
        if (tooOld) through = s;
        continue;
      }
      const overwritten =
        (start >= 0 && offset < end && start < offset + this.lengths[slot]!) ||
        offset + this.lengths[slot]! > skipFrom;
      if (!tooOld && !overwritten) break;
      through = s;
    }
    for (let s = this.oldest; s <= through; s++) this.large.delete(s);
    this.oldest = through + 1;
  }
}

function seqDigits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}
