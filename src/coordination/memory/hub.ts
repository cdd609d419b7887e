import type { Clock } from '../clock.js';
import type { MessageHandler } from '../pub-sub.js';
import type { ShardPlan } from '../plan-store.js';
import type { SessionInfo } from '../session-store.js';

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

/**
 * A stored stream entry of a memory event log.
 *
 * @example
 * const entry: MemoryStreamEntry = { id: '5-0', ms: 5, seq: 0, events: [] };
 */
export interface MemoryStreamEntry {
  readonly id: string;
  readonly ms: number;
  readonly seq: number;
  readonly events: readonly unknown[];
}

/**
 * Consumer-group state of a memory event log (mirrors a Redis stream group).
 *
 * @example
 * const s: MemoryStream | undefined = hub.streams.get('events\u0000writer');
 */
export interface MemoryStream {
  entries: MemoryStreamEntry[];
  lastMs: number;
  lastSeq: number;
  /** Index into `entries` of the next never-delivered entry. */
  nextIndex: number;
  /** id → pending-entry record (PEL). */
  pel: Map<string, { consumer: string; deliveredAt: number }>;
  consumers: Map<string, { seenAt: number }>;
  waiters: Set<() => void>;
}

/**
 * The shared state behind the memory backends, i.e. what Redis is for the Redis backends. One hub per
 * process in role `all`; tests and benchmarks create several coordination instances over one hub to
 * simulate several pods. The hub owns the clock all its views use.
 *
 * @example
 * const hub = new MemoryHub(new SimulatedClock());
 * const podA = createMemoryCoordination({ hub, log });
 * const podB = createMemoryCoordination({ hub, log });
 */
export class MemoryHub {
  readonly leases = new Map<string, { holder: string; epoch: number; expiresAt: number }>();
  readonly epochs = new Map<string, number>();
  readonly identifyBuckets = new Map<number, number>();
  identifyBudget: Expiring<{ remaining: number; total: number }> | undefined;
  identifyTotal: number | undefined;
  readonly sessions = new Map<string, Expiring<SessionInfo>>();
  readonly streams = new Map<string, MemoryStream>();
  /** Event-log checkpoints, per log name. */
  readonly checkpoints = new Map<string, Map<string, Expiring<string>>>();
  readonly cache = new Map<string, Expiring<string>>();
  readonly tagMembers = new Map<string, Set<string>>();
  readonly tagVersions = new Map<string, number>();
  readonly channels = new Map<string, Set<MessageHandler>>();
  plan: ShardPlan | undefined;
  readonly rateWindows = new Map<string, number[]>();
  readonly rateStates = new Map<string, Expiring<{ remaining: number }>>();
  readonly invalidSlices = new Map<number, number>();
  readonly claims = new Map<string, Expiring<true>>();
  /** Counts of backend writes, for tests and benchmarks (the memory analogue of Redis commandstats). */
  readonly writes = { sessions: 0 };

  constructor(readonly clock: Clock) {}

  /** Reads an expiring entry, dropping it when it has lapsed. */
  live<T>(map: Map<string, Expiring<T>>, key: string): T | undefined {
    const e = map.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= this.clock.now()) {
      map.delete(key);
      return undefined;
    }
    return e.value;
  }
}
