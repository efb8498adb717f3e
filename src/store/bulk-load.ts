import SQLite from 'better-sqlite3';
import pg from 'pg';
import { searchText } from './user-store.ts';
import { postgresConfig, sqlitePath } from './database.ts';
import { WORD_SEPARATORS_SQL } from './search-words.ts';

/**
 * Loading many users at once, for benchmarks (`npm run seed`). It bypasses the repositories on purpose: one
 * prepared statement in large transactions on SQLite, array-valued multi-row inserts on PostgreSQL, with the
 * trigram index rebuilt once at the end rather than updated row by row. The rows and indexes it leaves are exactly
 * what the repositories would have written.
 */
export interface BulkUser {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  passwordHash: string;
  roles: string[];
  createdAt: number;
}

export interface BulkTarget {
  /** Users whose email does not end with `suffix`. */
  countOthers(suffix: string): Promise<number>;
  countWithSuffix(suffix: string): Promise<number>;
  /** Inserts `count` users made by `make(i)` for i in [0, count), reporting progress now and then. */
  load(count: number, make: (i: number) => BulkUser, progress: (done: number) => void): Promise<void>;
  close(): Promise<void>;
}

const BATCH = 10_000;

function sqliteTarget(path: string): BulkTarget {
  const db = new SQLite(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  // Bench data only: skip fsyncs while loading (a crash mid-load just means seeding again).
  db.pragma('synchronous = OFF');
  const count = (where: string, arg: string) => (db.prepare(`select count(*) as n from users where ${where}`).get(arg) as { n: number }).n;
  return {
    countOthers: async (suffix) => count(`email not like '%' || ?`, suffix),
    countWithSuffix: async (suffix) => count(`email like '%' || ?`, suffix),
    async load(total, make, progress) {
      const insertUser = db.prepare(`insert into users (id, email, first_name, last_name, search_text, password_hash,
        password_temporary, password_set_at, token_version, created_at, updated_at, seq) values (?, ?, ?, ?, ?, ?, 0, ?, 0, ?, ?, ?)`);
      const insertRole = db.prepare('insert into user_roles (user_id, role) values (?, ?)');
      const insertIndex = db.prepare('insert into users_search (rowid, search_text) values (?, ?)');
      let seq = (db.prepare('select coalesce(max(seq), 0) as m from users').get() as { m: number }).m;
      const batch = db.transaction((from: number, to: number) => {
        for (let i = from; i < to; i++) {
          const u = make(i);
          const text = searchText(u.email, u.firstName, u.lastName);
          seq += 1;
          insertUser.run(u.id, u.email, u.firstName, u.lastName, text, u.passwordHash, u.createdAt, u.createdAt, u.createdAt, seq);
          for (const role of u.roles) insertRole.run(u.id, role);
          insertIndex.run(seq, text);
        }
      });
      for (let from = 0; from < total; from += BATCH) {
        batch(from, Math.min(total, from + BATCH));
        progress(Math.min(total, from + BATCH));
      }
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.exec('analyze');
    },
    close: async () => void db.close(),
  };
}

function postgresTarget(url: string): BulkTarget {
  const { connectionString, schema } = postgresConfig(url);
  const pool = new pg.Pool({ connectionString, max: 2, ...(schema ? { options: `-c search_path=${schema},public` } : {}) });
  const count = async (where: string, arg: string) =>
    Number((await pool.query(`select count(*)::int as n from users where ${where}`, [arg])).rows[0].n);
  return {
    countOthers: (suffix) => count(`email not like '%' || $1`, suffix),
    countWithSuffix: (suffix) => count(`email like '%' || $1`, suffix),
    async load(total, make, progress) {
      const client = await pool.connect();
      try {
        // Building the trigram index once over all rows is far cheaper than updating it per row.
        const { rows } = await client.query(`select indexdef from pg_indexes where indexname = 'users_search_trgm' and schemaname = current_schema()`);
        const indexdef: string | undefined = rows[0]?.indexdef;
        if (indexdef && total > 20_000) await client.query('drop index users_search_trgm');
        const before = Number((await client.query('select coalesce(max(seq), 0) as m from users')).rows[0].m);
        for (let from = 0; from < total; from += BATCH) {
          const users = Array.from({ length: Math.min(BATCH, total - from) }, (_, k) => make(from + k));
          await client.query('begin');
          await client.query(
            `insert into users (id, email, first_name, last_name, search_text, password_hash, password_temporary,
               password_set_at, token_version, created_at, updated_at)
             select id, email, f, l, s, h, 0, c, 0, c, c
             from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
               as t(id, email, f, l, s, h, c)`,
            [
              users.map((u) => u.id),
              users.map((u) => u.email),
              users.map((u) => u.firstName),
              users.map((u) => u.lastName),
              users.map((u) => searchText(u.email, u.firstName, u.lastName)),
              users.map((u) => u.passwordHash),
              users.map((u) => u.createdAt),
            ],
          );
          const roles = users.flatMap((u) => u.roles.map((r) => [u.id, r] as const));
          await client.query('insert into user_roles (user_id, role) select * from unnest($1::text[], $2::text[])', [
            roles.map((r) => r[0]),
            roles.map((r) => r[1]),
          ]);
          await client.query('commit');
          progress(from + users.length);
        }
        if (indexdef && total > 20_000) await client.query(indexdef);
        // The count index's words, split in SQL at once (the same separators as searchWords); its primary key is
        // rebuilt once afterwards for a large load, like the trigram index.
        await client.query('begin');
        const rebuildKey = total > 20_000;
        if (rebuildKey) await client.query('alter table user_search_words drop constraint user_search_words_pkey');
        await client.query(
          `insert into user_search_words (word, user_seq)
           select distinct w, u.seq from users u, regexp_split_to_table(u.search_text, $1) w where u.seq > $2 and w <> ''`,
          [WORD_SEPARATORS_SQL, before],
        );
        if (rebuildKey) await client.query('alter table user_search_words add primary key (word, user_seq)');
        await client.query(
          `insert into search_words (word) select distinct word from user_search_words w
           where not exists (select 1 from search_words s where s.word = w.word) on conflict do nothing`,
        );
        await client.query('commit');
        // Counts read user_search_words index-only, which needs the visibility map a vacuum sets.
        await client.query('vacuum analyze user_search_words');
        await client.query('analyze search_words');
        await client.query('analyze users');
        await client.query('analyze user_roles');
      } catch (err) {
        await client.query('rollback').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

export function bulkTarget(databaseUrl: string): BulkTarget {
  return databaseUrl.startsWith('sqlite:') ? sqliteTarget(sqlitePath(databaseUrl)) : postgresTarget(databaseUrl);
}
