/**
 * How long to keep a value and which tags make it stale.
 *
 * @example
 * await cache.set(key, body, { ttlMs: 60_000, tags: ['guild:1:cogs'] });
 */
export interface CacheEntryOptions {
  readonly ttlMs: number;
  readonly tags: readonly string[];
}

/**
 * The API's response cache: string values (serialized responses) under keys, each with a TTL and tags;
 * `invalidateTags` drops every value carrying any of the tags; `getOrLoad` is read-through with
 * single-flight (concurrent misses of one key run `load` once). The coordination layer's Redis cache
 * implements the same shape for a multi-pod deployment.
 *
 * A value loaded while one of its tags was invalidated is returned to its caller but not stored, so a load
 * that raced a write never caches the pre-write state.
 *
 * @example
 * const body = await cache.getOrLoad('guild:1:settings', { ttlMs: 60_000, tags: ['guild:1:settings'] }, load);
 * await cache.invalidateTags(['guild:1:settings']);
 */
export interface ApiCache {
  get(key: string): string | undefined | Promise<string | undefined>;
  set(key: string, value: string, opts: CacheEntryOptions): void | Promise<void>;
  invalidateTags(tags: readonly string[]): void | Promise<void>;
  getOrLoad(key: string, opts: CacheEntryOptions, load: () => string | Promise<string>): Promise<string>;
}

interface Entry {
  value: string;
  expires: number;
  tags: readonly string[];
}

/**
 * Options of {@link memoryApiCache}.
 *
 * @example
 * memoryApiCache({ maxEntries: 5000 });
 */
export interface MemoryApiCacheOptions {
  /** Most entries kept (oldest evicted first). Default 10,000. */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

const MEMORY_DEFAULTS = { maxEntries: 10_000 } as const satisfies MemoryApiCacheOptions;

/**
 * An in-process {@link ApiCache} (one api pod, `all` mode, tests).
 *
 * @example
 * const cache = memoryApiCache({ maxEntries: 1000 });
 */
export function memoryApiCache(opts: MemoryApiCacheOptions = {}): ApiCache & { readonly size: number } {
  const maxEntries = opts.maxEntries ?? MEMORY_DEFAULTS.maxEntries;
  const now = opts.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const byTag = new Map<string, Set<string>>();
  const tagVersions = new Map<string, number>();
  const inflight = new Map<string, Promise<string>>();

  const unindex = (key: string, entry: Entry) => {
    for (const tag of entry.tags) {
      const keys = byTag.get(tag);
      if (!keys) continue;
      keys.delete(key);
      if (keys.size === 0) byTag.delete(tag);
    }
  };
  const remove = (key: string) => {
    const entry = entries.get(key);
    if (!entry) return;
    entries.delete(key);
    unindex(key, entry);
  };
  const get = (key: string): string | undefined => {
    const entry = entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= now()) {
      remove(key);
      return undefined;
    }
    return entry.value;
  };
  const set = (key: string, value: string, o: CacheEntryOptions) => {
    remove(key);
    while (entries.size >= maxEntries) {
      const oldest = entries.keys().next().value as string;
      remove(oldest);
    }
    entries.set(key, { value, expires: now() + o.ttlMs, tags: o.tags });
    for (const tag of o.tags) {
      let keys = byTag.get(tag);
      if (!keys) byTag.set(tag, (keys = new Set()));
      keys.add(key);
    }
  };
  const versionOf = (tags: readonly string[]) => tags.map((t) => tagVersions.get(t) ?? 0).join(',');

  return {
    get size() {
      return entries.size;
    },
    get,
    set,
    invalidateTags(tags) {
      for (const tag of tags) {
        tagVersions.set(tag, (tagVersions.get(tag) ?? 0) + 1);
        const keys = byTag.get(tag);
        if (!keys) continue;
        for (const key of [...keys]) remove(key);
      }
    },
    getOrLoad(key, o, load) {
      const hit = get(key);
      if (hit !== undefined) return Promise.resolve(hit);
      const pending = inflight.get(key);
      if (pending) return pending;
      const before = versionOf(o.tags);
      const p = (async () => {
        try {
          const value = await load();
          if (versionOf(o.tags) === before) set(key, value, o);
          return value;
        } finally {
          inflight.delete(key);
        }
      })();
      inflight.set(key, p);
      return p;
    },
  };
}

/**
 * A cache that stores nothing (every read loads). For measuring the uncached path and for tests.
 *
 * @example
 * createApiApp({ ...deps, cache: noopApiCache() });
 */
export function noopApiCache(): ApiCache {
  return {
    get: () => undefined,
    set: () => undefined,
    invalidateTags: () => undefined,
    getOrLoad: async (_key, _opts, load) => load(),
  };
}
