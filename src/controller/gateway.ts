import { REST } from '@discordjs/rest';
import { type RESTGetAPIGatewayBotResult, Routes } from 'discord-api-types/v10';
import { type Clock, systemClock } from '../coordination/index.js';

/**
 * Where the controller learns Discord's recommendation: `GET /gateway/bot`.
 *
 * @example
 * const info = await gateway(signal);
 * console.log(info.shards, info.session_start_limit.max_concurrency);
 */
export type GatewaySource = (signal: AbortSignal) => Promise<RESTGetAPIGatewayBotResult>;

/**
 * A `@discordjs/rest` client for the controller: `config.discord.apiUrl` (the simulator in tests), API v10,
 * no background sweepers (the controller makes one call every few seconds at most).
 *
 * @example
 * const rest = discordRest({ apiUrl: config.discord.apiUrl, token: config.discord.token! });
 */
export function discordRest(opts: { apiUrl: string; token: string; timeoutMs?: number }): REST {
  return new REST({
    api: opts.apiUrl.replace(/\/+$/, ''),
    version: '10',
    timeout: opts.timeoutMs ?? 10_000,
    retries: 1,
    hashSweepInterval: 0,
    handlerSweepInterval: 0,
  }).setToken(opts.token);
}

/**
 * `GET /gateway/bot` through a REST client.
 *
 * @example
 * const gateway = restGateway(discordRest({ apiUrl, token }));
 */
export function restGateway(rest: REST): GatewaySource {
  return async (signal) => {
    // @discordjs/rest leaves its abort listener on the signal it is given; hand it a per-call signal
    // so the long-lived leadership signal does not collect one listener per request.
    const call = new AbortController();
    const onAbort = () => call.abort(signal.reason);
    if (signal.aborted) call.abort(signal.reason);
    else signal.addEventListener('abort', onAbort, { once: true });
    try {
      return (await rest.get(Routes.gatewayBot(), { signal: call.signal })) as RESTGetAPIGatewayBotResult;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  };
}

/**
 * Caches a {@link GatewaySource} for `ttlMs` (the reconcile loop polls every second during a reshard;
 * Discord does not need to hear about it). Concurrent callers share one request.
 *
 * @example
 * const gateway = cachedGateway(restGateway(rest), 10_000);
 */
export function cachedGateway(
  source: GatewaySource,
  ttlMs: number,
  clock: Clock = systemClock,
): GatewaySource & { invalidate(): void } {
  let cached: { at: number; value: RESTGetAPIGatewayBotResult } | undefined;
  let inflight: Promise<RESTGetAPIGatewayBotResult> | undefined;
  const fn = async (signal: AbortSignal) => {
    if (cached && clock.now() - cached.at < ttlMs) return cached.value;
    inflight ??= source(signal)
      .then((value) => {
        cached = { at: clock.now(), value };
        return value;
      })
      .finally(() => (inflight = undefined));
    return inflight;
  };
  return Object.assign(fn, {
    invalidate: () => {
      cached = undefined;
    },
  });
}
