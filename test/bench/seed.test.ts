import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSqlite } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { createUserStore } from '../../src/store/user-store.ts';
import { searchTerms } from '../../src/domain/users.ts';
import { SEED_SUFFIX, seedPerson } from '../../scripts/seed-data.ts';

const ROOT = join(import.meta.dirname, '..', '..');

function seed(databaseUrl: string, ...args: string[]) {
  return spawnSync(join(ROOT, 'node_modules', '.bin', 'tsx'), ['scripts/seed.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    encoding: 'utf8',
  });
}

test('npm run seed grows a database to N users, searchable like any other, and only ever grows it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-seed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const url = `sqlite:${join(dir, 'seed.db')}`;
  assert.equal(seed(url, '--users', '300').status, 0);
  assert.equal(seed(url, '--users', '500').status, 0);
  const again = seed(url, '--users', '400');
  assert.equal(again.status, 0);
  assert.match(again.stdout, /500 seed users already there/);

  const database = openSqlite(join(dir, 'seed.db'));
  t.after(() => database.close());
  const store = createUserStore(database.db, 'sqlite');
  const all = await store.search({ terms: [], sort: 'asc', limit: 1000, offset: 0 });
  assert.equal(all.length, 500);
  assert.ok(all.every((u) => u.email.endsWith(SEED_SUFFIX) && u.roles.length === 1));
  assert.deepEqual(all.map((u) => u.email), Array.from({ length: 500 }, (_, n) => seedPerson(n).email), 'creation order is seed order');
  // The index was filled too: a seeded user's exact email finds exactly that user.
  const target = seedPerson(321);
  const found = await store.search({ terms: searchTerms(target.email), sort: 'desc', limit: 10, offset: 0 });
  assert.deepEqual(found.map((u) => u.email), [target.email]);
});

test('seeding refuses a database that holds users it did not create, unless forced', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-seed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'real.db');
  const database = openSqlite(path);
  await migrateToLatest(database.db);
  await createUserStore(database.db, 'sqlite').insert({
    id: '01900000-0000-7000-8000-000000000001',
    email: 'real.person@example.com',
    firstName: 'Real',
    lastName: 'Person',
    passwordHash: 'x',
    passwordTemporary: false,
    roles: [],
    createdAt: Date.now(),
  });
  await database.close();

  const refused = seed(`sqlite:${path}`, '--users', '50');
  assert.equal(refused.status, 3);
  assert.match(refused.stderr, /refusing: the database holds 1 users that seeding did not create/);
  const forced = seed(`sqlite:${path}`, '--users', '50', '--force');
  assert.equal(forced.status, 0, forced.stderr);
  assert.equal(seed(`sqlite:${path}`, '--users', 'lots').status, 2);
});
