import { sql, type Kysely, type Transaction } from 'kysely';
import type { AssignableRole } from '../domain/access.ts';
import type { AuditDraft } from '../domain/audit.ts';
import { createAuditWriter, type AuditWriter } from './audit-store.ts';
import type { Database } from './database.ts';
import type { Schema } from './schema.ts';
import { searchWords } from './search-words.ts';
import { createUserSearch } from './user-search.ts';
import { searchText } from './user-store.ts';

/**
 * Writing imported users in bulk (docs/import-export.md). Like `bulk-load.ts` (the seed) it writes multi-row
 * inserts and the search index rows itself, but through the live schema's rules: every user, role, membership and
 * index row an import writes is exactly what the repositories would have written. The whole import is one
 * transaction — a file that turns out malformed half-way leaves nothing behind, and a dry run is the same work
 * rolled back.
 */
export interface ImportRow {
  /** Kept as the source had it (Keycloak's user id stays the `sub` applications stored). */
  id: string;
  email: string;
  firstName: string | null;
  lastName: string | null;
  enabled: boolean;
  createdAt: number;
  passwordHash: string;
  passwordTemporary: boolean;
  roles: AssignableRole[];
}

export interface GroupDefinition {
  roles: AssignableRole[];
  id?: string | undefined;
  description?: string | null | undefined;
}

export interface ExistingUser {
  id: string;
  email: string;
  passwordHash: string;
}

export interface UserImportStore {
  /** The users with these ids, and which of these emails (or SCIM userNames) are taken and by whom. */
  existing(ids: string[], emails: string[]): Promise<{ byId: Map<string, ExistingUser>; emailOwner: Map<string, string> }>;
  insertUsers(rows: ImportRow[], at: number): Promise<void>;
  /** Rewrites a user already stored (`--update`); `passwordHash` undefined keeps theirs. */
  updateUser(row: Omit<ImportRow, 'passwordHash'> & { passwordHash: string | undefined }, at: number): Promise<void>;
  /** The ids of these groups by name, creating the missing ones as `definition` says (roles, and id if given). */
  groupIds(names: string[], definition: (name: string) => GroupDefinition, at: number): Promise<{ ids: Map<string, string>; created: string[] }>;
  addMembers(pairs: { groupId: string; userId: string }[], at: number): Promise<void>;
  audit(events: AuditDraft[]): Promise<void>;
}

/** SQLite page cache during an import (KiB). */
const IMPORT_CACHE_KIB = 128 * 1024;

/** Thrown out of the transaction to roll a dry run back. */
class DryRunRollback extends Error {}

