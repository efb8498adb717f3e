import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import fc from 'fast-check';
import type { AssignableRole } from '../../src/domain/access.ts';
import type { NewUser, SortOrder, User, UserStore } from '../../src/domain/ports.ts';
import { createUserStore, searchText } from '../../src/store/user-store.ts';
import { forEachDialect } from './dialects.ts';

/**
 * Search picks a strategy per query (gather through the trigram index, or walk the creation order). Whatever it
 * picks, the answer must be the same: this checks both strategies against a plain in-memory reference on random
 * users and random queries, including 1–2 character terms, repeated creation times and characters that mean
 * something to LIKE, FTS5 or SQL.
 */

const ALPHABET = ['a', 'b', 'c', 'ab', 'abc', '%', '_', '*', '"', "'", '\\', 'é', 'Z', 'x1'];
const word = fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 5 }).map((parts) => parts.join(''));

interface Row {
  id: string;
  email: string;
  first: string;
  last: string;
  createdAt: number;
}

function makeUsers(seed: number): Row[] {
  const rows = fc.sample(fc.tuple(word, word, word, fc.integer({ min: 0, max: 40 })), { seed, numRuns: 120 });
  return rows.map(([local, first, last, t], i) => ({
    id: `01900000-0000-7000-8000-${String(1000 + ((i * 7919) % 9000)).padStart(12, '0')}`,
    email: `${local}${i}@ex.com`,
    first,
    last,
    createdAt: 1_700_000_000_000 + t, // many users share a millisecond, so ties are broken by id
  }));
}

/** A third of the users hold TASK-ADMIN; the rest hold nothing. */
const roleOf = (r: Row): AssignableRole[] => (Number(r.id.slice(-4)) % 3 === 0 ? ['TASK-ADMIN'] : []);

function reference(rows: Row[], terms: string[], sort: SortOrder, limit: number, offset: number, role?: AssignableRole): string[] {
  const matching = rows.filter(
    (r) => terms.every((t) => searchText(r.email, r.first, r.last).includes(t)) && (role === undefined || roleOf(r).includes(role)),
  );
  matching.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (sort === 'desc') matching.reverse();
  return matching.slice(offset, offset + limit).map((r) => r.id);
}

const query = fc.record({
  terms: fc.uniqueArray(word.map((w) => w.toLowerCase()), { minLength: 1, maxLength: 3 }),
  sort: fc.constantFrom<SortOrder>('asc', 'desc'),
  limit: fc.integer({ min: 1, max: 15 }),
  offset: fc.integer({ min: 0, max: 40 }),
});

