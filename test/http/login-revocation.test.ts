import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { base64url, createLocalJWKSet, decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, jwtVerify } from 'jose';
import { SignJWT, UnsecuredJWT, type JWK, type JWTPayload } from 'jose';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createJwtSigner } from '../../src/security/jwt-signer.ts';
import type { Database } from '../../src/store/database.ts';
import { createSigningKeyStore } from '../../src/store/signing-key-store.ts';
import { ADMIN, ADMIN_KEY, createUser, GOOD_PASSWORD, json, testApp, testDatabase, testHasher } from '../helpers/app.ts';

// Issue items 4, 5 and 7: self-service reset, revocation that lands at once, logout, forged tokens, JWKS and
// discovery, keys shared through the database, key rotation. CONTRACT.md §1.1, §3.3, §4.

const NO_LIMIT = { GATEHOUSE_AUTH_RATE_LIMIT: '0' };
const NEW_PASSWORD = 'Quiet-Orchard-31-Beacon';
const BAD = { detail: 'Bad credentials' };

interface Tokens {
  access_token: string;
  refresh_token: string;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const me = (app: FastifyInstance, token: string) => app.inject({ method: 'GET', url: '/users/me', headers: bearer(token) });
const refresh = (app: FastifyInstance, refresh_token: string) =>
  app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'refresh_token', refresh_token } });

async function login(app: FastifyInstance, username: string, password = GOOD_PASSWORD): Promise<Tokens> {
  const res = await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username, password } });
  assert.equal(res.statusCode, 200, res.body);
  return json<Tokens>(res);
}

function assertBadCredentials(res: LightMyRequestResponse, what: string) {
  assert.equal(res.statusCode, 401, `${what}: ${res.statusCode} ${res.body}`);
  assert.deepEqual(json(res), BAD, what);
  assert.match(String(res.headers['www-authenticate']), /^Bearer\b.*error="invalid_token"/, what);
}

const assertInvalidGrant = (res: LightMyRequestResponse, what: string) =>
  assert.deepEqual([res.statusCode, json(res).error], [400, 'invalid_grant'], `${what}: ${res.body}`);

/** Both tokens of each session work now (which also fills any verification cache). */
async function assertAlive(app: FastifyInstance, session: Tokens): Promise<Tokens> {
  assert.equal((await me(app, session.access_token)).statusCode, 200);
  const res = await refresh(app, session.refresh_token);
  assert.equal(res.statusCode, 200, res.body);
  const next = json<Tokens>(res);
  assert.equal((await me(app, next.access_token)).statusCode, 200);
  return next;
}

async function assertDead(app: FastifyInstance, session: Tokens, what: string) {
  assertBadCredentials(await me(app, session.access_token), `${what}: access token`);
  assertInvalidGrant(await refresh(app, session.refresh_token), `${what}: refresh token`);
}

async function clockedApp(env: Record<string, string> = {}, database?: Database, clock?: { now(): number }) {
  let now = Date.now();
  const db = database ?? (await testDatabase());
  const config = loadConfig({ GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_LOG_LEVEL: 'silent', ...NO_LIMIT, ...env });
  const theClock = clock ?? { now: () => now };
  const app = await buildApp(config, { database: db, hasher: testHasher, clock: theClock });
  after(async () => {
    await app.close();
    if (!database) await db.close();
  });
  return { app, database: db, config, clock: theClock, advance: (ms: number) => void (now += ms) };
}

const resetPassword = (app: FastifyInstance, id: string, headers: Record<string, string>, password = NEW_PASSWORD) =>
  app.inject({ method: 'POST', url: `/users/${id}/reset_password`, headers, payload: { password } });

test('a user resets their own password with their access token: permanent, and older tokens die', async () => {
  const { app } = await testApp(NO_LIMIT);
  const user = await createUser(app);
  const other = await createUser(app);
  const session = await login(app, user.email);
  const otherSession = await login(app, other.email);

  const denied = await resetPassword(app, other.id, bearer(session.access_token));
  assert.equal(denied.statusCode, 403, denied.body);
  assert.deepEqual(json(denied), { detail: "You can't reset password for this user." });
  await login(app, other.email); // the other user's password is untouched
  await assertAlive(app, otherSession);

  const ok = await resetPassword(app, user.id, bearer(session.access_token));
  assert.equal(ok.statusCode, 200, ok.body);
  assert.deepEqual(json(ok), { id: user.id, temporary: false });
  await assertDead(app, session, 'after self reset');
  const fresh = await login(app, user.email, NEW_PASSWORD); // permanent: tokens at once, no change required
  await assertAlive(app, fresh);
});

