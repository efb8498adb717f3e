import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPrincipalCache } from '../../src/domain/principal-cache.ts';
import type { Principal } from '../../src/domain/principal.ts';

const alice: Principal = { kind: 'user', id: 'alice', roles: ['CHAT-USER'], email: 'a@x.io', firstName: null, lastName: null };
const key: Principal = { kind: 'api_key', id: 'key-1', roles: ['ORG-ADMIN'], email: null, firstName: null, lastName: null };

function setup(ttlMs = 500, maxEntries = 100) {
  let now = 1_000_000;
  const cache = createPrincipalCache({ ttlMs, maxEntries, clock: { now: () => now } });
  return { cache, advance: (ms: number) => (now += ms), now: () => now };
}

test('a cached credential is answered until the TTL passes, then forgotten', () => {
  const { cache, advance } = setup(500);
  cache.set('d1', { principal: alice }, cache.generation());
  assert.equal(cache.get('d1'), alice);
  advance(499);
  assert.equal(cache.get('d1'), alice);
  advance(1);
  assert.equal(cache.get('d1'), undefined);
});

test("an access token's own expiry cuts its entry short", () => {
  const { cache, advance, now } = setup(500);
  cache.set('tok', { principal: alice, validUntil: now() + 100 }, cache.generation());
  advance(100);
  assert.equal(cache.get('tok'), undefined);
});

test('revoking a principal drops all its credentials and nobody else’s', () => {
  const { cache } = setup();
  const g = cache.generation();
  cache.set('t1', { principal: alice }, g);
  cache.set('t2', { principal: alice }, g);
  cache.set('k1', { principal: key }, g);
  cache.revoke('alice');
  assert.equal(cache.get('t1'), undefined);
  assert.equal(cache.get('t2'), undefined);
  assert.equal(cache.get('k1'), key);
});

test('a lookup that started before a revocation cannot refill the cache with its stale answer', () => {
  const { cache } = setup();
  const started = cache.generation();
  cache.revoke('alice'); // e.g. the password was reset while the database read was in flight
  cache.set('t1', { principal: alice }, started);
  assert.equal(cache.get('t1'), undefined);
  cache.set('t1', { principal: alice }, cache.generation());
  assert.equal(cache.get('t1'), alice);
});

test('TTL 0 disables caching, and the size bound evicts the oldest entry', () => {
  const off = setup(0).cache;
  off.set('x', { principal: alice }, off.generation());
  assert.equal(off.get('x'), undefined);

  const { cache } = setup(500, 2);
  const g = cache.generation();
  cache.set('a', { principal: alice }, g);
  cache.set('b', { principal: alice }, g);
  cache.set('c', { principal: key }, g);
  assert.equal(cache.get('a'), undefined);
  assert.equal(cache.get('b'), alice);
  assert.equal(cache.get('c'), key);
});
