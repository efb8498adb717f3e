import { after, before, describe } from 'node:test';
import type { Kysely } from 'kysely';
import { openPostgres, openSqlite, type Database, type Dialect } from '../../src/store/database.ts';
import { MIGRATION_TABLE, MIGRATIONS, migrateToLatest } from '../../src/store/migrate.ts';
import type { Schema } from '../../src/store/schema.ts';
import { freshSchema, postgresSkipReason } from '../helpers/postgres.ts';

/**
 * The storage contract runs on every dialect: `forEachDialect` registers one describe block per dialect, each on
 * its own fresh database (in-memory SQLite, or a new PostgreSQL schema dropped afterwards). Without PostgreSQL the
 * postgres blocks are skipped, loudly (postgresSkipReason prints why).
 */
export const DIALECTS = ['sqlite', 'postgres'] as const satisfies readonly Dialect[];

/** Why the PostgreSQL blocks cannot run here, or false when they can. */
export const pgSkip: string | false = await postgresSkipReason();

export function skipFor(dialect: Dialect): string | false {
  return dialect === 'postgres' ? pgSkip : false;
}

export interface Opened {
  database: Database;
  /** Closes the database and, on PostgreSQL, drops its schema. */
  dispose(): Promise<void>;
}

/** A new, empty (unmigrated) database of `dialect`. */
export async function openEmpty(dialect: Dialect, poolSize = 5): Promise<Opened> {
  if (dialect === 'sqlite') {
    const database = openSqlite(':memory:');
    return { database, dispose: () => database.close() };
  }
  const schema = await freshSchema();
  let database: Database;
  try {
    database = openPostgres(schema.url, { poolSize });
  } catch (err) {
    await schema.drop();
    throw err;
  }
  return {
    database,
    async dispose() {
      try {
        await database.close();
      } finally {
        await schema.drop();
      }
    },
  };
}

/** The database of the block under test; only usable inside tests and hooks (it opens in before()). */
export interface DialectHandle {
  readonly dialect: Dialect;
  readonly database: Database;
  readonly db: Kysely<Schema>;
}

export function forEachDialect(title: string, body: (h: DialectHandle) => void, opts: { migrate?: boolean } = {}): void {
  const migrate = opts.migrate ?? true;
  for (const dialect of DIALECTS) {
    describe(`${title} [${dialect}]`, { skip: skipFor(dialect) }, () => {
      let opened: Opened | undefined;
      const current = (): Database => {
        if (!opened) throw new Error(`${dialect} database used outside a test or hook`);
        return opened.database;
      };
      before(async () => {
        opened = await openEmpty(dialect);
        if (migrate) await migrateToLatest(opened.database.db, opened.database.dialect, opened.database.schema);
      });
      after(async () => {
        await opened?.dispose();
        opened = undefined;
      });
      body({
        dialect,
        get database() {
          return current();
        },
        get db() {
          return current().db;
        },
      });
    });
  }
}

/** Applies the migrations up to and including `last`, the way migrateToLatest does: one transaction, recorded. */
export async function migrateUpTo(database: Database, last: string): Promise<void> {
  await (database.db as Kysely<any>).transaction().execute(async (trx) => {
    await trx.schema.createTable(MIGRATION_TABLE).ifNotExists().addColumn('name', 'text', (c) => c.primaryKey()).addColumn('applied_at', 'bigint', (c) => c.notNull()).execute();
    for (const name of Object.keys(MIGRATIONS).sort().filter((n) => n <= last)) {
      await MIGRATIONS[name]!.up(trx, database.dialect);
      await trx.insertInto(MIGRATION_TABLE).values({ name, applied_at: Date.now() }).execute();
    }
  });
}
