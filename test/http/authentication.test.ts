import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { ADMIN, ADMIN_KEY, createUser, json, mintKey, newUserBody, testApp } from '../helpers/app.ts';

// CONTRACT.md §1 (order of checks) and §1.1 (Bearer authentication).

const { app } = await testApp();

const REQUIRES_AUTH = { detail: 'Requires authentication' };
const BAD_CREDENTIALS = { detail: 'Bad credentials' };

function assertRequiresAuth(res: LightMyRequestResponse) {
  assert.equal(res.statusCode, 401, res.body);
  assert.deepEqual(json(res), REQUIRES_AUTH);
  assert.equal(res.headers['www-authenticate'], 'Bearer');
}

function assertBadCredentials(res: LightMyRequestResponse) {
  assert.equal(res.statusCode, 401, res.body);
  assert.deepEqual(json(res), BAD_CREDENTIALS);
  assert.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token"');
}

const me = (headers: Record<string, string> = {}) => app.inject({ method: 'GET', url: '/users/me', headers });

/** Every protected route of §3 and §4, with a body that would be valid for an admin. */
function protectedRequests(): InjectOptions[] {
  return [
    { method: 'GET', url: '/users' },
    { method: 'POST', url: '/users', payload: newUserBody() },
    { method: 'DELETE', url: '/users/some-id' },
    { method: 'POST', url: '/users/some-id/reset_password', payload: { password: 'Fresh-Valid-Pass-77' } },
    { method: 'GET', url: '/users/permissions/check?action=read&resource=tasks' },
    { method: 'GET', url: '/users/me' },
    { method: 'GET', url: '/auth/api_keys' },
    { method: 'POST', url: '/auth/api_keys', payload: { roles: ['CHAT-USER'] } },
    { method: 'GET', url: '/auth/api_keys/some-id' },
    { method: 'DELETE', url: '/auth/api_keys/deactivate/some-id' },
  ];
}

async function inject(a: FastifyInstance, req: InjectOptions, headers: Record<string, string>) {
  return a.inject({ ...req, headers: { ...(req.headers as Record<string, string> | undefined), ...headers } });
}

async function userCountMatching(email: string): Promise<number> {
  const res = await app.inject({ method: 'GET', url: `/users?search_string=${encodeURIComponent(email)}`, headers: ADMIN });
  assert.equal(res.statusCode, 200);
  return json<unknown[]>(res).length;
}

test('a missing Authorization header is 401 "Requires authentication" on every protected route', async () => {
  for (const req of protectedRequests()) {
    const res = await inject(app, req, {});
    assertRequiresAuth(res);
  }
});

test('an empty Authorization header is 401 "Requires authentication"', async () => {
  for (const req of protectedRequests()) assertRequiresAuth(await inject(app, req, { authorization: '' }));
});

test('malformed headers are 401 "Bad credentials" with error="invalid_token"', async () => {
  const malformed = [
    'Bearer', // one part
    ADMIN_KEY, // one part: the credential without a scheme
    `Bearer ${ADMIN_KEY} extra`, // three parts
    `Bearer Bearer ${ADMIN_KEY}`,
    `Basic ${ADMIN_KEY}`, // wrong scheme
    `Token ${ADMIN_KEY}`,
    `Bearer: ${ADMIN_KEY}`,
  ];
  for (const authorization of malformed) {
    for (const req of protectedRequests()) assertBadCredentials(await inject(app, req, { authorization }));
  }
});

test('the scheme is case-insensitive and extra whitespace between the two parts is tolerated', async () => {
  for (const scheme of ['bearer', 'BEARER', 'Bearer', 'bEaReR']) {
    const res = await me({ authorization: `${scheme} ${ADMIN_KEY}` });
    assert.equal(res.statusCode, 200, `${scheme}: ${res.body}`);
    assert.equal(json(res).user_id, 'admin-key');
  }
  const spaced = await me({ authorization: `Bearer    ${ADMIN_KEY}` });
  assert.equal(spaced.statusCode, 200, spaced.body);
});

