import { AppError } from '../errors/app-error.js';
import type { DomainOps, OpRegistry, WriteCallOptions } from './ops.js';

/**
 * A service token, or a function returning a fresh one (called per request; cache inside it).
 *
 * @example
 * const token: TokenSource = () => tokens.get();
 */
export type TokenSource = string | (() => string | Promise<string>);

/**
 * Options of {@link createRemoteOps}.
 *
 * @example
 * createRemoteOps(url, token, { registry, timeoutMs: 5000 });
 */
export interface RemoteOpsOptions<M> {
  /** When given, inputs are validated before sending and outputs checked against the op's output schema. */
  readonly registry?: OpRegistry<M>;
  /** Per-call timeout (default 10 s). */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

const DEFAULTS = { timeoutMs: 10_000 } as const satisfies Partial<RemoteOpsOptions<unknown>>;

/**
 * The shard pods' domain-op client: `POST {baseUrl}/internal/v1/ops/:name` with a service token (audience
 * `internal`), body `{ input, fence? }`. Problem responses become {@link AppError}s with the server's
 * status and code (e.g. `409 stale_epoch`), so callers handle local and remote failures alike.
 *
 * @example
 * const ops = createRemoteOps<typeof registry.types>(config.api.internalUrl, () => tokens.get(), { registry });
 * await ops.write('guilds.upsert', { id, name }, { fence: { shardId: 3, generation: 2, epoch: 17 } });
 */
export function createRemoteOps<M>(
  baseUrl: string,
  token: TokenSource,
  opts: RemoteOpsOptions<M> = {},
): DomainOps<M> {
  const base = baseUrl.replace(/\/+$/, '');
  const doFetch = opts.fetch ?? fetch;
  const timeoutMs = opts.timeoutMs ?? DEFAULTS.timeoutMs;

  async function call(kind: 'read' | 'write', name: string, input: unknown, o: WriteCallOptions = {}) {
    const op = opts.registry?.get(name);
    if (opts.registry) {
      if (!op || op.kind !== kind)
        throw new AppError(404, 'op_not_found', `No ${kind} operation named ${name}`);
      const checked = op.input.safeParse(input);
      if (!checked.success) {
        throw new AppError(400, 'validation_failed', 'Invalid input', checked.error.issues);
      }
    }
    const bearer = typeof token === 'function' ? await token() : token;
    let res: Response;
    try {
      res = await doFetch(`${base}/internal/v1/ops/${encodeURIComponent(name)}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${bearer}`,
          'content-type': 'application/json',
          accept: 'application/json',
          ...(o.requestId ? { 'x-request-id': o.requestId } : {}),
        },
        body: JSON.stringify(o.fence ? { input, fence: o.fence } : { input }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new AppError(
        503,
        'rpc_unavailable',
        `Domain RPC ${name} failed: ${(err as Error).message}`,
        undefined,
        {
          cause: err,
        },
      );
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const p = (body ?? {}) as { code?: unknown; title?: unknown; details?: unknown };
      throw new AppError(
        res.status,
        typeof p.code === 'string' ? p.code : 'rpc_failed',
        typeof p.title === 'string' ? p.title : `Domain RPC ${name} failed with HTTP ${res.status}`,
        p.details,
      );
    }
    const output = (body as { output?: unknown } | undefined)?.output;
    if (op?.output) {
      const checked = op.output.safeParse(output);
      if (!checked.success)
        throw new AppError(502, 'rpc_bad_response', `Domain RPC ${name} returned an invalid result`);
    }
    return output;
  }

  return {
    read: (name, input) => call('read', name, input) as never,
    write: (name, input, o) => call('write', name, input, o) as never,
  };
}
