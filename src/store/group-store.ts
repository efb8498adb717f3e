import { sql, type Kysely } from 'kysely';
import { isAssignableRole, ROLES, type AssignableRole } from '../domain/access.ts';
import type { Group, GroupChangeResult, GroupPage, GroupStore } from '../domain/groups.ts';
import { encodeCursor as encode } from '../domain/paging.ts';
import { createAuditWriter, type AuditWriter } from './audit-store.ts';
import type { Dialect } from './database.ts';
import type { Schema } from './schema.ts';
import { isUniqueViolation } from './sql-errors.ts';

const ROLE_ORDER = Object.keys(ROLES);
const sortRoles = (roles: string[]): AssignableRole[] =>
  roles.filter(isAssignableRole).sort((a, b) => ROLE_ORDER.indexOf(a) - ROLE_ORDER.indexOf(b));


type GroupRow = { id: string; name: string; description: string | null; external_id: string | null; created_at: number; updated_at: number };

const CHUNK = 500;
const chunks = <T>(items: T[]): T[][] => Array.from({ length: Math.ceil(items.length / CHUNK) }, (_, i) => items.slice(i * CHUNK, (i + 1) * CHUNK));

/**
 * The group's `updated_at` after a change at `at`: `at`, or one millisecond past the last change when that is not
 * earlier (a clock that stands still or steps back), so every change moves it forward and versions built on it differ.
 */
