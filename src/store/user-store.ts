import { sql, type Kysely, type Selectable } from 'kysely';
import { isAssignableRole, ROLES, type AssignableRole } from '../domain/access.ts';
import type { NewUser, User, UserCredentials, UserSearch, UserStore } from '../domain/ports.ts';
import type { Dialect } from './database.ts';
import type { Schema, UsersTable } from './schema.ts';
import { isUniqueViolation } from './sql-errors.ts';
import { createUserSearch, type UserSearchOptions } from './user-search.ts';

const ROLE_ORDER = Object.keys(ROLES);

/** What search matches against: each field lower-cased, newline-separated so no term can span two fields. */
export function searchText(email: string, firstName: string | null, lastName: string | null): string {
  return [email, firstName ?? '', lastName ?? ''].map((s) => s.toLowerCase()).join('\n');
}

const USER_COLUMNS = [
  'id',
  'email',
  'first_name',
  'last_name',
  'password_temporary',
  'token_version',
  'created_at',
] as const;

type UserRow = Pick<Selectable<UsersTable>, (typeof USER_COLUMNS)[number]>;

function toUser(row: UserRow, roles: AssignableRole[]): User {
  return {
    id: row.id,
    email: row.email,
    firstName: row.first_name,
    lastName: row.last_name,
    roles,
    passwordTemporary: Number(row.password_temporary) === 1,
    tokenVersion: Number(row.token_version),
    createdAt: Number(row.created_at),
  };
}

function sortRoles(roles: string[]): AssignableRole[] {
  return roles.filter(isAssignableRole).sort((a, b) => ROLE_ORDER.indexOf(a) - ROLE_ORDER.indexOf(b));
}

export function createUserStore(db: Kysely<Schema>, dialect: Dialect, options: UserSearchOptions = {}): UserStore {
  async function rolesOf(ids: string[]): Promise<Map<string, AssignableRole[]>> {
    const byUser = new Map<string, string[]>(ids.map((id) => [id, []]));
    if (ids.length === 0) return new Map();
    const rows = await db.selectFrom('user_roles').select(['user_id', 'role']).where('user_id', 'in', ids).execute();
    for (const row of rows) byUser.get(row.user_id)?.push(row.role);
    return new Map([...byUser].map(([id, roles]) => [id, sortRoles(roles)]));
  }

  async function withRoles(rows: UserRow[]): Promise<User[]> {
    const roles = await rolesOf(rows.map((r) => r.id));
    return rows.map((row) => toUser(row, roles.get(row.id) ?? []));
  }

  /**
   * One user with their roles in a single indexed query (a join, one row per role): this runs on every request
   * that carries an access token, so it must stay one round trip.
   */
  async function oneUser(column: 'id' | 'email', value: string) {
    const rows = await db
      .selectFrom('users')
      .leftJoin('user_roles', 'user_roles.user_id', 'users.id')
      .select([
        'users.id',
        'users.email',
        'users.first_name',
        'users.last_name',
        'users.password_temporary',
        'users.token_version',
        'users.created_at',
        'users.password_hash',
        'users.password_set_at',
        'user_roles.role',
      ])
      .where(column === 'id' ? 'users.id' : 'users.email', '=', value)
      .execute();
    const first = rows[0];
    if (!first) return undefined;
    const roles = rows.flatMap((r) => (r.role === null ? [] : [r.role]));
    return {
      user: toUser(first, sortRoles(roles)),
      passwordHash: first.password_hash,
      passwordSetAt: Number(first.password_set_at),
    };
  }

  const searchIndex = createUserSearch(db, dialect, options);

  return {
    async insert(user: NewUser) {
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
            })
            .execute();
          if (user.roles.length > 0) {
            await trx
              .insertInto('user_roles')
              .values(user.roles.map((role) => ({ user_id: user.id, role })))
              .execute();
          }
          await searchIndex.index(trx, user.id);
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

    async findCredentialsByEmail(email) {
      const found = await oneUser('email', email);
      return found && ({ ...found.user, passwordHash: found.passwordHash, passwordSetAt: found.passwordSetAt } satisfies UserCredentials);
    },

    async emailTaken(email) {
      const row = await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
      return row !== undefined;
    },

    async delete(id) {
      return db.transaction().execute(async (trx) => {
        const row = await trx.selectFrom('users').select(USER_COLUMNS).where('id', '=', id).executeTakeFirst();
        if (!row) return undefined;
        const roles = await trx.selectFrom('user_roles').select('role').where('user_id', '=', id).execute();
        await searchIndex.unindex(trx, id);
        await trx.deleteFrom('user_roles').where('user_id', '=', id).execute();
        await trx.deleteFrom('users').where('id', '=', id).execute();
        return toUser(row, sortRoles(roles.map((r) => r.role)));
      });
    },

    async setPassword(id, passwordHash, temporary, at) {
      const result = await db
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
      return Number(result.numUpdatedRows) > 0;
    },

    async search(query: UserSearch) {
      return withRoles(await searchIndex.search(query));
    },
  };
}
