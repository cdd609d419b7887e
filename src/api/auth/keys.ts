import { type KeyObject, createHash, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import {
  type JWK,
  type JWTPayload,
  SignJWT,
  calculateJwkThumbprint,
  decodeProtectedHeader,
  errors as joseErrors,
  exportJWK,
  jwtVerify,
} from 'jose';
import { AppError } from '../../errors/app-error.js';

/**
 * Token audiences: `admin` (people and scripts on /api/v1), `internal` (shard pods on /internal/v1).
 *
 * @example
 * await keys.verify(token, 'internal' satisfies Audience);
 */
export type Audience = 'admin' | 'internal' | 'oauth-state';

type Alg = 'HS256' | 'EdDSA';

interface VerifyKey {
  readonly kid: string;
  readonly alg: Alg;
  readonly key: Uint8Array | KeyObject;
}

interface SignKey extends VerifyKey {
  readonly signKey: Uint8Array | KeyObject;
}

/**
 * Key material of a {@link KeySet}.
 *
 * @example
 * const opts: KeySetOptions = { secret: config.api.jwtSecret, previousSecrets: config.api.jwtPreviousSecrets, issuer: 'guildhall' };
 */
export interface KeySetOptions {
  /** Current HS256 secret (signs unless an Ed25519 private key is given). */
  readonly secret?: string;
  /** Former HS256 secrets: verify only. */
  readonly previousSecrets?: readonly string[];
  /** Ed25519 private key, PKCS#8 PEM: signs with EdDSA. */
  readonly ed25519PrivateKeyPem?: string;
  /** Extra Ed25519 public keys (a JWKS), verify only. */
  readonly verifyJwks?: { keys: JWK[] };
  readonly issuer: string;
}

const ALGS: readonly Alg[] = ['HS256', 'EdDSA'];

/**
 * The JWT signing keys: one current key signs (its `kid` in the header), every known key verifies, so
 * keys rotate without logging anyone out (add the new key as current, keep the old one as "previous"
 * until its tokens expired). Only HS256 and EdDSA are accepted; `alg: none`, an algorithm that does not
 * match the key named by `kid`, an unknown `kid`, a bad signature, an expired token or the wrong
 * audience are refused with distinct `401` codes.
 *
 * @example
 * const keys = await KeySet.create({ secret: config.api.jwtSecret, issuer: 'guildhall' });
 * const jwt = await keys.sign({ sub: '1180000000000000001' }, { audience: 'admin', ttlSeconds: 900 });
 * const claims = await keys.verify(jwt, 'admin');
 */
export class KeySet {
  private readonly byKid: Map<string, VerifyKey>;

  private constructor(
    private readonly current: SignKey,
    others: readonly VerifyKey[],
    readonly issuer: string,
  ) {
    this.byKid = new Map([current, ...others].map((k) => [k.kid, k]));
  }

  /** Builds the key set; throws when there is no signing key. */
  static async create(opts: KeySetOptions): Promise<KeySet> {
    const hs = (secret: string): SignKey => {
      const key = new TextEncoder().encode(secret);
      return { kid: hsKid(secret), alg: 'HS256', key, signKey: key };
    };
    const others: VerifyKey[] = (opts.previousSecrets ?? []).map(hs);
    let current: SignKey;
    if (opts.ed25519PrivateKeyPem) {
      const priv = createPrivateKey(opts.ed25519PrivateKeyPem.replace(/\\n/g, '\n'));
      if (priv.asymmetricKeyType !== 'ed25519')
        throw new Error('JWT_ED25519_PRIVATE_KEY is not an Ed25519 key');
      const pub = createPublicKey(priv);
      const kid = await calculateJwkThumbprint(await exportJWK(pub));
      current = { kid, alg: 'EdDSA', key: pub, signKey: priv };
      if (opts.secret) others.push(hs(opts.secret));
    } else if (opts.secret) {
      current = hs(opts.secret);
    } else {
      throw new Error('no JWT signing key: set JWT_SECRET or JWT_ED25519_PRIVATE_KEY');
    }
    for (const jwk of opts.verifyJwks?.keys ?? []) {
      if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || jwk.d !== undefined) {
        throw new Error('JWT_VERIFY_JWKS may only hold Ed25519 public keys');
      }
      const key = createPublicKey({ key: jwk as never, format: 'jwk' });
      others.push({ kid: jwk.kid ?? (await calculateJwkThumbprint(jwk)), alg: 'EdDSA', key });
    }
    return new KeySet(current, others, opts.issuer);
  }

  /** A key set with a random HS256 secret (embedded mode without JWT_SECRET, tests). */
  static random(issuer = 'guildhall'): Promise<KeySet> {
    return KeySet.create({ secret: randomBytes(32).toString('base64url'), issuer });
  }

  /** `kid` of the signing key. */
  get currentKid(): string {
    return this.current.kid;
  }

  /** Every known `kid`. */
  get kids(): string[] {
    return [...this.byKid.keys()];
  }

  /** Signs claims with the current key: `iss`, `aud`, `iat`, `exp` and a random `jti` are added. */
  async sign(
    claims: JWTPayload & { sub: string },
    o: { audience: Audience; ttlSeconds: number; nowSeconds?: number },
  ): Promise<string> {
    const iat = o.nowSeconds ?? Math.floor(Date.now() / 1000);
    return new SignJWT({ ...claims })
      .setProtectedHeader({ alg: this.current.alg, kid: this.current.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setAudience(o.audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + o.ttlSeconds)
      .setJti(randomBytes(12).toString('base64url'))
      .sign(this.current.signKey);
  }

  /** Verifies a token for an audience; throws a `401` {@link AppError} with a distinct code otherwise. */
  async verify(token: string, audience: Audience): Promise<JWTPayload & { sub: string; exp: number }> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw unauthorized('token_malformed', 'The token is not a well-formed JWT');
    }
    if (typeof header.alg !== 'string' || !ALGS.includes(header.alg as Alg)) {
      throw unauthorized('token_alg_not_allowed', `Algorithm ${String(header.alg)} is not accepted`);
    }
    const key = typeof header.kid === 'string' ? this.byKid.get(header.kid) : undefined;
    if (!key) throw unauthorized('token_unknown_key', 'The token was not signed by a key this API knows');
    if (key.alg !== header.alg) {
      throw unauthorized('token_alg_not_allowed', 'The algorithm does not match the signing key');
    }
    try {
      const { payload } = await jwtVerify(token, key.key, {
        algorithms: [key.alg],
        issuer: this.issuer,
        audience,
        clockTolerance: 5,
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number') {
        throw unauthorized('token_invalid_claims', 'The token lacks a subject or expiry');
      }
      return payload as JWTPayload & { sub: string; exp: number };
    } catch (err) {
      throw mapJoseError(err);
    }
  }
}

function hsKid(secret: string): string {
  return `hs-${createHash('sha256').update('guildhall-kid:').update(secret).digest('base64url').slice(0, 12)}`;
}

/**
 * A `401` with the given code (and a `WWW-Authenticate` hint set by the error middleware).
 *
 * @example
 * throw unauthorized('token_expired', 'The token has expired');
 */
export function unauthorized(code: string, message: string): AppError {
  return new AppError(401, code, message);
}

function mapJoseError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof joseErrors.JWTExpired) return unauthorized('token_expired', 'The token has expired');
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return unauthorized('token_wrong_audience', 'The token is for another audience');
    if (err.claim === 'iss') return unauthorized('token_wrong_issuer', 'The token is from another issuer');
    if (err.claim === 'nbf' || err.claim === 'iat') {
      return unauthorized('token_not_yet_valid', 'The token is not valid yet');
    }
    return unauthorized('token_invalid_claims', 'The token claims are invalid');
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
    return unauthorized('token_invalid_signature', 'The token signature does not verify');
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed)
    return unauthorized('token_alg_not_allowed', 'Algorithm refused');
  return unauthorized('token_malformed', 'The token is not a well-formed JWT');
}
