import type { Middleware } from 'koa';
import type { z } from 'zod';
import { validationError } from '../../domain/errors.js';
import { readJsonBody } from './body.js';

/**
 * Parses `value` with `schema` or throws `400 validation_failed` with one field error per problem
 * (paths prefixed by `where`).
 *
 * @example
 * const query = parseOr400(querySchema, ctx.query, 'query');
 */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw validationError(r.error, where);
  return r.data;
}

/**
 * The parsed input `validate()` leaves on `ctx.state.input`.
 *
 * @example
 * const { body } = ctx.state.input as ValidatedInput;
 */
export interface ValidatedInput {
  params?: unknown;
  query?: unknown;
  body?: unknown;
}

/**
 * Validation middleware for hand-written koa routes (cogs' `routes.ts`): parses `params`, `query` and the
 * JSON `body` with strict zod schemas (unknown fields → 400, wrong types → 400 with field errors,
 * malformed JSON → 400, oversize → 413) and replaces the raw values with the parsed ones on
 * `ctx.state.input` (and `ctx.request.body`). Routes declared with `defineRoute` get the same treatment
 * built in.
 *
 * @example
 * router.put('/x/:id', validate({ params, body }), (ctx) => { const { body } = ctx.state.input; … });
 */
export function validate(
  schemas: { params?: z.ZodType; query?: z.ZodType; body?: z.ZodType },
  opts: { bodyLimitBytes?: number } = {},
): Middleware<{ input: ValidatedInput }> {
  return async (ctx, next) => {
    const input: ValidatedInput = {};
    const c = ctx as unknown as { params?: Record<string, string>; request: { body?: unknown } };
    if (schemas.params) input.params = parseOr400(schemas.params, c.params ?? {}, 'params');
    if (schemas.query) input.query = parseOr400(schemas.query, ctx.query, 'query');
    if (schemas.body) {
      const raw = await readJsonBody(ctx, opts.bodyLimitBytes ?? 1_048_576);
      input.body = parseOr400(schemas.body, raw, 'body');
      c.request.body = input.body;
    }
    ctx.state.input = input;
    return next();
  };
}
