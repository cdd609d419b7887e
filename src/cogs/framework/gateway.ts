import { type WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import type { CogHost } from './host.js';

/** Options of {@link attachCogHost}. */
export interface AttachOptions {
  /**
   * Whether dispatches of a shard reach the cogs. The shard runtime returns false for shards of a
   * generation running in shadow during a reshard (they keep state but must not act).
   */
  readonly accept?: (shardId: number) => boolean;
}

/**
 * Feeds a WebSocketManager's dispatches into a {@link CogHost} and returns the function that detaches it.
 * The host never touches the sockets: reloading cogs or detaching leaves every shard session as it is.
 *
 * @example
 * const detach = attachCogHost(manager, host, { accept: (shardId) => !shadow.has(shardId) });
 * lifecycle.onShutdown('cogs', async () => { detach(); await host.close(); });
 */
export function attachCogHost(
  manager: Pick<WebSocketManager, 'on' | 'off'>,
  host: Pick<CogHost, 'dispatch'>,
  opts: AttachOptions = {},
): () => void {
  const listener = (payload: GatewayDispatchPayload, shardId: number) => {
    if (opts.accept && !opts.accept(shardId)) return;
    void host.dispatch(payload, shardId);
  };
  manager.on(WebSocketShardEvents.Dispatch, listener);
  return () => {
    manager.off(WebSocketShardEvents.Dispatch, listener);
  };
}
