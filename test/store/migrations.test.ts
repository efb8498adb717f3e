import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { openPostgres, type Database } from '../../src/store/database.ts';
import { MIGRATIONS, migrateToLatest } from '../../src/store/migrate.ts';
import { freshSchema } from '../helpers/postgres.ts';
import { forEachDialect, pgSkip } from './dialects.ts';

const NAMES = Object.keys(MIGRATIONS);
const SORTED = [...NAMES].sort();

const COLUMNS: Record<string, string[]> = {
  users: ['id', 'email', 'first_name', 'last_name', 'search_text', 'password_hash', 'password_temporary', 'password_set_at', 'token_version', 'created_at', 'updated_at', 'enabled', 'external_id', 'user_name'],
  user_roles: ['user_id', 'role'],
  api_keys: ['id', 'prefix', 'secret_hash', 'roles', 'description', 'is_active', 'created_at', 'deactivated_at', 'expires_at', 'last_used_at', 'expiry_recorded_at'],
  gatehouse_meta: ['key', 'value'],
  refresh_tokens: ['id', 'token_hash', 'family_id', 'user_id', 'token_version', 'created_at', 'expires_at', 'used_at', 'revoked_at'],
  signing_keys: ['kid', 'alg', 'public_jwk', 'private_jwk', 'created_at', 'retired_at'],
  login_failures: ['username', 'failures', 'window_started_at', 'locked_until'],
  oauth_clients: ['client_id', 'client_name', 'secret_hash', 'auth_method', 'redirect_uris', 'post_logout_redirect_uris', 'grant_types', 'created_at', 'updated_at'],
  login_sessions: ['id', 'user_id', 'cookie_hash', 'token_version', 'auth_time', 'created_at', 'expires_at', 'ended_at', 'last_used_at', 'client_ip', 'user_agent'],
  grants: ['id', 'session_id', 'user_id', 'client_id', 'scope', 'created_at', 'revoked_at'],
  authorization_codes: ['code_hash', 'client_id', 'session_id', 'redirect_uri', 'scope', 'nonce', 'code_challenge', 'created_at', 'expires_at', 'used_at', 'grant_id'],
  login_interactions: ['id', 'browser_hash', 'request', 'user_id', 'created_at', 'expires_at'],
  groups: ['id', 'name', 'description', 'created_at', 'updated_at', 'external_id'],
  group_roles: ['group_id', 'role'],
  group_members: ['group_id', 'user_id', 'added_at'],
  audit_events: ['seq', 'at', 'actor_kind', 'actor_id', 'action', 'target_type', 'target_id', 'outcome', 'request_id', 'client_ip', 'user_agent', 'details', 'prev_hash', 'hash'],
  audit_head: ['id', 'seq', 'hash', 'at', 'anchor_seq', 'anchor_hash'],
};
const TABLES = Object.keys(COLUMNS).sort();
/** Columns that may hold NULL (primary keys aside); every other column is NOT NULL. */
const NULLABLE = ['users.first_name', 'users.last_name', 'api_keys.description', 'api_keys.deactivated_at', 'refresh_tokens.used_at', 'refresh_tokens.revoked_at', 'signing_keys.retired_at', 'login_failures.locked_until',
  'oauth_clients.client_name', 'oauth_clients.secret_hash', 'login_sessions.cookie_hash', 'login_sessions.ended_at', 'grants.client_id', 'grants.revoked_at',
  'authorization_codes.nonce', 'authorization_codes.code_challenge', 'authorization_codes.used_at', 'authorization_codes.grant_id', 'login_interactions.user_id',
  'api_keys.expires_at', 'api_keys.last_used_at', 'login_sessions.last_used_at', 'login_sessions.client_ip', 'login_sessions.user_agent', 'groups.description',
  'api_keys.expiry_recorded_at', 'audit_events.actor_id', 'audit_events.target_type', 'audit_events.target_id', 'audit_events.request_id', 'audit_events.client_ip', 'audit_events.user_agent',
  'users.external_id', 'groups.external_id', 'users.user_name'];
/** Single-table UNIQUE constraints (not primary keys), as column lists. */
const UNIQUE: Record<string, string[][]> = { users: [['email']], api_keys: [['secret_hash']], refresh_tokens: [['token_hash']], login_sessions: [['cookie_hash']], groups: [['name']] };

interface Column {
  name: string;
  nullable: boolean;
}

