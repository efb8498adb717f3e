import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { Grant, LoginSession, LoginSessionStore, SessionSummary, SessionUse } from '../domain/sign-in-ports.ts';
import { refreshTokenRow } from './refresh-token-store.ts';
import type { GrantsTable, LoginSessionsTable, Schema } from './schema.ts';
import { createAuditWriter, type AuditWriter } from './audit-store.ts';
import type { Dialect } from './database.ts';

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

function sessionRow(s: LoginSession, cookieHash: string | null, use?: SessionUse): Insertable<LoginSessionsTable> {
  return {
    id: s.id,
    user_id: s.userId,
    cookie_hash: cookieHash,
    token_version: s.tokenVersion,
    auth_time: s.authTime,
    created_at: s.createdAt,
    expires_at: s.expiresAt,
    ended_at: s.endedAt,
    ...(use ? { last_used_at: use.at, client_ip: use.clientIp, user_agent: use.userAgent } : {}),
  };
}

function grantRow(g: Grant): Insertable<GrantsTable> {
  return { id: g.id, session_id: g.sessionId, user_id: g.userId, client_id: g.clientId, scope: g.scope, created_at: g.createdAt, revoked_at: g.revokedAt };
}

/** Login sessions and the grants inside them: what every access token is checked against on each request. */
/** Rows an update or insert touched: a change happened only when it is not zero. */
const touched = (r: { numUpdatedRows?: bigint } | undefined) => Number(r?.numUpdatedRows ?? 0) > 0;

export function createLoginSessionStore(db: Kysely<Schema>, dialect: Dialect, audit: AuditWriter = createAuditWriter(dialect)): LoginSessionStore {
  return {
    async create(s, cookieHash, events) {
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('login_sessions').values(sessionRow(s, cookieHash)).execute();
        await audit.append(trx, events);
      });
    },

    async createTokenLogin({ session, grant, refreshToken, use }, events) {
      await db.transaction().execute(async (trx) => {
        const sessionValues = sessionRow(session, null, use);
        if (dialect === 'postgres') {
          // The three rows in one statement: each round trip on the login path costs both ends CPU.
          await trx
            .with('session', (q) => q.insertInto('login_sessions').values(sessionValues))
            .with('grant', (q) => q.insertInto('grants').values(grantRow(grant)))
            .insertInto('refresh_tokens')
            .values(refreshTokenRow(refreshToken))
            .execute();
        } else {
          await trx.insertInto('login_sessions').values(sessionValues).execute();
          await trx.insertInto('grants').values(grantRow(grant)).execute();
          await trx.insertInto('refresh_tokens').values(refreshTokenRow(refreshToken)).execute();
        }
        await audit.append(trx, events);
      });
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

    async end(id, at, events) {
      await db.transaction().execute(async (trx) => {
        const [ended] = await trx.updateTable('login_sessions').set({ ended_at: at }).where('id', '=', id).where('ended_at', 'is', null).execute();
        if (touched(ended)) await audit.append(trx, events);
        const grants = trx.selectFrom('grants').select('id').where('session_id', '=', id);
        await trx.updateTable('refresh_tokens').set({ revoked_at: at }).where('family_id', 'in', grants).where('revoked_at', 'is', null).execute();
      });
    },

    async createGrant(g) {
      await db.insertInto('grants').values(grantRow(g)).execute();
    },

    async findGrant(id) {
      const row = await db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toGrant(row);
    },

    async revokeGrant(id, at, events) {
      await db.transaction().execute(async (trx) => {
        const [revoked] = await trx.updateTable('grants').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
        if (touched(revoked)) await audit.append(trx, events);
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

    async listLive({ userId, tokenVersion, now, limit, after }) {
      let query = db
        .selectFrom('login_sessions as s')
        .select(['s.id', 's.user_id', 's.token_version', 's.auth_time', 's.created_at', 's.expires_at', 's.ended_at'])
        .select(['s.cookie_hash', 's.last_used_at', 's.client_ip', 's.user_agent'])
        .where('s.user_id', '=', userId)
        .where('s.ended_at', 'is', null)
        .where('s.expires_at', '>', now)
        .where('s.token_version', '=', tokenVersion)
        .where((eb) =>
          eb.or([
            eb('s.cookie_hash', 'is not', null),
            // A token-only login never expires by itself: it is alive while one of its refresh tokens is.
            eb.exists(
              eb
                .selectFrom('grants as g')
                .innerJoin('refresh_tokens as r', 'r.family_id', 'g.id')
                .select(sql.lit(1).as('one'))
                .whereRef('g.session_id', '=', 's.id')
                .where('g.revoked_at', 'is', null)
                .where('r.revoked_at', 'is', null)
                .where('r.expires_at', '>', now),
            ),
          ]),
        );
      if (after) {
        query = query.where((eb) =>
          eb.or([eb('s.created_at', '<', after.createdAt), eb.and([eb('s.created_at', '=', after.createdAt), eb('s.id', '<', after.id)])]),
        );
      }
      const rows = await query.orderBy('s.created_at', 'desc').orderBy('s.id', 'desc').limit(limit).execute();
      if (rows.length === 0) return [];
      const grants = await db
        .selectFrom('grants')
        .select(['session_id', 'client_id'])
        .where(
          'session_id',
          'in',
          rows.map((r) => r.id),
        )
        .where('revoked_at', 'is', null)
        .where('client_id', 'is not', null)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      const clients = new Map<string, string[]>();
      for (const g of grants) {
        const list = clients.get(g.session_id) ?? [];
        if (!list.includes(g.client_id!)) list.push(g.client_id!);
        clients.set(g.session_id, list);
      }
      return rows.map(
        (row): SessionSummary => ({
          ...toSession(row),
          kind: row.cookie_hash === null ? 'token' : 'browser',
          lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
          clientIp: row.client_ip,
          userAgent: row.user_agent,
          clientIds: clients.get(row.id) ?? [],
        }),
      );
    },

    async endAll(userId, at, events) {
      await db.transaction().execute(async (trx) => {
        const [ended] = await trx.updateTable('login_sessions').set({ ended_at: at }).where('user_id', '=', userId).where('ended_at', 'is', null).execute();
        if (touched(ended)) await audit.append(trx, events);
        const grants = trx
          .selectFrom('grants')
          .innerJoin('login_sessions', 'login_sessions.id', 'grants.session_id')
          .select('grants.id')
          .where('login_sessions.user_id', '=', userId)
          .where('login_sessions.ended_at', 'is not', null);
        await trx.updateTable('refresh_tokens').set({ revoked_at: at }).where('family_id', 'in', grants).where('revoked_at', 'is', null).execute();
      });
    },

    async recordUse(id, use) {
      await db
        .updateTable('login_sessions')
        .set({ last_used_at: use.at, client_ip: use.clientIp, user_agent: use.userAgent })
        .where('id', '=', id)
        .where('ended_at', 'is', null)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', use.at)]))
        .execute();
    },
  };
}
