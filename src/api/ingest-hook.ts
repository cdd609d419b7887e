import type { EventStore, IngestResult } from '../storage/index.js';

/**
 * An {@link EventStore} whose `ingest` also calls `hook` with the batch and its result after the commit —
 * how the api pod learns which guilds the event-log writer just wrote (to invalidate their cached
 * analytics and publish live activity) without the writer knowing about the API. The hook must not throw;
 * if it does, the error is reported and the ingest result still returned.
 *
 * @example
 * const store = withIngestHook(storage.events, (batch) => invalidator.touch(guildIdsOf(batch)));
 * new EventWriter(log, store, leases, logger);
 */
export function withIngestHook(
  store: EventStore,
  hook: (batch: readonly unknown[], result: IngestResult) => void,
  onError: (err: unknown) => void = () => {},
): EventStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'ingest') {
        return (batch: readonly unknown[]) => {
          const result = target.ingest(batch);
          try {
            hook(batch, result);
          } catch (err) {
            onError(err);
          }
          return result;
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * Per guild, how many events of each kind a batch holds (rows without a string `guildId`/`kind` skipped).
 *
 * @example
 * activityByGuild(batch); // Map { '1100…' => { message: 12, reaction_add: 3 } }
 */
export function activityByGuild(batch: readonly unknown[]): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const e of batch) {
    const g = (e as { guildId?: unknown } | null)?.guildId;
    const k = (e as { kind?: unknown } | null)?.kind;
    if (typeof g !== 'string' || typeof k !== 'string') continue;
    let counts = out.get(g);
    if (!counts) out.set(g, (counts = {}));
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return out;
}
