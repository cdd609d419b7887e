import { z } from 'zod';
import { AppError } from '../../errors/app-error.js';
import type { ApiConfig } from '../deps.js';

/**
 * Discord permission bits the role mapping looks at.
 *
 * @example
 * (BigInt(guild.permissions) & PERMISSIONS.MANAGE_GUILD) !== 0n;
 */
export const PERMISSIONS = { ADMINISTRATOR: 0x8n, MANAGE_GUILD: 0x20n } as const;

/**
 * OAuth2 scopes the login asks for.
 *
 * @example
 * url.searchParams.set('scope', LOGIN_SCOPES.join(' '));
 */
export const LOGIN_SCOPES = ['identify', 'guilds'] as const;

/**
 * The authorize page: `DISCORD_OAUTH_AUTHORIZE_URL` when set, else the origin of `DISCORD_API_URL` +
 * `/oauth2/authorize` (discord.com/api → https://discord.com/oauth2/authorize; the simulator serves it at
 * its root the same way).
 *
 * @example
 * authorizeBase(config); // 'https://discord.com/oauth2/authorize'
 */
export function authorizeBase(config: ApiConfig): string {
  return config.api.oauthAuthorizeUrl ?? `${new URL(config.discord.apiUrl).origin}/oauth2/authorize`;
}

/**
 * The guildhall role a Discord guild membership implies: owner flag → owner, ADMINISTRATOR or MANAGE_GUILD
 * → admin, any other member → viewer when the bot is in the guild, else nothing.
 *
 * @example
 * mapGuildRole({ owner: false, permissions: '32' }, true); // 'admin'
 */
export function mapGuildRole(
  g: { owner: boolean; permissions: string },
  botInGuild: boolean,
): 'owner' | 'admin' | 'viewer' | null {
  if (g.owner) return 'owner';
  let perms = 0n;
  try {
    perms = BigInt(g.permissions);
  } catch {
    perms = 0n;
  }
  if ((perms & PERMISSIONS.ADMINISTRATOR) !== 0n || (perms & PERMISSIONS.MANAGE_GUILD) !== 0n) return 'admin';
  return botInGuild ? 'viewer' : null;
}

const tokenResponse = z.object({ access_token: z.string().min(1), token_type: z.string() });
const discordUser = z.object({
  id: z.string().regex(/^\d{17,20}$/),
  username: z.string().min(1).max(100),
  global_name: z.string().max(100).nullable().optional(),
  avatar: z.string().max(200).nullable().optional(),
});
const discordGuild = z.object({
  id: z.string().regex(/^\d{17,20}$/),
  name: z.string(),
  owner: z.boolean().optional().default(false),
  permissions: z.union([z.string(), z.number()]).transform(String).default('0'),
});

/**
 * The Discord identity fetched after the code exchange.
 *
 * @example
 * const { user, guilds }: DiscordIdentity = await fetchDiscordIdentity(fetch, config, { code, redirectUri });
 */
export interface DiscordIdentity {
  user: z.infer<typeof discordUser>;
  guilds: z.infer<typeof discordGuild>[];
}

async function call(doFetch: typeof fetch, url: string, init: RequestInit, what: string): Promise<unknown> {
  let res: Response;
  try {
    res = await doFetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new AppError(502, 'oauth_upstream_error', `Discord ${what} request failed`, undefined, {
      cause: err,
    });
  }
  const text = await res.text();
  if (!res.ok) {
    if (what === 'token' && (res.status === 400 || res.status === 401)) {
      throw new AppError(400, 'oauth_code_invalid', 'Discord refused the authorization code');
    }
    throw new AppError(502, 'oauth_upstream_error', `Discord ${what} request returned HTTP ${res.status}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AppError(502, 'oauth_upstream_error', `Discord ${what} response is not JSON`);
  }
}

/**
 * Exchanges an authorization code at `{apiUrl}/v10/oauth2/token` (client credentials via HTTP Basic),
 * then reads `users/@me` and `users/@me/guilds` with the bearer token. The Discord token is used for these
 * two reads only and never stored or logged.
 *
 * @example
 * const identity = await fetchDiscordIdentity(fetch, config, { code, redirectUri });
 */
export async function fetchDiscordIdentity(
  doFetch: typeof fetch,
  config: ApiConfig,
  o: { code: string; redirectUri: string },
): Promise<DiscordIdentity> {
  const clientId = config.discord.applicationId;
  const secret = config.discord.clientSecret;
  if (!clientId || !secret)
    throw new AppError(503, 'oauth_not_configured', 'Discord login is not configured');
  const api = config.discord.apiUrl.replace(/\/+$/, '');
  const token = tokenResponse.safeParse(
    await call(
      doFetch,
      `${api}/v10/oauth2/token`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
          accept: 'application/json',
        },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: o.code,
          redirect_uri: o.redirectUri,
        }).toString(),
      },
      'token',
    ),
  );
  if (!token.success) throw new AppError(502, 'oauth_upstream_error', 'Discord token response is malformed');
  const headers = { authorization: `Bearer ${token.data.access_token}`, accept: 'application/json' };
  const user = discordUser.safeParse(await call(doFetch, `${api}/v10/users/@me`, { headers }, 'user'));
  if (!user.success) throw new AppError(502, 'oauth_upstream_error', 'Discord user is malformed');
  // users/@me/guilds pages at 200; follow `after` up to 1,000 guilds.
  const guilds = new Map<string, z.infer<typeof discordGuild>>();
  let after: string | undefined;
  for (let page = 0; page < 5; page++) {
    const qs = new URLSearchParams({ limit: String(GUILD_PAGE), ...(after ? { after } : {}) });
    const list = z
      .array(discordGuild)
      .max(GUILD_PAGE)
      .safeParse(await call(doFetch, `${api}/v10/users/@me/guilds?${qs}`, { headers }, 'guilds'));
    if (!list.success) throw new AppError(502, 'oauth_upstream_error', 'Discord guild list is malformed');
    const before = guilds.size;
    for (const g of list.data) guilds.set(g.id, g);
    if (list.data.length < GUILD_PAGE || guilds.size === before) break;
    after = list.data.reduce((max, g) => (BigInt(g.id) > BigInt(max) ? g.id : max), list.data[0]!.id);
  }
  return { user: user.data, guilds: [...guilds.values()] };
}

const GUILD_PAGE = 200;
