import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { ScimFilter } from '../domain/scim-filter.ts';
import type { ScimGroupQuery, ScimGroupReader, ScimGroupRecord, ScimMember } from '../domain/scim-groups.ts';
import type { Dialect } from './database.ts';
import type { Schema } from './schema.ts';

/**
 * The reads of SCIM Groups as SQL: a checked filter (domain/scim-filter.ts over GROUP_FILTERABLE) becomes one WHERE
 * over the groups' columns — `id` and `displayName` (the unique name) and `externalId` are indexed — and, for
 * `members`, an EXISTS over the membership's primary key (group_id, user_id). Nothing here reads a group's members
 * unless asked for them (`members`), so `excludedAttributes=members` reads one row per group.
 *
 * Semantics: `displayName` compares case-insensitively (caseExact false in RFC 7643 §4.2), ids and `externalId`
 * exactly; an absent `externalId` is not equal to anything (so `ne` and `not (eq)` match it). Sorting puts
 * absent values last when ascending (RFC 7644 §3.4.2.3).
 */

type Cond = RawBuilder<unknown>;
type Row = { id: string; name: string; external_id: string | null; created_at: number | string; updated_at: number | string };

const TRUE = sql`1 = 1`;
const FALSE = sql`1 = 0`;
const CHUNK = 500;

