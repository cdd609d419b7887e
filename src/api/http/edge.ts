import type { Middleware, Next, ParameterizedContext } from 'koa';
import type { Logger } from '../../logging/logger.js';
import { throwIfUnmatched, writeProblem } from './errors.js';
import type { accessRecorder } from './request-context.js';
import { type ApiState } from './request-context.js';

type Step = (ctx: ParameterizedContext<ApiState>, next: Next) => unknown;

/**
 * Options of {@link edge}.
 *
 * @example
 * const opts: EdgeOptions = { log, recorder: accessRecorder(log, registry), secrets: [], steps: [] };
 */
export interface EdgeOptions {
  readonly log: Logger;
  readonly recorder: ReturnType<typeof accessRecorder>;
  /** Config secrets scrubbed from logged 5xx errors. */
  readonly secrets: readonly string[];
  /** Run in order before routing (CORS, authentication, rate limit); each calls `next` to continue. */
  readonly steps: readonly Step[];
}

/**
 * The first (and only outer) middleware of the API: request context, then the one error handler —
 * everything below it, including `steps` and the router, throws into it and becomes
 * `application/problem+json` — then 404/405 mapping when no route answered, then the access log and
 * metrics. One async frame instead of one per concern: the steps run as plain calls, synchronously when
 * they can (memory rate limiter, a token already verified).
 *
 * @example
 * app.use(edge({ log, recorder, secrets, steps: [cors(origins), authenticate(deps), rateLimit(limiter, registry)] }));
 * app.use(router.routes());
 */
export function edge(o: EdgeOptions): Middleware<ApiState> {
  // Chain the steps once; per request only anonymous continuations are created.
  const run = o.steps.reduceRight<(ctx: ParameterizedContext<ApiState>, next: Next) => unknown>(
    (inner, s) => (ctx, next) => s(ctx, () => inner(ctx, next) as Promise<void>),
    (_ctx, next) => next(),
  );
  return async (ctx, next) => {
    const started = o.recorder.begin(ctx);
    try {
      await run(ctx, next);
      throwIfUnmatched(ctx);
    } catch (err) {
      writeProblem(ctx, err, o.log, o.secrets);
    } finally {
      o.recorder.end(ctx, started);
    }
  };
}
