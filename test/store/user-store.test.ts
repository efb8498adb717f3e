import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { NewUser, User } from '../../src/domain/ports.ts';
import { createRefreshTokenStore } from '../../src/store/refresh-token-store.ts';
import { createUserStore } from '../../src/store/user-store.ts';
import { forEachDialect, type DialectHandle } from './dialects.ts';

const T0 = 1_780_000_000_000;
let seq = 0;

function newUser(overrides: Partial<NewUser> = {}): NewUser {
  seq += 1;
  return {
    id: `0190a000-0000-7000-8000-${String(seq).padStart(12, '0')}`,
    email: `user${seq}@example.com`,
    firstName: `First${seq}`,
    lastName: `Last${seq}`,
    passwordHash: `$argon2id$v=19$hash-${seq}`,
    passwordTemporary: false,
    roles: ['CHAT-USER'],
    createdAt: T0 + seq,
    ...overrides,
  };
}

/** What the store should give back for `u`: tokenVersion 0, enabled, in no group, roles as given (in catalogue order). */
function asUser(u: NewUser, extra: Partial<User> = {}): User {
  const { passwordHash: _h, ...rest } = u;
  return { ...rest, tokenVersion: 0, enabled: true, groups: [], updatedAt: u.createdAt, ...extra };
}

const rolesRows = (h: DialectHandle, userId: string) => h.db.selectFrom('user_roles').select('role').where('user_id', '=', userId).execute();

forEachDialect('UserStore', (h) => {
  const store = () => createUserStore(h.db, h.dialect);

  test('insert, then findById and findCredentialsByEmail give the user back, roles in catalogue order', async () => {
    const u = newUser({ roles: ['CHAT-USER', 'VALIDATION-USER', 'ORG-ADMIN', 'TASK-ADMIN'], passwordTemporary: true, firstName: null });
    assert.equal(await store().insert(u), 'inserted');
    const expected = asUser(u, { roles: ['ORG-ADMIN', 'TASK-ADMIN', 'CHAT-USER', 'VALIDATION-USER'] });
    const found = await store().findById(u.id);
    assert.deepEqual(found, expected);
    assert.equal(typeof found?.createdAt, 'number');
    assert.equal(typeof found?.tokenVersion, 'number');
    const creds = await store().findCredentialsByEmail(u.email);
    assert.deepEqual(creds, { ...expected, passwordHash: u.passwordHash, passwordSetAt: u.createdAt });
    assert.equal(typeof creds?.passwordSetAt, 'number');
  });

  test('a user without roles round-trips with roles []', async () => {
    const u = newUser({ roles: [], lastName: null });
    assert.equal(await store().insert(u), 'inserted');
    assert.deepEqual(await store().findById(u.id), asUser(u));
    assert.deepEqual(await store().findCredentialsByEmail(u.email), { ...asUser(u), passwordHash: u.passwordHash, passwordSetAt: u.createdAt });
  });

  test('unknown id or email: undefined', async () => {
    assert.equal(await store().findById('0190a000-0000-7000-8000-ffffffffffff'), undefined);
    assert.equal(await store().findCredentialsByEmail('nobody@example.com'), undefined);
  });

  test('insert with a taken email answers email_taken and writes nothing', async () => {
    const first = newUser({ email: 'taken@example.com', roles: ['ORG-AUDITOR'] });
    assert.equal(await store().insert(first), 'inserted');
    const second = newUser({ email: 'taken@example.com', roles: ['ORG-ADMIN', 'CHAT-USER'] });
    assert.equal(await store().insert(second), 'email_taken');
    assert.equal(await store().findById(second.id), undefined);
    assert.deepEqual(await rolesRows(h, second.id), []);
    assert.deepEqual(await h.db.selectFrom('users').select('id').where('email', '=', 'taken@example.com').execute(), [{ id: first.id }]);
    assert.deepEqual(await store().findById(first.id), asUser(first));
  });

  test('emailTaken: true only for a stored email', async () => {
    const u = newUser();
    await store().insert(u);
    assert.equal(await store().emailTaken(u.email), true);
    assert.equal(await store().emailTaken('free@example.com'), false);
  });

  test('delete returns the user and removes it with its roles and refresh tokens', async () => {
    const u = newUser({ roles: ['ORG-AUDITOR', 'ORG-ADMIN'] });
    await store().insert(u);
    const tokens = createRefreshTokenStore(h.db);
    await tokens.insert({ id: `rt-${u.id}`, tokenHash: `hash-${u.id}`, familyId: 'fam-del', userId: u.id, tokenVersion: 0, createdAt: T0, expiresAt: T0 + 1000 });
    const deleted = await store().delete(u.id);
    assert.deepEqual(deleted, asUser(u, { roles: ['ORG-ADMIN', 'ORG-AUDITOR'] }));
    assert.equal(typeof deleted?.createdAt, 'number');
    assert.equal(await store().findById(u.id), undefined);
    assert.equal(await store().findCredentialsByEmail(u.email), undefined);
    assert.equal(await store().emailTaken(u.email), false);
    assert.deepEqual(await rolesRows(h, u.id), []);
    assert.equal(await tokens.findByHash(`hash-${u.id}`), undefined);
    assert.equal(await store().delete(u.id), undefined);
  });

  test('delete of an unknown id: undefined, nothing else touched', async () => {
    const u = newUser();
    await store().insert(u);
    assert.equal(await store().delete('0190a000-0000-7000-8000-eeeeeeeeeeee'), undefined);
    assert.deepEqual(await store().findById(u.id), asUser(u));
  });

  test('setPassword sets hash, temporary and set-at, bumps tokenVersion; false for an unknown id', async () => {
    const u = newUser();
    const other = newUser();
    await store().insert(u);
    await store().insert(other);
    assert.equal(await store().setPassword(u.id, 'new-hash-1', true, T0 + 10_000), true);
    assert.deepEqual(await store().findCredentialsByEmail(u.email), {
      ...asUser(u, { passwordTemporary: true, tokenVersion: 1, updatedAt: T0 + 10_000 }),
      passwordHash: 'new-hash-1',
      passwordSetAt: T0 + 10_000,
    });
    assert.equal(await store().setPassword(u.id, 'new-hash-2', false, T0 + 20_000), true);
    assert.deepEqual(await store().findCredentialsByEmail(u.email), {
      ...asUser(u, { passwordTemporary: false, tokenVersion: 2, updatedAt: T0 + 20_000 }),
      passwordHash: 'new-hash-2',
      passwordSetAt: T0 + 20_000,
    });
    assert.equal(await store().setPassword('0190a000-0000-7000-8000-dddddddddddd', 'x', false, T0), false);
    assert.deepEqual(await store().findById(other.id), asUser(other));
  });
});

