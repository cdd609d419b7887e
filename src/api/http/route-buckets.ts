import Router from '@koa/router';
import type { Middleware } from 'koa';

/**
 * The bucket of a path: its 1st–3rd and 5th segments, lower-cased (`/api/v1/guilds/:guildId/analytics/x`
 * → `api/v1/guilds|analytics`). Every route template has static segments there, so a request can only
 * match routes of its own bucket.
 */
function bucketOf(path: string): string {
  // segments 1, 2, 3 and 5 without splitting the whole path
  let key = '';
  let start = 1;
  for (let seg = 1; seg <= 5; seg++) {
    const end = path.indexOf('/', start);
    const stop = end === -1 ? path.length : end;
    if (seg !== 4) key += (seg === 5 ? '|' : seg === 1 ? '' : '/') + path.slice(start, stop);
    if (end === -1) {
      if (seg < 3) key += seg === 1 ? '//' : '/';
      if (seg < 5) key += '|';
      return key.toLowerCase();
    }
    start = end + 1;
  }
  return key.toLowerCase();
}

function isStaticBucket(template: string): boolean {
  const s = template.split('/', 6);
  return [1, 2, 3, 5].every((i) => !(s[i] ?? '').startsWith(':'));
}

/**
 * Routes split over several @koa/router instances by path bucket, so a request is matched against the
 * handful of routes that share its leading segments instead of all of them (the router tests every
 * route's regular expression on every request). Templates with a parameter in a bucket segment go to a
 * fallback router tried when the bucket has no match. Each router keeps its own `allowedMethods`, so 405
 * and `Allow` work as with one router.
 *
 * @example
 * const buckets = new RouteBuckets();
 * buckets.add('get', '/api/v1/guilds/:guildId', handler);
 * app.use(buckets.middleware());
 */
export class RouteBuckets {
  private readonly byBucket = new Map<string, Router>();
  private readonly fallback = new Router();

  add(method: 'get' | 'post' | 'put' | 'patch' | 'delete', template: string, handler: Middleware): void {
    let router = this.fallback;
    if (isStaticBucket(template)) {
      const key = bucketOf(template);
      router = this.byBucket.get(key) ?? new Router();
      this.byBucket.set(key, router);
    }
    router[method](template, handler as never);
  }

  /** Every router (for introspection: the OpenAPI walk test reads their stacks). */
  get routers(): Router[] {
    return [...this.byBucket.values(), this.fallback];
  }

  middleware(): Middleware {
    const chains = new Map<string, Middleware>();
    for (const [key, router] of this.byBucket) chains.set(key, chain(router));
    const fallback = chain(this.fallback);
    return (ctx, next) => {
      const bucket = chains.get(bucketOf(ctx.path));
      return bucket ? bucket(ctx, () => fallback(ctx, next)) : fallback(ctx, next);
    };
  }
}

/** `app.use(router.routes()).use(router.allowedMethods())` as one middleware. */
function chain(router: Router): Middleware {
  const routes = router.routes() as unknown as Middleware;
  const allowed = router.allowedMethods() as unknown as Middleware;
  return (ctx, next) => routes(ctx, () => allowed(ctx, next));
}
