import { Migrator, type Kysely, type Migration, type MigrationResult } from 'kysely';
import * as initial from './migrations/2026-11-28T1300-initial.ts';
import * as login from './migrations/2026-11-28T1400-login.ts';

/**
 * Every migration, by name. Names are timestamps so lexical order is apply order; listing them here (rather than
 * reading a folder) keeps migrations working the same under tsx, a bundle or a compiled build.
 */
export const MIGRATIONS: Record<string, Migration> = {
  '2026-11-28T1300-initial': initial,
  '2026-11-28T1400-login': login,
};

export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResult[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => MIGRATIONS } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return results ?? [];
}