test('unknown credentials are 401 "Bad credentials"', async () => {
  const unknown = ['gk_thisKeyWasNeverMinted0123456789abcdef', 'not-a-key', ADMIN_KEY.slice(0, -1), `${ADMIN_KEY}x`, ADMIN_KEY.toUpperCase()];
  for (const credential of unknown) {
    for (const req of protectedRequests()) assertBadCredentials(await inject(app, req, { authorization: `Bearer ${credential}` }));
  }
});

test('the admin key authenticates as admin-key with ADMIN-KEY and ORG-ADMIN', async () => {
  const res = await me(ADMIN);
  assert.equal(res.statusCode, 200);
  const body = json(res);
  assert.equal(body.user_id, 'admin-key');
  assert.equal(body.kind, 'admin_key');
  assert.ok(body.roles.includes('ADMIN-KEY') && body.roles.includes('ORG-ADMIN'));
  const list = await app.inject({ method: 'GET', url: '/users', headers: ADMIN });
  assert.equal(list.statusCode, 200);
});

test('an API key works until it is deactivated, then is 401 "Bad credentials"', async () => {
  const key = await mintKey(app, ['ORG-ADMIN']);
  const before = await app.inject({ method: 'GET', url: '/users', headers: key.auth });
  assert.equal(before.statusCode, 200, before.body);

  const off = await app.inject({ method: 'DELETE', url: `/auth/api_keys/deactivate/${key.id}`, headers: ADMIN });
  assert.equal(off.statusCode, 200, off.body);
  assert.equal(json(off).is_active, false);

  for (const req of protectedRequests()) assertBadCredentials(await inject(app, req, key.auth));
  assertBadCredentials(await me({ cookie: `ACCESS_TOKEN=Bearer ${key.key}` }));
});

test('the ACCESS_TOKEN cookie holding "Bearer <key>" authenticates when there is no header', async () => {
  const key = await mintKey(app, ['ORG-AUDITOR']);
  const viaCookie = await me({ cookie: `ACCESS_TOKEN=Bearer ${key.key}` });
  assert.equal(viaCookie.statusCode, 200, viaCookie.body);
  assert.equal(json(viaCookie).user_id, key.id);

  const amongOthers = await me({ cookie: `theme=dark; ACCESS_TOKEN=Bearer ${ADMIN_KEY}; lang=en` });
  assert.equal(amongOthers.statusCode, 200, amongOthers.body);
  assert.equal(json(amongOthers).user_id, 'admin-key');

  const lowerScheme = await app.inject({ method: 'GET', url: '/users', headers: { cookie: `ACCESS_TOKEN=bearer ${ADMIN_KEY}` } });
  assert.equal(lowerScheme.statusCode, 200, lowerScheme.body);
});

test('a bad ACCESS_TOKEN cookie is 401 "Bad credentials"; other cookies alone are "Requires authentication"', async () => {
  assertBadCredentials(await me({ cookie: `ACCESS_TOKEN=${ADMIN_KEY}` }));
  assertBadCredentials(await me({ cookie: 'ACCESS_TOKEN=Bearer gk_neverMinted0123456789' }));
  assertBadCredentials(await me({ cookie: `ACCESS_TOKEN=Basic ${ADMIN_KEY}` }));
  assertRequiresAuth(await me({ cookie: `OTHER=Bearer ${ADMIN_KEY}` }));
});

test('the Authorization header wins over the cookie', async () => {
  const chat = await mintKey(app, ['CHAT-USER']);
  const headerGood = await me({ ...ADMIN, cookie: 'ACCESS_TOKEN=Bearer junk' });
  assert.equal(headerGood.statusCode, 200, headerGood.body);
  assert.equal(json(headerGood).user_id, 'admin-key');

  assertBadCredentials(await me({ authorization: 'Bearer junk', cookie: `ACCESS_TOKEN=Bearer ${ADMIN_KEY}` }));

  const headerChat = await me({ ...chat.auth, cookie: `ACCESS_TOKEN=Bearer ${ADMIN_KEY}` });
  assert.equal(json(headerChat).user_id, chat.id);
  const forbidden = await app.inject({ method: 'GET', url: '/users', headers: { ...chat.auth, cookie: `ACCESS_TOKEN=Bearer ${ADMIN_KEY}` } });
  assert.equal(forbidden.statusCode, 403);
  assert.deepEqual(json(forbidden), { detail: 'Forbidden' });
});