forEachDialect('UserStore.search: terms', (h) => {
  const store = () => createUserStore(h.db, h.dialect);
  const ada = newUser({ email: 'ada.lovelace@example.com', firstName: 'Ada', lastName: 'Lovelace', roles: ['TASK-ADMIN', 'ORG-ADMIN'] });
  const augusta = newUser({ email: 'ada.byron@example.org', firstName: 'Augusta', lastName: 'Byron' });
  const charles = newUser({ email: 'charles@example.com', firstName: 'Charles', lastName: 'Babbage', roles: [] });
  const odd = newUser({ email: 'odd@example.net', firstName: "O'Brien", lastName: '50%_off\\x_y', roles: ['VALIDATION-USER', 'ORG-AUDITOR'] });
  // What each special character would match if it were a LIKE wildcard rather than a literal.
  const decoy = newUser({ email: 'xzy@example.net', firstName: 'Xavier', lastName: 'Xzy50aoff' });
  const everyone = [ada, augusta, charles, odd, decoy];

  before(async () => {
    for (const u of everyone) assert.equal(await store().insert(u), 'inserted');
  });

  const ids = async (terms: string[]) => (await store().search({ terms, sort: 'asc', limit: 100, offset: 0 })).map((u) => u.id);

  test('no terms: every user; results carry roles in catalogue order and numeric createdAt', async () => {
    const all = await store().search({ terms: [], sort: 'asc', limit: 100, offset: 0 });
    assert.deepEqual(all.map((u) => u.id), everyone.map((u) => u.id));
    assert.deepEqual(all[0], asUser(ada, { roles: ['ORG-ADMIN', 'TASK-ADMIN'] }));
    assert.deepEqual(all[2], asUser(charles));
    assert.deepEqual(all[3], asUser(odd, { roles: ['ORG-AUDITOR', 'VALIDATION-USER'] }));
    for (const u of all) assert.equal(typeof u.createdAt, 'number');
  });

  test('a term matches email, first or last name, case-insensitively against stored values', async () => {
    assert.deepEqual(await ids(['ada']), [ada.id, augusta.id]);
    assert.deepEqual(await ids(['augusta']), [augusta.id]);
    assert.deepEqual(await ids(['babbage']), [charles.id]);
    assert.deepEqual(await ids(['example.org']), [augusta.id]);
    assert.deepEqual(await ids(['nomatch']), []);
  });

  test('terms are AND-ed, each may match a different field, none spans two fields', async () => {
    assert.deepEqual(await ids(['ada', 'lovelace']), [ada.id]);
    assert.deepEqual(await ids(['augusta', 'byron', 'example']), [augusta.id]);
    assert.deepEqual(await ids(['ada', 'babbage']), []);
    assert.deepEqual(await ids(['comada']), []);
    assert.deepEqual(await ids(['adalovelace']), []);
  });

  test("% _ \\ and ' in a term are literal characters", async () => {
    assert.deepEqual(await ids(['%']), [odd.id]);
    assert.deepEqual(await ids(['_']), [odd.id]);
    assert.deepEqual(await ids(['\\']), [odd.id]);
    assert.deepEqual(await ids(["'"]), [odd.id]);
    assert.deepEqual(await ids(['x_y']), [odd.id]);
    assert.deepEqual(await ids(['0%_o']), [odd.id]);
    assert.deepEqual(await ids(['\\x']), [odd.id]);
    assert.deepEqual(await ids(["o'brien", '50%']), [odd.id]);
    assert.deepEqual(await ids(['a%e']), []);
    assert.deepEqual(await ids(['x%']), []);
  });
});