test('an admin reset ends every older access and refresh token of the user, on the next request', async () => {
  const { app } = await testApp(NO_LIMIT);
  const user = await createUser(app);
  const bystander = await createUser(app);
  const a = await assertAlive(app, await login(app, user.email));
  const b = await assertAlive(app, await login(app, user.email));
  const theirs = await login(app, bystander.email);
  assert.equal((await me(app, a.access_token)).statusCode, 200);

  const res = await resetPassword(app, user.id, ADMIN);
  assert.equal(res.statusCode, 200, res.body);
  await assertDead(app, a, 'after admin reset (a)');
  await assertDead(app, b, 'after admin reset (b)');
  await assertAlive(app, theirs);
});

test('a password change at /auth/password ends every older token; the new ones work', async () => {
  const { app } = await testApp(NO_LIMIT);
  const user = await createUser(app);
  const old = await assertAlive(app, await login(app, user.email));
  const res = await app.inject({
    method: 'POST',
    url: '/auth/password',
    payload: { username: user.email, current_password: GOOD_PASSWORD, new_password: NEW_PASSWORD },
  });
  assert.equal(res.statusCode, 200, res.body);
  await assertDead(app, old, 'after password change');
  await assertAlive(app, json<Tokens>(res));
});

test('deleting a user ends their access and refresh tokens at once', async () => {
  const { app } = await testApp(NO_LIMIT);
  const user = await createUser(app);
  const session = await assertAlive(app, await login(app, user.email));
  const res = await app.inject({ method: 'DELETE', url: `/users/${user.id}`, headers: ADMIN });
  assert.equal(res.statusCode, 200, res.body);
  await assertDead(app, session, 'after delete');
  // a new user with the same email gets nothing from the old tokens
  await createUser(app, { email: user.email });
  await assertDead(app, session, 'after re-create');
});

test('POST /auth/logout revokes the refresh token and its whole rotation family', async () => {
  const { app } = await testApp(NO_LIMIT);
  const user = await createUser(app);
  const logout = (refresh_token: string) => app.inject({ method: 'POST', url: '/auth/logout', payload: { refresh_token } });

  const one = await login(app, user.email);
  const two = await login(app, user.email);
  const res = await logout(one.refresh_token);
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(json(res), {});
  assertInvalidGrant(await refresh(app, one.refresh_token), 'logged-out token');
  await assertAlive(app, two); // another login of the same user continues

  // logging out with an older token of a login also ends the token it was rotated into
  const first = await login(app, user.email);
  const second = json<Tokens>(await refresh(app, first.refresh_token));
  assert.equal((await logout(first.refresh_token)).statusCode, 200);
  assertInvalidGrant(await refresh(app, second.refresh_token), 'rotated token of a logged-out login');

  assert.deepEqual(json(await logout('grt_never-issued-0123456789abcdef')), {});
});

/** Signs a token with the app's own private key from the database, so one claim at a time can be made wrong. */
async function realKeySigner(database: Database) {
  const row = await database.db.selectFrom('signing_keys').selectAll().where('retired_at', 'is', null).executeTakeFirstOrThrow();
  const key = await importJWK(JSON.parse(row.private_jwk) as JWK, row.alg);
  return (payload: JWTPayload, typ = 'at+jwt') => new SignJWT(payload).setProtectedHeader({ alg: row.alg, kid: row.kid, typ }).sign(key);
}

