import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { UserFilters, UserSearch } from '../domain/ports.ts';
import type { Dialect } from './database.ts';
import type { Schema } from './schema.ts';
import { USER_COLUMNS, type UserRow } from './user-columns.ts';
import { isSingleWord, searchWords } from './search-words.ts';

/**
 * Substring search over users (CONTRACT.md §3.4) with an index, per dialect. Every term must occur literally in
 * `search_text` (lower-cased email, first and last name, newline-separated); results follow (created_at, id).
 *
 * A trigram index (SQLite FTS5 `trigram`, PostgreSQL `pg_trgm` GIN) finds the rows containing a term of 3+
 * characters fast when there are few of them, but a term matching a large share of users (a popular surname, a
 * mail domain) makes it gather every match before anything can be ordered. Walking the (created_at, id) index and
 * stopping once a page is full is the reverse: instant for common terms, a long read for rare ones. So each query
 * chooses. On SQLite it first counts its matches in the index, up to a cap (GATHER_CAP): below the cap it gathers
 * and sorts them; at the cap the term is common enough that the walk fills a page after a short read. On PostgreSQL
 * the query planner makes the same choice from its statistics.
 *
 * Terms of 1–2 characters cannot be served by any trigram index: with no longer term beside them, the query walks
 * the creation order and stops at the end of the page (bounded by the page for common terms, a full read for a
 * rare one).
 *
 * The trigram index is only a prefilter: every term is re-checked with a literal `instr`/`strpos`, so `%`, `_`, `*`,
 * quotes and backslashes never act as wildcards or syntax.
 */
export const GATHER_CAP = 2000;

export interface UserSearchOptions {
  /** SQLite: matches counted before a term counts as common (tests shrink it to exercise both strategies). */
  gatherCap?: number;
  /** Holders of a filtered role counted before it counts as common and is probed per user (tests shrink it). */
  roleGatherCap?: number;
}

const COLUMNS = sql.join(USER_COLUMNS.map((c) => sql.ref(`users.${c}`)));

export type UserRowOut = UserRow;

/**
 * How a role filter is answered, chosen per query as search chooses for terms: `gather` reads the role's holders
 * once (cheap when they are few: a rare role would otherwise make the walk read the whole table), `probe` looks each
 * walked user up (cheap when holders are many: the page fills at once, where gathering 100,000 holders costs ~100 ms).
 */
type RoleMode = 'gather' | 'probe';

/** Holders of a role counted up to this many: fewer, and gathering them is cheaper than probing the walk. */
export const ROLE_GATHER_CAP = 2000;

/**
 * The optional filters of GET /users as conditions on `users`: a role held directly or through a group, membership
 * of a group, enabled or not.
 */
function filterConditions(filters: UserFilters | undefined, roleMode: RoleMode = 'gather'): RawBuilder<unknown>[] {
  const out: RawBuilder<unknown>[] = [];
  if (!filters) return out;
  const role = filters.role;
  if (role !== undefined && roleMode === 'gather') {
    out.push(sql`users.id in (select user_id from user_roles where role = ${role}
      union select gm.user_id from group_members gm join group_roles gr on gr.group_id = gm.group_id where gr.role = ${role})`);
  } else if (role !== undefined) {
    // Correlated on purpose: PostgreSQL would turn an uncorrelated form (or EXISTS) into a hash of every holder.
    out.push(sql`(users.id in (select r.user_id from user_roles r where r.user_id = users.id and r.role = ${role})
      or users.id in (select gm.user_id from group_members gm join group_roles gr on gr.group_id = gm.group_id
                      where gm.user_id = users.id and gr.role = ${role}))`);
  }
  if (filters.groupId !== undefined) {
    out.push(sql`exists (select 1 from group_members gm where gm.group_id = ${filters.groupId} and gm.user_id = users.id)`);
  }
  if (filters.enabled !== undefined) out.push(sql`users.enabled = ${filters.enabled ? 1 : 0}`);
  return out;
}

const and = (parts: RawBuilder<unknown>[]) => sql.join(parts, sql` and `);