test('401 comes before validation: bad bodies and queries without valid credentials are 401, nothing stored', async () => {
  const body = newUserBody({ password: 'short', roles: 'not-a-list' });
  assertRequiresAuth(await app.inject({ method: 'POST', url: '/users', payload: body }));
  assertBadCredentials(await app.inject({ method: 'POST', url: '/users', headers: { authorization: 'Bearer nope' }, payload: body }));
  assertRequiresAuth(
    await app.inject({ method: 'POST', url: '/users', headers: { 'content-type': 'application/json' }, payload: '{"email": ' }),
  );
  assertRequiresAuth(await app.inject({ method: 'GET', url: '/users?page_size=abc&sort=sideways' }));
  assertRequiresAuth(await app.inject({ method: 'GET', url: '/users/permissions/check?action=fly' }));
  assertRequiresAuth(await app.inject({ method: 'POST', url: '/users/x/reset_password', payload: { password: 1 } }));

  const valid = newUserBody();
  assertRequiresAuth(await app.inject({ method: 'POST', url: '/users', payload: valid }));
  assertBadCredentials(await app.inject({ method: 'POST', url: '/users', headers: { authorization: 'Bearer nope' }, payload: valid }));
  assert.equal(await userCountMatching(valid.email), 0);
});

test('403 comes before validation and handling: a forbidden caller never gets 422/400/404, nothing stored', async () => {
  const chat = await mintKey(app, ['CHAT-USER']);
  const forbidden = (res: LightMyRequestResponse, detail = 'Forbidden') => {
    assert.equal(res.statusCode, 403, res.body);
    assert.deepEqual(json(res), { detail });
  };

  const badBody = newUserBody({ password: 'short', firstName: 7 });
  forbidden(await app.inject({ method: 'POST', url: '/users', headers: chat.auth, payload: badBody }));
  const malformed = { ...chat.auth, 'content-type': 'application/json' };
  forbidden(await app.inject({ method: 'POST', url: '/users', headers: malformed, payload: '{"email": ' }));
  const unknownRole = newUserBody({ roles: ['NO-SUCH-ROLE'] });
  forbidden(await app.inject({ method: 'POST', url: '/users', headers: chat.auth, payload: unknownRole }));
  const validBody = newUserBody();
  forbidden(await app.inject({ method: 'POST', url: '/users', headers: chat.auth, payload: validBody }));
  for (const b of [badBody, unknownRole, validBody]) assert.equal(await userCountMatching(String(b.email)), 0);

  forbidden(await app.inject({ method: 'GET', url: '/users?page_size=abc', headers: chat.auth }));
  forbidden(await app.inject({ method: 'DELETE', url: '/users/no-such-user', headers: chat.auth }));

  const victim = await createUser(app);
  forbidden(await app.inject({ method: 'DELETE', url: `/users/${victim.id}`, headers: chat.auth }));
  assert.equal(await userCountMatching(victim.email), 1);

  const cannotReset = "You can't reset password for this user.";
  const resetUrl = `/users/${victim.id}/reset_password`;
  forbidden(await app.inject({ method: 'POST', url: resetUrl, headers: chat.auth, payload: { password: 'x' } }), cannotReset);
  forbidden(await app.inject({ method: 'POST', url: resetUrl, headers: chat.auth }), cannotReset);
  forbidden(await app.inject({ method: 'POST', url: resetUrl, headers: malformed, payload: '{' }), cannotReset);
});

test('authentication and authorization come first for long path ids too', async () => {
  const longId = 'z'.repeat(150);
  assertRequiresAuth(await app.inject({ method: 'DELETE', url: `/users/${longId}` }));
  assertRequiresAuth(await app.inject({ method: 'POST', url: `/users/${longId}/reset_password`, payload: { password: 'x' } }));
  const chat = await mintKey(app, ['CHAT-USER']);
  const res = await app.inject({ method: 'DELETE', url: `/users/${longId}`, headers: chat.auth });
  assert.equal(res.statusCode, 403, res.body.slice(0, 120));
  assert.deepEqual(json(res), { detail: 'Forbidden' });
});
