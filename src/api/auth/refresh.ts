import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { AppError } from '../../errors/app-error.js';
import type { SyncDb } from '../../domain/sync-db.js';
import type { ApiDatabase } from '../../domain/tables.js';

const PREFIX = 'ghr_';
const FORMAT = /^ghr_[A-Za-z0-9_-]{43}$/;

/**
 * SHA-256 hex of a token: what the database stores instead of the token.
 *
 * @example
 * sha256Hex('ghr_…'); // 64 hex characters
 */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/**
 * Rotating refresh tokens. Each use returns a new token and retires the old one; the chain shares a
 * family. Presenting a retired token again means it was stolen (or replayed): the whole family is revoked,
 * so both the thief and the victim must log in again. Tokens are stored as SHA-256 hashes only.
 *
 * @example
 * const tokens = new RefreshTokens(db, { ttlSeconds: 2_592_000 });
 * const first = tokens.issue(userId);
 * const { userId: u, token: next } = tokens.rotate(first);
 */
export class RefreshTokens {
  constructor(
    private readonly db: SyncDb<ApiDatabase>,
    private readonly opts: { ttlSeconds: number; now?: () => number },
  ) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** A new token in a new family (login) or in `familyId` (rotation). */
  issue(userId: string, familyId: string = randomUUID()): string {
    const token = PREFIX + randomBytes(32).toString('base64url');
    const now = this.now();
    this.db.run(
      this.db.q.insertInto('refresh_tokens').values({
        id: randomUUID(),
        user_id: userId,
        family_id: familyId,
        token_hash: sha256Hex(token),
        expires_at: now + this.opts.ttlSeconds * 1000,
        created_at: now,
        revoked_at: null,
        replaced_by: null,
      }),
    );
    return token;
  }

  /** Exchanges a live token for a new one (same family); detects reuse. Throws `401` otherwise. */
  rotate(token: string): { userId: string; token: string } {
    // The transaction returns its verdict instead of throwing, so the family revocation on reuse commits.
    const result = this.db.transaction((): { userId: string; token: string } | 'reused' | 'expired' => {
      const row = this.find(token);
      const now = this.now();
      if (row.revoked_at !== null || row.replaced_by !== null) {
        this.revokeFamilyById(row.family_id, now);
        return 'reused';
      }
      if (row.expires_at <= now) return 'expired';
      const next = this.issue(row.user_id, row.family_id);
      const nextRow = this.find(next);
      this.db.run(
        this.db.q
          .updateTable('refresh_tokens')
          .set({ revoked_at: now, replaced_by: nextRow.id })
          .where('id', '=', row.id),
      );
      return { userId: row.user_id, token: next };
    });
    if (result === 'reused') {
      throw new AppError(
        401,
        'refresh_token_reused',
        'This refresh token was already used; every session of this login has been revoked',
      );
    }
    if (result === 'expired')
      throw new AppError(401, 'refresh_token_expired', 'The refresh token has expired');
    return result;
  }

  /** Logout: revokes the token's whole family. Unknown tokens are ignored (logout is idempotent). */
  revokeFamily(token: string): boolean {
    if (!FORMAT.test(token)) return false;
    const row = this.db.first(
      this.db.q.selectFrom('refresh_tokens').select('family_id').where('token_hash', '=', sha256Hex(token)),
    );
    if (!row) return false;
    this.revokeFamilyById(row.family_id, this.now());
    return true;
  }

  /** Revokes every refresh token of a user (log out everywhere). */
  revokeUser(userId: string): number {
    return this.db.run(
      this.db.q
        .updateTable('refresh_tokens')
        .set({ revoked_at: this.now() })
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null),
    ).changes;
  }

  private find(token: string) {
    const row = FORMAT.test(token)
      ? this.db.first(
          this.db.q.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', sha256Hex(token)),
        )
      : undefined;
    if (!row) throw new AppError(401, 'refresh_token_invalid', 'The refresh token is not valid');
    return row;
  }

  private revokeFamilyById(familyId: string, now: number): void {
    this.db.run(
      this.db.q
        .updateTable('refresh_tokens')
        .set({ revoked_at: now })
        .where('family_id', '=', familyId)
        .where('revoked_at', 'is', null),
    );
  }
}
