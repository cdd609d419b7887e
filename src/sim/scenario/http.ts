/**
 * The scenario API over HTTP (JSON) under `/__sim/`, for tests and demos in other processes. Failures answer
 * `400 { error }` (bad input) or `404 { error }` (unknown route).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { readBody } from '../rest/body.js';
import type { RateLimiter } from '../rest/rate-limit.js';
import { Router, type Method } from '../rest/router.js';
import type { Scenario } from './index.js';

interface SimContext {
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  readonly body: unknown;
}

interface SimRoute {
  readonly method: Method;
  readonly path: string;
  readonly handler: (ctx: SimContext) => unknown;
}

const id = z.string().regex(/^\d{1,20}$/);
const filter = z.object({ shardId: z.number().int().min(0).optional(), sessionId: z.string().optional() });

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const r = schema.safeParse(body ?? {});
  if (!r.success)
    throw new ScenarioHttpError(
      400,
      r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '),
    );
  return r.data;
}

class ScenarioHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function routes(s: Scenario, rateLimiter: RateLimiter): SimRoute[] {
  const w = s.world;
  return [
    {
      method: 'GET',
      path: '/app',
      handler: () => ({
        id: w.app.id,
        token: w.app.token,
        clientSecret: w.app.clientSecret,
        botUser: w.app.botUser,
        guilds: w.guildIds().length,
      }),
    },
    { method: 'GET', path: '/guilds', handler: () => ({ ids: w.guildIds() }) },
    {
      method: 'POST',
      path: '/guilds',
      handler: (ctx) => {
        const b = parse(
          z.object({
            count: z.number().int().min(1).max(100_000).default(1),
            name: z.string().optional(),
            members: z.number().int().min(0).optional(),
            channels: z.number().int().min(1).max(500).optional(),
            roles: z.number().int().min(1).max(250).optional(),
          }),
          ctx.body,
        );
        return {
          ids: s.createGuilds(b.count, {
            ...(b.name ? { name: b.name } : {}),
            ...(b.members !== undefined ? { members: b.members } : {}),
            ...(b.channels !== undefined ? { channels: b.channels } : {}),
            ...(b.roles !== undefined ? { roles: b.roles } : {}),
          }),
        };
      },
    },
    {
      method: 'GET',
      path: '/guilds/:guild_id',
      handler: (ctx) => {
        const g = w.guild(ctx.params.guild_id ?? '');
        if (!g) throw new ScenarioHttpError(404, 'unknown guild');
        return {
          id: g.id,
          name: g.name,
          ownerId: g.ownerId,
          systemChannelId: g.systemChannelId,
          channels: [...g.channels.values()].map((c) => ({
            id: c.id,
            name: c.name,
            type: c.type,
            parentId: c.parentId,
          })),
          roles: [...g.roles.values()].map((r) => ({
            id: r.id,
            name: r.name,
            position: r.position,
            permissions: r.permissions,
            managed: r.managed,
          })),
          members: [...g.members.values()].map((m) => ({
            userId: m.userId,
            roles: m.roles,
            nick: m.nick,
            communicationDisabledUntil: m.communicationDisabledUntil,
          })),
          bans: [...g.bans.keys()],
          voiceStates: [...g.voiceStates.values()],
          commands: [...g.commands.values()],
        };
      },
    },
    {
      method: 'DELETE',
      path: '/guilds/:guild_id',
      handler: (ctx) => {
        s.removeGuild(ctx.params.guild_id ?? '');
        return { ok: true };
      },
    },
    {
      method: 'POST',
      path: '/users',
      handler: (ctx) => {
        const b = parse(
          z.object({
            username: z.string().min(1).max(32).optional(),
            email: z.string().nullable().optional(),
            globalName: z.string().nullable().optional(),
            bot: z.boolean().optional(),
          }),
          ctx.body,
        );
        return s.createUser({
          ...(b.username ? { username: b.username } : {}),
          ...(b.email !== undefined ? { email: b.email } : {}),
          ...(b.globalName !== undefined ? { globalName: b.globalName } : {}),
          ...(b.bot ? { bot: true } : {}),
        });
      },
    },
    {
      method: 'POST',
      path: '/guilds/:guild_id/members',
      handler: (ctx) => {
        const b = parse(z.object({ userId: id }), ctx.body);
        s.joinGuild(ctx.params.guild_id ?? '', b.userId);
        return { ok: true };
      },
    },
    {
      method: 'DELETE',
      path: '/guilds/:guild_id/members/:user_id',
      handler: (ctx) => {
        s.leaveGuild(ctx.params.guild_id ?? '', ctx.params.user_id ?? '');
        return { ok: true };
      },
    },
    {
      method: 'POST',
      path: '/messages',
      handler: (ctx) => {
        const b = parse(
          z.object({
            channelId: id,
            userId: id,
            content: z.string().max(4000).optional(),
            replyTo: id.optional(),
            timestampMs: z.number().optional(),
            embeds: z.array(z.object({}).loose()).optional(),
          }),
          ctx.body,
        );
        return s.postMessage({
          channelId: b.channelId,
          userId: b.userId,
          ...(b.content !== undefined ? { content: b.content } : {}),
          ...(b.replyTo ? { replyTo: b.replyTo } : {}),
          ...(b.timestampMs !== undefined ? { timestampMs: b.timestampMs } : {}),
          ...(b.embeds ? { embeds: b.embeds as never } : {}),
        });
      },
    },
    {
      method: 'POST',
      path: '/dms',
      handler: (ctx) => {
        const b = parse(z.object({ userId: id, content: z.string().min(1).max(2000) }), ctx.body);
        return s.directMessage(b.userId, b.content);
      },
    },
    {
      method: 'GET',
      path: '/channels/:channel_id/messages',
      handler: (ctx) => w.messagesOf(ctx.params.channel_id ?? ''),
    },
    ...(['POST', 'DELETE'] as const).map((method): SimRoute => ({
      method,
      path: '/reactions',
      handler: (ctx) => {
        const b = parse(
          z.object({ channelId: id, messageId: id, userId: id, emoji: z.string().min(1) }),
          ctx.body,
        );
        return {
          changed:
            method === 'POST'
              ? s.react(b.channelId, b.messageId, b.userId, b.emoji)
              : s.unreact(b.channelId, b.messageId, b.userId, b.emoji),
        };
      },
    })),
    {
      method: 'POST',
      path: '/voice',
      handler: (ctx) => {
        const b = parse(
          z.object({
            guildId: id,
            userId: id,
            channelId: id.nullable(),
            selfMute: z.boolean().optional(),
            selfDeaf: z.boolean().optional(),
          }),
          ctx.body,
        );
        if (b.channelId === null) s.leaveVoice(b.guildId, b.userId);
        else
          s.joinVoice(b.guildId, b.userId, b.channelId, {
            ...(b.selfMute !== undefined ? { selfMute: b.selfMute } : {}),
            ...(b.selfDeaf !== undefined ? { selfDeaf: b.selfDeaf } : {}),
          });
        return { ok: true };
      },
    },
    {
      method: 'POST',
      path: '/typing',
      handler: (ctx) => {
        const b = parse(z.object({ channelId: id, userId: id }), ctx.body);
        s.typing(b.channelId, b.userId);
        return { ok: true };
      },
    },
    ...(['command', 'autocomplete'] as const).map((kind): SimRoute => ({
      method: 'POST',
      path: `/interactions/${kind}`,
      handler: (ctx) => {
        const b = parse(
          z.object({
            channelId: id,
            userId: id,
            name: z.string().min(1),
            options: z.record(z.string(), z.unknown()).optional(),
            subcommand: z.string().optional(),
            group: z.string().optional(),
            type: z.union([z.literal(1), z.literal(2), z.literal(3)]).optional(),
            targetId: id.optional(),
            focused: z.string().optional(),
            locale: z.string().optional(),
          }),
          ctx.body,
        );
        const inv = {
          channelId: b.channelId,
          userId: b.userId,
          name: b.name,
          ...(b.options ? { options: b.options } : {}),
          ...(b.subcommand ? { subcommand: b.subcommand } : {}),
          ...(b.group ? { group: b.group } : {}),
          ...(b.type ? { type: b.type } : {}),
          ...(b.targetId ? { targetId: b.targetId } : {}),
          ...(b.locale ? { locale: b.locale } : {}),
        };
        const rec =
          kind === 'command' ? s.slashCommand(inv) : s.autocomplete({ ...inv, focused: b.focused ?? '' });
        return { id: rec.id, token: rec.token };
      },
    })),
    {
      method: 'POST',
      path: '/interactions/button',
      handler: (ctx) => {
        const b = parse(
          z.object({ channelId: id, messageId: id, userId: id, customId: z.string().min(1) }),
          ctx.body,
        );
        const rec = s.clickButton(b);
        return { id: rec.id, token: rec.token };
      },
    },
    {
      method: 'POST',
      path: '/interactions/select',
      handler: (ctx) => {
        const b = parse(
          z.object({
            channelId: id,
            messageId: id,
            userId: id,
            customId: z.string().min(1),
            values: z.array(z.string()),
          }),
          ctx.body,
        );
        const rec = s.selectMenu(b);
        return { id: rec.id, token: rec.token };
      },
    },
    {
      method: 'POST',
      path: '/interactions/modal',
      handler: (ctx) => {
        const b = parse(
          z.object({ fromInteractionId: id, fields: z.record(z.string(), z.string()) }),
          ctx.body,
        );
        const rec = s.submitModal(b);
        return { id: rec.id, token: rec.token };
      },
    },
    {
      method: 'GET',
      path: '/interactions/:interaction_id',
      handler: (ctx) => s.interactionOutcome(ctx.params.interaction_id ?? ''),
    },
    {
      method: 'GET',
      path: '/interactions/:interaction_id/reply',
      handler: async (ctx) => {
        const timeout = Math.min(60_000, Math.max(1, Number(ctx.query.get('timeout') ?? '5000') || 5000));
        try {
          return await s.awaitReply(ctx.params.interaction_id ?? '', timeout);
        } catch (err) {
          throw new ScenarioHttpError(408, err instanceof Error ? err.message : String(err));
        }
      },
    },
    {
      method: 'POST',
      path: '/automod/execute',
      handler: (ctx) => {
        const b = parse(
          z.object({
            guildId: id,
            ruleId: id,
            userId: id,
            channelId: id.optional(),
            content: z.string(),
            matchedKeyword: z.string().optional(),
          }),
          ctx.body,
        );
        return s.triggerAutoMod(b);
      },
    },
    {
      method: 'POST',
      path: '/oauth/user',
      handler: (ctx) => {
        const b = parse(z.object({ userId: id.nullable() }), ctx.body);
        s.setOAuthUser(b.userId);
        return { ok: true };
      },
    },
    {
      method: 'POST',
      path: '/oauth/redirect-uris',
      handler: (ctx) => {
        const b = parse(z.object({ uris: z.array(z.string().url()) }), ctx.body);
        s.addRedirectUris(b.uris);
        return { uris: [...s.oauth.redirectUris] };
      },
    },
    {
      method: 'GET',
      path: '/violations',
      handler: (ctx) => ({
        violations: s.violations(ctx.query.get('kind') ?? undefined),
        counts: s.violationCounts(),
      }),
    },
    {
      method: 'DELETE',
      path: '/violations',
      handler: () => {
        s.clearViolations();
        return { ok: true };
      },
    },
    { method: 'GET', path: '/sessions', handler: () => ({ sessions: s.sessions() }) },
    {
      method: 'POST',
      path: '/gateway/disconnect',
      handler: (ctx) => {
        const b = parse(
          filter.extend({ closeCode: z.number().int().min(1000).max(4999).optional() }),
          ctx.body,
        );
        return {
          count: s.forceDisconnect(
            {
              ...(b.shardId !== undefined ? { shardId: b.shardId } : {}),
              ...(b.sessionId ? { sessionId: b.sessionId } : {}),
            },
            b.closeCode,
          ),
        };
      },
    },
    {
      method: 'POST',
      path: '/gateway/reconnect',
      handler: (ctx) => {
        const b = parse(filter, ctx.body);
        return {
          count: s.requestReconnect({
            ...(b.shardId !== undefined ? { shardId: b.shardId } : {}),
            ...(b.sessionId ? { sessionId: b.sessionId } : {}),
          }),
        };
      },
    },
    {
      method: 'POST',
      path: '/gateway/invalidate',
      handler: (ctx) => {
        const b = parse(filter.extend({ resumable: z.boolean().default(false) }), ctx.body);
        return {
          count: s.invalidateSession(
            {
              ...(b.shardId !== undefined ? { shardId: b.shardId } : {}),
              ...(b.sessionId ? { sessionId: b.sessionId } : {}),
            },
            b.resumable,
          ),
        };
      },
    },
    {
      method: 'POST',
      path: '/rate-limits/reset',
      handler: () => {
        rateLimiter.reset();
        return { ok: true };
      },
    },
    {
      method: 'GET',
      path: '/rate-limits',
      handler: () => ({ invalidRequests: rateLimiter.invalidCount(), banned: rateLimiter.banned() }),
    },
    {
      method: 'GET',
      path: '/commands',
      handler: (ctx) => {
        const guildId = ctx.query.get('guildId');
        if (guildId) {
          const g = w.guild(guildId);
          if (!g) throw new ScenarioHttpError(404, 'unknown guild');
          return [...g.commands.values()];
        }
        return [...w.globalCommands.values()];
      },
    },
  ];
}

/**
 * Builds the `/__sim/` handler.
 *
 * @example
 * const sim = createScenarioHandler(scenario, { rateLimiter, maxBodyBytes: 1 << 20 });
 * await sim(req, res, new URL(req.url, base));
 */
export function createScenarioHandler(
  scenario: Scenario,
  opts: { rateLimiter: RateLimiter; maxBodyBytes: number },
): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  const table = routes(scenario, opts.rateLimiter);
  const router = new Router(
    table.map((r) => ({ method: r.method, path: r.path, auth: 'none', handler: () => ({}) })),
  );
  return async (req, res, url) => {
    const path = url.pathname.slice('/__sim'.length) || '/';
    const match = router.match((req.method ?? 'GET').toUpperCase(), path);
    if (match.kind !== 'ok') {
      req.resume();
      return send(res, match.kind === 'method' ? 405 : 404, {
        error: match.kind === 'method' ? 'method not allowed' : 'unknown scenario route',
      });
    }
    const route = table.find((r) => r.method === match.def.method && r.path === match.def.path) as SimRoute;
    try {
      const body =
        req.method === 'GET' ? undefined : (await readBody(req, opts.maxBodyBytes, { lenient: true })).json;
      const out = await route.handler({ params: match.params, query: url.searchParams, body });
      send(res, 200, out ?? { ok: true });
    } catch (err) {
      const status = err instanceof ScenarioHttpError ? err.status : 400;
      send(res, status, { error: err instanceof Error ? err.message : String(err) });
    }
  };
}