for (const alg of ['RS256', 'EdDSA', 'ES256'] as const) test(`forged, tampered, foreign and expired tokens are all 401 Bad credentials (${alg})`, async () => {
  const { app, database, config } = await testApp({ ...NO_LIMIT, GATEHOUSE_SIGNING_ALG: alg });
  const user = await createUser(app, { roles: ['CHAT-USER'] });
  const { access_token } = await login(app, user.email);
  const claims = decodeJwt(access_token);
  const header = decodeProtectedHeader(access_token);
  const jwks = json<{ keys: JWK[] }>(await app.inject({ method: 'GET', url: '/.well-known/jwks.json' }));
  const published = jwks.keys.find((k) => k.kid === header.kid)!;
  const signReal = await realKeySigner(database);
  const now = Math.floor(Date.now() / 1000);
  const base = { ...claims, jti: `forged-${now}`, iat: now, exp: now + 600 };

  // control: the forging harness itself makes acceptable tokens when nothing is wrong
  assert.equal((await me(app, await signReal(base))).statusCode, 200);

  const [h, p, s] = access_token.split('.') as [string, string, string];
  const escalated = base64url.encode(JSON.stringify({ ...claims, roles: ['ORG-ADMIN'] }));
  const flipped = s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + s.at(-1);
  const otherKey = (await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : {})).privateKey;
  const publicPart = published.x ?? published.n!; // the bytes an HS256 confusion attack would key with
  const hs = (secret: Uint8Array) => new SignJWT(base).setProtectedHeader({ alg: 'HS256', kid: header.kid!, typ: 'at+jwt' }).sign(secret);

  const forgeries: [string, string][] = [
    ['payload tampered (roles → ORG-ADMIN)', `${h}.${escalated}.${s}`],
    ['signature tampered', `${h}.${p}.${flipped}`],
    ['alg none', new UnsecuredJWT(base).encode()],
    ['alg none with the real kid, signature kept', `${base64url.encode(JSON.stringify({ alg: 'none', kid: header.kid, typ: 'at+jwt' }))}.${p}.${s}`],
    ['HS256 keyed with the public key bytes', await hs(base64url.decode(publicPart))],
    ['HS256 keyed with the public key text', await hs(new TextEncoder().encode(publicPart))],
    ['HS256 keyed with the public JWK JSON', await hs(new TextEncoder().encode(JSON.stringify(published)))],
    [`another ${alg} key, same kid`, await new SignJWT(base).setProtectedHeader({ alg, kid: header.kid!, typ: 'at+jwt' }).sign(otherKey)],
    ['an ID token of the same key presented as an access token', await signReal(base, 'JWT')],
    ['real key, other issuer', await signReal({ ...base, iss: 'https://evil.example.test' })],
    ['real key, other audience', await signReal({ ...base, aud: 'some-other-service' })],
    ['real key, no audience', await signReal({ ...base, aud: undefined })],
    ['real key, expired', await signReal({ ...base, iat: now - 3600, exp: now - 60 })],
    ['real key, unknown user', await signReal({ ...base, sub: '00000000-0000-7000-8000-000000000000' })],
    ['real key, wrong token version', await signReal({ ...base, ver: Number(claims.ver) + 1 })],
  ];
  assert.notEqual(config.issuer, 'https://evil.example.test');
  for (const [what, token] of forgeries) assertBadCredentials(await me(app, token), what);
  assert.equal((await me(app, access_token)).statusCode, 200, 'the genuine token still works');
});

test('an access token stops working when it expires, even after it was used', async () => {
  const { app, advance } = await clockedApp({ GATEHOUSE_ACCESS_TOKEN_TTL: '30' });
  const user = await createUser(app);
  const used = await login(app, user.email);
  const unused = await login(app, user.email);
  assert.equal((await me(app, used.access_token)).statusCode, 200);
  advance(20_000);
  assert.equal((await me(app, used.access_token)).statusCode, 200);
  advance(20_000); // 40 s after issue: past the 30 s lifetime and any clock-skew allowance
  assertBadCredentials(await me(app, used.access_token), 'expired, used before');
  assertBadCredentials(await me(app, unused.access_token), 'expired, never used');
  assert.equal((await refresh(app, used.refresh_token)).statusCode, 200, 'the refresh token outlives the access token');
});

