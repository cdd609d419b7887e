import { hash, randomBytes } from 'node:crypto';

// Crockford base32, as ULID uses: sortable, case-insensitive, no I/L/O/U.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** Character code → base32 digit, -1 for characters outside the alphabet (one table look-up per char). */
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;
const TIME_CHARS = 10;
const TAIL_CHARS = 16;
const MAX_TIME = 2 ** 48 - 1;

/** A 26-character event id: 10 characters of millisecond timestamp, then 16 of hash or randomness. */
export const EVENT_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

function encodeTime(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_TIME) throw new RangeError(`timestamp out of range: ${ms}`);
  let out = '';
  let v = ms;
  for (let i = 0; i < TIME_CHARS; i++) {
    out = ALPHABET[v % 32] + out;
    v = Math.floor(v / 32);
  }
  return out;
}

function encodeTail(bytes: Uint8Array): string {
  // 16 chars × 5 bits = 80 bits = the first 10 bytes.
  let out = '';
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < 10; i++) {
    acc = (acc << 8) | bytes[i]!;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

/**
 * Makes an event id that encodes `ts` (so any copy of an event lands in the same month partition). With a
 * `naturalKey` the id is deterministic — the same Discord fact always gets the same id, which is how events
 * seen twice (two shard generations during a reshard, a replayed batch) are deduplicated. Without one, the
 * tail is random.
 *
 * @example
 * eventId(Date.parse('2026-11-25T12:00:00Z'), 'message:1310000000000000000'); // '01JDKX…' (always the same)
 */
export function eventId(ts: number, naturalKey?: string): string {
  const tail = naturalKey === undefined ? randomBytes(10) : hash('sha256', naturalKey, 'buffer');
  return encodeTime(ts) + encodeTail(tail).slice(0, TAIL_CHARS);
}

/**
 * A deterministic event id for a fact that a Discord snowflake identifies (a message, an interaction, a
 * thread): the tail is a one-byte `tag` (which kind of fact) and the snowflake's 64 bits, so no hashing is
 * needed on the hot path and two facts can never collide. Tags: 1 message, 2 command, 3 thread.
 *
 * @example
 * eventIdForSnowflake(snowflakeTime(msg.id), 1, msg.id);
 */
export function eventIdForSnowflake(ts: number, tag: number, snowflake: string): string {
  const bytes = new Uint8Array(10);
  bytes[0] = tag & 0xff;
  let v = BigInt(snowflake);
  for (let i = 8; i >= 1; i--) {
    bytes[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return encodeTime(ts) + encodeTail(bytes);
}

/**
 * The millisecond timestamp an event id encodes, or `undefined` when the id is not well-formed.
 *
 * @example
 * eventTime(eventId(1764072000000)); // 1764072000000
 */
export function eventTime(id: string): number | undefined {
  // One pass checks every character (as EVENT_ID_PATTERN does) and decodes the time part.
  if (id.length !== TIME_CHARS + TAIL_CHARS) return undefined;
  let v = 0;
  for (let i = 0; i < id.length; i++) {
    const d = DECODE[id.charCodeAt(i)] ?? -1;
    if (d < 0) return undefined;
    if (i < TIME_CHARS) v = v * 32 + d;
  }
  return v <= MAX_TIME ? v : undefined;
}
