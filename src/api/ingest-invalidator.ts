import { tags } from '../domain/platform-ops.js';
import type { ApiCache } from './ports/cache.js';

/**
 * Options of {@link createIngestInvalidator}.
 *
 * @example
 * createIngestInvalidator(cache, { minIntervalMs: 2000 });
 */
export interface IngestInvalidatorOptions {
  /** At most one invalidation per guild per interval; the last one is never dropped (default 5 s). */
  readonly minIntervalMs?: number;
  readonly onError?: (err: unknown) => void;
}

/**
 * For the event-log writer: after each ingested batch, call the returned function with the batch's guild
 * ids so cached analytics of those guilds go stale. Throttled per guild (a busy guild would otherwise
 * empty its analytics cache on every batch): the first batch invalidates at once, later ones within
 * `minIntervalMs` are folded into one trailing invalidation. Analytics are therefore at most
 * `minIntervalMs` behind the stored events (and never older than their TTL). `close()` cancels timers.
 *
 * @example
 * const invalidate = createIngestInvalidator(deps.cache);
 * const result = storage.events.ingest(batch);
 * invalidate.touch(new Set(batch.map((e) => e.guildId)));
 */
export function createIngestInvalidator(cache: ApiCache, opts: IngestInvalidatorOptions = {}) {
  const interval = opts.minIntervalMs ?? 5000;
  const last = new Map<string, number>();
  const trailing = new Map<string, NodeJS.Timeout>();
  const fire = (guildId: string) => {
    last.set(guildId, Date.now());
    trailing.delete(guildId);
    void Promise.resolve(cache.invalidateTags([tags.analytics(guildId)])).catch((err: unknown) =>
      opts.onError?.(err),
    );
  };
  return {
    touch(guildIds: Iterable<string>): void {
      const now = Date.now();
      for (const id of guildIds) {
        const since = now - (last.get(id) ?? 0);
        if (since >= interval && !trailing.has(id)) fire(id);
        else if (!trailing.has(id)) {
          const timer = setTimeout(() => fire(id), Math.max(0, interval - since));
          timer.unref();
          trailing.set(id, timer);
        }
      }
      if (last.size > 100_000) last.clear();
    },
    close(): void {
      for (const timer of trailing.values()) clearTimeout(timer);
      trailing.clear();
    },
  };
}
