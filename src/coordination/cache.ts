/**
 * A shared JSON cache with TTLs and tags. `invalidateTag(tag)` removes every key that was set with that
 * tag. `getOrLoad` returns the cached value or runs `loader` once per key per process (concurrent callers
 * share the load) and caches its result, unless one of the tags was invalidated while it was loading
 * (then the result is returned but not cached, so an invalidation is never undone by a slow load).
 *
 * @example
 * const cfg = await cache.getOrLoad(`guild:${id}:config`, 60_000, [`guild:${id}`], () => api.read('config.get', { id }));
 * await cache.invalidateTag(`guild:${id}`); // after a config write
 */
export interface Cache {
  get<T = unknown>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlMs: number, tags?: readonly string[]): Promise<void>;
  delete(key: string): Promise<void>;
  /** Removes every key set with `tag`; returns how many existed. */
  invalidateTag(tag: string): Promise<number>;
  getOrLoad<T>(key: string, ttlMs: number, tags: readonly string[], loader: () => Promise<T>): Promise<T>;
}

/**
 * What a backend provides under {@link TaggedCache}. Values are JSON strings.
 *
 * @example
 * const cache = new TaggedCache(backend);
 */
export interface CacheBackend {
  /** The value (if any) plus an opaque stamp of the tags' invalidation versions, in one round trip. */
  read(key: string, tags: readonly string[]): Promise<{ value: string | undefined; stamp: string }>;
  /** Stores the value; with a stamp, only if no tag was invalidated since it was taken. */
  write(key: string, json: string, ttlMs: number, tags: readonly string[], stamp?: string): Promise<boolean>;
  remove(key: string): Promise<void>;
  invalidate(tag: string): Promise<number>;
}

/**
 * The cache logic shared by every backend: JSON encoding and in-process single-flight.
 *
 * @example
 * const cache: Cache = new TaggedCache(new MemoryCacheBackend(hub, clock));
 */
export class TaggedCache implements Cache {
  private readonly inflight = new Map<string, Promise<unknown>>();

  constructor(private readonly backend: CacheBackend) {}

  async get<T = unknown>(key: string): Promise<T | undefined> {
    const { value } = await this.backend.read(key, []);
    return value === undefined ? undefined : (JSON.parse(value) as T);
  }

  async set(key: string, value: unknown, ttlMs: number, tags: readonly string[] = []): Promise<void> {
    await this.backend.write(key, encode(value), ttlMs, tags);
  }

  delete(key: string): Promise<void> {
    return this.backend.remove(key);
  }

  invalidateTag(tag: string): Promise<number> {
    return this.backend.invalidate(tag);
  }

  getOrLoad<T>(key: string, ttlMs: number, tags: readonly string[], loader: () => Promise<T>): Promise<T> {
    const running = this.inflight.get(key);
    if (running) return running as Promise<T>;
    const load = (async () => {
      const { value, stamp } = await this.backend.read(key, tags);
      if (value !== undefined) return JSON.parse(value) as T;
      const loaded = await loader();
      await this.backend.write(key, encode(loaded), ttlMs, tags, stamp);
      return loaded;
    })().finally(() => this.inflight.delete(key));
    this.inflight.set(key, load);
    return load;
  }
}

function encode(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError('cache values must be JSON-serializable (got undefined)');
  return json;
}
