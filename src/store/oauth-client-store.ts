import type { Kysely, Selectable } from 'kysely';
import type { ClientAuthMethod, ClientGrantType, OAuthClientStore, StoredOAuthClient } from '../domain/sign-in-ports.ts';
import type { OAuthClientsTable, Schema } from './schema.ts';

function toClient(row: Selectable<OAuthClientsTable>): StoredOAuthClient {
  return {
    clientId: row.client_id,
    clientName: row.client_name,
    secretHash: row.secret_hash,
    authMethod: row.auth_method as ClientAuthMethod,
    redirectUris: JSON.parse(row.redirect_uris) as string[],
    postLogoutRedirectUris: JSON.parse(row.post_logout_redirect_uris) as string[],
    grantTypes: JSON.parse(row.grant_types) as ClientGrantType[],
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function createOAuthClientStore(db: Kysely<Schema>): OAuthClientStore {
  const find = async (clientId: string) => {
    const row = await db.selectFrom('oauth_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
    return row && toClient(row);
  };

  return {
    async insert(c) {
      await db
        .insertInto('oauth_clients')
        .values({
          client_id: c.clientId,
          client_name: c.clientName,
          secret_hash: c.secretHash,
          auth_method: c.authMethod,
          redirect_uris: JSON.stringify(c.redirectUris),
          post_logout_redirect_uris: JSON.stringify(c.postLogoutRedirectUris),
          grant_types: JSON.stringify(c.grantTypes),
          created_at: c.createdAt,
          updated_at: c.updatedAt,
        })
        .execute();
    },

    async list() {
      const rows = await db.selectFrom('oauth_clients').selectAll().orderBy('created_at').orderBy('client_id').execute();
      return rows.map((r) => {
        const { secretHash: _hidden, ...client } = toClient(r);
        return client;
      });
    },

    find,

    async update(clientId, changes, at) {
      const set: Partial<OAuthClientsTable> = { updated_at: at };
      if (changes.clientName !== undefined) set.client_name = changes.clientName;
      if (changes.authMethod !== undefined) set.auth_method = changes.authMethod;
      if (changes.redirectUris !== undefined) set.redirect_uris = JSON.stringify(changes.redirectUris);
      if (changes.postLogoutRedirectUris !== undefined) set.post_logout_redirect_uris = JSON.stringify(changes.postLogoutRedirectUris);
      if (changes.grantTypes !== undefined) set.grant_types = JSON.stringify(changes.grantTypes);
      if (changes.secretHash !== undefined) set.secret_hash = changes.secretHash;
      const result = await db.updateTable('oauth_clients').set(set).where('client_id', '=', clientId).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1 ? find(clientId) : undefined;
    },

    async delete(clientId, at) {
      return db.transaction().execute(async (trx) => {
        const result = await trx.deleteFrom('oauth_clients').where('client_id', '=', clientId).executeTakeFirst();
        if (Number(result.numDeletedRows) !== 1) return undefined;
        // Its tokens die with it: every grant is revoked, and its unused codes can no longer be redeemed.
        const users = await trx.selectFrom('grants').select('user_id').distinct().where('client_id', '=', clientId).where('revoked_at', 'is', null).execute();
        await trx.updateTable('grants').set({ revoked_at: at }).where('client_id', '=', clientId).where('revoked_at', 'is', null).execute();
        await trx.deleteFrom('authorization_codes').where('client_id', '=', clientId).execute();
        return users.map((u) => u.user_id);
      });
    },
  };
}
