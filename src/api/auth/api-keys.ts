import { randomBytes, randomUUID } from 'node:crypto';
import { AppError } from '../../errors/app-error.js';
import type { SyncDb } from '../../domain/sync-db.js';
import type { ApiDatabase } from '../../domain/tables.js';
import { API_KEY_SCOPES, type ApiKeyPrincipal, type ApiKeyScope } from './principal.js';
import { sha256Hex } from './refresh.js';

const KEY_FORMAT = /^gh_([0-9a-f]{8})_([0-9a-f]{48})$/;

/**
 * True when a credential looks like an API key (`gh_<prefix>_<secret>`) rather than a JWT.
 *
 * @example
 * looksLikeApiKey('gh_1a2b3c4d_…'); // true
 */
export function looksLikeApiKey(credential: string): boolean {
  return credential.startsWith('gh_');
}

/**
 * Makes a new API key. The plaintext is shown to its creator once; only the hash is stored.
 *
 * @example
 * const { id, key, prefix, hash } = generateApiKey(); // key = 'gh_1a2b3c4d_…'
 */
export function generateApiKey(): { id: string; key: string; prefix: string; hash: string } {
  const prefix = randomBytes(4).toString('hex');
  const key = `gh_${prefix}_${randomBytes(24).toString('hex')}`;
  return { id: randomUUID(), key, prefix, hash: sha256Hex(key) };
}

/**
 * Looks a presented key up by its hash. Unknown or malformed → `401 api_key_invalid`, revoked →
 * `401 api_key_revoked`. Updates `last_used_at` at most once a minute per key.
 *
 * @example
 * const principal = authenticateApiKey(db, presented, Date.now());
 */
export function authenticateApiKey(db: SyncDb<ApiDatabase>, presented: string, now: number): ApiKeyPrincipal {
  if (!KEY_FORMAT.test(presented)) throw new AppError(401, 'api_key_invalid', 'The API key is not valid');
  const row = db.first(
    db.q
      .selectFrom('api_keys')
      .select(['id', 'guild_id', 'scopes', 'created_by', 'revoked_at', 'last_used_at'])
      .where('key_hash', '=', sha256Hex(presented)),
  );
  if (!row) throw new AppError(401, 'api_key_invalid', 'The API key is not valid');
  if (row.revoked_at !== null) throw new AppError(401, 'api_key_revoked', 'The API key has been revoked');
  if (row.last_used_at === null || now - row.last_used_at > 60_000) {
    db.run(db.q.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', row.id));
  }
  const scopes = (JSON.parse(row.scopes) as unknown[]).filter((s): s is ApiKeyScope =>
    (API_KEY_SCOPES as readonly unknown[]).includes(s),
  );
  return { kind: 'api_key', keyId: row.id, userId: row.created_by, guildId: row.guild_id, scopes };
}
