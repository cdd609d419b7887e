import type { Duplex } from 'node:stream';
import { type Deflate, constants as zlibConstants, createDeflate, deflateSync } from 'node:zlib';
import { WebSocket } from 'ws';
import { SYNC_FLUSH_BYTES } from './session.js';

/** How payloads travel to one client: plain text frames, or Discord's transport compression. */
export type TransportCompression = 'none' | 'zlib-stream';

const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;

/** Builds the header of an unmasked, final server→client WebSocket frame (RFC 6455 §5.2). */
export function frameHeader(opcode: number, length: number): Buffer {
  if (length < 126) {
    const h = Buffer.allocUnsafe(2);
    h[0] = 0x80 | opcode;
    h[1] = length;
    return h;
  }
  if (length < 65_536) {
    const h = Buffer.allocUnsafe(4);
    h[0] = 0x80 | opcode;
    h[1] = 126;
    h.writeUInt16BE(length, 2);
    return h;
  }
  const h = Buffer.allocUnsafe(10);
  h[0] = 0x80 | opcode;
  h[1] = 127;
  h.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
  h.writeUInt32BE(length >>> 0, 6);
  return h;
}

/**
 * Batches socket writes: every {@link Outbound} with pending frames is flushed once per tick, so a burst of
 * dispatches to one connection becomes a single `socket.write` instead of one per event.
 */
export class WriteBatcher {
  private readonly dirty: Outbound[] = [];
  private scheduled = false;

  mark(out: Outbound): void {
    this.dirty.push(out);
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushAll);
    }
  }

  readonly flushAll = (): void => {
    this.scheduled = false;
    // Outbounds marked while flushing (none today) land in the same array and are flushed too.
    for (let i = 0; i < this.dirty.length; i++) this.dirty[i]!.flush();
    this.dirty.length = 0;
  };
}

/**
 * Everything the server sends on one gateway connection goes through here, in order: raw WebSocket frames
 * written straight to the upgraded socket (batched per tick), optionally through one zlib context with a
 * Z_SYNC_FLUSH per payload (`compress=zlib-stream`, like Discord), or per-payload zlib when the client
 * asked for payload compression in IDENTIFY. Closing waits for queued payloads to be written first.
 */
