import type { SessionSummary } from '../contracts.js';

/** What a session needs from the connection currently carrying it. */
export interface SessionLink {
  /** One dispatch as a complete unmasked text WebSocket frame whose payload starts at `headerLength`. */
  sendFrame(frame: Buffer, headerLength: number): void;
}

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
 * serialized dispatches it produced. A session outlives its connection: while it is disconnected but
 * resumable, dispatches keep being numbered and buffered so a RESUME can replay them.
 *
 * @example
 * const s = new Session('abc', 0, 1, 513, 10, 1000);
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
  /** Complete text frames (header + payload) by `seq % size`, so a live send and a replay cost no copy. */
  private readonly ring: (Buffer | undefined)[];

  constructor(
    readonly id: string,
    readonly shardId: number,
    readonly shardCount: number,
    readonly intents: number,
    readonly guildCount: number,
    replayBufferSize: number,
  ) {
    this.ring = new Array<Buffer | undefined>(Math.max(1, replayBufferSize));
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
    const frame = Buffer.allocUnsafe(h + length);
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
    this.ring[seq % this.ring.length] = frame;
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
    const oldest = Math.max(1, this.seq - this.ring.length + 1);
    if (seq + 1 < oldest) return null;
    const out: Buffer[] = [];
    for (let s = seq + 1; s <= this.seq; s++) out.push(this.ring[s % this.ring.length]!);
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

function seqDigits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}
