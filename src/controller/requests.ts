import { randomUUID } from 'node:crypto';
import type { Cache, PubSub } from '../coordination/index.js';

/**
 * A reshard request from `guildhall reshard`: move to `shards`, or abort the reshard in flight.
 *
 * @example
 * const r: ReshardRequest = { id: randomUUID(), shards: 12, requestedAt: Date.now() };
 */
export interface ReshardRequest {
  readonly id: string;
  readonly shards?: number | undefined;
  readonly abort?: boolean | undefined;
  readonly requestedAt: number;
  readonly requestedBy?: string | undefined;
}

/**
 * The cache key holding the pending request (one at a time; a newer one replaces it).
 *
 * @example
 * await cache.get(RESHARD_REQUEST_KEY);
 */
export const RESHARD_REQUEST_KEY = 'controller:reshard-request';

/**
 * The pub/sub channel that wakes the leader when a request arrives (it also finds pending requests on
 * every resync, so a missed message only delays it).
 *
 * @example
 * await pubsub.subscribe(RESHARD_CHANNEL, () => queue.add('plan'));
 */
export const RESHARD_CHANNEL = 'controller.reshard';

/** A request nobody answered within an hour is stale. */
const REQUEST_TTL_MS = 60 * 60 * 1000;

/**
 * Stores a reshard request and wakes the leader. Returns the request (with its generated id).
 *
 * @example
 * const req = await submitReshardRequest(coordination, { shards: 12 });
 */
export async function submitReshardRequest(
  coordination: { readonly cache: Pick<Cache, 'set'>; readonly pubsub: Pick<PubSub, 'publish'> },
  request: Omit<ReshardRequest, 'id' | 'requestedAt'> & { id?: string; requestedAt?: number },
): Promise<ReshardRequest> {
  const full: ReshardRequest = {
    ...request,
    id: request.id ?? randomUUID(),
    requestedAt: request.requestedAt ?? Date.now(),
  };
  await coordination.cache.set(RESHARD_REQUEST_KEY, full, REQUEST_TTL_MS);
  await coordination.pubsub.publish(RESHARD_CHANNEL, { id: full.id });
  return full;
}

/**
 * The pending reshard request, if any.
 *
 * @example
 * const pending = await readReshardRequest(coordination.cache);
 */
export async function readReshardRequest(cache: Pick<Cache, 'get'>): Promise<ReshardRequest | null> {
  return (await cache.get<ReshardRequest>(RESHARD_REQUEST_KEY)) ?? null;
}

/**
 * Removes the pending request once answered (only if it is still the same request).
 *
 * @example
 * await clearReshardRequest(coordination.cache, request.id);
 */
export async function clearReshardRequest(cache: Pick<Cache, 'get' | 'delete'>, id: string): Promise<void> {
  const current = await readReshardRequest(cache);
  if (current?.id === id) await cache.delete(RESHARD_REQUEST_KEY);
}