/** What the database's own catalogue says: sqlite_master and pragmas on SQLite, information_schema/pg_indexes on PostgreSQL. */
function catalogue(database: Database) {
  const db = database.db as Kysely<any>;
  const q = async <T>(query: RawBuilder<T>): Promise<T[]> => (await query.execute(db)).rows;
  const schema = database.schema ?? 'public';
  if (database.dialect === 'sqlite') {
    return {
      tables: async () => (await q<{ name: string }>(sql`select name from sqlite_master where type = 'table' and name not like 'sqlite%'`)).map((r) => r.name).sort(),
      columns: async (t: string): Promise<Column[]> =>
        // A SQLite primary key is reported as nullable (notnull = 0) unless declared NOT NULL; count it as not null.
        (await q<{ name: string; nn: number; pk: number }>(sql`select name, "notnull" as nn, pk from pragma_table_info(${t}) order by cid`)).map((r) => ({ name: r.name, nullable: r.nn === 0 && r.pk === 0 })),
      uniques: async (t: string) => {
        const idx = await q<{ name: string }>(sql`select name from pragma_index_list(${t}) where "unique" = 1 and origin = 'u' order by name`);
        return Promise.all(idx.map(async (i) => (await q<{ name: string }>(sql`select name from pragma_index_info(${i.name}) order by seqno`)).map((r) => r.name)));
      },
      index: async (t: string, name: string) => {
        const [row] = await q<{ unique: number }>(sql`select "unique" from pragma_index_list(${t}) where name = ${name}`);
        if (!row) return undefined;
        const cols = await q<{ name: string }>(sql`select name from pragma_index_info(${name}) order by seqno`);
        return { unique: row.unique === 1, columns: cols.map((c) => c.name) };
      },
    };
  }
  return {
    tables: async () => (await q<{ name: string }>(sql`select table_name as name from information_schema.tables where table_schema = ${schema} and table_type = 'BASE TABLE'`)).map((r) => r.name).sort(),
    columns: async (t: string): Promise<Column[]> =>
      (await q<{ name: string; is_nullable: string }>(sql`select column_name as name, is_nullable from information_schema.columns where table_schema = ${schema} and table_name = ${t} order by ordinal_position`)).map((r) => ({ name: r.name, nullable: r.is_nullable === 'YES' })),
    uniques: async (t: string) => {
      const rows = await q<{ constraint_name: string; column_name: string }>(sql`
        select tc.constraint_name, kcu.column_name from information_schema.table_constraints tc
        join information_schema.key_column_usage kcu
          on kcu.constraint_schema = tc.constraint_schema and kcu.constraint_name = tc.constraint_name and kcu.table_name = tc.table_name
        where tc.table_schema = ${schema} and tc.table_name = ${t} and tc.constraint_type = 'UNIQUE'
        order by tc.constraint_name, kcu.ordinal_position`);
      const byName = new Map<string, string[]>();
      for (const r of rows) byName.set(r.constraint_name, [...(byName.get(r.constraint_name) ?? []), r.column_name]);
      return [...byName.values()];
    },
    index: async (t: string, name: string) => {
      const [row] = await q<{ indexdef: string }>(sql`select indexdef from pg_indexes where schemaname = ${schema} and tablename = ${t} and indexname = ${name}`);
      if (!row) return undefined;
      const cols = /\(([^()]*)\)$/.exec(row.indexdef)?.[1] ?? '';
      return { unique: /^CREATE UNIQUE/i.test(row.indexdef), columns: cols.split(',').map((c) => c.trim()) };
    },
  };
}

