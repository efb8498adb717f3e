import { sql, type Kysely } from 'kysely';
import { isAssignableRole, ROLES, type AssignableRole } from '../domain/access.ts';
import type { GroupRef, NewUser, User, UserCredentials, UserSearch, UserStore } from '../domain/ports.ts';
import type { Dialect } from './database.ts';
import type { Schema } from './schema.ts';
import { USER_COLUMNS, type UserRow } from './user-columns.ts';
import { isUniqueViolation } from './sql-errors.ts';
import { createUserSearch, type UserSearchOptions } from './user-search.ts';
import { createAuditWriter, type AuditWriter } from './audit-store.ts';

export interface UserStoreOptions extends UserSearchOptions {
  /** Writes the audit events of each change in its transaction (default: events without a request). */
  audit?: AuditWriter;
}

const ROLE_ORDER = Object.keys(ROLES);

/** What search matches against: each field lower-cased, newline-separated so no term can span two fields. */
export function searchText(email: string, firstName: string | null, lastName: string | null): string {
  return [email, firstName ?? '', lastName ?? ''].map((s) => s.toLowerCase()).join('\n');
}


function toUser(row: UserRow, roles: AssignableRole[], groups: GroupRef[]): User {
  return {
    id: row.id,
    email: row.email,
    firstName: row.first_name,
    lastName: row.last_name,
    roles,
    groups,
    passwordTemporary: Number(row.password_temporary) === 1,
    tokenVersion: Number(row.token_version),
    enabled: Number(row.enabled) === 1,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function sortRoles(roles: string[]): AssignableRole[] {
  return roles.filter(isAssignableRole).sort((a, b) => ROLE_ORDER.indexOf(a) - ROLE_ORDER.indexOf(b));
}

export function createUserStore(db: Kysely<Schema>, dialect: Dialect, options: UserStoreOptions = {}): UserStore {
  const audit = options.audit ?? createAuditWriter(dialect);
  async function rolesOf(ids: string[]): Promise<Map<string, AssignableRole[]>> {
    const byUser = new Map<string, string[]>(ids.map((id) => [id, []]));
    if (ids.length === 0) return new Map();
    const rows = await db.selectFrom('user_roles').select(['user_id', 'role']).where('user_id', 'in', ids).execute();
    for (const row of rows) byUser.get(row.user_id)?.push(row.role);
    return new Map([...byUser].map(([id, roles]) => [id, sortRoles(roles)]));
  }

  /** The groups of each user, with each group's roles: one query for any number of users. */
  async function groupsOf(ids: string[]): Promise<Map<string, GroupRef[]>> {
    const byUser = new Map<string, Map<string, GroupRef>>();
    if (ids.length === 0) return new Map();
    const rows = await db
      .selectFrom('group_members')
      .innerJoin('groups', 'groups.id', 'group_members.group_id')
      .leftJoin('group_roles', 'group_roles.group_id', 'groups.id')
      .select(['group_members.user_id', 'groups.id', 'groups.name', 'group_roles.role'])
      .where('group_members.user_id', 'in', ids)
      .orderBy('groups.name')
      .execute();
    for (const row of rows) {
      const groups = byUser.get(row.user_id) ?? new Map<string, GroupRef>();
      byUser.set(row.user_id, groups);
      const group = groups.get(row.id) ?? { id: row.id, name: row.name, roles: [] };
      groups.set(row.id, group);
      if (row.role !== null && isAssignableRole(row.role)) group.roles.push(row.role);
    }
    return new Map([...byUser].map(([id, groups]) => [id, [...groups.values()].map((g) => ({ ...g, roles: sortRoles(g.roles) }))]));
  }

  async function withRoles(rows: UserRow[]): Promise<User[]> {
    const ids = rows.map((r) => r.id);
    const [roles, groups] = await Promise.all([rolesOf(ids), groupsOf(ids)]);
    return rows.map((row) => toUser(row, roles.get(row.id) ?? [], groups.get(row.id) ?? []));
  }

  /**
   * One user with their roles in a single indexed query (a join, one row per role): this runs on every request
   * that carries an access token, so it must stay one round trip.
   */
  async function oneUser(column: 'id' | 'email', value: string) {
    const rows = await db
      .selectFrom('users')
      .leftJoin('user_roles', 'user_roles.user_id', 'users.id')
      .select([...USER_COLUMNS.map((c) => `users.${c}` as const), 'users.password_hash', 'users.password_set_at', 'user_roles.role'])
      .where(column === 'id' ? 'users.id' : 'users.email', '=', value)
      .execute();
    const first = rows[0];
    if (!first) return undefined;
    const roles = rows.flatMap((r) => (r.role === null ? [] : [r.role]));
    const groups = (await groupsOf([first.id])).get(first.id) ?? [];
    return {
      user: toUser(first, sortRoles(roles), groups),
      passwordHash: first.password_hash,
      passwordSetAt: Number(first.password_set_at),
    };
  }

  const searchIndex = createUserSearch(db, dialect, options);

  return {
    async insert(user: NewUser, events) {
      try {
        await db.transaction().execute(async (trx) => {
          await trx
            .insertInto('users')
            .values({
              id: user.id,
              email: user.email,
              first_name: user.firstName,
              last_name: user.lastName,
              search_text: searchText(user.email, user.firstName, user.lastName),
              password_hash: user.passwordHash,
              password_temporary: user.passwordTemporary ? 1 : 0,
              password_set_at: user.createdAt,
              created_at: user.createdAt,
              updated_at: user.createdAt,
              ...(user.externalId != null ? { external_id: user.externalId } : {}),
              ...(user.userName != null ? { user_name: user.userName } : {}),
              ...(user.enabled === false ? { enabled: 0 } : {}),
            })
            .execute();
          if (user.roles.length > 0) {
            await trx
              .insertInto('user_roles')
              .values(user.roles.map((role) => ({ user_id: user.id, role })))
              .execute();
          }
          await searchIndex.index(trx, user.id);
          await audit.append(trx, events);
        });
        return 'inserted';
      } catch (err) {
        if (isUniqueViolation(err)) return 'email_taken';
        throw err;
      }
    },

    async findById(id) {
      return (await oneUser('id', id))?.user;
    },

    async findByIds(ids) {
      if (ids.length === 0) return [];
      const rows = await db.selectFrom('users').select(USER_COLUMNS).where('id', 'in', ids).execute();
      const byId = new Map((await withRoles(rows)).map((u) => [u.id, u]));
      return ids.flatMap((id) => byId.get(id) ?? []);
    },

    async findCredentialsByEmail(email) {
      const found = await oneUser('email', email);
      return found && ({ ...found.user, passwordHash: found.passwordHash, passwordSetAt: found.passwordSetAt } satisfies UserCredentials);
    },

    async emailTaken(email) {
      const row = await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
      return row !== undefined;
    },

    async delete(id, events, unchangedSince) {
      // Read outside the transaction (SQLite has one connection, which the transaction holds): the answer reports
      // the groups the user was in.
      const groupsBefore = (await groupsOf([id])).get(id) ?? [];
      return db.transaction().execute(async (trx) => {
        const select = trx.selectFrom('users').select(USER_COLUMNS).where('id', '=', id);
        // Locked on PostgreSQL so that an If-Match holds to the delete (SQLite has one writer at a time anyway).
        const row = await (dialect === 'postgres' && unchangedSince !== undefined ? select.forUpdate() : select).executeTakeFirst();
        if (!row) return undefined;
        if (unchangedSince !== undefined && Number(row.updated_at) !== unchangedSince) return 'changed_meanwhile' as const;
        const roles = await trx.selectFrom('user_roles').select('role').where('user_id', '=', id).execute();
        await searchIndex.unindex(trx, id);
        await trx.deleteFrom('user_roles').where('user_id', '=', id).execute();
        await trx.deleteFrom('users').where('id', '=', id).execute();
        await audit.append(trx, events);
        return toUser(row, sortRoles(roles.map((r) => r.role)), groupsBefore);
      });
    },

    async setPassword(id, passwordHash, temporary, at, events) {
      return db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable('users')
          .set({
            password_hash: passwordHash,
            password_temporary: temporary ? 1 : 0,
            password_set_at: at,
            updated_at: at,
            token_version: sql`token_version + 1`,
          })
          .where('id', '=', id)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) return false;
        await audit.append(trx, events);
        return true;
      });
    },

    async replacePasswordHash(id, expected, replacement) {
      const result = await db.updateTable('users').set({ password_hash: replacement }).where('id', '=', id).where('password_hash', '=', expected).executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async search(query: UserSearch) {
      return withRoles(await searchIndex.search(query));
    },

    count: (query) => searchIndex.count(query),

    async update(id, changes, at, events, unchangedSince) {
      try {
        return await db.transaction().execute(async (trx) => {
          // Locked on PostgreSQL: two changes of one user at once would otherwise both rewrite its search words and
          // collide on their key (SQLite has one writer at a time anyway).
          const select = trx.selectFrom('users').select([...USER_COLUMNS, 'external_id', 'user_name']).where('id', '=', id);
          const row = await (dialect === 'postgres' ? select.forUpdate() : select).executeTakeFirst();
          if (!row) return 'not_found' as const;
          if (unchangedSince !== undefined && Number(row.updated_at) !== unchangedSince) return 'changed_meanwhile' as const;
          const rolesBefore = await trx.selectFrom('user_roles').select('role').where('user_id', '=', id).execute();
          const before = { ...toUser(row, sortRoles(rolesBefore.map((r) => r.role)), []), externalId: row.external_id, userName: row.user_name };
          const email = changes.email ?? row.email;
          const firstName = changes.firstName !== undefined ? changes.firstName : row.first_name;
          const lastName = changes.lastName !== undefined ? changes.lastName : row.last_name;
          const text = searchText(email, firstName, lastName);
          // Every change moves updated_at forward, even within one millisecond: versions derived from it must differ.
          const set: Record<string, unknown> = { email, first_name: firstName, last_name: lastName, search_text: text, updated_at: Math.max(at, Number(row.updated_at) + 1) };
          if (changes.enabled !== undefined) {
            set.enabled = changes.enabled ? 1 : 0;
            // Disabling ends every token and session; enabling again must not bring the old ones back.
            if (!changes.enabled) set.token_version = sql`case when enabled = 1 then token_version + 1 else token_version end`;
          }
          if (changes.externalId !== undefined) set.external_id = changes.externalId;
          if (changes.userName !== undefined) set.user_name = changes.userName;
          if (changes.passwordHash !== undefined) {
            // A new password ends every older token, as a reset does (and a disable in the same change bumps once).
            set.password_hash = changes.passwordHash;
            set.password_temporary = 0;
            set.password_set_at = at;
            set.token_version = sql`token_version + 1`;
          }
          if (text !== searchText(row.email, row.first_name, row.last_name)) await searchIndex.unindex(trx, id);
          await trx.updateTable('users').set(set).where('id', '=', id).execute();
          if (text !== searchText(row.email, row.first_name, row.last_name)) await searchIndex.reindex(trx, id);
          if (changes.roles !== undefined) {
            await trx.deleteFrom('user_roles').where('user_id', '=', id).execute();
            if (changes.roles.length > 0) await trx.insertInto('user_roles').values(changes.roles.map((role) => ({ user_id: id, role }))).execute();
          }
          await audit.append(trx, events?.(before));
          return 'updated' as const;
        });
      } catch (err) {
        // Only the email and userName are unique among what an update writes (the row lock keeps the search words apart).
        if ((changes.email !== undefined || changes.userName !== undefined) && isUniqueViolation(err)) return 'email_taken';
        throw err;
      }
    },
  };
}
