import { describe, expect, it } from 'vitest';
import { isWellFormedEvent } from './event-check.js';
import { eventId } from './event-id.js';
import { EVENT_KINDS } from './event-kinds.js';
import { activityEventSchema } from './events.js';

const ts = Date.UTC(2026, 10, 25, 12, 0, 0, 123);
const base = {
  id: eventId(ts, 'message:1'),
  ts,
  guildId: '1100000000000000001',
  channelId: '1200000000000000001',
  userId: '1300000000000000001',
  kind: 'message',
  attrs: { length: 12, nested: { a: [1, 2] } },
};

/** Well-formed events of the shapes shards produce. */
const valid: unknown[] = [
  base,
  { ...base, attrs: undefined },
  { id: base.id, ts, guildId: base.guildId, kind: 'member_join' },
  { ...base, channelId: null, userId: null },
  { ...base, channelId: undefined },
  { ...base, ts: 0, id: eventId(0, 'zero') },
  { ...base, attrs: {} },
  { ...base, attrs: { 0: 'numeric key', s: 'x', n: null, u: undefined } },
  { ...base, guildId: '1', userId: '12345678901234567890' },
  ...EVENT_KINDS.map((kind) => ({ ...base, kind })),
  JSON.parse(JSON.stringify(base)) as unknown,
];

/** Valid for the schema, but unusual shapes the fast path leaves to it. */
const deferred: unknown[] = [
  Object.assign(Object.create(null) as object, base),
  { ...base, attrs: Object.create(null) as object },
  // The schema drops an own `__proto__` key of attrs, so storing attrs as given would differ.
  { ...base, attrs: JSON.parse('{"__proto__": {"x": 1}, "a": 1}') as unknown },
];

/** Values the schema rejects. */
const invalid: unknown[] = [
  null,
  undefined,
  42,
  'text',
  [],
  [base],
  new Map(Object.entries(base)),
  Object.assign(Object.create({ inherited: 1 }) as object, base),
  { ...base, extra: 1 },
  { ...base, id: undefined },
  { ...base, id: 'not-an-id' },
  { ...base, id: base.id.toLowerCase() },
  { ...base, id: `${base.id}0` },
  { ...base, id: base.id.replace(/^./, 'I') },
  { ...base, ts: -1 },
  { ...base, ts: 1.5 },
  { ...base, ts: Number.NaN },
  { ...base, ts: Number.POSITIVE_INFINITY },
  { ...base, ts: 2 ** 53 },
  { ...base, ts: String(ts) },
  { ...base, ts: BigInt(ts) },
  { ...base, guildId: undefined },
  { ...base, guildId: null },
  { ...base, guildId: '' },
  { ...base, guildId: '123456789012345678901' },
  { ...base, guildId: '12a' },
  { ...base, guildId: ' 1' },
  { ...base, guildId: '١٢٣' },
  { ...base, guildId: '12\n' },
  { ...base, guildId: 1100 },
  { ...base, channelId: '' },
  { ...base, channelId: 5 },
  { ...base, userId: 'abc' },
  { ...base, userId: {} },
  { ...base, kind: 'dance' },
  { ...base, kind: undefined },
  { ...base, kind: 'Message' },
  { ...base, attrs: null },
  { ...base, attrs: 'nope' },
  { ...base, attrs: [1, 2] },
  { ...base, attrs: new Date(0) },
  { ...base, attrs: { [Symbol('s')]: 1 } },
  JSON.parse(`{"__proto__": 1, ${JSON.stringify(base).slice(1)}`) as unknown,
];

describe('isWellFormedEvent (the ingest fast path)', () => {
  it('accepts the well-formed shapes, exactly as the zod schema parses them', () => {
    for (const e of valid) {
      expect(isWellFormedEvent(e), JSON.stringify(e)).toBe(true);
      const parsed = activityEventSchema.safeParse(e);
      expect(parsed.success).toBe(true);
      // What ingest stores from the value itself equals what it would store from the schema's output.
      const stored = (v: Record<string, unknown>) =>
        [v.id, v.ts, v.guildId, v.channelId ?? null, v.userId ?? null, v.kind, JSON.stringify(v.attrs)].join(
          '|',
        );
      expect(stored(e as Record<string, unknown>)).toBe(stored(parsed.data as Record<string, unknown>));
    }
  });

  it('never accepts what the schema rejects, on hand-made and on mutated inputs', () => {
    for (const e of invalid) {
      expect(activityEventSchema.safeParse(e).success).toBe(false);
      expect(isWellFormedEvent(e)).toBe(false);
    }
    for (const e of deferred) {
      expect(activityEventSchema.safeParse(e).success).toBe(true);
      expect(isWellFormedEvent(e)).toBe(false);
    }

    // Random single-field mutations of valid events: the fast path agrees with the schema or defers to it.
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const fields = ['id', 'ts', 'guildId', 'channelId', 'userId', 'kind', 'attrs', 'other'];
    const values: unknown[] = [
      undefined,
      null,
      0,
      -3,
      7.25,
      '',
      '123',
      'x'.repeat(26),
      base.id,
      base.guildId,
      'message',
      {},
      { a: 1 },
      [],
      true,
      ts,
    ];
    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < 5000; i++) {
      const e: Record<string, unknown> = { ...(valid[Math.floor(rnd() * valid.length)] as object) };
      const n = 1 + Math.floor(rnd() * 3);
      for (let k = 0; k < n; k++) {
        e[fields[Math.floor(rnd() * fields.length)]!] = values[Math.floor(rnd() * values.length)];
      }
      const fast = isWellFormedEvent(e);
      const zod = activityEventSchema.safeParse(e).success;
      if (fast) expect(zod, JSON.stringify(e)).toBe(true);
      if (fast) accepted++;
      if (!zod) rejected++;
    }
    // Both outcomes are exercised.
    expect(accepted).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(1000);
  });
});
