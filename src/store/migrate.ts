import { sql, type Kysely } from 'kysely';
import type { Dialect } from './database.ts';
import * as initial from './migrations/2026-11-28T1300-initial.ts';
import * as login from './migrations/2026-11-28T1400-login.ts';
import * as search from './migrations/2026-11-28T1500-search.ts';
import * as signIn from './migrations/2026-11-29T1000-sign-in.ts';
import * as lifecycle from './migrations/2026-11-29T1200-lifecycle.ts';
import * as searchWords from './migrations/2026-11-29T1400-search-words.ts';
import * as audit from './migrations/2026-11-29T1600-audit.ts';
import * as scim from './migrations/2026-11-29T1800-scim.ts';
import * as scimUserName from './migrations/2026-11-29T2000-scim-user-name.ts';

/** A migration may differ per dialect (indexes especially); most ignore the second argument. */
export interface Migration {
  up(db: Kysely<any>, dialect: Dialect): Promise<void>;
}

/**
 * Every migration, by name. Names are timestamps so lexical order is apply order; listing them here (rather than
 * reading a folder) keeps migrations working the same under tsx, a bundle or a compiled build.
 */
export const MIGRATIONS: Record<string, Migration> = {
  '2026-11-28T1300-initial': initial,
  '2026-11-28T1400-login': login,
  '2026-11-28T1500-search': search,
  '2026-11-29T1000-sign-in': signIn,
  '2026-11-29T1200-lifecycle': lifecycle,
  '2026-11-29T1400-search-words': searchWords,
  '2026-11-29T1600-audit': audit,
  '2026-11-29T1800-scim': scim,
  '2026-11-29T2000-scim-user-name': scimUserName,
};

export const MIGRATION_TABLE = 'gatehouse_migrations';

export interface MigrationResult {
  migrationName: string;
  status: 'Success';
  direction: 'Up';
}

/**
 * Applies pending migrations, all in ONE transaction: on PostgreSQL (where DDL is transactional) a failure leaves
 * the schema exactly as it was. Replicas starting together are serialised by a transaction-scoped advisory lock
 * keyed by the schema, so each migration runs exactly once and different schemas never wait for each other.
 *
 * Why not Kysely's Migrator: it checks for its bookkeeping table by introspecting every table in the database
 * (`pg_get_serial_sequence` over all schemas), which fails when another schema is dropped at the same moment —
 * and its lock is one session lock for the whole server.
 */
export async function migrateToLatest(db: Kysely<any>, dialect: Dialect = 'sqlite', schema: string | null = null): Promise<MigrationResult[]> {
  return db.transaction().execute(async (trx) => {
    if (dialect === 'postgres') {
      await sql`select pg_advisory_xact_lock(hashtext(${`gatehouse.migrate:${schema ?? ''}`}))`.execute(trx);
      if (schema) await sql`create schema if not exists ${sql.id(schema)}`.execute(trx);
    }
    await trx.schema
      .createTable(MIGRATION_TABLE)
      .ifNotExists()
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('applied_at', 'bigint', (c) => c.notNull())
      .execute();
    const applied = new Set((await trx.selectFrom(MIGRATION_TABLE).select('name').execute()).map((r: { name: string }) => r.name));
    const results: MigrationResult[] = [];
    for (const name of Object.keys(MIGRATIONS).sort()) {
      if (applied.has(name)) continue;
      await MIGRATIONS[name]!.up(trx, dialect);
      await trx.insertInto(MIGRATION_TABLE).values({ name, applied_at: Date.now() }).execute();
      results.push({ migrationName: name, status: 'Success', direction: 'Up' });
    }
    return results;
  });
}
