import { describe, expect, it } from 'vitest';
import { EVENT_ID_PATTERN, eventId, eventIdForSnowflake, eventTime } from './event-id.js';

describe('event ids', () => {
  const ts = Date.UTC(2026, 10, 25, 12, 0, 0, 123);

  it('encode their timestamp and sort by it', () => {
    const a = eventId(ts, 'x');
    const b = eventId(ts + 1, 'x');
    expect(a).toMatch(EVENT_ID_PATTERN);
    expect(eventTime(a)).toBe(ts);
    expect(a < b).toBe(true);
  });

  it('are deterministic for a natural key and random without one', () => {
    expect(eventId(ts, 'message:1')).toBe(eventId(ts, 'message:1'));
    expect(eventId(ts, 'message:1')).not.toBe(eventId(ts, 'message:2'));
    expect(eventId(ts)).not.toBe(eventId(ts));
  });

  it('derive snowflake-keyed ids from the snowflake and tag, distinct across tags and snowflakes', () => {
    const s = '1310000000000000001';
    const id = eventIdForSnowflake(ts, 1, s);
    expect(id).toMatch(EVENT_ID_PATTERN);
    expect(eventTime(id)).toBe(ts);
    expect(eventIdForSnowflake(ts, 1, s)).toBe(id);
    expect(eventIdForSnowflake(ts, 2, s)).not.toBe(id);
    expect(eventIdForSnowflake(ts, 1, '1310000000000000002')).not.toBe(id);
  });

  it('reject malformed ids', () => {
    expect(eventTime('nope')).toBeUndefined();
    expect(eventTime('I'.repeat(26))).toBeUndefined();
    // Exactly the strings EVENT_ID_PATTERN refuses: one character changed anywhere in a valid id (past
    // the first, whose large digits would overflow the 48-bit time).
    const id = eventId(ts, 'x');
    for (let i = 1; i < id.length; i++) {
      for (const c of ['I', 'L', 'O', 'U', 'a', 'z', '-', ' ', 'é', '\u0100', '0', 'Z']) {
        const bad = id.slice(0, i) + c + id.slice(i + 1);
        expect(eventTime(bad) !== undefined, bad).toBe(EVENT_ID_PATTERN.test(bad));
      }
    }
    expect(eventTime(`Z${id.slice(1)}`)).toBeUndefined();
    expect(eventTime(`i${id.slice(1)}`)).toBeUndefined();
    expect(eventTime(id.slice(1))).toBeUndefined();
    expect(eventTime(`${id}0`)).toBeUndefined();
  });
});
