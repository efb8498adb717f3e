import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { Schema } from './schema.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  db: Kysely<Schema>;
  dialect: Dialect;
  /** PostgreSQL schema holding the tables (from `?schema=`), or null for the default. */
  schema: string | null;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  /** True for errors that mean "the database cannot be reached right now" (answered 503, not 500). */
  isUnavailable(err: unknown): boolean;
  close(): Promise<void>;
}

async function ping(db: Kysely<Schema>): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}

/** The file path (or `:memory:`) in a `sqlite:` URL: `sqlite:./data/x.db`, `sqlite:///abs/x.db`, `sqlite::memory:`. */
export function sqlitePath(url: string): string {
  const rest = url.slice('sqlite:'.length);
  if (rest === ':memory:') return ':memory:';
  return rest.startsWith('//') ? rest.slice(2) : rest;
}

const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely's SQLite driver prepares every statement anew, and preparing costs more than running a point query.
 * Statements are cached by their SQL text (the parameters vary, not the text); schema changes are safe because
 * better-sqlite3 re-prepares a statement whose schema went stale. A small LRU bounds the dynamically built ones.
 */
function withStatementCache(native: SQLite.Database): SQLite.Database {
  const cache = new Map<string, SQLite.Statement>();
  const prepare = native.prepare.bind(native);
  return new Proxy(native, {
    get(target, property, receiver) {
      if (property !== 'prepare') {
        const value: unknown = Reflect.get(target, property, receiver);
        // Native methods must run on the real object, not the proxy.
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return (source: string) => {
        let statement = cache.get(source);
        if (statement) {
          cache.delete(source); // re-insert: most recently used last
        } else {
          statement = prepare(source);
          if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
        }
        cache.set(source, statement);
        return statement;
      };
    },
  });
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
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: withStatementCache(native) }) });
  return {
    db,
    dialect: 'sqlite',
    schema: null,
    ping: () => ping(db),
    isUnavailable: (err) => {
      const code = (err as { code?: unknown } | null)?.code;
      return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code === 'SQLITE_IOERR' || code === 'SQLITE_CANTOPEN';
    },
    close: () => db.destroy(),
  };
}

export interface PostgresOptions {
  poolSize: number;
}

/**
 * `schema` is ours, not libpq's: `postgres://…/db?schema=name` puts Gatehouse's tables in that schema (tests give
 * each suite its own). Everything else in the URL goes to `pg` unchanged.
 */
export function postgresConfig(url: string): { connectionString: string; schema: string | null } {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema');
  parsed.searchParams.delete('schema');
  if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error('DATABASE_URL schema must be a plain lower-case identifier');
  return { connectionString: parsed.toString(), schema };
}

// Connection-level failures: refused, reset, timed out, server shutting down or not yet accepting (class 08, 57P0x).
const PG_UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN', '57P01', '57P02', '57P03', '53300']);

function pgUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (PG_UNAVAILABLE_CODES.has(code) || code.startsWith('08')) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED/i.test(message);
}

export function openPostgres(url: string, opts: PostgresOptions): Database {
  const { connectionString, schema } = postgresConfig(url);
  const pool = new pg.Pool({
    connectionString,
    max: opts.poolSize,
    // Fail fast when the server is gone, so callers get a 503 in seconds rather than hang.
    connectionTimeoutMillis: 3_000,
    query_timeout: 15_000,
    idleTimeoutMillis: 30_000,
    ...(schema ? { options: `-c search_path=${schema},public` } : {}),
    // BIGINT columns hold epoch milliseconds, well inside the safe-integer range: read them as numbers.
    types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? Number : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser },
  });
  // An idle client losing its connection (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', schema, ping: () => ping(db), isUnavailable: pgUnavailable, close: () => db.destroy() };
}

export function openDatabase(url: string, opts: PostgresOptions = { poolSize: 10 }): Database {
  if (url.startsWith('sqlite:')) return openSqlite(sqlitePath(url));
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgres(url, opts);
  throw new Error(`unsupported DATABASE_URL scheme: ${url.split(':')[0]}`);
}
