import { sql, type Kysely, type RawBuilder } from 'kysely';
import { isAssignableRole, ROLES, type AssignableRole } from '../domain/access.ts';
import type { GroupRef, UserFilters } from '../domain/ports.ts';
import type { UserExportBatch, UserExportSource } from '../domain/user-export.ts';
import type { UserRecord } from '../domain/users.ts';
import type { Dialect } from './database.ts';
import type { Schema } from './schema.ts';
import { groupsOfUsers } from './user-groups.ts';
import { USER_COLUMNS, type UserRow } from './user-columns.ts';

const ROLE_ORDER = Object.keys(ROLES);
const sortRoles = (roles: string[]): AssignableRole[] =>
  roles.filter(isAssignableRole).sort((a, b) => ROLE_ORDER.indexOf(a) - ROLE_ORDER.indexOf(b));

const COLUMNS = sql.join(USER_COLUMNS.map((c) => sql.ref(`users.${c}`)));
const and = (parts: RawBuilder<unknown>[]) => sql.join(parts, sql` and `);

/**
 * The filters of GET /users as per-row conditions. An export walks the whole (created_at, id) index once, so every
 * condition is checked on the row it reaches, never by gathering a set first: a gathered set (all holders of a
 * role, all users containing a term) would be rebuilt for every batch, which is what makes a paged export quadratic.
 * The role test is correlated on purpose (PostgreSQL turns an uncorrelated IN or an EXISTS into a hash of every
 * holder, again per batch); both of its lookups are index probes (user_roles' key, group_members_user).
 */
function conditions(dialect: Dialect, terms: string[], filters: UserFilters | undefined): RawBuilder<unknown>[] {
  const out: RawBuilder<unknown>[] = terms.map((t) =>
    dialect === 'sqlite' ? sql`instr(users.search_text, ${t}) > 0` : sql`strpos(users.search_text, ${t}) > 0`,
  );
  const role = filters?.role;
  if (role !== undefined) {
    out.push(sql`(users.id in (select r.user_id from user_roles r where r.user_id = users.id and r.role = ${role})
      or users.id in (select gm.user_id from group_members gm join group_roles gr on gr.group_id = gm.group_id
                      where gm.user_id = users.id and gr.role = ${role}))`);
  }
  if (filters?.groupId !== undefined) {
    out.push(sql`exists (select 1 from group_members gm where gm.group_id = ${filters.groupId} and gm.user_id = users.id)`);
  }
  if (filters?.enabled !== undefined) out.push(sql`users.enabled = ${filters.enabled ? 1 : 0}`);
  return out;
}

type ExportRow = UserRow & { locked_until: number | string | null };

/** The keyset export of users (see src/domain/user-export.ts) on either dialect. */
export function createUserExportSource(db: Kysely<Schema>, dialect: Dialect): UserExportSource {
  async function rolesOf(ids: string[]): Promise<Map<string, string[]>> {
    const byUser = new Map<string, string[]>();
    const rows = await db.selectFrom('user_roles').select(['user_id', 'role']).where('user_id', 'in', ids).execute();
    for (const row of rows) byUser.set(row.user_id, [...(byUser.get(row.user_id) ?? []), row.role]);
    return byUser;
  }

  async function groupsOf(ids: string[]): Promise<Map<string, GroupRef[]>> {
    // The export names groups; their roles are the group's business (and the user's own roles are a column).
    const named = await groupsOfUsers(db, ids);
    return new Map([...named].map(([id, groups]) => [id, groups.map((g) => ({ ...g, roles: [] }))]));
  }

  return {
    async batch(q: UserExportBatch): Promise<UserRecord[]> {
      const dir = sql.raw(q.sort === 'asc' ? 'asc' : 'desc');
      const where = conditions(dialect, q.terms, q.filters);
      if (q.after) {
        // A row-value comparison: one range on the (created_at, id) index in both dialects.
        const past = q.sort === 'asc' ? sql.raw('>') : sql.raw('<');
        where.unshift(sql`(users.created_at, users.id) ${past} (${q.after.createdAt}, ${q.after.id})`);
      }
      const { rows } = await sql<ExportRow>`select ${COLUMNS}, lf.locked_until as locked_until from users
        left join login_failures lf on lf.username = users.email and lf.locked_until > ${q.now}
        ${where.length > 0 ? sql`where ${and(where)}` : sql``}
        order by users.created_at ${dir}, users.id ${dir} limit ${q.limit}`.execute(db);
      if (rows.length === 0) return [];
      const ids = rows.map((r) => r.id);
      const [roles, groups] = await Promise.all([rolesOf(ids), groupsOf(ids)]);
      return rows.map((row) => ({
        user: {
          id: row.id,
          email: row.email,
          firstName: row.first_name,
          lastName: row.last_name,
          roles: sortRoles(roles.get(row.id) ?? []),
          groups: groups.get(row.id) ?? [],
          passwordTemporary: Number(row.password_temporary) === 1,
          tokenVersion: Number(row.token_version),
          enabled: Number(row.enabled) === 1,
          createdAt: Number(row.created_at),
          updatedAt: Number(row.updated_at),
        },
        lockedUntil: row.locked_until === null ? null : Number(row.locked_until),
      }));
    },
  };
}