/** LIKE pattern for a literal substring: `\`, `%` and `_` escaped with PostgreSQL's default escape character. */
function likeContaining(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** An FTS5 query requiring each term as a phrase; quotes inside a term are doubled, so nothing is syntax. */
function ftsQuery(terms: string[]): string {
  return terms.map((t) => `"${t.replace(/"/g, '""')}"`).join(' AND ');
}

const STATS_TTL_MS = 10 * 60_000;
const STATS_MAX_ENTRIES = 100_000;

/** The distinct 3-character windows of a term, as FTS5's trigram tokenizer cuts them (by code point). */
function trigramsOf(term: string): string[] {
  const chars = [...term];
  return chars.length < 3 ? [] : chars.slice(0, -2).map((_, i) => chars.slice(i, i + 3).join(''));
}

const pgLike = (term: string) => sql`users.search_text like ${likeContaining(term)}`;

export function createUserSearch(db: Kysely<Schema>, dialect: Dialect, options: UserSearchOptions = {}) {
  const cap = options.gatherCap ?? GATHER_CAP;
  const roleCap = options.roleGatherCap ?? ROLE_GATHER_CAP;
  const contains = (term: string) =>
    dialect === 'sqlite' ? sql`instr(users.search_text, ${term}) > 0` : sql`strpos(users.search_text, ${term}) > 0`;

  /** Every term re-checked literally, and every filter. */
  const exact = (q: Pick<UserSearch, 'terms' | 'filters'>, roleMode: RoleMode = 'gather') => [
    ...q.terms.map(contains),
    ...filterConditions(q.filters, roleMode),
  ];

  /** Whether a page of users walked in creation order should probe the role filter per user (many holders). */
  async function roleModeFor(filters: UserFilters | undefined): Promise<RoleMode> {
    if (filters?.role === undefined) return 'gather';
    const { rows } = await sql<{ n: number | string }>`select count(*) as n from (select user_id from user_roles where role = ${filters.role}
      union all select gm.user_id from group_members gm join group_roles gr on gr.group_id = gm.group_id where gr.role = ${filters.role}
      limit ${roleCap}) holders`.execute(db);
    return Number(rows[0]?.n ?? 0) >= roleCap ? 'probe' : 'gather';
  }

  function walk(q: UserSearch, roleMode: RoleMode) {
    const { sort, limit, offset } = q;
    const dir = sql.raw(sort);
    const conditions = exact(q, roleMode);
    const where = conditions.length > 0 ? sql`where ${and(conditions)}` : sql``;
    return sql<UserRowOut>`select ${COLUMNS} from users ${where}
      order by users.created_at ${dir}, users.id ${dir} limit ${limit} offset ${offset}`.execute(db);
  }

  const trigramDocs = new Map<string, { docs: number; at: number }>();

  /**
   * How many users contain a trigram (SQLite: from the FTS5 vocabulary), remembered for a while: it only steers
   * which trigrams to look up first, so an approximate, slightly old count is fine. Reading it costs a walk of that
   * trigram's list, once per process per STATS_TTL_MS.
   */
  async function docsWith(trigram: string): Promise<number> {
    const now = Date.now();
    const known = trigramDocs.get(trigram);
    if (known && now - known.at < STATS_TTL_MS) return known.docs;
    const { rows } = await sql<{ doc: number }>`select doc from users_search_vocab where term = ${trigram}`.execute(db);
    const docs = Number(rows[0]?.doc ?? 0);
    if (trigramDocs.size >= STATS_MAX_ENTRIES) trigramDocs.clear();
    trigramDocs.set(trigram, { docs, at: now });
    return docs;
  }

  /**
   * Index lookups that each select a superset of the matching users, cheapest first.
   *
   * SQLite: a phrase query for a long term reads the lists of ALL its trigrams, and names are made of common
   * trigrams ("ber", "son", "ill"), so a rare 12-letter term would read tens of thousands of entries. The two
   * rarest trigrams alone narrow the candidates almost as well for a fraction of the reading; the literal re-check
   * removes the rest. Should they still leave the cap's worth of candidates, the exact phrases come next.
   */
  async function lookups(long: string[]): Promise<{ count(): Promise<number>; where: RawBuilder<unknown> }[]> {
    const fts = (query: string) => ({
      where: sql`users.seq in (select rowid from users_search where users_search match ${query})`,
      count: async () =>
        Number((await sql<{ n: number }>`select count(*) as n from
          (select rowid from users_search where users_search match ${query} limit ${cap})`.execute(db)).rows[0]?.n ?? 0),
    });
    const grams = [...new Set(long.flatMap(trigramsOf))];
    const docs = await Promise.all(grams.map(docsWith));
    const rarest = grams.map((g, i) => ({ g, n: docs[i]! })).sort((a, b) => a.n - b.n).slice(0, 2).map((x) => x.g);
    const exact = ftsQuery(long);
    const narrowed = ftsQuery(rarest);
    return narrowed === exact ? [fts(exact)] : [fts(narrowed), fts(exact)];
  }

  /** Every match by way of the trigram index, then ordered: cheap because there are fewer than the cap. */
  function gather(q: UserSearch, candidates: RawBuilder<unknown>) {
    const dir = sql.raw(q.sort);
    return sql<UserRowOut>`with m as (select ${COLUMNS} from users where ${candidates} and ${and(exact(q))})
      select * from m order by created_at ${dir}, id ${dir} limit ${q.limit} offset ${q.offset}`.execute(db);
  }

  /**
   * PostgreSQL makes the gather-or-walk choice itself: its planner estimates how many rows the LIKE keeps (from the
   * column's statistics) and picks the trigram bitmap scan plus a sort for rare terms, or the backward walk of the
   * (created_at, id) index for common ones — the same choice as SQLite's explicit probe, without a probe query.
   */
  function postgresSearch(q: UserSearch, long: string[], roleMode: RoleMode) {
    const dir = sql.raw(q.sort);
    return sql<UserRowOut>`select ${COLUMNS} from users where ${and(long.map(pgLike))} and ${and(exact(q, roleMode))}
      order by users.created_at ${dir}, users.id ${dir} limit ${q.limit} offset ${q.offset}`.execute(db);
  }

  /** PostgreSQL: records a user's words (their row is written, `seq` assigned), in the caller's transaction. */
  async function addWords(trx: Kysely<Schema>, userId: string): Promise<void> {
    const { rows } = await sql<{ seq: string; search_text: string }>`select seq, search_text from users where id = ${userId}`.execute(trx);
    const row = rows[0];
    if (!row) return;
    const words = searchWords(row.search_text);
    if (words.length === 0) return;
    // New words first, in sorted order (see searchWords): concurrent writers of the same new word queue, never deadlock.
    await sql`insert into search_words (word) select unnest(${words}::text[]) on conflict do nothing`.execute(trx);
    await sql`insert into user_search_words (word, user_seq) select unnest(${words}::text[]), ${row.seq}::bigint`.execute(trx);
  }

  /** PostgreSQL: forgets a user's words, before their row is deleted or their searchable text changes. */
  async function removeWords(trx: Kysely<Schema>, userId: string): Promise<void> {
    const { rows } = await sql<{ seq: string; search_text: string }>`select seq, search_text from users where id = ${userId}`.execute(trx);
    const row = rows[0];
    if (!row) return;
    await sql`delete from user_search_words where word = any(${searchWords(row.search_text)}::text[]) and user_seq = ${row.seq}::bigint`.execute(trx);
  }

  /**
   * PostgreSQL: how many users contain every term, for terms that are single words. A pg_trgm count must visit each
   * matching row (a trigram match is only a candidate, and PostgreSQL has no index-only GIN scan): ~80,000 page
   * visits for a common surname at 1M users. Here each term first finds the words containing it in the small
   * dictionary, then the users holding those words come from an index-only scan of (word, user_seq). One word
   * needs no de-duplication, as a user holds a word once.
   */
  async function countByWords(terms: string[]): Promise<number> {
    const wordSets: string[][] = [];
    for (const term of terms) {
      const { rows } = await sql<{ word: string }>`select word from search_words where word like ${likeContaining(term)}`.execute(db);
      if (rows.length === 0) return 0;
      wordSets.push(rows.map((r) => r.word));
    }
    const holders = (words: string[]) =>
      words.length === 1
        ? sql`select user_seq from user_search_words where word = ${words[0]}`
        : sql`select user_seq from user_search_words where word = any(${words}::text[])`;
    let query;
    if (wordSets.length === 1 && wordSets[0]!.length === 1) {
      query = sql<{ n: string }>`select count(*) as n from user_search_words where word = ${wordSets[0]![0]}`;
    } else if (wordSets.length === 1) {
      query = sql<{ n: string }>`select count(distinct user_seq) as n from user_search_words where word = any(${wordSets[0]}::text[])`;
    } else {
      query = sql<{ n: string }>`select count(*) as n from (${sql.join(wordSets.map(holders), sql` intersect `)}) matched`;
    }
    return Number((await query.execute(db)).rows[0]?.n ?? 0);
  }

  return {
    async search(q: UserSearch): Promise<UserRowOut[]> {
      const long = q.terms.filter((t) => [...t].length >= 3);
      const roleMode = await roleModeFor(q.filters);
      if (long.length > 0 && dialect === 'postgres') return (await postgresSearch(q, long, roleMode)).rows;
      if (long.length > 0) {
        for (const lookup of await lookups(long)) {
          if ((await lookup.count()) < cap) return (await gather(q, lookup.where)).rows;
        }
      }
      return (await walk(q, roleMode)).rows;
    },

    /** Adds a just-inserted user to the index, in the caller's transaction. */
    async index(trx: Kysely<Schema>, userId: string): Promise<void> {
      if (dialect !== 'sqlite') return addWords(trx, userId); // the GIN index follows the row by itself
      // `seq` only keys the FTS index (its rowid must be an integer); max + 1 is race-free here because SQLite has
      // one writer at a time and this runs inside its transaction.
      await sql`update users set seq = (select coalesce(max(seq), 0) + 1 from users) where id = ${userId}`.execute(trx);
      await sql`insert into users_search (rowid, search_text) select seq, search_text from users where id = ${userId}`.execute(trx);
    },

    /** How many users match: by the trigram index where a term allows, else a scan bounded by the filters. */
    async count(q: Pick<UserSearch, 'terms' | 'filters'>): Promise<number> {
      const long = q.terms.filter((t) => [...t].length >= 3);
      const filtered = filterConditions(q.filters).length > 0;
      if (dialect === 'sqlite' && long.length > 0 && long.length === q.terms.length && !filtered) {
        // A trigram phrase matches exactly the texts that contain the term (search_text is lower-cased and no term
        // spans two fields), so the index's own count is the answer: no row of users is read.
        const { rows } = await sql<{ n: number }>`select count(*) as n from users_search where users_search match ${ftsQuery(long)}`.execute(db);
        return Number(rows[0]?.n ?? 0);
      }
      if (dialect === 'postgres' && long.length > 0 && long.length === q.terms.length && !filtered && long.every(isSingleWord)) {
        return countByWords(long);
      }
      const conditions = exact(q);
      let candidates: RawBuilder<unknown> | undefined;
      if (long.length > 0) {
        candidates = dialect === 'postgres' ? and(long.map(pgLike)) : sql`users.seq in (select rowid from users_search where users_search match ${ftsQuery(long)})`;
      }
      const all = candidates ? [candidates, ...conditions] : conditions;
      const where = all.length > 0 ? sql`where ${and(all)}` : sql``;
      const { rows } = await sql<{ n: number | string }>`select count(*) as n from users ${where}`.execute(db);
      return Number(rows[0]?.n ?? 0);
    },

    /** Indexes a user again after their searchable text changed (after `unindex`, in the caller's transaction). */
    async reindex(trx: Kysely<Schema>, userId: string): Promise<void> {
      if (dialect !== 'sqlite') return addWords(trx, userId);
      await sql`insert into users_search (rowid, search_text) select seq, search_text from users where id = ${userId}`.execute(trx);
    },

    /** Removes a user about to be deleted from the index, in the caller's transaction. */
    async unindex(trx: Kysely<Schema>, userId: string): Promise<void> {
      if (dialect !== 'sqlite') return removeWords(trx, userId);
      await sql`delete from users_search where rowid = (select seq from users where id = ${userId})`.execute(trx);
    },
  };
}
