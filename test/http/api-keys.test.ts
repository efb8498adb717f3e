import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ADMIN, json, mintKey, testApp } from '../helpers/app.ts';

// CONTRACT.md §4, API keys: mint, list, get, deactivate.

const sha256Hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

interface KeyView {
  id: string;
  description: string | null;
  roles: string[];
  is_active: boolean;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

/** Mints through the API with an arbitrary body and returns the raw response. */
function mint(app: FastifyInstance, payload?: unknown, headers: Record<string, string> = ADMIN) {
  return app.inject({ method: 'POST', url: '/auth/api_keys', headers, ...(payload === undefined ? {} : { payload: payload as object }) });
}

/** Asserts a list/get body carries neither the secret (nor its random part) nor its digest, nor anything hash-like. */
function assertNoSecret(body: string, secret: string): void {
  assert.ok(!body.includes(secret), 'the key never appears after minting');
  assert.ok(!body.includes(secret.slice(-20)), 'not even the tail of the key');
  const digest = sha256Hex(secret);
  assert.ok(!body.toLowerCase().includes(digest), 'the sha256 hex of the key never appears');
  assert.ok(!body.includes(createHash('sha256').update(secret).digest('base64')), 'nor its base64 digest');
  assert.ok(!/[0-9a-f]{40,}/i.test(body), `nothing hash-like: ${body}`);
  assert.ok(!/"(key|hash|secret|secret_hash|key_hash)"\s*:/i.test(body), `no key/hash field: ${body}`);
}

describe('minting', () => {
  test('returns the key once with every documented field', async () => {
    const { app } = await testApp();
    const res = await mint(app, { description: 'ci pipeline', roles: ['CHAT-USER', 'ORG-AUDITOR'] });
    assert.equal(res.statusCode, 200);
    const body = json(res);
    for (const field of ['id', 'key', 'description', 'roles', 'is_active', 'created_at', 'expires_at', 'last_used_at', 'message']) {
      assert.ok(Object.hasOwn(body, field), `field ${field} in ${res.body}`);
    }
    assert.equal(typeof body.id, 'string');
    assert.equal(typeof body.key, 'string');
    assert.ok(body.key.length >= 32, 'high-entropy key');
    assert.equal(body.description, 'ci pipeline');
    assert.deepEqual(body.roles, ['CHAT-USER', 'ORG-AUDITOR']);
    assert.equal(body.is_active, true);
    assert.ok(!Number.isNaN(Date.parse(body.created_at)), 'created_at is a timestamp');
    assert.ok(Math.abs(Date.parse(body.created_at) - Date.now()) < 60_000);
    assert.equal(typeof body.message, 'string');
    assert.ok(body.message.length > 0);
    assert.equal(body.expires_at, null, 'no expiry asked for: never expires');
    assert.equal(body.last_used_at, null);
  });

  test('two keys differ', async () => {
    const { app } = await testApp();
    const a = await mintKey(app, ['CHAT-USER']);
    const b = await mintKey(app, ['CHAT-USER']);
    assert.notEqual(a.key, b.key);
    assert.notEqual(a.id, b.id);
  });

  test('roles default to ["VALIDATION-USER"]; an empty body is allowed', async () => {
    const { app } = await testApp();
    for (const payload of [undefined, {}, { description: 'no roles given' }]) {
      const res = await mint(app, payload);
      assert.equal(res.statusCode, 200, `${JSON.stringify(payload)} → ${res.body}`);
      assert.deepEqual(json(res).roles, ['VALIDATION-USER']);
      assert.equal(json(res).is_active, true);
    }
  });

  test('a minted key authenticates with its own roles', async () => {
    const { app } = await testApp();
    const key = await mintKey(app, ['ORG-AUDITOR', 'CHAT-USER']);
    const me = await app.inject({ method: 'GET', url: '/users/me', headers: key.auth });
    assert.equal(me.statusCode, 200);
    const body = json(me);
    assert.equal(body.kind, 'api_key');
    assert.equal(body.user_id, key.id);
    assert.deepEqual([...body.roles].sort(), ['CHAT-USER', 'ORG-AUDITOR']);
    assert.equal(body.email, null);
    // the roles gate routes: an auditor may search, a chat user may create prompts, neither may create users
    assert.equal((await app.inject({ method: 'GET', url: '/users', headers: key.auth })).statusCode, 200);
    const check = await app.inject({ method: 'GET', url: '/users/permissions/check?action=create&resource=prompts', headers: key.auth });
    assert.equal(check.statusCode, 200);
    assert.deepEqual(json(check).granted_by, ['CHAT-USER']);
  });

  test('a VALIDATION-USER key is refused on admin routes', async () => {
    const { app } = await testApp();
    const key = await mintKey(app, ['VALIDATION-USER']);
    for (const [method, url] of [['GET', '/auth/api_keys'], ['POST', '/auth/api_keys'], ['GET', '/users']] as const) {
      const res = await app.inject({ method, url, headers: key.auth, payload: method === 'POST' ? {} : undefined });
      assert.equal(res.statusCode, 403, `${method} ${url}`);
      assert.deepEqual(json(res), { detail: 'Forbidden' });
    }
  });

  test('an unknown role → 400 naming the first unknown one, and nothing is minted', async () => {
    const { app } = await testApp();
    const res = await mint(app, { roles: ['CHAT-USER', 'NOPE', 'ALSO-NOPE'] });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(json(res), { detail: 'Role NOPE does not exist.' });
    const adminKeyRole = await mint(app, { roles: ['ADMIN-KEY'] });
    assert.equal(adminKeyRole.statusCode, 400);
    assert.deepEqual(json(adminKeyRole), { detail: 'Role ADMIN-KEY does not exist.' });
    const list = await app.inject({ method: 'GET', url: '/auth/api_keys', headers: ADMIN });
    assert.deepEqual(json(list), []);
  });

  test('description over 200 characters → 422 string_too_long; 200 is fine', async () => {
    const { app } = await testApp();
    const res = await mint(app, { description: 'd'.repeat(201) });
    assert.equal(res.statusCode, 422);
    const detail = json(res).detail;
    assert.ok(Array.isArray(detail));
    assert.equal(detail.length, 1);
    assert.equal(detail[0].type, 'string_too_long');
    assert.deepEqual(detail[0].loc, ['body', 'description']);
    assert.equal((await mint(app, { description: 'd'.repeat(200) })).statusCode, 200);
  });

  test('GATEHOUSE_MAX_API_KEYS caps active keys; deactivating one frees a slot', async () => {
    const { app } = await testApp({ GATEHOUSE_MAX_API_KEYS: '2' });
    const first = await mintKey(app, ['CHAT-USER']);
    await mintKey(app, ['CHAT-USER']);
    const third = await mint(app, { roles: ['CHAT-USER'] });
    assert.equal(third.statusCode, 400);
    assert.deepEqual(json(third), { detail: 'Maximum number of active keys reached' });
    const list = await app.inject({ method: 'GET', url: '/auth/api_keys', headers: ADMIN });
    assert.equal(json(list).length, 2, 'the refused key was not stored');

    const off = await app.inject({ method: 'DELETE', url: `/auth/api_keys/deactivate/${first.id}`, headers: ADMIN });
    assert.equal(off.statusCode, 200);
    assert.equal((await mint(app, { roles: ['CHAT-USER'] })).statusCode, 200);
    assert.equal((await mint(app, { roles: ['CHAT-USER'] })).statusCode, 400);
  });
});

describe('listing and reading', () => {
  test('list and get show the key’s metadata but never the key or its hash', async () => {
    const { app } = await testApp();
    const minted = json(await mint(app, { description: 'reader', roles: ['ORG-AUDITOR'] }));
    const other = await mintKey(app, ['CHAT-USER']);

    const list = await app.inject({ method: 'GET', url: '/auth/api_keys', headers: ADMIN });
    assert.equal(list.statusCode, 200);
    const keys = json<KeyView[]>(list);
    assert.deepEqual(keys.map((k) => k.id).sort(), [minted.id, other.id].sort());
    const listed = keys.find((k) => k.id === minted.id)!;
    assert.equal(listed.description, 'reader');
    assert.deepEqual(listed.roles, ['ORG-AUDITOR']);
    assert.equal(listed.is_active, true);
    assert.equal(listed.created_at, minted.created_at);
    assert.equal(listed.expires_at, null);
    assert.equal(listed.last_used_at, null, 'not used yet');

    const one = await app.inject({ method: 'GET', url: `/auth/api_keys/${minted.id}`, headers: ADMIN });
    assert.equal(one.statusCode, 200);
    assert.deepEqual(json(one), listed);

    const asAuditor = await app.inject({ method: 'GET', url: '/auth/api_keys', headers: { authorization: `Bearer ${minted.key}` } });
    const deactivated = await app.inject({ method: 'DELETE', url: `/auth/api_keys/deactivate/${other.id}`, headers: ADMIN });
    const afterList = await app.inject({ method: 'GET', url: '/auth/api_keys', headers: ADMIN });
    const afterGet = await app.inject({ method: 'GET', url: `/auth/api_keys/${other.id}`, headers: ADMIN });
    for (const res of [list, one, asAuditor, deactivated, afterList, afterGet]) {
      assert.equal(res.statusCode, 200);
      assertNoSecret(res.body, minted.key);
      assertNoSecret(res.body, other.key);
    }
  });

  test('get of an unknown id → 404 "API Key not found"', async () => {
    const { app } = await testApp();
    for (const id of ['00000000-0000-7000-8000-000000000000', 'nope']) {
      const res = await app.inject({ method: 'GET', url: `/auth/api_keys/${id}`, headers: ADMIN });
      assert.equal(res.statusCode, 404);
      assert.deepEqual(json(res), { detail: 'API Key not found' });
    }
  });
});

describe('deactivation', () => {
  test('returns the key inactive, and the key is refused on the very next request', async () => {
    const { app } = await testApp();
    const key = await mintKey(app, ['ORG-AUDITOR']);
    assert.equal((await app.inject({ method: 'GET', url: '/users/me', headers: key.auth })).statusCode, 200);

    const res = await app.inject({ method: 'DELETE', url: `/auth/api_keys/deactivate/${key.id}`, headers: ADMIN });
    assert.equal(res.statusCode, 200);
    const body = json(res);
    assert.equal(body.id, key.id);
    assert.equal(body.is_active, false);
    assert.deepEqual(body.roles, ['ORG-AUDITOR']);

    const next = await app.inject({ method: 'GET', url: '/users/me', headers: key.auth });
    assert.equal(next.statusCode, 401);
    assert.deepEqual(json(next), { detail: 'Bad credentials' });
    assert.match(String(next.headers['www-authenticate']), /^Bearer/);

    const got = await app.inject({ method: 'GET', url: `/auth/api_keys/${key.id}`, headers: ADMIN });
    assert.equal(got.statusCode, 200);
    assert.equal(json(got).is_active, false);
  });

  test('deactivating an unknown key → 404', async () => {
    const { app } = await testApp();
    const res = await app.inject({ method: 'DELETE', url: '/auth/api_keys/deactivate/00000000-0000-7000-8000-000000000000', headers: ADMIN });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(json(res), { detail: 'API Key not found' });
  });
});

describe('who may manage keys', () => {
  test('ORG-AUDITOR may list and get but not mint or deactivate', async () => {
    const { app } = await testApp();
    const auditor = await mintKey(app, ['ORG-AUDITOR']);
    const target = await mintKey(app, ['CHAT-USER']);

    assert.equal((await app.inject({ method: 'GET', url: '/auth/api_keys', headers: auditor.auth })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: `/auth/api_keys/${target.id}`, headers: auditor.auth })).statusCode, 200);

    const minting = await mint(app, { roles: ['ORG-ADMIN'] }, auditor.auth);
    assert.equal(minting.statusCode, 403);
    assert.deepEqual(json(minting), { detail: 'Forbidden' });
    const off = await app.inject({ method: 'DELETE', url: `/auth/api_keys/deactivate/${target.id}`, headers: auditor.auth });
    assert.equal(off.statusCode, 403);
    assert.deepEqual(json(off), { detail: 'Forbidden' });

    // nothing changed
    const keys = json<KeyView[]>(await app.inject({ method: 'GET', url: '/auth/api_keys', headers: ADMIN }));
    assert.equal(keys.length, 2);
    assert.ok(keys.every((k) => k.is_active));
  });

  test('without credentials every key route → 401', async () => {
    const { app } = await testApp();
    for (const [method, url] of [
      ['POST', '/auth/api_keys'],
      ['GET', '/auth/api_keys'],
      ['GET', '/auth/api_keys/x'],
      ['DELETE', '/auth/api_keys/deactivate/x'],
    ] as const) {
      const res = await app.inject({ method, url });
      assert.equal(res.statusCode, 401, `${method} ${url}`);
      assert.deepEqual(json(res), { detail: 'Requires authentication' });
    }
  });
});
