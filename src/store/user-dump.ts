import type { Kysely } from 'kysely';
import type { Schema } from './schema.ts';
import { groupsOfUsers } from './user-groups.ts';

/**
 * Reading every user and group for `gatehouse export`: users in creation order in keyset-paged batches (constant
 * memory at any size), each with their own roles, their groups' names and — only when asked — their password hash.
 */
export interface DumpedUser {
  id: string;
  email: string;
  firstName: string | null;
  lastName: string | null;
  enabled: boolean;
  passwordTemporary: boolean;
  createdAt: number;
  updatedAt: number;
  roles: string[];
  groups: string[];
  passwordHash?: string;
}

export interface DumpedGroup {
  id: string;
  name: string;
  description: string | null;
  roles: string[];
}

export async function dumpGroups(db: Kysely<Schema>): Promise<DumpedGroup[]> {
  const groups = await db.selectFrom('groups').select(['id', 'name', 'description']).orderBy('name').execute();
  const roles = await db.selectFrom('group_roles').select(['group_id', 'role']).orderBy('group_id').orderBy('role').execute();
  const byGroup = new Map<string, string[]>();
  for (const r of roles) byGroup.set(r.group_id, [...(byGroup.get(r.group_id) ?? []), r.role]);
  return groups.map((g) => ({ id: g.id, name: g.name, description: g.description, roles: byGroup.get(g.id) ?? [] }));
}

export async function* dumpUsers(db: Kysely<Schema>, opts: { includeHashes: boolean; batchSize?: number }): AsyncGenerator<DumpedUser[]> {
  const size = opts.batchSize ?? 1000;
  let after: { createdAt: number; id: string } | null = null;
  for (;;) {
    let query = db
      .selectFrom('users')
      .select(['id', 'email', 'first_name', 'last_name', 'enabled', 'password_temporary', 'created_at', 'updated_at', 'password_hash'])
      .orderBy('created_at')
      .orderBy('id')
      .limit(size);
    if (after) {
      const { createdAt, id } = after;
      query = query.where((eb) => eb.or([eb('created_at', '>', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '>', id)])]));
    }
    const rows = await query.execute();
    if (rows.length === 0) return;
    const ids = rows.map((r) => r.id);
    const roles = await db.selectFrom('user_roles').select(['user_id', 'role']).where('user_id', 'in', ids).execute();
    const groups = await groupsOfUsers(db, ids);
    const rolesOf = new Map<string, string[]>();
    for (const r of roles) rolesOf.set(r.user_id, [...(rolesOf.get(r.user_id) ?? []), r.role]);
    yield rows.map((r) => ({
      id: r.id,
      email: r.email,
      firstName: r.first_name,
      lastName: r.last_name,
      enabled: Number(r.enabled) === 1,
      passwordTemporary: Number(r.password_temporary) === 1,
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
      roles: (rolesOf.get(r.id) ?? []).sort(),
      groups: (groups.get(r.id) ?? []).map((g) => g.name).sort(),
      ...(opts.includeHashes ? { passwordHash: r.password_hash } : {}),
    }));
    const last = rows[rows.length - 1]!;
    after = { createdAt: Number(last.created_at), id: last.id };
    if (rows.length < size) return;
  }
}
