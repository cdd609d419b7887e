import type { Claims } from '../claims.js';
import type { MemoryHub } from './hub.js';

/**
 * In-process {@link Claims} on the hub's clock.
 *
 * @example
 * const claims = new MemoryClaims(hub);
 */
export class MemoryClaims implements Claims {
  constructor(private readonly hub: MemoryHub) {}

  async claim(key: string, ttlMs: number): Promise<boolean> {
    if (this.hub.live(this.hub.claims, key) !== undefined) return false;
    this.hub.claims.set(key, { value: true, expiresAt: this.hub.clock.now() + ttlMs });
    return true;
  }
}
