/**
 * OAuth2 state of the simulated Discord: registered redirect URIs, the test user that auto-approves
 * `/oauth2/authorize`, authorization codes (10 min, single use, optional PKCE), access tokens (7 days) and
 * refresh tokens, and revocation (which ends the whole authorization, as Discord documents).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { RESTAPIPartialCurrentUserGuild } from 'discord-api-types/v10';
import type { World } from '../world/index.js';

/**
 * Every scope Discord knows (unknown scopes are rejected with `invalid_scope`).
 *
 * @example
 * KNOWN_SCOPES.has('identify'); // true
 */
export const KNOWN_SCOPES: ReadonlySet<string> = new Set([
  'activities.read',
  'activities.write',
  'applications.builds.read',
  'applications.builds.upload',
  'applications.commands',
  'applications.commands.update',
  'applications.commands.permissions.update',
  'applications.entitlements',
  'applications.store.update',
  'bot',
  'connections',
  'dm_channels.read',
  'email',
  'gdm.join',
  'guilds',
  'guilds.join',
  'guilds.members.read',
  'identify',
  'messages.read',
  'relationships.read',
  'role_connections.write',
  'rpc',
  'rpc.activities.write',
  'rpc.notifications.read',
  'rpc.voice.read',
  'rpc.voice.write',
  'voice',
  'webhook.incoming',
]);

/** A live access token. */
export interface AccessGrant {
  readonly accessToken: string;
  readonly refreshToken: string | null;
  readonly userId: string;
  readonly scopes: readonly string[];
  readonly expiresAt: number;
  /** Authorization this token belongs to (revoking one revokes all of it). */
  readonly authorizationId: string;
}

interface CodeRecord {
  readonly userId: string;
  readonly scopes: readonly string[];
  readonly redirectUri: string;
  readonly expiresAt: number;
  readonly codeChallenge: string | null;
  readonly codeChallengeMethod: string | null;
}

/** Options of {@link OAuthStore}; defaults in {@link OAUTH_DEFAULTS}. */
export interface OAuthOptions {
  accessTokenTtlMs?: number;
  codeTtlMs?: number;
}

/**
 * Discord's lifetimes: 7-day access tokens, 10-minute codes.
 *
 * @example
 * new OAuthStore(world, { ...OAUTH_DEFAULTS, codeTtlMs: 1000 });
 */
export const OAUTH_DEFAULTS = {
  accessTokenTtlMs: 604_800_000,
  codeTtlMs: 600_000,
} as const satisfies Required<OAuthOptions>;

/**
 * In-memory OAuth2 authorization server state for one world.
 *
 * @example
 * const oauth = oauthFor(world);
 * oauth.redirectUris.add('http://127.0.0.1:3000/callback');
 * oauth.setTestUser(alice.id);
 */
export class OAuthStore {
  /** Registered redirect URIs (exact match, as Discord requires). */
  readonly redirectUris = new Set<string>();
  /** The user that "logs in" and approves every authorization request. */
  testUserId: string | null = null;
  /** Guilds a user is in that the bot is not (shown by /users/@me/guilds), set by the scenario API. */
  readonly foreignGuilds = new Map<string, RESTAPIPartialCurrentUserGuild[]>();
  /** The application owner (client_credentials tokens belong to them). */
  readonly ownerId: string;
  private readonly codes = new Map<string, CodeRecord>();
  private readonly tokens = new Map<string, AccessGrant>();
  private readonly refresh = new Map<string, AccessGrant>();
  private readonly options: Required<OAuthOptions>;

  constructor(
    private readonly world: World,
    options: OAuthOptions = {},
  ) {
    this.options = { ...OAUTH_DEFAULTS, ...options };
    this.ownerId = world.createUser({ username: 'app_owner', email: 'owner@users.sim.test' }).id;
  }

  /** Picks the test user (must exist in the world). */
  setTestUser(userId: string | null): void {
    if (userId !== null && !this.world.user(userId)) throw new Error(`unknown user ${userId}`);
    this.testUserId = userId;
  }

