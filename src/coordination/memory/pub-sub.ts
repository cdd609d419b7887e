import type { Logger } from '../../logging/logger.js';
import type { MessageHandler, PubSub } from '../pub-sub.js';
import type { MemoryHub } from './hub.js';

/**
 * In-process {@link PubSub}: messages are JSON round-tripped (so handlers get copies, as over Redis) and
 * delivered asynchronously to every subscriber on the hub.
 *
 * @example
 * const pubsub = new MemoryPubSub(hub, log);
 */
export class MemoryPubSub implements PubSub {
  constructor(
    private readonly hub: MemoryHub,
    private readonly log: Logger,
  ) {}

  async publish(channel: string, message: unknown): Promise<void> {
    const json = JSON.stringify(message);
    const handlers = [...(this.hub.channels.get(channel) ?? [])];
    for (const handler of handlers) {
      queueMicrotask(() => {
        void (async () => {
          try {
            await handler(JSON.parse(json));
          } catch (err) {
            this.log.error({ err, channel }, 'pub/sub handler failed');
          }
        })();
      });
    }
  }

  async subscribe<T = unknown>(channel: string, handler: MessageHandler<T>): Promise<() => Promise<void>> {
    let set = this.hub.channels.get(channel);
    if (!set) this.hub.channels.set(channel, (set = new Set()));
    const h = handler as MessageHandler;
    set.add(h);
    return async () => {
      set.delete(h);
      if (set.size === 0 && this.hub.channels.get(channel) === set) this.hub.channels.delete(channel);
    };
  }
}