export function createScimGroupStore(db: Kysely<Schema>, dialect: Dialect): ScimGroupReader {
  const contains = (x: Cond, v: Cond) => (dialect === 'sqlite' ? sql`instr(${x}, ${v}) > 0` : sql`strpos(${x}, ${v}) > 0`);
  const endsWith = (x: Cond, v: Cond) => (dialect === 'sqlite' ? sql`substr(${x}, -length(${v})) = ${v}` : sql`right(${x}, length(${v})) = ${v}`);
  /** Byte order for gt/ge/lt/le, the same on both dialects (SQLite's default; PostgreSQL's "C" collation). */
  const ordered = (x: Cond) => (dialect === 'postgres' ? sql`${x} collate "C"` : x);

  /** A string comparison of a column (null: absent, which equals nothing). */
  function compareText(column: Cond, nullable: boolean, caseExact: boolean, op: string, value: string): Cond {
    const x = caseExact ? column : sql`lower(${column})`;
    // Typed, so PostgreSQL picks length(text) and lower(text) for a parameter.
    const param = dialect === 'postgres' ? sql`cast(${value} as text)` : sql`${value}`;
    const v = caseExact ? param : sql`lower(${param})`;
    const present = (c: Cond) => (nullable ? sql`(${column} is not null and ${c})` : c);
    switch (op) {
      case 'eq':
        return present(sql`${x} = ${v}`);
      case 'ne':
        return nullable ? sql`(${column} is null or ${x} <> ${v})` : sql`${x} <> ${v}`;
      case 'co':
        return value === '' ? present(TRUE) : present(contains(x, v));
      case 'sw':
        return value === '' ? present(TRUE) : present(sql`substr(${x}, 1, length(${v})) = ${v}`);
      case 'ew':
        return value === '' ? present(TRUE) : present(endsWith(x, v));
      case 'gt':
        return present(sql`${ordered(x)} > ${v}`);
      case 'ge':
        return present(sql`${ordered(x)} >= ${v}`);
      case 'lt':
        return present(sql`${ordered(x)} < ${v}`);
      case 'le':
        return present(sql`${ordered(x)} <= ${v}`);
      default:
        throw new Error(`unexpected operator ${op}`);
    }
  }

  function compareNumber(column: Cond, op: string, value: number): Cond {
    const ops: Record<string, string> = { eq: '=', ne: '<>', gt: '>', ge: '>=', lt: '<', le: '<=' };
    const symbol = ops[op];
    if (!symbol) throw new Error(`unexpected operator ${op}`);
    return sql`${column} ${sql.raw(symbol)} ${value}`;
  }

  /** A comparison whose answer does not depend on the row (`meta.resourceType`, a member's `type`). */
  function compareConstant(actual: string, op: string, value: string, caseExact: boolean): Cond {
    const a = caseExact ? actual : actual.toLowerCase();
    const v = caseExact ? value : value.toLowerCase();
    const result =
      op === 'eq' ? a === v
      : op === 'ne' ? a !== v
      : op === 'co' ? a.includes(v)
      : op === 'sw' ? a.startsWith(v)
      : op === 'ew' ? a.endsWith(v)
      : op === 'gt' ? a > v
      : op === 'ge' ? a >= v
      : op === 'lt' ? a < v
      : a <= v;
    return result ? TRUE : FALSE;
  }

  const someMember = (condition: Cond) => sql`exists (select 1 from group_members gm where gm.group_id = groups.id and ${condition})`;

  /** A condition on one membership row `gm` (inside `members[...]`, or a bare `members.value`). */
  function memberCondition(f: ScimFilter): Cond {
    switch (f.op) {
      case 'and':
      case 'or':
        return sql`(${sql.join(f.filters.map(memberCondition), sql.raw(` ${f.op} `))})`;
      case 'not':
        return sql`not (${memberCondition(f.filter)})`;
      case 'valuePath':
        throw new Error('nested value path');
      case 'pr':
        return TRUE; // every membership has a value and a type
      default:
        if (f.attr === 'members.value') return compareText(sql.ref('gm.user_id'), false, true, f.op, String(f.value));
        if (f.attr === 'members.type') return compareConstant('User', f.op, String(f.value), false);
        throw new Error(`unexpected member attribute ${f.attr}`);
    }
  }

  function condition(f: ScimFilter): Cond {
    switch (f.op) {
      case 'and':
      case 'or':
        return sql`(${sql.join(f.filters.map(condition), sql.raw(` ${f.op} `))})`;
      case 'not':
        return sql`not (${condition(f.filter)})`;
      case 'valuePath':
        return someMember(memberCondition(f.filter));
      case 'pr':
        switch (f.attr) {
          case 'externalId':
            return sql`groups.external_id is not null`;
          case 'members.value':
          case 'members.type':
            return someMember(TRUE);
          default:
            return TRUE; // id, displayName and meta are always there
        }
      default: {
        const value = f.value;
        switch (f.attr) {
          case 'id':
            return compareText(sql.ref('groups.id'), false, true, f.op, String(value));
          case 'displayName':
            return compareText(sql.ref('groups.name'), false, false, f.op, String(value));
          case 'externalId':
            return compareText(sql.ref('groups.external_id'), true, true, f.op, String(value));
          case 'meta.created':
            return compareNumber(sql.ref('groups.created_at'), f.op, Number(value));
          case 'meta.lastModified':
            return compareNumber(sql.ref('groups.updated_at'), f.op, Number(value));
          case 'meta.resourceType':
            return compareConstant('Group', f.op, String(value), true);
          case 'members.value':
          case 'members.type':
            // `members eq "id"` / `members.value eq "id"`: some member matches (`ne`: some member differs).
            return someMember(memberCondition(f));
          default:
            throw new Error(`unexpected group attribute ${f.attr}`);
        }
      }
    }
  }

  const where = (filter: ScimFilter | undefined) => (filter ? condition(filter) : TRUE);

  function orderBy(sortBy: string | undefined, descending: boolean): Cond {
    const dir = sql.raw(descending ? 'desc' : 'asc');
    // Absent values last when ascending, first when descending (RFC 7644 §3.4.2.3).
    const nullsLast = (c: Cond) => sql`case when ${c} is null then 1 else 0 end ${dir}, ${c} ${dir}`;
    switch (sortBy) {
      case 'id':
        return sql`groups.id ${dir}`;
      case 'displayName':
        return sql`lower(groups.name) ${dir}, groups.name ${dir}, groups.id ${dir}`;
      case 'externalId':
        return sql`${nullsLast(ordered(sql.ref('groups.external_id')))}, groups.id ${dir}`;
      case 'meta.lastModified':
        return sql`groups.updated_at ${dir}, groups.id ${dir}`;
      case 'meta.created':
      case undefined:
        return sql`groups.created_at ${dir}, groups.id ${dir}`;
      default:
        throw new Error(`unexpected sort attribute ${sortBy}`);
    }
  }

  const toRecord = (r: Row): ScimGroupRecord => ({
    id: r.id,
    name: r.name,
    externalId: r.external_id,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  });

  return {
    async find(id) {
      const row = await db.selectFrom('groups').select(['id', 'name', 'external_id', 'created_at', 'updated_at']).where('id', '=', id).executeTakeFirst();
      return row ? toRecord(row) : undefined;
    },

    async search(query: ScimGroupQuery) {
      const result = await sql<Row>`select groups.id, groups.name, groups.external_id, groups.created_at, groups.updated_at from groups
        where ${where(query.filter)} order by ${orderBy(query.sortBy, query.descending)} limit ${query.limit} offset ${query.offset}`.execute(db);
      return result.rows.map(toRecord);
    },

    async count(filter) {
      const result = await sql<{ n: number | string }>`select count(*) as n from groups where ${where(filter)}`.execute(db);
      return Number(result.rows[0]?.n ?? 0);
    },

    async members(groupIds) {
      const out = new Map<string, ScimMember[]>();
      for (let i = 0; i < groupIds.length; i += CHUNK) {
        const rows = await db
          .selectFrom('group_members as gm')
          .innerJoin('users as u', 'u.id', 'gm.user_id')
          .select(['gm.group_id', 'gm.user_id', 'u.email'])
          .where('gm.group_id', 'in', groupIds.slice(i, i + CHUNK))
          .orderBy('gm.group_id')
          .orderBy('gm.user_id')
          .execute();
        for (const r of rows) {
          let list = out.get(r.group_id);
          if (!list) out.set(r.group_id, (list = []));
          list.push({ value: r.user_id, display: r.email });
        }
      }
      return out;
    },
  };
}
