import { sql, type Kysely } from 'kysely';

/**
 * Frozen: once landed, never edited. A SCIM `userName` that is not the user's email (identity providers that
 * provision `jdoe` or an employee number, with the email in `emails`). Null, as for every user made by the API,
 * means "the userName is the email". The unique index is on what SCIM shows as `userName` —
 * `coalesce(user_name, email)` — so one user's userName can be neither another's userName nor another's email, the
 * database decides races, and `filter=userName eq "…"` and `sortBy=userName` use it (both dialects index expressions).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('user_name', 'text').execute();
  await db.schema.createIndex('users_scim_user_name').on('users').unique().expression(sql`coalesce(user_name, email)`).execute();
}
