import { PassThrough } from 'node:stream';
import type { LiveEvent } from '../ports/live-feed.js';
import { defineRoute } from '../http/route.js';
import { guildParams } from './common.js';

const HEARTBEAT_MS = 15_000;
const MAX_STREAM_MS = 30 * 60_000;

/**
 * Server-sent events of live guild activity (viewers and up).
 *
 * @example
 * const routes = [...liveRoutes];
 */
export const liveRoutes = [
  defineRoute({
    id: 'live.guild',
    method: 'get',
    path: '/api/v1/guilds/:guildId/live',
    tag: 'live',
    summary: 'Live activity of the guild as server-sent events',
    description:
      'Events: `hello` on connect, then whatever the writer and domain writes publish (`activity`, `change`, …). A comment heartbeat every 15 s. The stream ends after 30 minutes (clients reconnect, re-authenticating).',
    access: { guild: 'viewer' },
    params: guildParams,
    raw: { status: 200, contentType: 'text/event-stream', description: 'SSE stream' },
    handler: ({ ctx, deps, params }) => {
      ctx.req.socket.setTimeout(0);
      ctx.req.socket.setNoDelay(true);
      ctx.status = 200;
      ctx.type = 'text/event-stream; charset=utf-8';
      ctx.set('Cache-Control', 'no-cache, no-transform');
      ctx.set('X-Accel-Buffering', 'no');
      const out = new PassThrough();
      const send = (e: LiveEvent) => {
        out.write(`event: ${e.type.replace(/[\r\n]/g, '')}\ndata: ${JSON.stringify(e)}\n\n`);
      };
      out.write('retry: 5000\n\n');
      send({ type: 'hello', at: new Date(deps.now()).toISOString(), data: { guildId: params.guildId } });
      const unsubscribe = deps.liveFeed.subscribe(params.guildId, send);
      const heartbeat = setInterval(() => out.write(': ping\n\n'), HEARTBEAT_MS);
      const limit = setTimeout(() => close(), MAX_STREAM_MS);
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        clearTimeout(limit);
        unsubscribe();
        deps.openStreams.delete(close);
        out.end();
      };
      deps.openStreams.add(close);
      ctx.req.once('close', close);
      out.once('error', close);
      ctx.body = out;
    },
  }),
];
