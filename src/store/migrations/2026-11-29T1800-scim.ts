import type { Kysely } from 'kysely';

/**
 * Frozen: once landed, never edited. SCIM provisioning: the identity provider's own id (`externalId`) of users and
 * groups, indexed, since providers look resources up by it (`filter=externalId eq "…"`).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('external_id', 'text').execute();
  await db.schema.createIndex('users_external_id').on('users').column('external_id').execute();
  await db.schema.alterTable('groups').addColumn('external_id', 'text').execute();
  await db.schema.createIndex('groups_external_id').on('groups').column('external_id').execute();
}
