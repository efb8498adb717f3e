import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { CompareOp, ScimFilter } from '../domain/scim-filter.ts';
import type { ScimUserQueries, ScimUserQuery, ScimUserRecord } from '../domain/scim-users.ts';
import type { Dialect } from './database.ts';
import type { Schema } from './schema.ts';
import { groupsOfUsers } from './user-groups.ts';

/**
 * SCIM user filters as SQL (domain/scim-filter.ts gives a checked AST whose attributes are USER_RESOURCE's). Every
 * value is a bound parameter; every column is named here, never taken from the request. `userName eq "x"` is
 * `coalesce(users.user_name, users.email) = 'x'` on the unique index of that expression (a userName apart from the
 * email, else the email; both stored lower-cased, so lower-casing the value makes the comparison case-insensitive
 * without a function on the columns); `externalId` has its own index; `id` is the
 * primary key; group membership is an EXISTS on `group_members` (indexed by user). Nullable columns are compared
 * null-safely, so `not (externalId eq "x")` also finds users without an externalId.
 */

type Cond = RawBuilder<unknown>;

interface Column {
  /** The SQL expression. */
  ref: Cond;
  kind: 'text' | 'bool' | 'time' | 'const';
  /** Case-insensitive text: the column holds lower-case (`lowered`) or is compared through lower(). */
  caseInsensitive?: 'stored-lower' | 'lower()';
  nullable?: boolean;
  /** For `const` columns (the one email's type and primary flag): the value every user has. */
  constant?: string | boolean;
}

const TRUE = sql`1 = 1`;
/** What SCIM shows as `userName`. */
const USER_NAME = sql`coalesce(users.user_name, users.email)`;
const FALSE = sql`1 = 0`;

function userColumn(attr: string): Column {
  switch (attr) {
    case 'id':
      return { ref: sql.ref('users.id'), kind: 'text' };
    case 'externalId':
      return { ref: sql.ref('users.external_id'), kind: 'text', nullable: true };
    case 'userName':
      // Exactly the expression of the users_scim_user_name index, so both dialects use it.
      return { ref: USER_NAME, kind: 'text', caseInsensitive: 'stored-lower' };
    case 'emails.value':
      return { ref: sql.ref('users.email'), kind: 'text', caseInsensitive: 'stored-lower' };
    case 'name.givenName':
      return { ref: sql.ref('users.first_name'), kind: 'text', caseInsensitive: 'lower()', nullable: true };
    case 'name.familyName':
      return { ref: sql.ref('users.last_name'), kind: 'text', caseInsensitive: 'lower()', nullable: true };
    case 'emails.type':
      return { ref: sql`'work'`, kind: 'const', constant: 'work' };
    case 'emails.primary':
      return { ref: sql`1`, kind: 'const', constant: true };
    case 'active':
      return { ref: sql.ref('users.enabled'), kind: 'bool' };
    case 'meta.created':
      return { ref: sql.ref('users.created_at'), kind: 'time' };
    case 'meta.lastModified':
      return { ref: sql.ref('users.updated_at'), kind: 'time' };
    case 'groups.value':
      return { ref: sql.ref('gm.group_id'), kind: 'text' };
    case 'groups.display':
      return { ref: sql.ref('g.name'), kind: 'text', caseInsensitive: 'lower()' };
    default:
      // The filter was checked against USER_RESOURCE: an attribute without a column is a programming error.
      throw new Error(`no column for SCIM attribute ${attr}`);
  }
}

function compareConstant(constant: string | boolean, op: CompareOp, value: string | boolean | number): boolean {
  if (typeof constant === 'boolean') return op === 'eq' ? constant === value : constant !== value;
  const a = constant.toLowerCase();
  const b = String(value).toLowerCase();
  switch (op) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'co':
      return a.includes(b);
    case 'sw':
      return a.startsWith(b);
    case 'ew':
      return a.endsWith(b);
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
  }
}

const SQL_OPS: Record<'eq' | 'gt' | 'ge' | 'lt' | 'le', string> = { eq: '=', gt: '>', ge: '>=', lt: '<', le: '<=' };

