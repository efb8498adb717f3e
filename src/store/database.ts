import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { Schema } from './schema.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  db: Kysely<Schema>;
  dialect: Dialect;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** The file path (or `:memory:`) in a `sqlite:` URL: `sqlite:./data/x.db`, `sqlite:///abs/x.db`, `sqlite::memory:`. */
export function sqlitePath(url: string): string {
  const rest = url.slice('sqlite:'.length);
  if (rest === ':memory:') return ':memory:';
  return rest.startsWith('//') ? rest.slice(2) : rest;
}

export function openSqlite(path: string): Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const native = new SQLite(path);
  // WAL lets readers run beside the writer; NORMAL sync is durable across process crashes (only an OS crash can
  // lose the last commits); the busy timeout covers a second process (`gatehouse migrate`) briefly holding a lock.
  native.pragma('journal_mode = WAL');
  native.pragma('synchronous = NORMAL');
  native.pragma('foreign_keys = ON');
  native.pragma('busy_timeout = 5000');
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: native }) });
  return {
    db,
    dialect: 'sqlite',
    async ping() {
      try {
        await sql`select 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    close: () => db.destroy(),
  };
}

export function openDatabase(url: string): Database {
  if (url.startsWith('sqlite:')) return openSqlite(sqlitePath(url));
  throw new Error(`unsupported DATABASE_URL scheme: ${url.split(':')[0]}`);
}
