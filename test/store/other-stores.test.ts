import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { ApiKey, LockoutPolicy, NewApiKey, RefreshTokenRecord } from '../../src/domain/ports.ts';
import { createApiKeyStore } from '../../src/store/api-key-store.ts';
import { createLoginFailureStore } from '../../src/store/login-failure-store.ts';
import { createMetaStore } from '../../src/store/meta-store.ts';
import { createRefreshTokenStore } from '../../src/store/refresh-token-store.ts';
import { createSigningKeyStore, type StoredSigningKey } from '../../src/store/signing-key-store.ts';
import { createUserStore } from '../../src/store/user-store.ts';
import { forEachDialect } from './dialects.ts';

const T0 = 1_780_000_000_000;

function newKey(id: string, createdAt: number, overrides: Partial<NewApiKey> = {}): NewApiKey {
  return { id, prefix: `gh_${id.slice(-4)}`, secretHash: `sha256:${id}`, description: `key ${id}`, roles: ['ORG-ADMIN'], createdAt, ...overrides };
}

function asKey(k: NewApiKey, extra: Partial<ApiKey> = {}): ApiKey {
  const { secretHash: _s, ...rest } = k;
  return { ...rest, isActive: true, deactivatedAt: null, ...extra };
}

forEachDialect('ApiKeyStore', (h) => {
  const store = () => createApiKeyStore(h.db, h.dialect);
  const kb = newKey('key-b', T0 + 20, { roles: ['ORG-AUDITOR', 'TASK-ADMIN'] });
  const kc = newKey('key-c', T0 + 20, { description: null });
  const ka = newKey('key-a', T0 + 10);

  test('insert round-trips; list orders by createdAt, then id', async () => {
    for (const k of [kc, kb, ka]) assert.equal(await store().insert(k, 10), 'inserted');
    const list = await store().list();
    assert.deepEqual(list, [asKey(ka), asKey(kb), asKey(kc)]);
    for (const k of list) assert.equal(typeof k.createdAt, 'number');
    assert.deepEqual(await store().findById('key-b'), asKey(kb));
    assert.equal(await store().findById('key-none'), undefined);
    assert.equal(await store().count(), 3);
  });

  test('findActiveBySecretHash finds an active key by its hash only', async () => {
    assert.deepEqual(await store().findActiveBySecretHash(kb.secretHash), asKey(kb));
    assert.equal(await store().findActiveBySecretHash('sha256:unknown'), undefined);
    assert.equal(await store().findActiveBySecretHash(kb.id), undefined);
  });

  test('deactivate returns the key, is idempotent, and hides it from findActiveBySecretHash', async () => {
    const off = asKey(kb, { isActive: false, deactivatedAt: T0 + 100 });
    const first = await store().deactivate('key-b', T0 + 100);
    assert.deepEqual(first, off);
    assert.equal(typeof first?.deactivatedAt, 'number');
    assert.deepEqual(await store().deactivate('key-b', T0 + 200), off);
    assert.deepEqual(await store().findById('key-b'), off);
    assert.equal(await store().findActiveBySecretHash(kb.secretHash), undefined);
    assert.equal(await store().deactivate('key-none', T0 + 300), undefined);
    assert.deepEqual(await store().list(), [asKey(ka), off, asKey(kc)]);
    assert.equal(await store().count(), 3, 'count includes inactive keys');
  });

  test('insert refuses once maxActive keys are active; inactive keys do not count', async () => {
    // Active now: key-a, key-c.
    assert.equal(await store().insert(newKey('key-d', T0 + 30), 3), 'inserted');
    assert.equal(await store().insert(newKey('key-e', T0 + 40), 3), 'limit_reached');
    assert.equal(await store().findById('key-e'), undefined);
    assert.equal(await store().insert(newKey('key-e', T0 + 40), 0), 'limit_reached');
    assert.equal(await store().count(), 4);
    await store().deactivate('key-d', T0 + 50);
    assert.equal(await store().insert(newKey('key-e', T0 + 40), 3), 'inserted');
    assert.equal(await store().count(), 5);
  });

  test('concurrent inserts never exceed maxActive', async () => {
    const active = (await store().list()).filter((k) => k.isActive).length;
    const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => store().insert(newKey(`key-p${i}`, T0 + 60 + i), active + 3)));
    assert.equal(outcomes.filter((o) => o === 'inserted').length, 3);
    assert.equal((await store().list()).filter((k) => k.isActive).length, active + 3);
  });
});