/** Migration names recorded as applied, in the order it applied them. */
async function applied(database: Database): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from gatehouse_migrations order by applied_at, name`.execute(database.db);
  return rows.map((r) => r.name);
}

// Search index tables, checked in the search-index test: FTS5 keeps its index in shadow tables named after the
// virtual table (SQLite); PostgreSQL's count index keeps users' words in two tables.
const SEARCH_TABLES = ['search_words', 'user_search_words'];
const appTables = (tables: string[]) =>
  tables.filter((t) => t !== 'gatehouse_migrations' && !t.startsWith('users_search') && !SEARCH_TABLES.includes(t));

/**
 * Both dialects key a search index by an integer `users.seq`: SQLite's FTS5 index since the search migration
 * (before `enabled`), PostgreSQL's word index since the search-words migration (before `external_id`; always filled).
 */
const columnsOf = (dialect: string, table: string) => {
  const columns = [...COLUMNS[table]!];
  if (dialect === 'sqlite' && table === 'users') columns.splice(columns.indexOf('enabled'), 0, 'seq');
  if (dialect === 'postgres' && table === 'users') columns.splice(columns.indexOf('external_id'), 0, 'seq');
  return columns;
};
const nullableFor = (dialect: string) => [...NULLABLE, ...(dialect === 'sqlite' ? ['users.seq'] : [])];

test('migration names are timestamp-like and listed in sorted order', () => {
  assert.ok(NAMES.length >= 2);
  for (const name of NAMES) {
    assert.match(name, /^\d{4}-\d{2}-\d{2}T\d{4}-[a-z0-9]+(-[a-z0-9]+)*$/);
    assert.ok(!Number.isNaN(Date.parse(`${name.slice(0, 13)}:${name.slice(13, 15)}Z`)), `${name} starts with a real timestamp`);
  }
  assert.deepEqual(NAMES, SORTED);
  assert.equal(new Set(NAMES).size, NAMES.length);
});

forEachDialect(
  'migrations from an empty database',
  (h) => {
    test('an empty database migrates from zero, every migration once, in name order', async () => {
      assert.deepEqual(appTables(await catalogue(h.database).tables()), []);
      const results = await migrateToLatest(h.db, h.database.dialect, h.database.schema);
      assert.deepEqual(
        results.map((r) => [r.migrationName, r.direction, r.status]),
        SORTED.map((n) => [n, 'Up', 'Success']),
      );
      assert.deepEqual(await applied(h.database), SORTED);
    });

    test('the tables exist with their columns and nullability', async () => {
      const cat = catalogue(h.database);
      assert.deepEqual(appTables(await cat.tables()), TABLES);
      const nullable: string[] = [];
      for (const table of TABLES) {
        const columns = await cat.columns(table);
        assert.deepEqual(columns.map((c) => c.name), columnsOf(h.dialect, table), `columns of ${table}`);
        nullable.push(...columns.filter((c) => c.nullable).map((c) => `${table}.${c.name}`));
      }
      assert.deepEqual(nullable.sort(), nullableFor(h.dialect).sort());
    });

    test('users.email, api_keys.secret_hash and refresh_tokens.token_hash are unique, nothing else is', async () => {
      const cat = catalogue(h.database);
      for (const table of TABLES) assert.deepEqual(await cat.uniques(table), UNIQUE[table] ?? [], `unique constraints of ${table}`);
    });

    test('users_created_at_id indexes users on (created_at, id)', async () => {
      assert.deepEqual(await catalogue(h.database).index('users', 'users_created_at_id'), { unique: false, columns: ['created_at', 'id'] });
    });

    test('the substring-search index exists: FTS5 trigram on SQLite, pg_trgm GIN on PostgreSQL', async () => {
      const db = h.db as Kysely<any>;
      if (h.dialect === 'sqlite') {
        const { rows } = await sql<{ sql: string }>`select sql from sqlite_master where name = 'users_search'`.execute(db);
        assert.match(rows[0]?.sql ?? '', /using fts5\(\s*search_text,.*tokenize='trigram'/is);
        assert.deepEqual(await catalogue(h.database).index('users', 'users_seq'), { unique: true, columns: ['seq'] });
      } else {
        const { rows } = await sql<{ indexdef: string }>`select indexdef from pg_indexes
          where schemaname = ${h.database.schema} and indexname = 'users_search_trgm'`.execute(db);
        assert.match(rows[0]?.indexdef ?? '', /USING gin \(search_text (public\.)?gin_trgm_ops\)/);
        const defs = async (table: string) =>
          (await sql<{ indexdef: string }>`select indexdef from pg_indexes where schemaname = ${h.database.schema} and tablename = ${table}`.execute(db)).rows.map((r) => r.indexdef);
        // Counting scans (word, user_seq) index-only; words are looked up by trigram.
        assert.ok((await defs('user_search_words')).some((d) => /UNIQUE INDEX .* USING btree \(word, user_seq\)/.test(d)));
        assert.ok((await defs('search_words')).some((d) => /USING gin \(word (public\.)?gin_trgm_ops\)/.test(d)));
      }
    });

    test('migrating again is a no-op', async () => {
      const cat = catalogue(h.database);
      const tables = await cat.tables();
      const columns = await Promise.all(TABLES.map((t) => cat.columns(t)));
      assert.deepEqual(await migrateToLatest(h.db, h.database.dialect, h.database.schema), []);
      assert.deepEqual(await applied(h.database), SORTED);
      assert.deepEqual(await cat.tables(), tables);
      assert.deepEqual(await Promise.all(TABLES.map((t) => cat.columns(t))), columns);
    });
  },
  { migrate: false },
);

describe('concurrent migration [postgres]', { skip: pgSkip }, () => {
  test('two pools migrating one fresh schema at once both succeed and apply each migration exactly once', async () => {
    for (let round = 0; round < 3; round += 1) {
      const schema = await freshSchema();
      const pools: Database[] = [];
      try {
        pools.push(openPostgres(schema.url, { poolSize: 2 }), openPostgres(schema.url, { poolSize: 2 }));
        const outcomes = await Promise.allSettled(pools.map((p) => migrateToLatest(p.db, p.dialect, p.schema)));
        const results = outcomes.map((o) => {
          assert.equal(o.status, 'fulfilled', o.status === 'rejected' ? String(o.reason) : '');
          return o.status === 'fulfilled' ? o.value : [];
        });
        const all = results.flat();
        assert.ok(all.every((r) => r.status === 'Success' && r.direction === 'Up'));
        assert.deepEqual(all.map((r) => r.migrationName).sort(), SORTED);
        for (const p of pools) assert.deepEqual(await applied(p), SORTED);
        assert.deepEqual(appTables(await catalogue(pools[0]!).tables()), TABLES);
      } finally {
        await Promise.all(pools.map((p) => p.close()));
        await schema.drop();
      }
    }
  });
});