export class Outbound {
  private chunks: Buffer[] = [];
  private pendingBytes = 0;
  private marked = false;
  private deflate: Deflate | undefined;
  private deflated: Buffer[] = [];
  private deflatesInFlight = 0;
  private closeAfterDrain: { code: number; reason: string } | undefined;
  private closed = false;
  /** Set after IDENTIFY `compress: true` on a connection without transport compression. */
  payloadCompression = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    readonly compression: TransportCompression,
    private readonly batcher: WriteBatcher,
    private readonly payloadCompressionThreshold: number,
  ) {
    if (compression === 'zlib-stream') {
      const deflate = createDeflate({ chunkSize: 64 * 1024 });
      deflate.on('data', (chunk: Buffer) => this.deflated.push(chunk));
      deflate.on('error', () => this.terminate());
      this.deflate = deflate;
    }
  }

  /** True while frames may still be queued (the close handshake has not started). */
  get writable(): boolean {
    return !this.closed && this.ws.readyState === WebSocket.OPEN;
  }

  /** Bytes queued here plus bytes the socket has not yet handed to the kernel. */
  get bufferedBytes(): number {
    return this.pendingBytes + this.socket.writableLength;
  }

  /**
   * Queues one gateway payload already framed as an unmasked text frame (payload from `headerLength`):
   * written as is on plain connections, re-framed when compression applies.
   */
  sendFrame(frame: Buffer, headerLength: number): void {
    if (!this.writable) return;
    if (this.deflate || this.payloadCompression) {
      this.send(frame.subarray(headerLength));
      return;
    }
    this.chunks.push(frame);
    this.pendingBytes += frame.length;
    // The frame may be a view into the session's replay ring: copy it out before the ring can wrap.
    if (this.pendingBytes >= SYNC_FLUSH_BYTES) this.flush();
    else this.markDirty();
  }

  /** Queues one gateway payload (serialized JSON). */
  send(payload: Buffer): void {
    if (!this.writable) return;
    if (this.deflate) {
      this.sendDeflated(payload);
      return;
    }
    if (this.payloadCompression && payload.length >= this.payloadCompressionThreshold) {
      this.queueFrame(OPCODE_BINARY, deflateSync(payload));
      return;
    }
    this.queueFrame(OPCODE_TEXT, payload);
  }

  /** Starts the close handshake with `code` once every queued payload has been written. */
  close(code: number, reason = ''): void {
    if (this.closed) return;
    this.closed = true;
    if (this.deflatesInFlight > 0) {
      this.closeAfterDrain = { code, reason };
      return;
    }
    this.finishClose(code, reason);
  }

  /** Drops the TCP connection without a close frame (the client sees 1006). */
  terminate(): void {
    this.closed = true;
    this.chunks = [];
    this.pendingBytes = 0;
    this.disposeDeflate();
    this.ws.terminate();
  }

  /** Releases the zlib context (after the socket closed). */
  dispose(): void {
    this.closed = true;
    this.chunks = [];
    this.pendingBytes = 0;
    this.disposeDeflate();
  }

  /** Writes every queued frame in one `socket.write`. Called by the {@link WriteBatcher}. */
  flush(): void {
    this.marked = false;
    if (this.pendingBytes === 0) return;
    // Always a fresh buffer (concat copies): queued frames may be views into a replay ring.
    const data = Buffer.concat(this.chunks, this.pendingBytes);
    this.chunks = [];
    this.pendingBytes = 0;
    if (this.ws.readyState !== WebSocket.OPEN || this.socket.destroyed) return;
    this.socket.write(data);
  }

  private queueFrame(opcode: number, payload: Buffer): void {
    const header = frameHeader(opcode, payload.length);
    this.chunks.push(header, payload);
    this.pendingBytes += header.length + payload.length;
    this.markDirty();
  }

  private markDirty(): void {
    if (!this.marked) {
      this.marked = true;
      this.batcher.mark(this);
    }
  }

  private sendDeflated(payload: Buffer): void {
    const deflate = this.deflate!;
    this.deflatesInFlight++;
    // zlib reads the chunk later, on its thread pool; the payload may be a view into a replay ring.
    deflate.write(Buffer.from(payload));
    deflate.flush(zlibConstants.Z_SYNC_FLUSH, () => {
      this.deflatesInFlight--;
      const out = this.deflated.length === 1 ? this.deflated[0]! : Buffer.concat(this.deflated);
      this.deflated = [];
      if (this.ws.readyState === WebSocket.OPEN && out.length > 0) this.queueFrame(OPCODE_BINARY, out);
      if (this.deflatesInFlight === 0 && this.closeAfterDrain) {
        const { code, reason } = this.closeAfterDrain;
        this.closeAfterDrain = undefined;
        this.finishClose(code, reason);
      }
    });
  }

  private finishClose(code: number, reason: string): void {
    this.flush();
    if (this.ws.readyState === WebSocket.OPEN) {
      try {
        this.ws.close(code, truncateUtf8(reason, 123));
      } catch {
        // Not a valid close code for a close frame (e.g. 1006 from the scenario API): just drop the link.
        this.ws.terminate();
      }
    }
    this.disposeDeflate();
  }

  private disposeDeflate(): void {
    if (!this.deflate) return;
    const deflate = this.deflate;
    this.deflate = undefined;
    deflate.removeAllListeners('data');
    deflate.on('error', () => undefined);
    deflate.close();
  }
}

/** The longest prefix of `text` that fits in `maxBytes` of UTF-8 (close reasons are limited to 123 bytes). */
function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let out = text.slice(0, maxBytes);
  while (Buffer.byteLength(out) > maxBytes) out = out.slice(0, -1);
  return out;
}
