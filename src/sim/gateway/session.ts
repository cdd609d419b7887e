import type { SessionSummary } from '../contracts.js';

/** What a session needs from the connection currently carrying it. */
export interface SessionLink {
  send(payload: Buffer): void;
}

/**
 * One gateway session: identity (shard, intents), its sequence counter and a bounded replay buffer of the
 * serialized dispatches it produced. A session outlives its connection: while it is disconnected but
 * resumable, dispatches keep being numbered and buffered so a RESUME can replay them.
 *
 * @example
 * const s = new Session('abc', 0, 1, 513, 10, 1000);
 * s.dispatch(Buffer.from('{"t":"X","s":'), Buffer.from(',"op":0,"d":{}}')); // seq 1, buffered
 * s.replayAfter(0); // [<Buffer {"t":"X","s":1,"op":0,"d":{}}>]
 */
export class Session {
  /** Last sequence number handed out. */
  seq = 0;
  /** The connection carrying the session, or null while it waits to be resumed. */
  link: SessionLink | null = null;
  /** When the session lost its connection (ms since epoch); null while connected. */
  disconnectedAt: number | null = null;
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
    const payload = Buffer.allocUnsafe(head.length + digits + tail.length);
    head.copy(payload, 0);
    payload.write(String(seq), head.length, digits, 'latin1');
    tail.copy(payload, head.length + digits);
    this.ring[seq % this.ring.length] = payload;
    this.link?.send(payload);
    return seq;
  }

  /**
   * The buffered payloads with a sequence number above `seq`, in order; null when some of them have
   * already been evicted from the replay buffer (the session can no longer be resumed from there).
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
