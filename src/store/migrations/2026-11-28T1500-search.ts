import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../database.ts';

/**
 * Frozen: once landed, never edited. Indexed substring search over `users.search_text`.
 *
 * SQLite: an FTS5 trigram index, contentless (the text already lives in `users`), keyed by a new integer
 * `users.seq` (an FTS5 rowid must be an integer; users are keyed by text ids).
 * PostgreSQL: a pg_trgm GIN index. The extension is created in `public` (under a lock: creation is not safe
 * to race), so every schema in the database shares it.
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  if (dialect === 'sqlite') {
    await sql`alter table users add column seq integer`.execute(db);
    await sql`
      with ordered as (select id, row_number() over (order by created_at, id) as n from users)
      update users set seq = (select n from ordered where ordered.id = users.id)`.execute(db);
    await sql`create unique index users_seq on users (seq)`.execute(db);
    await sql`
      create virtual table users_search using fts5(
        search_text, content='', contentless_delete=1, tokenize='trigram')`.execute(db);
    await sql`insert into users_search (rowid, search_text) select seq, search_text from users`.execute(db);
    // How many users hold each trigram: search reads it to look up a long term's rarest trigrams first.
    await sql`create virtual table users_search_vocab using fts5vocab(users_search, 'row')`.execute(db);
  } else {
    await sql`select pg_advisory_xact_lock(hashtext('gatehouse.extension.pg_trgm'))`.execute(db);
    await sql`create extension if not exists pg_trgm with schema public`.execute(db);
    await sql`create index users_search_trgm on users using gin (search_text public.gin_trgm_ops)`.execute(db);
  }
}
