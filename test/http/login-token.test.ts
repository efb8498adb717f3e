import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { ADMIN, ADMIN_KEY, createUser, GOOD_PASSWORD, json, testApp, testDatabase, testHasher } from '../helpers/app.ts';

// Issue items 1, 3 and 8: POST /auth/token (password + refresh_token grants), temporary passwords, /auth/password,
// /users/me for a token caller. CONTRACT.md §4.

const NO_LIMIT = { GATEHOUSE_AUTH_RATE_LIMIT: '0' };
const NEW_PASSWORD = 'Fresh-Meadow-77-Compass';
const DAY_MS = 86_400_000;

/** An app on its own database whose clock the test moves. */
async function clockedApp(env: Record<string, string> = {}) {
  let now = Date.now();
  const database = await testDatabase();
  const config = loadConfig({ GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_LOG_LEVEL: 'silent', ...NO_LIMIT, ...env });
  const app = await buildApp(config, { database, hasher: testHasher, clock: { now: () => now } });
  after(async () => {
    await app.close();
    await database.close();
  });
  return { app, database, config, advance: (ms: number) => void (now += ms) };
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const tokenForm = (app: FastifyInstance, fields: Record<string, string>) =>
  app.inject({ method: 'POST', url: '/auth/token', headers: FORM, payload: new URLSearchParams(fields).toString() });
const tokenJson = (app: FastifyInstance, payload: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: '/auth/token', payload });
const login = (app: FastifyInstance, username: string, password: string = GOOD_PASSWORD) =>
  tokenJson(app, { grant_type: 'password', username, password });
const refresh = (app: FastifyInstance, refresh_token: string) => tokenJson(app, { grant_type: 'refresh_token', refresh_token });
const changePassword = (app: FastifyInstance, username: string, current_password: string, new_password: string) =>
  app.inject({ method: 'POST', url: '/auth/password', payload: { username, current_password, new_password } });
