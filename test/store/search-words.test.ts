import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { openPostgres } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { isSingleWord, searchWords, WORD_SEPARATORS_SQL } from '../../src/store/search-words.ts';
import { createUserStore, searchText } from '../../src/store/user-store.ts';
import { freshSchema, postgresSkipReason, postgresUrl } from '../helpers/postgres.ts';
import { migrateUpTo, openEmpty } from './dialects.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * PostgreSQL's count index splits words in two places: in JavaScript as users are written, and in SQL when a
 * migration backfills or a bulk load fills it. A word split differently in the two would make counts wrong for the
 * users loaded one way, so both must cut every string alike.
 */
const skip = await postgresSkipReason();
let client: pg.Client;

before(async () => {
  if (skip) return;
  client = new pg.Client({ connectionString: (await postgresUrl())! });
  await client.connect();
});
after(async () => client?.end());

const sqlWords = async (text: string): Promise<string[]> => {
  const { rows } = await client.query(
    `select coalesce(array_agg(distinct w), '{}') as words
     from regexp_split_to_table($1, $2) w where w <> ''`,
    [text, WORD_SEPARATORS_SQL],
  );
  return rows[0].words;
};

// Compared as sorted lists: the sets are what matter, not either side's collation.
const byCodeUnit = (ws: string[]) => [...ws].sort();

test('JavaScript and PostgreSQL split texts into the same words', { skip }, async () => {
  const chars = fc.constantFrom('a', 'z', '0', '9', '.', '@', '-', '_', '+', "'", ' ', '\n', '\t', '%', '\\', '/', ':', '[', '`', '{', '~', '\x7f', 'é', 'ß', 'ø', '中', '😀', 'A');
  const text = fc.array(chars, { maxLength: 30 }).map((cs) => cs.join('').toLowerCase());
  await fc.assert(
    fc.asyncProperty(text, async (t) => {
      assert.deepEqual(byCodeUnit(await sqlWords(t)), byCodeUnit(searchWords(t)), JSON.stringify(t));
    }),
    { numRuns: 300, seed: 5 },
  );
});

test('a user’s words: email parts and names, each once, sorted', () => {
  assert.deepEqual(searchWords('mary.o-brien+1@mail.example\nmary\no’brien'), ['1', 'brien', 'example', 'mail', 'mary', 'o', 'o’brien']);
  assert.deepEqual(searchWords('...@@\n\n'), []);
});

test('a term is a single word only without ASCII punctuation or spaces', () => {
  for (const t of ['smith', 'gmail', 'x1', 'émilie', 'o’brien', '中文']) assert.equal(isSingleWord(t), true, t);
  for (const t of ['gmail.com', 'a@b', 'o-brien', "o'brien", '50%', 'a_b', '']) assert.equal(isSingleWord(t), false, t);
});

const PEOPLE: [string, string, string][] = [
  ['mary.smith@gmail.com', 'Mary', 'Smith'],
  ['john.smithson+x@mail.gmail.com', 'John', 'Smithson'],
  ['émilie.durand@exemple.fr', 'Émilie', 'Durand'],
  ['o.brien@example.com', 'Seán', "O'Brien"],
  ['zoë@例え.jp', 'Zoë', '中村'],
  ['a_b%c@x.io', '50%', 'Back\\slash'],
];
const TERMS = ['smith', 'mith', 'gmail', 'mail', 'émilie', 'durand', 'brien', 'seán', 'zoë', '中村', 'example', 'com', 'xyz', 'x.io', "o'brien", 'smith@gmail.com'];

/** How many of PEOPLE contain `term`, by the definition: a literal substring of the lower-cased text. */
const expected = (term: string) => PEOPLE.filter(([e, f, l]) => searchText(e, f, l).includes(term)).length;

test('upgrading a database with users fills the word index, and counts are exact', { skip }, async () => {
  const { database, dispose } = await openEmpty('postgres');
  try {
    await migrateUpTo(database, '2026-11-29T1200-lifecycle');
    for (const [i, [email, first, last]] of PEOPLE.entries()) {
      await database.db.insertInto('users').values({ id: `u${i}`, email, first_name: first, last_name: last, search_text: searchText(email, first, last),
        password_hash: 'x', password_temporary: 0, password_set_at: i, created_at: i, updated_at: i }).execute();
    }
    await migrateToLatest(database.db, database.dialect, database.schema);
    const store = createUserStore(database.db, database.dialect);
    for (const term of TERMS) assert.equal(await store.count({ terms: [term] }), expected(term), term);
    assert.equal(await store.count({ terms: ['smith', 'gmail'] }), 2);
  } finally {
    await dispose();
  }
});

test('a bulk load (npm run seed) fills the word index like one-by-one creation', { skip }, async () => {
  const schema = await freshSchema();
  try {
    const run = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsx'), ['scripts/seed.ts', '--users', '300'], {
      cwd: ROOT, env: { ...process.env, DATABASE_URL: schema.url }, encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    const database = openPostgres(schema.url, { poolSize: 2 });
    try {
      const store = createUserStore(database.db, database.dialect);
      const everyone = await store.search({ terms: [], sort: 'asc', limit: 1000, offset: 0 });
      const seeded = (term: string) => everyone.filter((u) => searchText(u.email, u.firstName, u.lastName).includes(term)).length;
      for (const term of ['smith', 'mar', 'gmail', 'seed', String(everyone.length - 1), 'yandex', 'zzzz']) {
        assert.equal(await store.count({ terms: [term] }), seeded(term), term);
      }
    } finally {
      await database.close();
    }
  } finally {
    await schema.drop();
  }
});