export function createScimUserStore(db: Kysely<Schema>, dialect: Dialect): ScimUserQueries {
  const contains = (col: Cond, v: string) => (dialect === 'sqlite' ? sql`instr(${col}, ${v}) > 0` : sql`strpos(${col}, ${v}) > 0`);

  function comparison(column: Column, op: CompareOp, raw: string | boolean | number): Cond {
    if (column.kind === 'const') return compareConstant(column.constant!, op, raw) ? TRUE : FALSE;
    let col = column.ref;
    let value: string | number = typeof raw === 'boolean' ? (raw ? 1 : 0) : raw;
    if (column.caseInsensitive && typeof value === 'string') {
      value = value.toLowerCase();
      if (column.caseInsensitive === 'lower()') col = sql`lower(${col})`;
    }
    let cond: Cond;
    switch (op) {
      case 'ne':
        return column.nullable ? sql`(${column.ref} is null or ${col} <> ${value})` : sql`${col} <> ${value}`;
      case 'co':
        cond = contains(col, String(value));
        break;
      case 'sw':
        cond = sql`substr(${col}, 1, ${String(value).length}) = ${value}`;
        // SQLite compares text bytewise: a range on the stored lower-case email lets its index find the prefix.
        if (dialect === 'sqlite' && column.caseInsensitive === 'stored-lower') cond = sql`(${col} >= ${value} and ${col} < ${`${value}\u{10FFFF}`} and ${cond})`;
        break;
      case 'ew': {
        const n = String(value).length;
        cond = sql`(length(${col}) >= ${n} and substr(${col}, length(${col}) - ${n - 1}) = ${value})`;
        break;
      }
      default:
        cond = sql`${col} ${sql.raw(SQL_OPS[op])} ${value}`;
    }
    return column.nullable ? sql`(${column.ref} is not null and ${cond})` : cond;
  }

  function present(column: Column): Cond {
    if (column.kind === 'const') return TRUE;
    if (column.nullable) return sql`(${column.ref} is not null and ${column.ref} <> '')`;
    return TRUE;
  }

  const membership = (inner: Cond) =>
    sql`exists (select 1 from group_members gm join ${sql.table('groups')} g on g.id = gm.group_id where gm.user_id = users.id and ${inner})`;

  /** `inGroups`: inside `groups[...]`, where gm/g are in scope. */
  function condition(filter: ScimFilter, inGroups = false): Cond {
    switch (filter.op) {
      case 'and':
        return sql`(${sql.join(filter.filters.map((f) => condition(f, inGroups)), sql` and `)})`;
      case 'or':
        return sql`(${sql.join(filter.filters.map((f) => condition(f, inGroups)), sql` or `)})`;
      case 'not':
        return sql`not (${condition(filter.filter, inGroups)})`;
      case 'valuePath':
        // One email per user: `emails[...]` is its condition on that email. Groups: some membership matches.
        return filter.attr === 'groups' ? membership(condition(filter.filter, true)) : condition(filter.filter, inGroups);
      case 'pr': {
        if (filter.attr.startsWith('groups.') && !inGroups) return membership(TRUE);
        return present(userColumn(filter.attr));
      }
      default: {
        const cond = comparison(userColumn(filter.attr), filter.op, filter.value);
        return filter.attr.startsWith('groups.') && !inGroups ? membership(cond) : cond;
      }
    }
  }

  const SORT_COLUMNS: Record<string, string> = {
    id: 'users.id',
    externalId: 'users.external_id',
    'emails.value': 'users.email',
    'name.givenName': 'users.first_name',
    'name.familyName': 'users.last_name',
    'meta.created': 'users.created_at',
    'meta.lastModified': 'users.updated_at',
  };

  const SELECT = ['id', 'email', 'user_name', 'first_name', 'last_name', 'enabled', 'external_id', 'created_at', 'updated_at'] as const;
  type Row = { id: string; email: string; user_name: string | null; first_name: string | null; last_name: string | null; enabled: number; external_id: string | null; created_at: number; updated_at: number };

  async function records(rows: Row[]): Promise<ScimUserRecord[]> {
    const groups = await groupsOfUsers(db, rows.map((r) => r.id));
    return rows.map((r) => ({
      id: r.id,
      email: r.email,
      userName: r.user_name,
      firstName: r.first_name,
      lastName: r.last_name,
      enabled: Number(r.enabled) === 1,
      externalId: r.external_id,
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
      groups: groups.get(r.id) ?? [],
    }));
  }

  return {
    async findById(id) {
      const row = await db.selectFrom('users').select(SELECT).where('id', '=', id).executeTakeFirst();
      return row ? (await records([row as Row]))[0] : undefined;
    },

    async count(filter) {
      const where = filter ? condition(filter) : TRUE;
      const { rows } = await sql<{ n: number | string }>`select count(*) as n from users where ${where}`.execute(db);
      return Number(rows[0]?.n ?? 0);
    },

    async list(query: ScimUserQuery) {
      const where = query.filter ? condition(query.filter) : TRUE;
      const direction = sql.raw(query.sortOrder === 'descending' ? 'desc' : 'asc');
      const sortColumn = query.sortBy ? SORT_COLUMNS[query.sortBy] : undefined;
      // Nulls sort last ascending on both dialects (SQLite puts them first unless told).
      const nullable = sortColumn === 'users.external_id' || sortColumn === 'users.first_name' || sortColumn === 'users.last_name';
      const order = query.sortBy === 'userName'
        ? sql`${USER_NAME} ${direction}, users.id ${direction}`
        : sortColumn
        ? nullable
          ? sql`${sql.ref(sortColumn)} is null, ${sql.ref(sortColumn)} ${direction}, users.id ${direction}`
          : sql`${sql.ref(sortColumn)} ${direction}, users.id ${direction}`
        : sql`users.created_at ${direction}, users.id ${direction}`;
      const columns = sql.join(SELECT.map((c) => sql.ref(`users.${c}`)));
      const { rows } = await sql<Row>`select ${columns} from users where ${where} order by ${order} limit ${query.limit} offset ${query.offset}`.execute(db);
      return records(rows);
    },
  };
}