const me = (app: FastifyInstance, token: string) =>
  app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${token}` } });

interface Tokens {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
}

function assertTokenResponse(res: LightMyRequestResponse, expiresIn = 900): Tokens {
  assert.equal(res.statusCode, 200, res.body);
  const body = json<Tokens>(res);
  assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type']);
  assert.equal(body.token_type, 'bearer');
  assert.equal(body.expires_in, expiresIn);
  assert.equal(typeof body.refresh_token, 'string');
  assert.ok(body.refresh_token.length >= 32, 'refresh token has enough entropy');
  assert.notEqual(body.refresh_token.split('.').length, 3, 'refresh token is opaque, not a JWT');
  assert.match(String(res.headers['cache-control']), /no-store/);
  return body;
}

function assertOAuthError(res: LightMyRequestResponse, error: string, description?: string) {
  assert.equal(res.statusCode, 400, res.body);
  const body = json(res);
  assert.deepEqual(Object.keys(body).sort(), ['error', 'error_description'], res.body);
  assert.equal(body.error, error, res.body);
  assert.equal(typeof body.error_description, 'string');
  assert.ok(body.error_description.length > 0);
  if (description !== undefined) assert.equal(body.error_description, description);
}

function assertOnlyProblemAt(res: LightMyRequestResponse, loc: string[]) {
  assert.equal(res.statusCode, 422, res.body);
  const { detail } = json(res);
  assert.equal(detail.length, 1, res.body);
  assert.deepEqual(detail[0].loc, loc);
  assert.equal(typeof detail[0].msg, 'string');
}

test('form-encoded password grant: RFC 6749 token response and an RS256 at+jwt with every claim', async () => {
  const { app, config } = await testApp({ ...NO_LIMIT, GATEHOUSE_ISSUER: 'https://login.example.test' });
  const user = await createUser(app);
  const before = Math.floor(Date.now() / 1000);
  const res = await tokenForm(app, { grant_type: 'password', username: user.email, password: GOOD_PASSWORD });
  const after_ = Math.ceil(Date.now() / 1000);
  const body = assertTokenResponse(res);
  assert.match(String(res.headers.pragma), /no-cache/);

  const header = decodeProtectedHeader(body.access_token);
  assert.equal(header.alg, 'RS256');
  assert.equal(header.typ, 'at+jwt');
  assert.equal(typeof header.kid, 'string');
  const jwks = json<{ keys: { kid: string }[] }>(await app.inject({ method: 'GET', url: '/.well-known/jwks.json' }));
  assert.ok(jwks.keys.some((k) => k.kid === header.kid), 'kid names a published key');

  const claims = decodeJwt(body.access_token);
  assert.equal(claims.iss, 'https://login.example.test');
  assert.equal(claims.sub, user.id);
  assert.deepEqual([claims.aud].flat(), [config.audience]);
  assert.ok(typeof claims.iat === 'number' && claims.iat >= before && claims.iat <= after_, `iat ${claims.iat}`);
  assert.equal(claims.exp, claims.iat + 900);
  assert.ok(typeof claims.jti === 'string' && claims.jti.length > 0);
  assert.deepEqual(claims.roles, ['CHAT-USER']);
  assert.ok(Number.isInteger(claims.ver), 'ver is an integer');
  // The claims the seed's system read from Keycloak's access tokens.
  assert.equal(claims.email, user.email);
  assert.equal(claims.preferred_username, user.email);
  assert.equal(claims.given_name, user.first_name);
  assert.equal(claims.family_name, user.last_name);
  assert.equal(claims.name, `${user.first_name} ${user.last_name}`);
  assert.deepEqual(claims.realm_access, { roles: ['CHAT-USER'] });
  assert.equal(typeof claims.sid, 'string');
  assert.ok(body.access_token.length < 4096, `an access token fits in a cookie (${body.access_token.length} bytes)`);
});

test('JSON password grant; the username is the email in any case; every login gets its own jti and refresh token', async () => {
  const { app } = await testApp(NO_LIMIT);
  const user = await createUser(app, { email: 'Mixed.Case@Example.com' });
  assert.equal(user.email, 'mixed.case@example.com');
  const a = assertTokenResponse(await login(app, 'MIXED.CASE@EXAMPLE.COM'));
  const b = assertTokenResponse(await login(app, 'mixed.case@example.com'));
  const c = assertTokenResponse(await tokenForm(app, { grant_type: 'password', username: 'Mixed.CASE@example.COM', password: GOOD_PASSWORD }));
  for (const t of [a, b, c]) assert.equal(decodeJwt(t.access_token).sub, user.id);
  assert.equal(new Set([a, b, c].map((t) => decodeJwt(t.access_token).jti)).size, 3);
  assert.equal(new Set([a, b, c].map((t) => t.refresh_token)).size, 3);
});

test('GATEHOUSE_ACCESS_TOKEN_TTL sets expires_in and exp', async () => {
  const { app } = await testApp({ ...NO_LIMIT, GATEHOUSE_ACCESS_TOKEN_TTL: '120' });
  const user = await createUser(app);
  const body = assertTokenResponse(await login(app, user.email), 120);
  const claims = decodeJwt(body.access_token);
  assert.equal(claims.exp! - claims.iat!, 120);
});

test('GET /users/me with an access token shows the user', async () => {
  const { app } = await testApp(NO_LIMIT);
  const user = await createUser(app, { roles: ['TASK-ADMIN', 'CHAT-USER'], firstName: 'Ada', lastName: 'Lovelace' });
  const { access_token } = assertTokenResponse(await login(app, user.email));
  const res = await me(app, access_token);
  assert.equal(res.statusCode, 200, res.body);
  const body = json(res);
  assert.deepEqual({ ...body, roles: [...body.roles].sort() }, {
    user_id: user.id,
    kind: 'user',
    roles: ['CHAT-USER', 'TASK-ADMIN'],
    email: user.email,
    first_name: 'Ada',
    last_name: 'Lovelace',
    org_scope: null,
    org: null,
  });
});

test('refresh grant rotates: a new pair each time, and a refresh token works only once', async () => {
  const { app } = await testApp(NO_LIMIT);
  const user = await createUser(app);
  const first = assertTokenResponse(await login(app, user.email));
  const second = assertTokenResponse(await tokenForm(app, { grant_type: 'refresh_token', refresh_token: first.refresh_token }));
  assert.notEqual(second.refresh_token, first.refresh_token);
  assert.notEqual(second.access_token, first.access_token);
  assert.equal(decodeJwt(second.access_token).sub, user.id);
  assert.equal((await me(app, second.access_token)).statusCode, 200);
  assertOAuthError(await refresh(app, first.refresh_token), 'invalid_grant');
});

test('presenting a used refresh token again ends the newer tokens of that login, not other logins', async () => {
  const { app } = await testApp(NO_LIMIT);
  const user = await createUser(app);
  const r1 = assertTokenResponse(await login(app, user.email)).refresh_token;
  const other = assertTokenResponse(await login(app, user.email)).refresh_token;
  const r2 = assertTokenResponse(await refresh(app, r1)).refresh_token;
  assertOAuthError(await refresh(app, r1), 'invalid_grant'); // replay
  assertOAuthError(await refresh(app, r2), 'invalid_grant'); // the newer token of the same login died with it
  assertTokenResponse(await refresh(app, other)); // a separate login is untouched
});

test('refresh tokens are stored only as hashes and expire after 30 days', async () => {
  const { app, database, advance } = await clockedApp();
  const user = await createUser(app);
  const a = assertTokenResponse(await login(app, user.email)).refresh_token;
  const b = assertTokenResponse(await login(app, user.email)).refresh_token;
  const rows = await database.db.selectFrom('refresh_tokens').selectAll().execute();
  assert.equal(rows.length, 2);
  const stored = JSON.stringify(rows);
  for (const raw of [a, b]) assert.ok(!stored.includes(raw) && !stored.includes(raw.slice(4)), 'raw refresh token not stored');
  for (const row of rows) assert.equal(Number(row.expires_at) - Number(row.created_at), 30 * DAY_MS);

  advance(30 * DAY_MS - 60_000);
  assertTokenResponse(await refresh(app, a)); // still alive a minute before its 30 days
  advance(61_000);
  assertOAuthError(await refresh(app, b), 'invalid_grant'); // 30 days and a second: dead
});

test('token endpoint failures are RFC 6749 error bodies', async () => {
  const { app } = await testApp(NO_LIMIT);
  const user = await createUser(app);
  const raw = (payload: string, contentType: string) =>
    app.inject({ method: 'POST', url: '/auth/token', headers: { 'content-type': contentType }, payload });
  const cases: [string, Promise<LightMyRequestResponse>, string][] = [
    ['form without grant_type', tokenForm(app, { username: user.email, password: GOOD_PASSWORD }), 'invalid_request'],
    ['JSON without grant_type', tokenJson(app, { username: user.email, password: GOOD_PASSWORD }), 'invalid_request'],
    ['empty JSON object', tokenJson(app, {}), 'invalid_request'],
    ['unknown grant type (form)', tokenForm(app, { grant_type: 'client_credentials' }), 'unsupported_grant_type'],
    ['unknown grant type (JSON)', tokenJson(app, { grant_type: 'implicit', code: 'x' }), 'unsupported_grant_type'],
    ['password grant without username', tokenJson(app, { grant_type: 'password', password: GOOD_PASSWORD }), 'invalid_request'],
    ['password grant without password', tokenForm(app, { grant_type: 'password', username: user.email }), 'invalid_request'],
    ['refresh grant without refresh_token', tokenJson(app, { grant_type: 'refresh_token' }), 'invalid_request'],
    ['malformed JSON', raw('{"grant_type": "password",', 'application/json'), 'invalid_request'],
    [
      'repeated form parameter',
      raw(`grant_type=password&username=${encodeURIComponent(user.email)}&username=x%40y.co&password=${encodeURIComponent(GOOD_PASSWORD)}`, FORM['content-type']),
      'invalid_request',
    ],
    ['unknown refresh token', refresh(app, 'grt_not-a-real-token-at-all-0123456789'), 'invalid_grant'],
  ];
  for (const [name, pending, error] of cases) {
    const res = await pending;
    assert.equal(res.statusCode, 400, `${name}: ${res.body}`);
    assert.equal(json(res).error, error, `${name}: ${res.body}`);
    assertOAuthError(res, error);
  }
});

test('a correct temporary password at /auth/token → 400 invalid_grant "Password change required"', async () => {
  const { app } = await testApp(NO_LIMIT);
  const user = await createUser(app, { temporary: true });
  assertOAuthError(await login(app, user.email), 'invalid_grant', 'Password change required');
  const wrong = await login(app, user.email, 'Not-The-Password-99');
  const unknown = await login(app, 'nobody.here@example.com', 'Not-The-Password-99');
  assertOAuthError(wrong, 'invalid_grant');
  assert.notEqual(json(wrong).error_description, 'Password change required');
  assert.deepEqual(json(wrong), json(unknown));
});

test('/auth/password: policy and "must differ" are 422 at body.new_password; a wrong current password is invalid_grant', async () => {
  const { app } = await testApp(NO_LIMIT);
  const user = await createUser(app, { temporary: true });
  assertOnlyProblemAt(await changePassword(app, user.email, GOOD_PASSWORD, 'short'), ['body', 'new_password']);
  assertOnlyProblemAt(await changePassword(app, user.email, GOOD_PASSWORD, 'alllowercaseletters'), ['body', 'new_password']);
  assertOnlyProblemAt(await changePassword(app, user.email, GOOD_PASSWORD, GOOD_PASSWORD), ['body', 'new_password']);
  assertOAuthError(await changePassword(app, user.email, 'Wrong-Current-Pass-1', NEW_PASSWORD), 'invalid_grant');
  assertOAuthError(await changePassword(app, 'nobody.here@example.com', GOOD_PASSWORD, NEW_PASSWORD), 'invalid_grant');
  // nothing changed: the temporary password is still the one, still to be changed
  assertOAuthError(await login(app, user.email), 'invalid_grant', 'Password change required');
  assertOAuthError(await login(app, user.email, NEW_PASSWORD), 'invalid_grant');
});

test('/auth/password replaces a temporary password with a permanent one and returns working tokens', async () => {
  const { app } = await testApp(NO_LIMIT);
  const user = await createUser(app, { temporary: true });
  const res = await changePassword(app, user.email.toUpperCase(), GOOD_PASSWORD, NEW_PASSWORD);
  const tokens = assertTokenResponse(res);
  assert.equal(decodeJwt(tokens.access_token).sub, user.id);
  assert.equal(json(await me(app, tokens.access_token)).user_id, user.id);
  assertTokenResponse(await refresh(app, tokens.refresh_token));
  assertTokenResponse(await login(app, user.email, NEW_PASSWORD)); // permanent: no change required
  assertOAuthError(await login(app, user.email, GOOD_PASSWORD), 'invalid_grant');
  // a permanent password can be changed the same way
  assertTokenResponse(await changePassword(app, user.email, NEW_PASSWORD, 'Second-Permanent-Pass-3'));
  assertTokenResponse(await login(app, user.email, 'Second-Permanent-Pass-3'));
});

test('an admin reset makes the password temporary: it must be changed before tokens are issued', async () => {
  const { app } = await testApp(NO_LIMIT);
  const user = await createUser(app);
  assertTokenResponse(await login(app, user.email));
  const reset = await app.inject({ method: 'POST', url: `/users/${user.id}/reset_password`, headers: ADMIN, payload: { password: NEW_PASSWORD } });
  assert.equal(reset.statusCode, 200, reset.body);
  assert.deepEqual(json(reset), { id: user.id, temporary: true });
  assertOAuthError(await login(app, user.email, NEW_PASSWORD), 'invalid_grant', 'Password change required');
  assertTokenResponse(await changePassword(app, user.email, NEW_PASSWORD, 'After-Reset-Permanent-8'));
});

test('temporary passwords expire after GATEHOUSE_TEMPORARY_PASSWORD_TTL', async () => {
  const { app, advance } = await clockedApp({ GATEHOUSE_TEMPORARY_PASSWORD_TTL: '60' });
  const user = await createUser(app, { temporary: true });
  advance(59_000);
  assertOAuthError(await login(app, user.email), 'invalid_grant', 'Password change required');
  advance(2_000);
  const expired = await login(app, user.email);
  assertOAuthError(expired, 'invalid_grant');
  assert.notEqual(json(expired).error_description, 'Password change required', 'an expired password can no longer be changed');
  assertOAuthError(await changePassword(app, user.email, GOOD_PASSWORD, NEW_PASSWORD), 'invalid_grant');
  assertOAuthError(await login(app, user.email, NEW_PASSWORD), 'invalid_grant'); // the change did not happen
  // an admin reset issues a fresh temporary password with a fresh lifetime
  const reset = await app.inject({ method: 'POST', url: `/users/${user.id}/reset_password`, headers: ADMIN, payload: { password: NEW_PASSWORD } });
  assert.equal(reset.statusCode, 200, reset.body);
  assertTokenResponse(await changePassword(app, user.email, NEW_PASSWORD, 'Renewed-Permanent-Pass-5'));
});

test('temporary passwords live 7 days by default', async () => {
  const { app, advance } = await clockedApp();
  const early = await createUser(app, { temporary: true });
  const late = await createUser(app, { temporary: true });
  advance(7 * DAY_MS - 60_000);
  assertOAuthError(await login(app, early.email), 'invalid_grant', 'Password change required');
  assertTokenResponse(await changePassword(app, early.email, GOOD_PASSWORD, NEW_PASSWORD));
  advance(120_000);
  assertOAuthError(await changePassword(app, late.email, GOOD_PASSWORD, NEW_PASSWORD), 'invalid_grant');
});

test('a password sent in the wrong field is not echoed by a 422 either', async () => {
  const { app } = await testApp(NO_LIMIT);
  const res = await app.inject({
    method: 'POST',
    url: '/auth/password',
    payload: { username: ['Typed-Into-Username-77'], current_password: 'Typed-Into-Username-77', new_password: NEW_PASSWORD },
  });
  assert.equal(res.statusCode, 422);
  const [problem] = json<{ detail: { loc: string[]; input: unknown }[] }>(res).detail;
  assert.deepEqual(problem!.loc, ['body', 'username']);
  assert.equal(problem!.input, '[redacted]');
  assert.ok(!res.body.includes('Typed-Into-Username-77'));
});