  /** Issues a single-use authorization code. */
  issueCode(
    userId: string,
    scopes: readonly string[],
    redirectUri: string,
    pkce: { challenge: string | null; method: string | null },
  ): string {
    const code = randomBytes(20).toString('base64url');
    this.codes.set(code, {
      userId,
      scopes: [...scopes],
      redirectUri,
      expiresAt: this.world.clock() + this.options.codeTtlMs,
      codeChallenge: pkce.challenge,
      codeChallengeMethod: pkce.method,
    });
    return code;
  }

  /** Redeems a code (consumed whether or not the rest matches), or returns an OAuth2 error name. */
  redeemCode(
    code: string,
    redirectUri: string | undefined,
    verifier: string | undefined,
  ): AccessGrant | 'invalid_grant' {
    const rec = this.codes.get(code);
    this.codes.delete(code);
    if (!rec || rec.expiresAt < this.world.clock()) return 'invalid_grant';
    if (redirectUri !== rec.redirectUri) return 'invalid_grant';
    if (rec.codeChallenge) {
      if (!verifier) return 'invalid_grant';
      const computed =
        rec.codeChallengeMethod === 'S256'
          ? createHash('sha256').update(verifier).digest('base64url')
          : verifier;
      if (computed !== rec.codeChallenge) return 'invalid_grant';
    }
    return this.grant(rec.userId, rec.scopes, true, randomBytes(8).toString('hex'));
  }

  /** Exchanges a refresh token for a new pair (the old pair stops working). */
  redeemRefresh(refreshToken: string): AccessGrant | 'invalid_grant' {
    const old = this.refresh.get(refreshToken);
    if (!old) return 'invalid_grant';
    this.refresh.delete(refreshToken);
    this.tokens.delete(old.accessToken);
    return this.grant(old.userId, old.scopes, true, old.authorizationId);
  }

  /** A client-credentials token for the app owner (no refresh token). */
  clientCredentials(scopes: readonly string[]): AccessGrant {
    return this.grant(this.ownerId, scopes, false, randomBytes(8).toString('hex'));
  }

  /** An implicit-grant token for a user (no refresh token). */
  implicitGrant(userId: string, scopes: readonly string[]): AccessGrant {
    return this.grant(userId, scopes, false, randomBytes(8).toString('hex'));
  }

  /** Revokes the authorization an access or refresh token belongs to. */
  revoke(token: string): void {
    const g = this.tokens.get(token) ?? this.refresh.get(token);
    if (!g) return;
    for (const [k, v] of this.tokens) if (v.authorizationId === g.authorizationId) this.tokens.delete(k);
    for (const [k, v] of this.refresh) if (v.authorizationId === g.authorizationId) this.refresh.delete(k);
  }

  /** The grant of a bearer access token, if valid. */
  lookup(accessToken: string): AccessGrant | undefined {
    const g = this.tokens.get(accessToken);
    if (!g) return undefined;
    if (g.expiresAt <= this.world.clock()) {
      this.tokens.delete(accessToken);
      return undefined;
    }
    return g;
  }

  private grant(
    userId: string,
    scopes: readonly string[],
    withRefresh: boolean,
    authorizationId: string,
  ): AccessGrant {
    const g: AccessGrant = {
      accessToken: randomBytes(22).toString('base64url'),
      refreshToken: withRefresh ? randomBytes(22).toString('base64url') : null,
      userId,
      scopes: [...scopes],
      expiresAt: this.world.clock() + this.options.accessTokenTtlMs,
      authorizationId,
    };
    this.tokens.set(g.accessToken, g);
    if (g.refreshToken) this.refresh.set(g.refreshToken, g);
    return g;
  }
}

const stores = new WeakMap<World, OAuthStore>();

/**
 * The OAuth2 store of a world (one per world, shared by REST, `/oauth2/authorize` and the scenario API).
 *
 * @example
 * oauthFor(world).setTestUser(userId);
 */
export function oauthFor(world: World): OAuthStore {
  let s = stores.get(world);
  if (!s) {
    s = new OAuthStore(world);
    stores.set(world, s);
  }
  return s;
}
