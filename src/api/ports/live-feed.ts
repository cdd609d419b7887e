/**
 * One live update for a guild's dashboards (e.g. a batch of ingested activity, a config change).
 *
 * @example
 * feed.publish(guildId, { type: 'activity', at: new Date().toISOString(), data: { message: 3 } });
 */
export interface LiveEvent {
  readonly type: string;
  readonly at: string;
  readonly data: unknown;
}

/**
 * Per-guild live updates for the SSE endpoint. The event-log writer publishes after each ingested batch;
 * domain writes publish their changes. The memory implementation serves one pod; the coordination
 * layer's pub/sub (Redis) implements the same shape for several.
 *
 * @example
 * const stop = feed.subscribe(guildId, (e) => send(e));
 * feed.publish(guildId, { type: 'activity', at: new Date().toISOString(), data: { message: 12 } });
 * stop();
 */
export interface LiveFeed {
  subscribe(guildId: string, listener: (event: LiveEvent) => void): () => void;
  publish(guildId: string, event: LiveEvent): void | Promise<void>;
}

/**
 * In-process {@link LiveFeed}. A listener that throws is dropped from that one delivery only.
 *
 * @example
 * const feed = memoryLiveFeed();
 */
export function memoryLiveFeed(): LiveFeed & { subscribers(guildId: string): number } {
  const listeners = new Map<string, Set<(event: LiveEvent) => void>>();
  return {
    subscribe(guildId, listener) {
      let set = listeners.get(guildId);
      if (!set) listeners.set(guildId, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(guildId);
      };
    },
    publish(guildId, event) {
      for (const listener of listeners.get(guildId) ?? []) {
        try {
          listener(event);
        } catch {
          // a broken subscriber must not stop the others
        }
      }
    },
    subscribers: (guildId) => listeners.get(guildId)?.size ?? 0,
  };
}
