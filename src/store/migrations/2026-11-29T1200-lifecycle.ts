import type { Kysely } from 'kysely';

// Frozen: once landed, never edited. User lifecycle: disabled users, groups that carry roles, API key expiry and
// last use, what a session was last used from.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1)).execute();
  // The role filter of GET /users and the permission a group's role grants look users up by role.
  await db.schema.createIndex('user_roles_role').on('user_roles').columns(['role', 'user_id']).execute();

  await db.schema.alterTable('api_keys').addColumn('expires_at', 'bigint').execute();
  await db.schema.alterTable('api_keys').addColumn('last_used_at', 'bigint').execute();

  await db.schema.alterTable('login_sessions').addColumn('last_used_at', 'bigint').execute();
  await db.schema.alterTable('login_sessions').addColumn('client_ip', 'text').execute();
  await db.schema.alterTable('login_sessions').addColumn('user_agent', 'text').execute();

  await db.schema
    .createTable('groups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('group_roles')
    .addColumn('group_id', 'text', (c) => c.notNull().references('groups.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('group_roles_pk', ['group_id', 'role'])
    .execute();
  await db.schema
    .createTable('group_members')
    .addColumn('group_id', 'text', (c) => c.notNull().references('groups.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('added_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'user_id'])
    .execute();
  await db.schema.createIndex('group_members_user').on('group_members').columns(['user_id', 'group_id']).execute();
}
