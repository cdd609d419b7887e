import type { CacheBackend } from '../cache.js';
import type { MemoryHub } from './hub.js';

/**
 * In-process cache backend (under the shared {@link TaggedCache}).
 *
 * @example
 * const cache = new TaggedCache(new MemoryCacheBackend(hub));
 */
export class MemoryCacheBackend implements CacheBackend {
  constructor(private readonly hub: MemoryHub) {}

  async read(key: string, tags: readonly string[]): Promise<{ value: string | undefined; stamp: string }> {
    return { value: this.hub.live(this.hub.cache, key), stamp: this.stamp(tags) };
  }

  async write(
    key: string,
    json: string,
    ttlMs: number,
    tags: readonly string[],
    stamp?: string,
  ): Promise<boolean> {
    if (stamp !== undefined && stamp !== this.stamp(tags)) return false;
    this.hub.cache.set(key, { value: json, expiresAt: this.hub.clock.now() + ttlMs });
    for (const tag of tags) {
      let members = this.hub.tagMembers.get(tag);
      if (!members) this.hub.tagMembers.set(tag, (members = new Set()));
      members.add(key);
    }
    return true;
  }

  async remove(key: string): Promise<void> {
    this.hub.cache.delete(key);
  }

  async invalidate(tag: string): Promise<number> {
    this.hub.tagVersions.set(tag, (this.hub.tagVersions.get(tag) ?? 0) + 1);
    const members = this.hub.tagMembers.get(tag);
    this.hub.tagMembers.delete(tag);
    let n = 0;
    for (const key of members ?? [])
      if (this.hub.live(this.hub.cache, key) !== undefined && this.hub.cache.delete(key)) n++;
    return n;
  }

  private stamp(tags: readonly string[]): string {
    return tags.map((t) => this.hub.tagVersions.get(t) ?? 0).join(',');
  }
}
