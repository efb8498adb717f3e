import type { Insertable, Kysely } from 'kysely';
import type { NewRefreshToken, RefreshTokenStore } from '../domain/ports.ts';
import type { RefreshTokensTable, Schema } from './schema.ts';

/** The row of a new refresh token (also written by a token login's own transaction, in login-session-store). */
export function refreshTokenRow(r: NewRefreshToken): Insertable<RefreshTokensTable> {
  return {
    id: r.id,
    token_hash: r.tokenHash,
    family_id: r.familyId,
    user_id: r.userId,
    token_version: r.tokenVersion,
    created_at: r.createdAt,
    expires_at: r.expiresAt,
    used_at: null,
    revoked_at: null,
  };
}

export function createRefreshTokenStore(db: Kysely<Schema>): RefreshTokenStore {
  return {
    async insert(r) {
      await db.insertInto('refresh_tokens').values(refreshTokenRow(r)).execute();
    },

    async findByHash(tokenHash) {
      const row = await db
        .selectFrom('refresh_tokens')
        .select(['id', 'family_id', 'user_id', 'token_version', 'expires_at', 'used_at', 'revoked_at'])
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      if (!row) return undefined;
      return {
        id: row.id,
        familyId: row.family_id,
        userId: row.user_id,
        tokenVersion: Number(row.token_version),
        expiresAt: Number(row.expires_at),
        usedAt: row.used_at === null ? null : Number(row.used_at),
        revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
      };
    },

    async markUsed(id, at) {
      // The WHERE makes this a compare-and-set: of two concurrent refreshes with one token, only one wins.
      const result = await db
        .updateTable('refresh_tokens')
        .set({ used_at: at })
        .where('id', '=', id)
        .where('used_at', 'is', null)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async revokeFamily(familyId, at) {
      await db
        .updateTable('refresh_tokens')
        .set({ revoked_at: at })
        .where('family_id', '=', familyId)
        .where('revoked_at', 'is', null)
        .execute();
    },
  };
}
