import { describe, expect, it } from 'vitest';
import { Session, frameHeaderLengthOf } from './session.js';

const head = Buffer.from('{"t":"X","s":');
const tail = (d: string) => Buffer.from(`,"op":0,"d":${d}}`);
const payloadOf = (frame: Buffer) => frame.subarray(frameHeaderLengthOf(frame)).toString();
const limits = (maxEvents: number, maxBytes = 1 << 20) => ({ maxEvents, maxBytes });

describe('Session', () => {
  it('numbers dispatches, frames them as text and sends them to the attached link', () => {
    const s = new Session('id', 0, 1, 0, 0, limits(10));
    const sent: string[] = [];
    s.link = { sendFrame: (f, h) => sent.push(f.subarray(h).toString()) };
    expect(s.dispatch(head, tail('1'))).toBe(1);
    expect(s.dispatch(head, tail('2'))).toBe(2);
    expect(sent).toEqual(['{"t":"X","s":1,"op":0,"d":1}', '{"t":"X","s":2,"op":0,"d":2}']);
    const [frame] = s.replayAfter(0)!;
    expect(frame![0]).toBe(0x81);
    expect(frame![1]).toBe(frame!.length - 2);
  });

  it('uses 16- and 64-bit lengths for large payloads', () => {
    const s = new Session('id', 0, 1, 0, 0, limits(10));
    s.dispatch(head, tail(JSON.stringify('x'.repeat(70_000))));
    s.dispatch(head, tail(JSON.stringify('y'.repeat(300))));
    const [big, mid] = s.replayAfter(0)!;
    expect(frameHeaderLengthOf(big!)).toBe(10);
    expect(big!.readUInt32BE(6)).toBe(big!.length - 10);
    expect(frameHeaderLengthOf(mid!)).toBe(4);
    expect(mid!.readUInt16BE(2)).toBe(mid!.length - 4);
    expect(JSON.parse(payloadOf(big!)).s).toBe(1);
  });

  it('keeps buffering without a link and replays only what is still kept (count bound)', () => {
    const s = new Session('id', 0, 1, 0, 0, limits(3));
    for (let i = 1; i <= 5; i++) s.dispatch(head, tail(String(i)));
    expect(s.replayAfter(2)!.map((f) => JSON.parse(payloadOf(f)).d)).toEqual([3, 4, 5]);
    expect(s.replayAfter(5)).toEqual([]);
    expect(s.replayAfter(1)).toBeNull(); // seq 2 was evicted
    expect(s.replayAfter(6)).toBeNull(); // from the future
    expect(s.summary()).toEqual({
      sessionId: 'id',
      shard: [0, 1],
      connected: false,
      seq: 5,
      intents: 0,
      guilds: 0,
    });
  });

  it('evicts by bytes when the ring wraps, keeps big frames aside, never serves overwritten bytes', () => {
    const s = new Session('id', 0, 1, 0, 0, limits(100_000, 1 << 20));
    let seed = 7;
    const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    let lastOldest = 0;
    for (let i = 1; i <= 3_000; i++) {
      // Mostly 1–60 KiB, sometimes a 300 KiB frame that does not fit a quarter of the ring.
      const size = rand() < 0.02 ? 300_000 : Math.floor(1 + rand() * 60_000);
      s.dispatch(head, tail(JSON.stringify({ i, pad: String(i % 10).repeat(size) })));
      if (i % 50 !== 0) continue;
      let oldest = i;
      while (oldest > 1 && s.replayAfter(oldest - 2) !== null) oldest--;
      const frames = s.replayAfter(oldest - 1)!;
      expect(frames.length).toBe(i - oldest + 1);
      frames.forEach((f, k) => {
        const p = JSON.parse(payloadOf(f)) as { s: number; d: { i: number; pad: string } };
        expect(p.s).toBe(oldest + k);
        expect(p.d.i).toBe(oldest + k);
        expect(p.d.pad[0]).toBe(String((oldest + k) % 10));
      });
      expect(oldest).toBeGreaterThanOrEqual(lastOldest);
      lastOldest = oldest;
    }
    // 1 MiB of ~30 KiB frames: far fewer than 3,000 are kept.
    expect(3_000 - lastOldest).toBeLessThan(100);
    expect(3_000 - lastOldest).toBeGreaterThan(5);
  });
});
