import { chmodSync, closeSync, existsSync, fchmodSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
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

/** The mode of a database file and directory Gatehouse creates: they hold password hashes and signing keys. */
export const SQLITE_FILE_MODE = 0o600;
export const SQLITE_DIR_MODE = 0o700;

/** Creates the missing directories of `dir`, each owner-only (exactly, whatever the umask); existing ones are left alone. */
function makeDirectory(dir: string): void {
  const first = mkdirSync(dir, { recursive: true, mode: SQLITE_DIR_MODE });
  if (first === undefined) return;
  // mkdir applied the umask: set the mode exactly on every directory this call made, from `dir` up to `first`.
  const top = resolve(first);
  for (let d = resolve(dir); d === top || d.startsWith(top + sep); d = dirname(d)) {
    chmodSync(d, SQLITE_DIR_MODE);
    if (d === top) break;
  }
}

/**
 * Creates the database file, owner-only, unless it exists (O_EXCL: the check and the creation are one step, and a
 * file that exists keeps its mode). True when this call created it. SQLite accepts an empty file as a new database,
 * and creates its -wal and -shm files with the database file's mode.
 */
function createPrivateFile(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', SQLITE_FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    fchmodSync(fd, SQLITE_FILE_MODE); // exactly, whatever the umask
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The permission bits of an existing SQLite file when group or others may read or write it; null otherwise. */
export function looseSqliteFileMode(path: string): number | null {
  if (path === ':memory:' || path === '') return null;
  try {
    const mode = statSync(path).mode & 0o777;
    return mode & 0o066 ? mode : null;
  } catch {
    return null;
  }
}

export function openSqlite(path: string): Database {
  let created = false;
  if (path !== ':memory:' && path !== '') {
    makeDirectory(dirname(path));
    created = createPrivateFile(path);
  }
  const native = new SQLite(path);
  // WAL lets readers run beside the writer; NORMAL sync is durable across process crashes (only an OS crash can
  // lose the last commits); the busy timeout covers a second process (`gatehouse migrate`) briefly holding a lock.
  native.pragma('journal_mode = WAL');
  native.pragma('synchronous = NORMAL');
  native.pragma('foreign_keys = ON');
  native.pragma('busy_timeout = 5000');
  // SQLite's own lower() folds ASCII only; SCIM compares names case-insensitively in every script ("Émile" equals
  // "émile"), as PostgreSQL's lower() does. No index is built on lower(), so replacing it changes no stored data.
  native.function('lower', { deterministic: true }, (value: unknown) => (typeof value === 'string' ? value.toLowerCase() : value) as string | null);
  if (created) {
    // SQLite gives the -wal and -shm files the database file's mode when it creates them; files left behind by an
    // earlier database of the same name are brought into line with the new one.
    for (const suffix of ['-wal', '-shm']) if (existsSync(path + suffix)) chmodSync(path + suffix, SQLITE_FILE_MODE);
  }
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

/** `host:port` of a postgres:// URL, for messages: never its user name or password. */
export function postgresAddress(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'DATABASE_URL';
  }
  const host = parsed.hostname || parsed.searchParams.get('host') || 'localhost';
  return `${host}:${parsed.port || '5432'}`;
}

/** `text` with the password of `url` (as written and decoded) blotted out. */
export function withoutPassword(text: string, url: string | undefined): string {
  if (!url) return text;
  let password = '';
  try {
    password = new URL(url).password;
  } catch {
    return text;
  }
  if (password === '') return text;
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // keep it as written
  }
  return [password, decoded].reduce((out, secret) => out.split(secret).join('***'), text);
}

const CONNECT_FAILURES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  EAI_FAIL: 'host name lookup failed',
  ENOENT: 'no such socket',
};

/**
 * One line naming DATABASE_URL for an error met while connecting to PostgreSQL at start, e.g. "DATABASE_URL: cannot
 * reach the database at 127.0.0.1:1 (connection refused)". Never contains the password.
 */
export function describeConnectError(url: string, err: unknown): string {
  const at = postgresAddress(url);
  const e = err as { code?: unknown; message?: unknown; errors?: unknown } | null;
  // Node reports a failed connection to every address of a name as an AggregateError; its parts carry the codes.
  const first = Array.isArray(e?.errors) ? (e.errors[0] as { code?: unknown } | undefined) : undefined;
  const code = typeof e?.code === 'string' ? e.code : typeof first?.code === 'string' ? first.code : '';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const clean = (text: string) => withoutPassword(text, url).replace(/\s+/g, ' ').trim();
  if (CONNECT_FAILURES[code]) return `DATABASE_URL: cannot reach the database at ${at} (${CONNECT_FAILURES[code]})`;
  if (/timeout|timed out/i.test(message)) return `DATABASE_URL: cannot reach the database at ${at} (timed out)`;
  if (/^Connection terminated/i.test(message)) return `DATABASE_URL: cannot reach the database at ${at} (the connection was closed)`;
  // The server answered but refused: authentication (class 28), no such database (3D000), too many clients, …
  if (code.startsWith('28') || code === '3D000' || code === '53300' || code.startsWith('57P')) {
    return `DATABASE_URL: the database at ${at} refused the connection (${clean(message)})`;
  }
  return `DATABASE_URL: cannot use the database at ${at} (${clean(message) || code || 'unknown error'})`;
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
