import type { Kysely } from 'kysely';
import type { AuthorizationCodeStore, LoginInteractionStore } from '../domain/sign-in-ports.ts';
import type { Schema } from './schema.ts';

const CODE_GRACE_MS = 24 * 3600_000;

export function createAuthorizationCodeStore(db: Kysely<Schema>): AuthorizationCodeStore {
  return {
    async insert(c) {
      // Spent and expired codes are cleared as new ones are made, after a grace period in which a replay of one is
      // still recognised (and revokes what it was exchanged for) rather than answered as an unknown code.
      await db.deleteFrom('authorization_codes').where('expires_at', '<', c.createdAt - CODE_GRACE_MS).execute();
      await db
        .insertInto('authorization_codes')
        .values({
          code_hash: c.codeHash,
          client_id: c.clientId,
          session_id: c.sessionId,
          redirect_uri: c.redirectUri,
          scope: c.scope,
          nonce: c.nonce,
          code_challenge: c.codeChallenge,
          created_at: c.createdAt,
          expires_at: c.expiresAt,
          used_at: null,
          grant_id: null,
        })
        .execute();
    },

    async find(codeHash) {
      const row = await db.selectFrom('authorization_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
      if (!row) return undefined;
      return {
        codeHash: row.code_hash,
        clientId: row.client_id,
        sessionId: row.session_id,
        redirectUri: row.redirect_uri,
        scope: row.scope,
        nonce: row.nonce,
        codeChallenge: row.code_challenge,
        createdAt: Number(row.created_at),
        expiresAt: Number(row.expires_at),
        usedAt: row.used_at === null ? null : Number(row.used_at),
        grantId: row.grant_id,
      };
    },

    async redeem(codeHash, grant, at) {
      return db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable('authorization_codes')
          .set({ used_at: at, grant_id: grant.id })
          .where('code_hash', '=', codeHash)
          .where('used_at', 'is', null)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) !== 1) return false;
        await trx
          .insertInto('grants')
          .values({
            id: grant.id,
            session_id: grant.sessionId,
            user_id: grant.userId,
            client_id: grant.clientId,
            scope: grant.scope,
            created_at: grant.createdAt,
            revoked_at: null,
          })
          .execute();
        return true;
      });
    },
  };
}

export function createLoginInteractionStore(db: Kysely<Schema>): LoginInteractionStore {
  return {
    async insert(i) {
      // Abandoned interactions are cleared as new ones start, so the table holds only the last few minutes' worth.
      await db.deleteFrom('login_interactions').where('expires_at', '<', i.createdAt).execute();
      await db
        .insertInto('login_interactions')
        .values({
          id: i.id,
          browser_hash: i.browserHash,
          request: JSON.stringify(i.request),
          user_id: i.userId,
          created_at: i.createdAt,
          expires_at: i.expiresAt,
        })
        .execute();
    },

    async find(id) {
      const row = await db.selectFrom('login_interactions').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) return undefined;
      return {
        id: row.id,
        browserHash: row.browser_hash,
        request: JSON.parse(row.request),
        userId: row.user_id,
        createdAt: Number(row.created_at),
        expiresAt: Number(row.expires_at),
      };
    },

    async setUser(id, userId) {
      await db.updateTable('login_interactions').set({ user_id: userId }).where('id', '=', id).execute();
    },

    async delete(id) {
      await db.deleteFrom('login_interactions').where('id', '=', id).execute();
    },
  };
}
