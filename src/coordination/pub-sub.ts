/**
 * Receives one message of a channel. Errors it throws are logged, never propagated to the publisher.
 *
 * @example
 * const onReload: MessageHandler<{ cog: string }> = ({ cog }) => reload(cog);
 */
export type MessageHandler<T = unknown> = (message: T) => void | Promise<void>;

/**
 * Fire-and-forget broadcast of JSON messages to every subscriber in every process (at most once: a
 * process that is disconnected at publish time misses the message, so subscribers re-read state after
 * a reconnect). `subscribe` resolves once the subscription is live; it returns the unsubscribe function.
 *
 * @example
 * const off = await pubsub.subscribe<{ cog: string }>('cogs.reload', ({ cog }) => reload(cog));
 * await pubsub.publish('cogs.reload', { cog: 'leveling' });
 * await off();
 */
export interface PubSub {
  publish(channel: string, message: unknown): Promise<void>;
  subscribe<T = unknown>(channel: string, handler: MessageHandler<T>): Promise<() => Promise<void>>;
}