const advanced = (at: number) => sql<number>`CASE WHEN updated_at >= ${at} THEN updated_at + 1 ELSE ${at} END`;

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
      externalId: r.external_id,
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

  /** The ids among `userIds` that are no user's (checked in the change's transaction). */
  async function missingUsers(trx: Kysely<Schema>, userIds: string[]): Promise<string[]> {
    const found = new Set<string>();
    for (const chunk of chunks(userIds)) {
      for (const r of await trx.selectFrom('users').select('id').where('id', 'in', chunk).execute()) found.add(r.id);
    }
    return userIds.filter((u) => !found.has(u));
  }

  /** Inserts the memberships; only the rows inserted come back (members already are no change, and not recorded). */
  async function insertMembers(trx: Kysely<Schema>, id: string, userIds: string[], at: number): Promise<string[]> {
    const added: string[] = [];
    for (const chunk of chunks(userIds)) {
      const inserted = await trx
        .insertInto('group_members')
        .values(chunk.map((user_id) => ({ group_id: id, user_id, added_at: at })))
        .onConflict((oc) => oc.columns(['group_id', 'user_id']).doNothing())
        .returning('user_id')
        .execute();
      added.push(...inserted.map((r) => r.user_id));
    }
    return added;
  }

  /** Deletes the memberships; the ids of those who were members come back. */
  async function deleteMembers(trx: Kysely<Schema>, id: string, userIds: string[]): Promise<string[]> {
    const removed: string[] = [];
    for (const chunk of chunks(userIds)) {
      const deleted = await trx.deleteFrom('group_members').where('group_id', '=', id).where('user_id', 'in', chunk).returning('user_id').execute();
      removed.push(...deleted.map((r) => r.user_id));
    }
    return removed;
  }

  return {
    async insert(g, events) {
      try {
        await db.transaction().execute(async (trx) => {
          await trx
            .insertInto('groups')
            .values({ id: g.id, name: g.name, description: g.description, external_id: g.externalId, created_at: g.createdAt, updated_at: g.updatedAt })
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
          const set: { updated_at: number; name?: string; description?: string | null; external_id?: string | null } = { updated_at: at };
          if (changes.name !== undefined) set.name = changes.name;
          if (changes.description !== undefined) set.description = changes.description;
          if (changes.externalId !== undefined) set.external_id = changes.externalId;
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

    async delete(id, events, check) {
      return db.transaction().execute(async (trx) => {
        const before = await lockedBefore(trx, id);
        if (!before) return false;
        check?.(before);
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
        const missing = await missingUsers(trx, userIds);
        if (missing.length > 0) return { missing };
        const added = await insertMembers(trx, id, userIds, at);
        if (added.length > 0) {
          await trx.updateTable('groups').set({ updated_at: advanced(at) }).where('id', '=', id).execute();
          await audit.append(trx, events?.(added));
        }
        return { missing: [] };
      });
    },

    async removeMembers(id, userIds, at, events) {
      return db.transaction().execute(async (trx) => {
        const removed = await deleteMembers(trx, id, userIds);
        if (removed.length > 0) {
          await trx.updateTable('groups').set({ updated_at: advanced(at) }).where('id', '=', id).execute();
          await audit.append(trx, events?.(removed));
        }
        return removed.length;
      });
    },

    async insertWithMembers(g, userIds, events, memberEvents) {
      try {
        return await db.transaction().execute(async (trx) => {
          const missing = await missingUsers(trx, userIds);
          if (missing.length > 0) return { missing };
          await trx
            .insertInto('groups')
            .values({ id: g.id, name: g.name, description: g.description, external_id: g.externalId, created_at: g.createdAt, updated_at: g.updatedAt })
            .execute();
          if (g.roles.length > 0) await trx.insertInto('group_roles').values(g.roles.map((role) => ({ group_id: g.id, role }))).execute();
          const added = await insertMembers(trx, g.id, userIds, g.createdAt);
          await audit.append(trx, [...events, ...(added.length > 0 ? memberEvents(added) : [])]);
          return 'inserted' as const;
        });
      } catch (err) {
        if (isUniqueViolation(err)) return 'name_taken';
        throw err;
      }
    },

    async change(id, change, at, opts = {}) {
      try {
        return await db.transaction().execute(async (trx) => {
          const before = await lockedBefore(trx, id);
          if (!before) return { outcome: 'not_found' as const };
          opts.check?.(before);
          const missing = await missingUsers(trx, change.add);
          if (missing.length > 0) return { outcome: 'missing_users' as const, missing };

          const { fields } = change;
          const set: { name?: string; external_id?: string | null; description?: string | null } = {};
          if (fields.name !== undefined && fields.name !== before.name) set.name = fields.name;
          if (fields.description !== undefined && fields.description !== before.description) set.description = fields.description;
          if (fields.externalId !== undefined && fields.externalId !== before.externalId) set.external_id = fields.externalId;
          const rolesChanged = fields.roles !== undefined && !(fields.roles.length === before.roles.length && fields.roles.every((r) => before.roles.includes(r)));
          // The row first: a taken name fails before any member row is written (and the transaction rolls back).
          if (Object.keys(set).length > 0) await trx.updateTable('groups').set(set).where('id', '=', id).execute();
          if (rolesChanged) {
            await trx.deleteFrom('group_roles').where('group_id', '=', id).execute();
            if (fields.roles!.length > 0) await trx.insertInto('group_roles').values(fields.roles!.map((role) => ({ group_id: id, role }))).execute();
          }

          let leaving = change.remove;
          if (change.replaceMembers) {
            // Everyone not named stays out: the current members are read (ids only) to name who left in the event.
            const keep = new Set(change.add);
            const current = await trx.selectFrom('group_members').select('user_id').where('group_id', '=', id).orderBy('user_id').execute();
            leaving = current.map((r) => r.user_id).filter((u) => !keep.has(u));
          }
          const result: GroupChangeResult = { removed: await deleteMembers(trx, id, leaving), added: await insertMembers(trx, id, change.add, at) };

          if (Object.keys(set).length > 0 || rolesChanged || result.added.length > 0 || result.removed.length > 0) {
            await trx.updateTable('groups').set({ updated_at: advanced(at) }).where('id', '=', id).execute();
            await audit.append(trx, opts.audit?.(before, result));
          }
          return { outcome: 'changed' as const, ...result };
        });
      } catch (err) {
        if (isUniqueViolation(err)) return { outcome: 'name_taken' as const };
        throw err;
      }
    },
  };
}
