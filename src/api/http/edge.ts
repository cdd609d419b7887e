import type { Middleware, Next, ParameterizedContext } from 'koa';
import type { Logger } from '../../logging/logger.js';
import { throwIfUnmatched, writeProblem } from './errors.js';
import type { accessRecorder } from './request-context.js';
import { type ApiState } from './request-context.js';

type Step = (ctx: ParameterizedContext<ApiState>, next: Next) => unknown;

/** Options of {@link edge}. */
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
  const steps = o.steps;
  return async (ctx, next) => {
    const started = o.recorder.begin(ctx);
    try {
      let i = 0;
      const step = (): unknown => (i < steps.length ? steps[i++]!(ctx, step as Next) : next());
      await step();
      throwIfUnmatched(ctx);
    } catch (err) {
      writeProblem(ctx, err, o.log, o.secrets);
    } finally {
      o.recorder.end(ctx, started);
    }
  };
}
