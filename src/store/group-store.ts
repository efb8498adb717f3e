import type { Kysely } from 'kysely';
import { isAssignableRole, ROLES, type AssignableRole } from '../domain/access.ts';
import type { Group, GroupPage, GroupStore } from '../domain/groups.ts';
import { encodeCursor as encode } from '../domain/paging.ts';
import { createAuditWriter, type AuditWriter } from './audit-store.ts';
import type { Dialect } from './database.ts';
import type { Schema } from './schema.ts';
import { isUniqueViolation } from './sql-errors.ts';

const ROLE_ORDER = Object.keys(ROLES);
const sortRoles = (roles: string[]): AssignableRole[] =>
  roles.filter(isAssignableRole).sort((a, b) => ROLE_ORDER.indexOf(a) - ROLE_ORDER.indexOf(b));


type GroupRow = { id: string; name: string; description: string | null; created_at: number; updated_at: number };

/**
 * Mutating methods write their audit events (`audit`) in the change's own transaction, and only when something
 * changed: nothing for a missing group, a taken name, or members that were already in (or not in) the group.
 */
export function createGroupStore(db: Kysely<Schema>, dialect: Dialect, audit: AuditWriter = createAuditWriter(dialect)): GroupStore {
  /** `via`: the transaction when inside one (SQLite has one connection, which the transaction holds). */
  async function complete(rows: GroupRow[], via: Kysely<Schema> = db): Promise<Group[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const [roles, counts] = await Promise.all([
      via.selectFrom('group_roles').select(['group_id', 'role']).where('group_id', 'in', ids).execute(),
      via.selectFrom('group_members').select(['group_id', (eb) => eb.fn.countAll<number>().as('n')]).where('group_id', 'in', ids).groupBy('group_id').execute(),
    ]);
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      description: r.description,
      roles: sortRoles(roles.filter((x) => x.group_id === r.id).map((x) => x.role)),
      memberCount: Number(counts.find((c) => c.group_id === r.id)?.n ?? 0),
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
    }));
  }

  /**
   * The group as it is before a change, read in the change's transaction; on PostgreSQL its row stays locked until
   * commit, so the state the events describe is the one the change replaced (no concurrent change in between).
   */
  async function lockedBefore(trx: Kysely<Schema>, id: string): Promise<Group | undefined> {
    const row = await trx
      .selectFrom('groups')
      .selectAll()
      .where('id', '=', id)
      .$if(dialect === 'postgres', (q) => q.forUpdate())
      .executeTakeFirst();
    return row ? (await complete([row], trx))[0] : undefined;
  }

  return {
    async insert(g, events) {
      try {
        await db.transaction().execute(async (trx) => {
          await trx
            .insertInto('groups')
            .values({ id: g.id, name: g.name, description: g.description, created_at: g.createdAt, updated_at: g.updatedAt })
            .execute();
          if (g.roles.length > 0) await trx.insertInto('group_roles').values(g.roles.map((role) => ({ group_id: g.id, role }))).execute();
          await audit.append(trx, events);
        });
        return 'inserted';
      } catch (err) {
        if (isUniqueViolation(err)) return 'name_taken';
        throw err;
      }
    },

    async list(limit, after) {
      let q = db.selectFrom('groups').selectAll().orderBy('created_at').orderBy('id').limit(limit + 1);
      const position = after;
      if (position !== null) {
        const dot = position.indexOf('.');
        const at = Number(position.slice(0, dot));
        const id = position.slice(dot + 1);
        q = q.where((eb) => eb.or([eb('created_at', '>', at), eb.and([eb('created_at', '=', at), eb('id', '>', id)])]));
      }
      const rows = await q.execute();
      const page = await complete(rows.slice(0, limit));
      const last = page.at(-1);
      return { items: page, next: rows.length > limit && last ? encode(`${last.createdAt}.${last.id}`) : null } satisfies GroupPage<Group>;
    },

    async find(id) {
      const row = await db.selectFrom('groups').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? (await complete([row]))[0] : undefined;
    },

    async update(id, changes, at, events) {
      try {
        return await db.transaction().execute(async (trx) => {
          const before = await lockedBefore(trx, id);
          if (!before) return 'not_found' as const;
          const set: { updated_at: number; name?: string; description?: string | null } = { updated_at: at };
          if (changes.name !== undefined) set.name = changes.name;
          if (changes.description !== undefined) set.description = changes.description;
          const result = await trx.updateTable('groups').set(set).where('id', '=', id).executeTakeFirst();
          if (Number(result.numUpdatedRows) !== 1) return 'not_found' as const;
          if (changes.roles !== undefined) {
            await trx.deleteFrom('group_roles').where('group_id', '=', id).execute();
            if (changes.roles.length > 0) await trx.insertInto('group_roles').values(changes.roles.map((role) => ({ group_id: id, role }))).execute();
          }
          await audit.append(trx, events?.(before));
          return 'updated' as const;
        });
      } catch (err) {
        if (isUniqueViolation(err)) return 'name_taken';
        throw err;
      }
    },

    async delete(id, events) {
      return db.transaction().execute(async (trx) => {
        const before = await lockedBefore(trx, id);
        if (!before) return false;
        const result = await trx.deleteFrom('groups').where('id', '=', id).executeTakeFirst();
        if (Number(result.numDeletedRows) !== 1) return false;
        await audit.append(trx, events?.(before));
        return true;
      });
    },

    async members(id, limit, after) {
      let q = db.selectFrom('group_members').select('user_id').where('group_id', '=', id).orderBy('user_id').limit(limit + 1);
      if (after !== null) q = q.where('user_id', '>', after);
      const rows = await q.execute();
      const items = rows.slice(0, limit).map((r) => r.user_id);
      return { items, next: rows.length > limit ? encode(items.at(-1)!) : null };
    },

    async addMembers(id, userIds, at, events) {
      return db.transaction().execute(async (trx) => {
        const found = new Set<string>();
        for (let i = 0; i < userIds.length; i += 500) {
          const chunk = userIds.slice(i, i + 500);
          for (const r of await trx.selectFrom('users').select('id').where('id', 'in', chunk).execute()) found.add(r.id);
        }
        const missing = userIds.filter((u) => !found.has(u));
        if (missing.length > 0) return { missing };
        // Only the rows inserted come back: users who were members already are no change and are not recorded.
        const added: string[] = [];
        for (let i = 0; i < userIds.length; i += 500) {
          const rows = userIds.slice(i, i + 500).map((user_id) => ({ group_id: id, user_id, added_at: at }));
          const inserted = await trx
            .insertInto('group_members')
            .values(rows)
            .onConflict((oc) => oc.columns(['group_id', 'user_id']).doNothing())
            .returning('user_id')
            .execute();
          added.push(...inserted.map((r) => r.user_id));
        }
        if (added.length > 0) await audit.append(trx, events?.(added));
        return { missing: [] };
      });
    },

    async removeMembers(id, userIds, events) {
      return db.transaction().execute(async (trx) => {
        const removed: string[] = [];
        for (let i = 0; i < userIds.length; i += 500) {
          const deleted = await trx
            .deleteFrom('group_members')
            .where('group_id', '=', id)
            .where('user_id', 'in', userIds.slice(i, i + 500))
            .returning('user_id')
            .execute();
          removed.push(...deleted.map((r) => r.user_id));
        }
        if (removed.length > 0) await audit.append(trx, events?.(removed));
        return removed.length;
      });
    },
  };
}