forEachDialect('RefreshTokenStore', (h) => {
  const store = () => createRefreshTokenStore(h.db);
  const userId = '0190c000-0000-7000-8000-000000000001';
  const token = (id: string, familyId: string) => ({ id, tokenHash: `hash-${id}`, familyId, userId, tokenVersion: 2, createdAt: T0, expiresAt: T0 + 86_400_000 });
  const record = (id: string, familyId: string, extra: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord => ({
    id, familyId, userId, tokenVersion: 2, expiresAt: T0 + 86_400_000, usedAt: null, revokedAt: null, ...extra,
  });

  before(async () => {
    const user = { id: userId, email: 'rt@example.com', firstName: null, lastName: null, passwordHash: 'h', passwordTemporary: false, roles: [], createdAt: T0 };
    assert.equal(await createUserStore(h.db, h.dialect).insert(user), 'inserted');
    for (const [id, fam] of [['t1', 'famA'], ['t2', 'famA'], ['t3', 'famB'], ['t4', 'famC']] as const) await store().insert(token(id, fam));
  });

  test('insert then findByHash round-trips; unknown hash is undefined', async () => {
    const found = await store().findByHash('hash-t1');
    assert.deepEqual(found, record('t1', 'famA'));
    assert.equal(typeof found?.expiresAt, 'number');
    assert.equal(await store().findByHash('hash-none'), undefined);
    assert.equal(await store().findByHash('t1'), undefined);
  });

  test('markUsed is a compare-and-set: true once, then false', async () => {
    assert.equal(await store().markUsed('t1', T0 + 5), true);
    assert.equal(await store().markUsed('t1', T0 + 6), false);
    const found = await store().findByHash('hash-t1');
    assert.deepEqual(found, record('t1', 'famA', { usedAt: T0 + 5 }));
    assert.equal(typeof found?.usedAt, 'number');
    assert.equal(await store().markUsed('t-none', T0 + 7), false);
  });

  test('of concurrent markUsed calls on one token exactly one wins', async () => {
    const wins = await Promise.all(Array.from({ length: 6 }, (_, i) => store().markUsed('t4', T0 + 10 + i)));
    assert.equal(wins.filter(Boolean).length, 1);
  });

  test('revokeFamily revokes every token of the family and no other; revoked tokens cannot be used', async () => {
    await store().revokeFamily('famA', T0 + 20);
    assert.deepEqual(await store().findByHash('hash-t1'), record('t1', 'famA', { usedAt: T0 + 5, revokedAt: T0 + 20 }));
    assert.deepEqual(await store().findByHash('hash-t2'), record('t2', 'famA', { revokedAt: T0 + 20 }));
    assert.deepEqual(await store().findByHash('hash-t3'), record('t3', 'famB'));
    assert.equal(typeof (await store().findByHash('hash-t2'))?.revokedAt, 'number');
    assert.equal(await store().markUsed('t2', T0 + 21), false);
    assert.equal((await store().findByHash('hash-t2'))?.usedAt, null);
    await store().revokeFamily('famNone', T0 + 22);
    assert.deepEqual(await store().findByHash('hash-t3'), record('t3', 'famB'));
  });
});

forEachDialect('LoginFailureStore', (h) => {
  const store = () => createLoginFailureStore(h.db, h.dialect);
  const policy: LockoutPolicy = { threshold: 3, windowMs: 60_000, lockMs: 300_000 };

  test('no record: not locked, no failures', async () => {
    assert.deepEqual(await store().state('nobody', T0), { lockedUntil: null, failures: 0 });
  });

  test('failures count up and lock at the threshold; the lock holds only while in the future', async () => {
    await store().recordFailure('alice', T0, policy);
    assert.deepEqual(await store().state('alice', T0), { lockedUntil: null, failures: 1 });
    await store().recordFailure('alice', T0 + 1_000, policy);
    assert.deepEqual(await store().state('alice', T0 + 1_000), { lockedUntil: null, failures: 2 });
    await store().recordFailure('alice', T0 + 2_000, policy);
    const until = T0 + 2_000 + policy.lockMs;
    const locked = await store().state('alice', T0 + 2_001);
    assert.deepEqual(locked, { lockedUntil: until, failures: 3 });
    assert.equal(typeof locked.lockedUntil, 'number');
    assert.equal(typeof locked.failures, 'number');
    assert.deepEqual(await store().state('alice', until - 1), { lockedUntil: until, failures: 3 });
    assert.deepEqual(await store().state('alice', until), { lockedUntil: null, failures: 3 });
    assert.deepEqual(await store().state('alice', until + 1), { lockedUntil: null, failures: 3 });
    assert.deepEqual(await store().state('bob', T0 + 2_001), { lockedUntil: null, failures: 0 });
  });

  test('a failure after windowMs restarts the count; one just inside the window does not', async () => {
    await store().recordFailure('carol', T0, policy);
    await store().recordFailure('carol', T0 + policy.windowMs - 1, policy);
    assert.deepEqual(await store().state('carol', T0 + policy.windowMs - 1), { lockedUntil: null, failures: 2 });
    const restart = T0 + policy.windowMs + 1;
    await store().recordFailure('carol', restart, policy);
    assert.deepEqual(await store().state('carol', restart), { lockedUntil: null, failures: 1 });
    await store().recordFailure('carol', restart + 1, policy);
    await store().recordFailure('carol', restart + 2, policy);
    assert.deepEqual(await store().state('carol', restart + 3), { lockedUntil: restart + 2 + policy.lockMs, failures: 3 });
  });

  test('threshold 1 locks on the first failure', async () => {
    await store().recordFailure('dave', T0, { ...policy, threshold: 1 });
    assert.deepEqual(await store().state('dave', T0 + 1), { lockedUntil: T0 + policy.lockMs, failures: 1 });
  });

  test('concurrent failures all count', async () => {
    await Promise.all(Array.from({ length: 10 }, () => store().recordFailure('erin', T0, { ...policy, threshold: 100 })));
    assert.deepEqual(await store().state('erin', T0), { lockedUntil: null, failures: 10 });
  });

  test('clear forgets failures and the lock, for that name only', async () => {
    await store().clear('alice');
    assert.deepEqual(await store().state('alice', T0 + 2_001), { lockedUntil: null, failures: 0 });
    assert.equal((await store().state('carol', T0 + policy.windowMs + 4)).failures, 3);
    await store().clear('nobody');
    await store().recordFailure('alice', T0 + 3_000, policy);
    assert.deepEqual(await store().state('alice', T0 + 3_000), { lockedUntil: null, failures: 1 });
  });
});

forEachDialect('SigningKeyStore', (h) => {
  const store = () => createSigningKeyStore(h.db, h.database.dialect);
  const key = (kid: string, createdAt: number, retiredAt: number | null = null): StoredSigningKey => ({
    kid, alg: 'EdDSA', publicJwk: `{"kid":"${kid}","x":"pub"}`, privateJwk: `{"kid":"${kid}","d":"priv"}`, createdAt, retiredAt,
  });
  const kOld = key('k-old', T0 - 1_000, T0 - 500);
  const kb = key('k-b', T0 + 20);
  const kc = key('k-c', T0 + 20);
  const ka = key('k-a', T0 + 10);

  test('insert then list, ordered by createdAt then kid', async () => {
    for (const k of [kc, kb, ka, kOld]) await store().insert(k);
    const list = await store().list();
    assert.deepEqual(list, [kOld, ka, kb, kc]);
    for (const k of list) assert.equal(typeof k.createdAt, 'number');
    assert.equal(typeof list[0]?.retiredAt, 'number');
  });

  test('retireAllBut retires every active key except the one named; already retired keys keep their time', async () => {
    await store().retireAllBut('k-c', T0 + 100);
    assert.deepEqual(await store().list(), [kOld, { ...ka, retiredAt: T0 + 100 }, { ...kb, retiredAt: T0 + 100 }, kc]);
  });
});

forEachDialect('MetaStore', (h) => {
  const store = () => createMetaStore(h.db);

  test('setOnce sets an absent key (true), then refuses (false) and keeps the first value', async () => {
    assert.equal(await store().get('bootstrap'), undefined);
    assert.equal(await store().setOnce('bootstrap', 'first'), true);
    assert.equal(await store().setOnce('bootstrap', 'second'), false);
    assert.equal(await store().get('bootstrap'), 'first');
    assert.equal(await store().setOnce('other', ''), true);
    assert.equal(await store().get('other'), '');
  });

  test('of concurrent setOnce calls exactly one wins', async () => {
    const wins = await Promise.all(Array.from({ length: 6 }, (_, i) => store().setOnce('race', `v${i}`)));
    assert.equal(wins.filter(Boolean).length, 1);
    assert.equal(await store().get('race'), `v${wins.indexOf(true)}`);
  });
});