export async function inImportTransaction<T>(
  database: Database,
  opts: { dryRun: boolean; newId: () => string; audit?: AuditWriter },
  work: (store: UserImportStore) => Promise<T>,
): Promise<T> {
  let result: T | undefined;
  // SQLite: a larger page cache for the run (random UUID keys and emails touch index pages all over the B-trees;
  // with the default 2 MiB most inserts would go to disk). Bounded, and given back afterwards.
  const sqlite = database.dialect === 'sqlite';
  const cacheBefore = sqlite ? (await sql<{ cache_size: number }>`pragma cache_size`.execute(database.db)).rows[0]?.cache_size : undefined;
  if (sqlite) await sql`pragma cache_size = ${sql.raw(String(-IMPORT_CACHE_KIB))}`.execute(database.db);
  try {
    await database.db.transaction().execute(async (trx) => {
      result = await work(createStore(trx, database, opts.newId, opts.audit ?? createAuditWriter(database.dialect)));
      if (opts.dryRun) throw new DryRunRollback();
    });
  } catch (err) {
    if (!(err instanceof DryRunRollback)) throw err;
  } finally {
    if (cacheBefore !== undefined) await sql`pragma cache_size = ${sql.raw(String(Number(cacheBefore)))}`.execute(database.db);
  }
  return result as T;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// Rows per insert statement: 11 parameters a user stays well under SQLite's 32,766 and PostgreSQL's 65,535.
const ROWS_PER_STATEMENT = 1000;

function createStore(trx: Transaction<Schema>, database: Database, newId: () => string, audit: AuditWriter): UserImportStore {
  const dialect = database.dialect;
  const search = createUserSearch(trx as unknown as Kysely<Schema>, dialect);
  let nextSeq: number | undefined;

  /** SQLite: the next `seq` values (users_search's rowid); one writer, this transaction, so max + 1 is safe. */
  async function takeSeqs(count: number): Promise<number[]> {
    nextSeq ??= Number((await sql<{ m: number }>`select coalesce(max(seq), 0) as m from users`.execute(trx)).rows[0]!.m);
    return Array.from({ length: count }, () => (nextSeq! += 1));
  }

  async function indexPostgres(rows: ImportRow[]): Promise<void> {
    const ids = rows.map((r) => r.id);
    const { rows: seqRows } = await sql<{ id: string; seq: string }>`select id, seq from users where id = any(${ids}::text[])`.execute(trx);
    const seqOf = new Map(seqRows.map((r) => [r.id, r.seq]));
    const words: string[] = [];
    const seqs: string[] = [];
    for (const r of rows) {
      for (const w of searchWords(searchText(r.email, r.firstName, r.lastName))) {
        words.push(w);
        seqs.push(seqOf.get(r.id)!);
      }
    }
    if (words.length === 0) return;
    // New dictionary words in sorted order, as the user store writes them (concurrent writers never deadlock).
    await sql`insert into search_words (word) select distinct w from unnest(${words}::text[]) w order by w on conflict do nothing`.execute(trx);
    await sql`insert into user_search_words (word, user_seq) select * from unnest(${words}::text[], ${seqs}::bigint[])`.execute(trx);
  }

  return {
    async existing(ids, emails) {
      const byId = new Map<string, ExistingUser>();
      const emailOwner = new Map<string, string>();
      for (const part of chunks(ids, ROWS_PER_STATEMENT)) {
        const rows = await trx.selectFrom('users').select(['id', 'email', 'password_hash']).where('id', 'in', part).execute();
        for (const r of rows) byId.set(r.id, { id: r.id, email: r.email, passwordHash: r.password_hash });
      }
      for (const part of chunks(emails, ROWS_PER_STATEMENT)) {
        // The unique index is on coalesce(user_name, email): an email may also clash with a SCIM userName.
        const { rows } = await sql<{ id: string; name: string }>`select id, coalesce(user_name, email) as name from users
          where coalesce(user_name, email) in (${sql.join(part)})`.execute(trx);
        for (const r of rows) emailOwner.set(r.name, r.id);
      }
      return { byId, emailOwner };
    },

    async insertUsers(rows, at) {
      if (rows.length === 0) return;
      for (const part of chunks(rows, ROWS_PER_STATEMENT)) {
        const seqs = dialect === 'sqlite' ? await takeSeqs(part.length) : undefined;
        await trx
          .insertInto('users')
          .values(
            part.map((u, i) => ({
              // `seq` is not in the shared row type (it keys the search indexes only); PostgreSQL generates it.
              ...(seqs ? ({ seq: seqs[i] } as object) : {}),
              id: u.id,
              email: u.email,
              first_name: u.firstName,
              last_name: u.lastName,
              search_text: searchText(u.email, u.firstName, u.lastName),
              password_hash: u.passwordHash,
              password_temporary: u.passwordTemporary ? 1 : 0,
              // The password's clock starts at the import (a temporary one has its full time to be changed).
              password_set_at: at,
              created_at: u.createdAt,
              updated_at: at,
              enabled: u.enabled ? 1 : 0,
            })),
          )
          .execute();
        const roles = part.flatMap((u) => u.roles.map((role) => ({ user_id: u.id, role })));
        for (const rolePart of chunks(roles, ROWS_PER_STATEMENT)) await trx.insertInto('user_roles').values(rolePart).execute();
        if (seqs) {
          await sql`insert into users_search (rowid, search_text) values ${sql.join(
            part.map((r, i) => sql`(${seqs[i]}, ${searchText(r.email, r.firstName, r.lastName)})`),
          )}`.execute(trx);
        } else {
          await indexPostgres(part);
        }
      }
    },

    async updateUser(row, at) {
      const kysely = trx as unknown as Kysely<Schema>;
      await search.unindex(kysely, row.id);
      const set: Record<string, unknown> = {
        email: row.email,
        first_name: row.firstName,
        last_name: row.lastName,
        search_text: searchText(row.email, row.firstName, row.lastName),
        enabled: row.enabled ? 1 : 0,
        updated_at: at,
        // Disabling ends every token and session, as it does through the API.
        token_version: row.enabled ? sql`token_version` : sql`case when enabled = 1 then token_version + 1 else token_version end`,
      };
      if (row.passwordHash !== undefined) {
        set.password_hash = row.passwordHash;
        set.password_temporary = row.passwordTemporary ? 1 : 0;
        set.password_set_at = at;
      }
      await trx.updateTable('users').set(set).where('id', '=', row.id).execute();
      await search.reindex(kysely, row.id);
      await trx.deleteFrom('user_roles').where('user_id', '=', row.id).execute();
      if (row.roles.length > 0) await trx.insertInto('user_roles').values(row.roles.map((role) => ({ user_id: row.id, role }))).execute();
    },

    async groupIds(names, definition, at) {
      const ids = new Map<string, string>();
      const created: string[] = [];
      if (names.length === 0) return { ids, created };
      for (const part of chunks(names, ROWS_PER_STATEMENT)) {
        const rows = await trx.selectFrom('groups').select(['id', 'name']).where('name', 'in', part).execute();
        for (const r of rows) ids.set(r.name, r.id);
      }
      for (const name of names) {
        if (ids.has(name)) continue;
        const def = definition(name);
        // A kept id already taken (by a group of another name) gets a new one rather than failing the import.
        const idTaken = def.id !== undefined && (await trx.selectFrom('groups').select('id').where('id', '=', def.id).executeTakeFirst()) !== undefined;
        const id = def.id !== undefined && !idTaken ? def.id : newId();
        await trx.insertInto('groups').values({ id, name, description: def.description ?? null, created_at: at, updated_at: at }).execute();
        const roles = def.roles;
        if (roles.length > 0) await trx.insertInto('group_roles').values(roles.map((role) => ({ group_id: id, role }))).execute();
        ids.set(name, id);
        created.push(name);
      }
      return { ids, created };
    },

    async addMembers(pairs, at) {
      for (const part of chunks(pairs, ROWS_PER_STATEMENT)) {
        await trx
          .insertInto('group_members')
          .values(part.map((p) => ({ group_id: p.groupId, user_id: p.userId, added_at: at })))
          .onConflict((oc) => oc.columns(['group_id', 'user_id']).doNothing())
          .execute();
      }
    },

    async audit(events) {
      await audit.append(trx, events);
    },
  };
}