test('JWKS publishes public keys only and verifies tokens on its own; discovery describes the issuer', async () => {
  const { app, database, config } = await testApp({ ...NO_LIMIT, GATEHOUSE_ISSUER: 'https://id.example.test' });
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  assert.equal(res.statusCode, 200);
  const jwks = json<{ keys: JWK[] }>(res);
  assert.ok(jwks.keys.length >= 1);
  for (const key of jwks.keys) {
    assert.equal(key.kty, 'RSA', 'RS256 is the default: what OpenID Connect requires every relying party to support');
    assert.equal(key.alg, 'RS256');
    assert.equal(key.use, 'sig');
    assert.equal(typeof key.kid, 'string');
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) assert.ok(!(secret in key), `no ${secret} in the JWKS`);
    assert.ok(key.n!.length >= 342, 'at least a 2048-bit modulus');
  }
  const stored = await database.db.selectFrom('signing_keys').selectAll().execute();
  assert.equal(stored.length, 1, 'one signing key, generated at first start');
  const privateD = (JSON.parse(stored[0]!.private_jwk) as JWK).d!;
  assert.ok(!res.body.includes(privateD), 'the private key never appears');

  const user = await createUser(app);
  const { access_token } = await login(app, user.email);
  assert.equal(decodeProtectedHeader(access_token).kid, stored[0]!.kid);
  const { payload, protectedHeader } = await jwtVerify(access_token, createLocalJWKSet(jwks), { issuer: config.issuer, audience: config.audience });
  assert.equal(payload.sub, user.id);
  assert.equal(protectedHeader.alg, 'RS256');

  const discovery = await app.inject({ method: 'GET', url: '/.well-known/openid-configuration' });
  assert.equal(discovery.statusCode, 200);
  const doc = json(discovery);
  assert.equal(doc.issuer, 'https://id.example.test');
  assert.equal(doc.token_endpoint, 'https://id.example.test/protocol/openid-connect/token');
  assert.equal(doc.jwks_uri, 'https://id.example.test/protocol/openid-connect/certs');
  assert.ok(['password', 'refresh_token', 'authorization_code'].every((g) => doc.grant_types_supported.includes(g)));
  assert.deepEqual(doc.id_token_signing_alg_values_supported, ['RS256']);
  const certs = await app.inject({ method: 'GET', url: '/protocol/openid-connect/certs' });
  assert.deepEqual(json(certs), jwks, 'the Keycloak-named key set is the same set');
});

test('a second app on the same database verifies the first app’s tokens, and the other way round', async () => {
  const first = await clockedApp();
  const second = await clockedApp({}, first.database, first.clock);
  const user = await createUser(first.app);
  const fromFirst = await login(first.app, user.email);
  const fromSecond = await login(second.app, user.email);
  assert.equal(json(await me(second.app, fromFirst.access_token)).user_id, user.id);
  assert.equal(json(await me(first.app, fromSecond.access_token)).user_id, user.id);
  assert.equal((await refresh(second.app, fromFirst.refresh_token)).statusCode, 200);
  const jwks = (app: FastifyInstance) => app.inject({ method: 'GET', url: '/.well-known/jwks.json' }).then((r) => json(r));
  assert.deepEqual(await jwks(second.app), await jwks(first.app));
  // revocation through one app lands on the other
  assert.equal((await resetPassword(first.app, user.id, ADMIN)).statusCode, 200);
  assertBadCredentials(await me(second.app, fromSecond.access_token), 'revoked through the other app');
});

test('rotation: a retired key stays published and valid until its tokens have expired', async () => {
  const a = await clockedApp();
  const user = await createUser(a.app);
  const oldToken = (await login(a.app, user.email)).access_token;
  const oldKid = decodeProtectedHeader(oldToken).kid!;

  const signer = await createJwtSigner({
    keys: createSigningKeyStore(a.database.db, a.database.dialect),
    issuer: a.config.issuer,
    audience: a.config.audience,
    accessTtlSeconds: a.config.accessTokenTtlSeconds,
    alg: a.config.signingAlg,
    clock: a.clock,
  });
  const newKid = await signer.rotate();
  assert.notEqual(newKid, oldKid);

  const b = await clockedApp({}, a.database, a.clock); // a replica started after the rotation
  const jwksRes = await b.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  const jwks = json<{ keys: JWK[] }>(jwksRes);
  assert.deepEqual(jwks.keys.map((k) => k.kid).sort(), [oldKid, newKid].sort());
  const newToken = (await login(b.app, user.email)).access_token;
  assert.equal(decodeProtectedHeader(newToken).kid, newKid, 'the new key signs');

  for (const token of [oldToken, newToken]) {
    await jwtVerify(token, createLocalJWKSet(jwks), { issuer: a.config.issuer, audience: a.config.audience, currentDate: new Date(a.clock.now()) });
    assert.equal((await me(b.app, token)).statusCode, 200);
    assert.equal((await me(a.app, token)).statusCode, 200); // a learns the new key from the database
  }

  a.advance((a.config.accessTokenTtlSeconds + 60) * 1000);
  const later = json<{ keys: JWK[] }>(await b.app.inject({ method: 'GET', url: '/.well-known/jwks.json' }));
  assert.deepEqual(later.keys.map((k) => k.kid), [newKid], 'the retired key leaves once its tokens have expired');
});
