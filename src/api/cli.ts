import { z } from 'zod';
import { AppError } from '../errors/app-error.js';
import { GUILD_ROLES, type GuildRole } from '../domain/tables.js';
import type { RoleContext } from '../runtime.js';
import { KeySet } from './auth/keys.js';
import { issueAccessToken } from './auth/tokens.js';

const snowflake = z.string().regex(/^\d{17,20}$/, 'a Discord snowflake (17–20 digits)');
const args = z.strictObject({
  guild: snowflake,
  role: z.enum(GUILD_ROLES),
  user: snowflake.optional(),
  ttl: z
    .union([z.number().int(), z.string().regex(/^\d+[smhd]?$/, 'seconds, or a number with s/m/h/d')])
    .optional(),
});

const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
const MAX_TTL = 30 * 86_400;

/**
 * Parses `3600`, `90m`, `12h`, `7d` into seconds.
 *
 * @example
 * parseTtl('12h', 3600); // 43200
 */
export function parseTtl(ttl: number | string | undefined, fallback: number): number {
  if (ttl === undefined) return fallback;
  if (typeof ttl === 'number') return ttl;
  const m = /^(\d+)([smhd]?)$/.exec(ttl)!;
  return Number(m[1]) * UNIT[m[2] || 's']!;
}

/**
 * `guildhall token issue --guild G --role admin [--user U] [--ttl 1h]`: prints an admin JWT scoped to one
 * guild and role (for scripts and first-time setup). The role is inside the token and honoured until it
 * expires (default 1 hour, at most 30 days), so keep it short; rotating the signing key revokes it. The
 * subject is `--user` or the first superadmin, or a placeholder id when neither exists. Needs JWT_SECRET
 * (or the Ed25519 key) — the same the api role verifies with.
 *
 * @example
 * await issueTokenCommand(ctx, { guild: '1180000000000000001', role: 'admin', ttl: '2h' });
 */
export async function issueTokenCommand(
  ctx: Pick<RoleContext, 'config'>,
  input: { guild: string; role: GuildRole | string; user?: string; ttl?: number | string },
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<string> {
  const parsed = args.safeParse(input);
  if (!parsed.success) {
    throw new AppError(
      400,
      'usage',
      parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    );
  }
  const api = ctx.config.api;
  if (!api.jwtSecret && !api.jwtPrivateKey) {
    throw new AppError(
      400,
      'usage',
      'Set JWT_SECRET (or JWT_ED25519_PRIVATE_KEY) to the value the api role uses',
    );
  }
  const ttlSeconds = parseTtl(parsed.data.ttl, 3600);
  if (ttlSeconds < 1 || ttlSeconds > MAX_TTL) {
    throw new AppError(400, 'usage', `--ttl must be between 1 second and ${MAX_TTL / 86_400} days`);
  }
  const keys = await KeySet.create({
    issuer: api.jwtIssuer,
    ...(api.jwtSecret ? { secret: api.jwtSecret } : {}),
    ...(api.jwtPrivateKey ? { ed25519PrivateKeyPem: api.jwtPrivateKey } : {}),
  });
  const userId = parsed.data.user ?? api.superadmins[0] ?? '10000000000000000';
  const token = await issueAccessToken(keys, {
    userId,
    ttlSeconds,
    scope: { guildId: parsed.data.guild, role: parsed.data.role },
  });
  out(token);
  return token;
}
