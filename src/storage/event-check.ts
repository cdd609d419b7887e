import { EVENT_ID_PATTERN } from './event-id.js';
import { isEventKind } from './event-kinds.js';
import type { ActivityEvent } from './events.js';

const KEYS: ReadonlySet<string> = new Set(['id', 'ts', 'guildId', 'channelId', 'userId', 'kind', 'attrs']);

/**
 * The ingest hot path's check of an activity event, without zod: true when `raw` is a plain object that
 * `activityEventSchema` accepts as it is (only known keys; a well-formed id; a non-negative safe-integer
 * ts; snowflake guild, and channel and user absent, null or snowflakes; a known kind; attrs absent or a
 * plain object with string keys). It never says true for a value the schema rejects, and the schema's
 * output for such a value stores the same (same fields, same `JSON.stringify(attrs)`). False does not
 * mean invalid: unusual shapes (objects of other prototypes, an own `__proto__` key in attrs) go to the
 * schema, which decides and explains why.
 *
 * @example
 * const e = isWellFormedEvent(raw) ? raw : activityEventSchema.parse(raw);
 */
export function isWellFormedEvent(raw: unknown): raw is ActivityEvent {
  if (typeof raw !== 'object' || raw === null || Object.getPrototypeOf(raw) !== Object.prototype) {
    return false;
  }
  const r = raw as Record<string, unknown>;
  for (const k in r) if (!KEYS.has(k)) return false;
  const { id, ts, guildId, channelId, userId, kind, attrs } = r;
  return (
    typeof id === 'string' &&
    EVENT_ID_PATTERN.test(id) &&
    typeof ts === 'number' &&
    Number.isSafeInteger(ts) &&
    ts >= 0 &&
    typeof guildId === 'string' &&
    isSnowflake(guildId) &&
    isOptionalSnowflake(channelId) &&
    isOptionalSnowflake(userId) &&
    isEventKind(kind) &&
    (attrs === undefined || isPlainRecord(attrs))
  );
}

function isOptionalSnowflake(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && isSnowflake(v));
}

/** `/^\d{1,20}$/` without a regex call (three per event on the hot path). */
function isSnowflake(s: string): boolean {
  if (s.length === 0 || s.length > 20) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** A plain object whose own keys are all strings and none is `__proto__` (which the schema drops). */
function isPlainRecord(v: unknown): boolean {
  return (
    typeof v === 'object' &&
    v !== null &&
    Object.getPrototypeOf(v) === Object.prototype &&
    !Object.hasOwn(v, '__proto__') &&
    Object.getOwnPropertySymbols(v).length === 0
  );
}
