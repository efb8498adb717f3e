import type { Kysely, Selectable } from 'kysely';
import type { Grant, LoginSession, LoginSessionStore } from '../domain/sign-in-ports.ts';
import type { GrantsTable, LoginSessionsTable, Schema } from './schema.ts';

const SESSION_COLUMNS = ['id', 'user_id', 'token_version', 'auth_time', 'created_at', 'expires_at', 'ended_at'] as const;

function toSession(row: Pick<Selectable<LoginSessionsTable>, (typeof SESSION_COLUMNS)[number]>): LoginSession {
  return {
    id: row.id,
    userId: row.user_id,
    tokenVersion: Number(row.token_version),
    authTime: Number(row.auth_time),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    endedAt: row.ended_at === null ? null : Number(row.ended_at),
  };
}

function toGrant(row: Selectable<GrantsTable>): Grant {
  return {
    id: row.id,
    sessionId: row.session_id,
    userId: row.user_id,
    clientId: row.client_id,
    scope: row.scope,
    createdAt: Number(row.created_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

/** Login sessions and the grants inside them: what every access token is checked against on each request. */
export function createLoginSessionStore(db: Kysely<Schema>): LoginSessionStore {
  return {
    async create(s, cookieHash) {
      await db
        .insertInto('login_sessions')
        .values({
          id: s.id,
          user_id: s.userId,
          cookie_hash: cookieHash,
          token_version: s.tokenVersion,
          auth_time: s.authTime,
          created_at: s.createdAt,
          expires_at: s.expiresAt,
          ended_at: s.endedAt,
        })
        .execute();
    },

    async find(id) {
      const row = await db.selectFrom('login_sessions').select(SESSION_COLUMNS).where('id', '=', id).executeTakeFirst();
      return row && toSession(row);
    },

    async findByCookieHash(cookieHash) {
      const row = await db.selectFrom('login_sessions').select(SESSION_COLUMNS).where('cookie_hash', '=', cookieHash).executeTakeFirst();
      return row && toSession(row);
    },

    async reauthenticated(id, authTime) {
      await db.updateTable('login_sessions').set({ auth_time: authTime }).where('id', '=', id).execute();
    },

    async end(id, at) {
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('login_sessions').set({ ended_at: at }).where('id', '=', id).where('ended_at', 'is', null).execute();
        const grants = trx.selectFrom('grants').select('id').where('session_id', '=', id);
        await trx.updateTable('refresh_tokens').set({ revoked_at: at }).where('family_id', 'in', grants).where('revoked_at', 'is', null).execute();
      });
    },

    async createGrant(g) {
      await db
        .insertInto('grants')
        .values({
          id: g.id,
          session_id: g.sessionId,
          user_id: g.userId,
          client_id: g.clientId,
          scope: g.scope,
          created_at: g.createdAt,
          revoked_at: g.revokedAt,
        })
        .execute();
    },

    async findGrant(id) {
      const row = await db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toGrant(row);
    },

    async revokeGrant(id, at) {
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('grants').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
        await trx.updateTable('refresh_tokens').set({ revoked_at: at }).where('family_id', '=', id).where('revoked_at', 'is', null).execute();
      });
    },

    async grantActive(id, now) {
      // One indexed round trip: this runs on every request that carries an access token (outside the cache).
      const row = await db
        .selectFrom('grants')
        .innerJoin('login_sessions', 'login_sessions.id', 'grants.session_id')
        .select('grants.id')
        .where('grants.id', '=', id)
        .where('grants.revoked_at', 'is', null)
        .where('login_sessions.ended_at', 'is', null)
        .where('login_sessions.expires_at', '>', now)
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}
