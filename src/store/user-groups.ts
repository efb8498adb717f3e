import type { Kysely } from 'kysely';
import type { Schema } from './schema.ts';

/**
 * The groups (id and name) of each of these users, in name order: one query for any number of users. What reads
 * users a page at a time (SCIM, the CSV and JSON Lines exports) shows their groups from this; the user repository
 * reads the groups' roles with them, so it has its own query.
 */
export async function groupsOfUsers(db: Kysely<Schema>, userIds: string[]): Promise<Map<string, { id: string; name: string }[]>> {
  const byUser = new Map<string, { id: string; name: string }[]>();
  if (userIds.length === 0) return byUser;
  const rows = await db
    .selectFrom('group_members')
    .innerJoin('groups', 'groups.id', 'group_members.group_id')
    .select(['group_members.user_id', 'groups.id', 'groups.name'])
    .where('group_members.user_id', 'in', userIds)
    .orderBy('groups.name')
    .execute();
  for (const row of rows) {
    const list = byUser.get(row.user_id);
    if (list) list.push({ id: row.id, name: row.name });
    else byUser.set(row.user_id, [{ id: row.id, name: row.name }]);
  }
  return byUser;
}