forEachDialect('UserStore.search: order and paging', (h) => {
  const store = () => createUserStore(h.db, h.dialect);
  const T = T0 + 1_000_000;
  // Equal createdAt in groups, inserted out of id order, so only the id tie-breaker gives a stable order.
  const spec: Array<[string, number]> = [
    ['0190b000-0000-7000-8000-00000000000c', T],
    ['0190b000-0000-7000-8000-00000000000a', T],
    ['0190b000-0000-7000-8000-00000000000b', T],
    ['0190b000-0000-7000-8000-000000000010', T + 5],
    ['0190b000-0000-7000-8000-00000000000d', T + 5],
    ['0190b000-0000-7000-8000-000000000001', T + 9],
    ['0190b000-0000-7000-8000-0000000000ff', T - 3],
  ];
  const users = spec.map(([id, createdAt]) => newUser({ id, createdAt }));
  const asc = [...users].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((u) => u.id);
  const desc = [...asc].reverse();

  before(async () => {
    for (const u of users) assert.equal(await store().insert(u), 'inserted');
  });

  const page = async (sort: 'asc' | 'desc', limit: number, offset: number) =>
    (await store().search({ terms: [], sort, limit, offset })).map((u) => u.id);

  test('asc sorts by createdAt then id; desc is the exact reverse', async () => {
    assert.deepEqual(await page('asc', 100, 0), asc);
    assert.deepEqual(await page('desc', 100, 0), desc);
    assert.deepEqual(asc.slice(1, 4), ['0190b000-0000-7000-8000-00000000000a', '0190b000-0000-7000-8000-00000000000b', '0190b000-0000-7000-8000-00000000000c']);
  });

  test('limit/offset pages cover the list without overlap or gaps, in both directions', async () => {
    for (const [sort, full] of [['asc', asc], ['desc', desc]] as const) {
      const pages = [await page(sort, 3, 0), await page(sort, 3, 3), await page(sort, 3, 6)];
      assert.deepEqual(pages.map((p) => p.length), [3, 3, 1]);
      assert.deepEqual(pages.flat(), full);
      assert.deepEqual(await page(sort, 2, 5), full.slice(5, 7));
    }
  });

  test('an offset at or past the end gives []', async () => {
    assert.deepEqual(await page('asc', 3, users.length), []);
    assert.deepEqual(await page('desc', 3, 1000), []);
  });

  test('terms combine with sort and paging', async () => {
    const result = await store().search({ terms: ['example.com', 'first'], sort: 'desc', limit: 2, offset: 1 });
    assert.deepEqual(result.map((u) => u.id), desc.slice(1, 3));
    const one = users[0]!;
    assert.deepEqual(await store().search({ terms: [one.email], sort: 'desc', limit: 5, offset: 0 }), [asUser(one)]);
  });
});