forEachDialect('UserStore.search strategies agree', (h) => {
  let rows: Row[] = [];
  let stores: { name: string; store: UserStore }[] = [];

  before(async () => {
    rows = makeUsers(42);
    const writer = createUserStore(h.db, h.dialect);
    // Inserted in shuffled order: the index must not assume insertion order is creation order.
    for (const r of [...rows].sort((a, b) => (a.email < b.email ? -1 : 1))) {
      const user: NewUser = {
        id: r.id,
        email: r.email,
        firstName: r.first,
        lastName: r.last,
        passwordHash: 'x',
        passwordTemporary: false,
        roles: roleOf(r),
        createdAt: r.createdAt,
      };
      assert.equal(await writer.insert(user), 'inserted');
    }
    stores = [
      { name: 'always gather', store: createUserStore(h.db, h.dialect, { gatherCap: 1_000_000 }) },
      { name: 'walk when any match', store: createUserStore(h.db, h.dialect, { gatherCap: 1 }) },
      { name: 'default', store: createUserStore(h.db, h.dialect) },
    ];
  });

  test('every strategy returns exactly the reference page', async () => {
    await fc.assert(
      fc.asyncProperty(query, async ({ terms, sort, limit, offset }) => {
        const expected = reference(rows, terms, sort, limit, offset);
        for (const { name, store } of stores) {
          const got = (await store.search({ terms, sort, limit, offset })).map((u: User) => u.id);
          assert.deepEqual(got, expected, `${name}: ${JSON.stringify({ terms, sort, limit, offset })}`);
        }
      }),
      { numRuns: 150, seed: 7 },
    );
  });

  test('a role filter gives the reference page whether the role is gathered or probed per user', async () => {
    const probing = createUserStore(h.db, h.dialect, { roleGatherCap: 1 });
    const gathering = createUserStore(h.db, h.dialect, { roleGatherCap: 1_000_000 });
    const withOrWithoutTerms = fc.record({
      terms: fc.uniqueArray(word.map((w) => w.toLowerCase()), { minLength: 0, maxLength: 2 }),
      sort: fc.constantFrom<SortOrder>('asc', 'desc'),
      limit: fc.integer({ min: 1, max: 15 }),
      offset: fc.integer({ min: 0, max: 40 }),
    });
    await fc.assert(
      fc.asyncProperty(withOrWithoutTerms, async ({ terms, sort, limit, offset }) => {
        const expected = reference(rows, terms, sort, limit, offset, 'TASK-ADMIN');
        for (const [name, store] of [['probe', probing], ['gather', gathering]] as const) {
          const got = (await store.search({ terms, sort, limit, offset, filters: { role: 'TASK-ADMIN' } })).map((u: User) => u.id);
          assert.deepEqual(got, expected, `${name}: ${JSON.stringify({ terms, sort, limit, offset })}`);
        }
        const counted = await gathering.count({ terms, filters: { role: 'TASK-ADMIN' } });
        assert.equal(counted, reference(rows, terms, 'asc', 10_000, 0, 'TASK-ADMIN').length);
      }),
      { numRuns: 60, seed: 11 },
    );
  });

  test('count agrees with the reference, by whichever index the terms allow', async () => {
    // On PostgreSQL, terms without punctuation are counted through the word index and the rest through pg_trgm;
    // on SQLite through FTS5. The alphabet yields both kinds.
    const terms = fc.uniqueArray(word.map((w) => w.toLowerCase()), { minLength: 1, maxLength: 3 });
    await fc.assert(
      fc.asyncProperty(terms, async (ts) => {
        assert.equal(await stores[2]!.store.count({ terms: ts }), reference(rows, ts, 'asc', 10_000, 0).length, JSON.stringify(ts));
      }),
      { numRuns: 200, seed: 13 },
    );
  });

  test('a renamed user is counted under the new name only', async () => {
    const writer = createUserStore(h.db, h.dialect);
    const r = rows[1]!;
    const count = (t: string) => writer.count({ terms: [t] });
    const fresh = await count('zqxjv');
    assert.equal(await writer.update(r.id, { firstName: 'Zqxjv', lastName: 'Zqxjv' }, Date.now()), 'updated');
    r.first = 'Zqxjv';
    r.last = 'Zqxjv';
    assert.equal(await count('zqxjv'), fresh + 1);
    for (const t of ['abc', 'ab', r.email.split('@')[0]!.toLowerCase()]) {
      assert.equal(await count(t), reference(rows, [t], 'asc', 10_000, 0).length, t);
    }
  });

  test('deleted users leave the index', async () => {
    const writer = createUserStore(h.db, h.dialect);
    const victim = rows[0]!;
    assert.ok(await writer.delete(victim.id));
    rows = rows.slice(1);
    const term = victim.email.slice(0, -('@ex.com'.length)).toLowerCase();
    for (const { name, store } of stores) {
      const got = (await store.search({ terms: [term], sort: 'asc', limit: 200, offset: 0 })).map((u) => u.id);
      assert.ok(!got.includes(victim.id), name);
      assert.deepEqual(got, reference(rows, [term], 'asc', 200, 0), name);
      assert.equal(await store.count({ terms: [term] }), reference(rows, [term], 'asc', 10_000, 0).length, name);
    }
  });
});
