import type { Redis } from 'ioredis';
import type { Logger } from '../../logging/logger.js';
import type { MessageHandler, PubSub } from '../pub-sub.js';
import type { RedisGuard } from './connection.js';
import type { RedisKeys } from './keys.js';

/**
 * {@link PubSub} over Redis PUBLISH/SUBSCRIBE. One subscriber connection per process (opened on first
 * subscribe), handlers fanned out locally; ioredis re-subscribes after a reconnect.
 *
 * @example
 * const pubsub = new RedisPubSub(redis, () => subscriber, keys, guard, log);
 */
export class RedisPubSub implements PubSub {
  private readonly handlers = new Map<string, Set<MessageHandler>>();
  private listening: Redis | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly subscriber: () => Promise<Redis>,
    private readonly keys: RedisKeys,
    private readonly guard: RedisGuard,
    private readonly log: Logger,
  ) {}

  publish(channel: string, message: unknown): Promise<void> {
    return this.guard('pubsub.publish', async () => {
      await this.redis.publish(this.keys.channel(channel), JSON.stringify(message));
    });
  }

  subscribe<T = unknown>(channel: string, handler: MessageHandler<T>): Promise<() => Promise<void>> {
    return this.guard('pubsub.subscribe', async () => {
      const full = this.keys.channel(channel);
      const sub = await this.listen();
      let set = this.handlers.get(full);
      const first = !set;
      if (!set) this.handlers.set(full, (set = new Set()));
      const h = handler as MessageHandler;
      set.add(h);
      if (first) {
        try {
          await sub.subscribe(full);
        } catch (err) {
          set.delete(h);
          if (set.size === 0) this.handlers.delete(full);
          throw err;
        }
      }
      let active = true;
      return async () => {
        if (!active) return;
        active = false;
        set.delete(h);
        if (set.size > 0 || this.handlers.get(full) !== set) return;
        this.handlers.delete(full);
        await this.guard('pubsub.unsubscribe', () => sub.unsubscribe(full));
      };
    });
  }

  private async listen(): Promise<Redis> {
    if (this.listening) return this.listening;
    const sub = await this.subscriber();
    if (this.listening) return this.listening; // a concurrent first subscribe won
    sub.on('message', (channel: string, json: string) => {
      const set = this.handlers.get(channel);
      if (!set) return;
      let message: unknown;
      try {
        message = JSON.parse(json);
      } catch (err) {
        this.log.warn({ err, channel }, 'pub/sub message is not JSON; dropped');
        return;
      }
      for (const handler of [...set]) {
        void (async () => {
          try {
            await handler(structuredClone(message));
          } catch (err) {
            this.log.error({ err, channel }, 'pub/sub handler failed');
          }
        })();
      }
    });
    this.listening = sub;
    return sub;
  }
}
