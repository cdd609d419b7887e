/**
 * First-come claims on ids with a TTL (Redis `SET NX PX`). Around a reshard cut-over both generations
 * see the same Discord event; a handler with side effects claims the event's deterministic id first so
 * it runs once cluster-wide.
 *
 * @example
 * if (await claims.claim(`event:${payload.id}`, 60_000)) await reply(payload);
 */
export interface Claims {
  /** True for exactly one caller per `key` until the claim expires. */
  claim(key: string, ttlMs: number): Promise<boolean>;
}
