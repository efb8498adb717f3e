import type { Kysely, Selectable } from 'kysely';
import type { ClientAuthMethod, ClientGrantType, OAuthClientStore, StoredOAuthClient } from '../domain/sign-in-ports.ts';
import { createAuditWriter, type AuditWriter } from './audit-store.ts';
import type { Dialect } from './database.ts';
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

/**
 * Mutating methods write their audit events (`audit`) in the change's own transaction, and only when the change
 * happens: never for a missing client or a taken client id.
 */
export function createOAuthClientStore(db: Kysely<Schema>, dialect: Dialect, audit: AuditWriter = createAuditWriter(dialect)): OAuthClientStore {
  /** `via`: the transaction when inside one (SQLite has one connection, which the transaction holds). */
  const find = async (clientId: string, via: Kysely<Schema> = db) => {
    const row = await via.selectFrom('oauth_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
    return row && toClient(row);
  };

  /**
   * The client as it is before a change, read in the change's transaction; on PostgreSQL its row stays locked until
   * commit, so the state the events describe is the one the change replaced.
   */
  const lockedBefore = async (trx: Kysely<Schema>, clientId: string) => {
    const row = await trx
      .selectFrom('oauth_clients')
      .selectAll()
      .where('client_id', '=', clientId)
      .$if(dialect === 'postgres', (q) => q.forUpdate())
      .executeTakeFirst();
    return row && toClient(row);
  };

  return {
    async insert(c, events) {
      await db.transaction().execute(async (trx) => {
        await trx
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
        await audit.append(trx, events);
      });
    },

    async list() {
      const rows = await db.selectFrom('oauth_clients').selectAll().orderBy('created_at').orderBy('client_id').execute();
      return rows.map((r) => {
        const { secretHash: _hidden, ...client } = toClient(r);
        return client;
      });
    },

    find: (clientId) => find(clientId),

    async update(clientId, changes, at, events) {
      const set: Partial<OAuthClientsTable> = { updated_at: at };
      if (changes.clientName !== undefined) set.client_name = changes.clientName;
      if (changes.authMethod !== undefined) set.auth_method = changes.authMethod;
      if (changes.redirectUris !== undefined) set.redirect_uris = JSON.stringify(changes.redirectUris);
      if (changes.postLogoutRedirectUris !== undefined) set.post_logout_redirect_uris = JSON.stringify(changes.postLogoutRedirectUris);
      if (changes.grantTypes !== undefined) set.grant_types = JSON.stringify(changes.grantTypes);
      if (changes.secretHash !== undefined) set.secret_hash = changes.secretHash;
      return db.transaction().execute(async (trx) => {
        const before = await lockedBefore(trx, clientId);
        if (!before) return undefined;
        const result = await trx.updateTable('oauth_clients').set(set).where('client_id', '=', clientId).executeTakeFirst();
        if (Number(result.numUpdatedRows) !== 1) return undefined;
        await audit.append(trx, events?.(before));
        return find(clientId, trx);
      });
    },

    async delete(clientId, at, events) {
      return db.transaction().execute(async (trx) => {
        const before = await lockedBefore(trx, clientId);
        if (!before) return undefined;
        const result = await trx.deleteFrom('oauth_clients').where('client_id', '=', clientId).executeTakeFirst();
        if (Number(result.numDeletedRows) !== 1) return undefined;
        // Its tokens die with it: every grant is revoked, and its unused codes can no longer be redeemed.
        const users = await trx.selectFrom('grants').select('user_id').distinct().where('client_id', '=', clientId).where('revoked_at', 'is', null).execute();
        await trx.updateTable('grants').set({ revoked_at: at }).where('client_id', '=', clientId).where('revoked_at', 'is', null).execute();
        await trx.deleteFrom('authorization_codes').where('client_id', '=', clientId).execute();
        const revoked = users.map((u) => u.user_id);
        await audit.append(trx, events?.(before, revoked));
        return revoked;
      });
    },
  };
}
