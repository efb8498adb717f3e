import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { ADMIN, createUser, GOOD_PASSWORD, json } from '../helpers/app.ts';
import { CookieBrowser, formOf, listeningApp, REALM_PATH, registerClient, type BrowserResponse, type RegisteredClient } from '../helpers/oidc.ts';

// The authorization endpoint, code exchange and token endpoints against RFC 9700 (OAuth security BCP), RFC 6749,
// RFC 7636 (PKCE), RFC 7009/7662 and OpenID Connect Core / RP-Initiated Logout. Each test fails if its protection is
// broken: every refusal is checked for its exact error code and for what it must NOT have issued or ended.
// Logout, prompt and max_age (what the browser's session may do) are in login-page-defence.test.ts.

const REDIRECT = 'http://app.example.test/callback';
const REDIRECT_2 = 'http://app.example.test/callback2';
const OIDC = `${REALM_PATH}/protocol/openid-connect`;

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** A fresh app with a user, a confidential client (two redirect URIs), a public client, a browser and a movable clock. */
async function setup(env: Record<string, string> = {}) {
  let now = Date.now();
  const t = await listeningApp(env, { clock: { now: () => now } });
  const user = await createUser(t.app);
  const client = await registerClient(t.app, { redirect_uris: [REDIRECT, REDIRECT_2] });
  const spa = await registerClient(t.app, { token_endpoint_auth_method: 'none' });
  return { t, user, client, spa, browser: new CookieBrowser(t.origin), advance: (ms: number) => void (now += ms) };
}
type Setup = Awaited<ReturnType<typeof setup>>;
type Params = Record<string, string | undefined>;

const defined = (p: Params) => Object.fromEntries(Object.entries(p).filter((e): e is [string, string] => e[1] !== undefined));
const authUrl = (s: Setup, params: Params) => `${s.t.issuer}/protocol/openid-connect/auth?${new URLSearchParams(defined(params))}`;

/** A code + PKCE authorization request of `client`; `extra` overrides (undefined removes a parameter). */
function authParams(client: RegisteredClient, extra: Params = {}) {
  const { verifier, challenge } = pkce();
  const params = { client_id: client.client_id, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid email', state: 'st-1', nonce: 'nonce-1', code_challenge: challenge, code_challenge_method: 'S256', ...extra };
  return { params, verifier };
}

/** Runs an authorization request in the setup's browser (signing in on the page if asked) and returns the code. */
async function authorize(s: Setup, client: RegisteredClient = s.client, extra: Params = {}) {
  const { params, verifier } = authParams(client, extra);
  let res = await s.browser.get(authUrl(s, params));
  if (res.status === 200) {
    const form = formOf(res.body);
    res = await s.browser.post(form.action, { ...form.fields, username: s.user.email, password: GOOD_PASSWORD });
  }
  assert.ok(res.location, `a redirect back expected, got ${res.status}: ${res.body.slice(0, 300)}`);
  const back = new URL(res.location);
  const code = back.searchParams.get('code');
  assert.ok(code, `a code expected: ${res.location}`);
  return { code, verifier, back };
}

const basic = (c: RegisteredClient, secret = c.client_secret ?? '') => ({
  authorization: `Basic ${Buffer.from(`${encodeURIComponent(c.client_id)}:${encodeURIComponent(secret)}`).toString('base64')}`,
});

/** A back-channel POST through app.inject (every call is checked for leaked secrets by the test app). */
const post = (s: Setup, path: string, form: Params, headers: Record<string, string> = {}) =>
  s.t.app.inject({ method: 'POST', url: path.startsWith('/') ? path : `${OIDC}/${path}`, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: new URLSearchParams(defined(form)).toString() });
/** The same, authenticated as `client`: Basic for a confidential client, client_id in the body for a public one. */
const as = (s: Setup, client: RegisteredClient, path: string, form: Params) =>
  client.client_secret ? post(s, path, form, basic(client)) : post(s, path, { client_id: client.client_id, ...form });

const exchange = (s: Setup, code: string, verifier: string | undefined, client: RegisteredClient = s.client, extra: Params = {}) =>
  as(s, client, 'token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, ...extra });
const refresh = (s: Setup, client: RegisteredClient, refreshToken: string) => as(s, client, 'token', { grant_type: 'refresh_token', refresh_token: refreshToken });

function issued(res: LightMyRequestResponse): { access_token: string; refresh_token: string; id_token: string } {
  assert.equal(res.statusCode, 200, res.body);
  return json(res);
}

/** An OAuth error with exactly this code, and nothing issued alongside it. */
function refused(res: LightMyRequestResponse, error: string, status = 400) {
  assert.equal(res.statusCode, status, res.body);
  assert.deepEqual(Object.keys(json(res)).sort(), ['error', 'error_description'], res.body);
  assert.equal(json(res).error, error, res.body);
}

/** A page shown to the browser, which is sent nowhere (the redirect URI, or the request, is not trusted). */
function errorPage(res: BrowserResponse, what = '') {
  assert.equal(res.status, 400, `${what}: ${res.status} ${res.location ?? ''}`);
  assert.equal(res.location, null, `${what}: never redirected`);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/, what);
}

const me = async (s: Setup, accessToken: string) => (await s.t.app.inject({ url: '/users/me', headers: { authorization: `Bearer ${accessToken}` } })).statusCode;
const active = async (s: Setup, token: string) => json(await as(s, s.client, 'token/introspect', { token })).active as boolean;

function atHash(accessToken: string, alg: string) {
  const digest = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256').update(accessToken).digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

test('the redirect URI must match a registered one exactly, or the browser is shown an error and sent nowhere', async () => {
  const s = await setup();
  const variants = [
    `${REDIRECT}x`, // the registered URI as a prefix
    `${REDIRECT}/extra`,
    `${REDIRECT}/`,
    'http://APP.example.test/callback',
    'http://app.example.test/CALLBACK',
    `${REDIRECT}?extra=1`,
    'http://app.example.test:8080/callback',
    `${REDIRECT}#fragment`,
    'https://app.example.test/callback',
    'http://app.example.test.evil.test/callback',
    'http://app.example.test/%63allback',
    'http://app.example.test/signed-out', // registered, but for logout only
  ];
  for (const redirect_uri of variants) {
    errorPage(await s.browser.get(authUrl(s, authParams(s.client, { redirect_uri }).params)), redirect_uri);
    // Not even an error goes to an untrusted redirect URI.
    errorPage(await s.browser.get(authUrl(s, authParams(s.client, { redirect_uri, response_type: 'token' }).params)), `${redirect_uri} + token`);
  }
  const other = await registerClient(s.t.app, { redirect_uris: ['http://other.example.test/cb'] });
  errorPage(await s.browser.get(authUrl(s, authParams(s.client, { redirect_uri: other.redirect_uris[0] }).params)), "another client's redirect URI");
  errorPage(await s.browser.get(authUrl(s, authParams(s.client, { client_id: undefined }).params)), 'missing client_id');
  errorPage(await s.browser.get(authUrl(s, authParams(s.client, { client_id: 'no-such-client' }).params)), 'unknown client_id');
  errorPage(await s.browser.get(authUrl(s, authParams(s.client, { redirect_uri: undefined }).params)), 'missing redirect_uri');
  assert.equal(s.browser.cookies.size, 0, 'no interaction was started');
});

test('other authorization errors go back to the registered redirect URI with error, state and iss, and no code', async () => {
  const s = await setup();
  const cases: [RegisteredClient, Params, string][] = [
    [s.client, { response_type: 'token' }, 'unsupported_response_type'],
    [s.client, { response_type: 'id_token' }, 'unsupported_response_type'],
    [s.client, { response_type: 'id_token token' }, 'unsupported_response_type'],
    [s.client, { response_type: 'code id_token' }, 'unsupported_response_type'],
    [s.client, { request: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' }, 'request_not_supported'],
    [s.client, { request_uri: 'https://evil.example.test/request.jwt' }, 'request_uri_not_supported'],
    [s.client, { code_challenge_method: 'plain' }, 'invalid_request'],
    [s.client, { code_challenge_method: undefined }, 'invalid_request'], // RFC 7636 §4.3: absent means plain
    [s.client, { response_mode: 'form_post' }, 'invalid_request'],
    [s.spa, { code_challenge: undefined, code_challenge_method: undefined }, 'invalid_request'], // public client: PKCE required
  ];
  for (const [client, extra, error] of cases) {
    const res = await s.browser.get(authUrl(s, authParams(client, { ...extra, state: 'keep-me' }).params));
    const what = JSON.stringify(extra);
    assert.equal(res.status, 302, `${what}: ${res.body.slice(0, 200)}`);
    const back = new URL(res.location!);
    assert.equal(`${back.origin}${back.pathname}`, REDIRECT, what);
    assert.equal(back.searchParams.get('error'), error, what);
    assert.equal(back.searchParams.get('state'), 'keep-me', what);
    assert.equal(back.searchParams.get('iss'), s.t.issuer, what);
    assert.equal(back.searchParams.get('code'), null, what);
  }
  // response_mode=fragment (keycloak-js): the error goes in the fragment, with the same state and iss.
  const res = await s.browser.get(authUrl(s, authParams(s.client, { response_type: 'token', response_mode: 'fragment' }).params));
  const back = new URL(res.location!);
  const fragment = new URLSearchParams(back.hash.slice(1));
  assert.equal(`${back.origin}${back.pathname}${back.search}`, REDIRECT);
  assert.deepEqual([fragment.get('error'), fragment.get('state'), fragment.get('iss'), fragment.get('code')], ['unsupported_response_type', 'st-1', s.t.issuer, null]);
});

test('state, nonce and iss pass through; the RS256 ID token has aud, azp and a matching at_hash', async () => {
  const s = await setup();
  const { code, verifier, back } = await authorize(s);
  assert.equal(`${back.origin}${back.pathname}`, REDIRECT);
  assert.equal(back.searchParams.get('state'), 'st-1');
  assert.equal(back.searchParams.get('iss'), s.t.issuer, 'RFC 9207: the issuer identifies itself in the response');
  const tokens = issued(await exchange(s, code, verifier));
  const jwks = createRemoteJWKSet(new URL(`${s.t.issuer}/protocol/openid-connect/certs`));
  const { payload, protectedHeader } = await jwtVerify(tokens.id_token, jwks, { issuer: s.t.issuer, audience: s.client.client_id, algorithms: ['RS256'] });
  assert.equal(protectedHeader.alg, 'RS256');
  assert.equal(payload.aud, s.client.client_id);
  assert.equal(payload.azp, s.client.client_id);
  assert.equal(payload.sub, s.user.id);
  assert.equal(payload.nonce, 'nonce-1');
  assert.equal(payload.at_hash, atHash(tokens.access_token, 'RS256'));
  assert.equal(typeof payload.auth_time, 'number');
  assert.equal(await me(s, tokens.id_token), 401, 'an ID token is not an access token');
});

test('a code works once: a second exchange is invalid_grant and kills everything the first one issued', async () => {
  const s = await setup();
  const { code, verifier } = await authorize(s);
  const first = issued(await exchange(s, code, verifier));
  assert.equal(await me(s, first.access_token), 200);
  refused(await exchange(s, code, verifier), 'invalid_grant');
  assert.equal(await me(s, first.access_token), 401, 'the access token of the first exchange is dead');
  assert.equal(await active(s, first.access_token), false);
  assert.equal(await active(s, first.refresh_token), false);
  refused(await refresh(s, s.client, first.refresh_token), 'invalid_grant');
});

test('a code expires after 60 s, and works only for its client and its redirect_uri', async () => {
  const s = await setup();
  const late = await authorize(s);
  s.advance(61_000);
  refused(await exchange(s, late.code, late.verifier), 'invalid_grant');
  const other = await registerClient(s.t.app, { redirect_uris: [REDIRECT] });
  let c = await authorize(s);
  refused(await exchange(s, c.code, c.verifier, other), 'invalid_grant'); // another client's valid credentials
  c = await authorize(s);
  refused(await exchange(s, c.code, c.verifier, s.client, { redirect_uri: undefined }), 'invalid_grant');
  c = await authorize(s);
  refused(await exchange(s, c.code, c.verifier, s.client, { redirect_uri: REDIRECT_2 }), 'invalid_grant'); // registered, but not the one asked for
  c = await authorize(s);
  issued(await exchange(s, c.code, c.verifier)); // control: a fresh code, its client and its redirect_uri
});

test('PKCE: the verifier is required and must match; none may be added without a challenge; PKCE-less confidential clients still work', async () => {
  const s = await setup();
  for (const client of [s.client, s.spa]) {
    let c = await authorize(s, client);
    refused(await exchange(s, c.code, undefined, client), 'invalid_grant');
    c = await authorize(s, client);
    refused(await exchange(s, c.code, pkce().verifier, client), 'invalid_grant');
  }
  const noPkce = { code_challenge: undefined, code_challenge_method: undefined };
  let c = await authorize(s, s.client, noPkce);
  refused(await exchange(s, c.code, pkce().verifier), 'invalid_grant'); // RFC 9700 §2.1.1: downgrade
  c = await authorize(s, s.client, noPkce);
  issued(await exchange(s, c.code, undefined)); // as the seed's system signed in
  c = await authorize(s, s.spa);
  issued(await exchange(s, c.code, c.verifier, s.spa));
});

test('client authentication: wrong secret and unknown client get the same 401; two methods, or a public client with a secret, are refused', async () => {
  const s = await setup();
  const c = await authorize(s);
  const form = { grant_type: 'authorization_code', code: c.code, redirect_uri: REDIRECT, code_verifier: c.verifier };
  const wrong = await post(s, 'token', form, basic(s.client, 'gcs_not-the-secret-000000000000000'));
  const unknown = await post(s, 'token', form, basic({ ...s.client, client_id: 'no-such-client' }));
  for (const res of [wrong, unknown]) {
    refused(res, 'invalid_client', 401);
    assert.match(String(res.headers['www-authenticate']), /^Basic /);
  }
  assert.deepEqual(json(unknown), json(wrong), 'nobody learns which client ids exist');
  refused(await post(s, 'token', { ...form, client_id: s.client.client_id }), 'invalid_client', 401); // no secret at all
  refused(await post(s, 'token', { ...form, client_secret: s.client.client_secret }, basic(s.client)), 'invalid_request');
  const p = await authorize(s, s.spa);
  refused(await post(s, 'token', { grant_type: 'authorization_code', code: p.code, redirect_uri: REDIRECT, code_verifier: p.verifier, client_id: s.spa.client_id, client_secret: 'a-secret-a-public-client-cannot-have' }), 'invalid_client', 401);
  issued(await exchange(s, c.code, c.verifier)); // no failed attempt spent the code
  const poster = await registerClient(s.t.app, { token_endpoint_auth_method: 'client_secret_post' });
  const q = await authorize(s, poster);
  issued(await post(s, 'token', { grant_type: 'authorization_code', code: q.code, redirect_uri: REDIRECT, code_verifier: q.verifier, client_id: poster.client_id, client_secret: poster.client_secret }));
});

test('a refresh token works only for its own, authenticated client', async () => {
  const s = await setup();
  const c = await authorize(s);
  const tokens = issued(await exchange(s, c.code, c.verifier));
  const other = await registerClient(s.t.app, { redirect_uris: [REDIRECT] });
  const grant = { grant_type: 'refresh_token', refresh_token: tokens.refresh_token };
  refused(await refresh(s, other, tokens.refresh_token), 'invalid_grant');
  refused(await refresh(s, s.spa, tokens.refresh_token), 'invalid_grant'); // a public client is authenticated by its id alone
  refused(await post(s, 'token', grant), 'invalid_client', 401);
  refused(await post(s, 'token', { ...grant, client_id: s.client.client_id }), 'invalid_client', 401);
  refused(await post(s, '/auth/token', grant), 'invalid_client', 401);
  issued(await refresh(s, s.client, tokens.refresh_token)); // none of that spent it or ended its grant
});

test('a refresh token from the password grant cannot be used by a client', async () => {
  const s = await setup();
  const pw = issued(await post(s, '/auth/token', { grant_type: 'password', username: s.user.email, password: GOOD_PASSWORD }));
  // RFC 6749 §6: the server must ensure the refresh token was issued to the authenticated client. This one was not.
  refused(await refresh(s, s.client, pw.refresh_token), 'invalid_grant');
  issued(await post(s, '/auth/token', { grant_type: 'refresh_token', refresh_token: pw.refresh_token })); // as before: no client
});

test("revocation: a client cannot revoke another client's tokens; unknown tokens get 200", async () => {
  const s = await setup();
  const c = await authorize(s);
  const tokens = issued(await exchange(s, c.code, c.verifier));
  const other = await registerClient(s.t.app, { redirect_uris: [REDIRECT] });
  for (const token of [tokens.refresh_token, tokens.access_token]) {
    const res = await as(s, other, 'revoke', { token });
    assert.equal(res.statusCode, 200, res.body);
  }
  assert.equal(await me(s, tokens.access_token), 200);
  assert.equal(await active(s, tokens.access_token), true);
  assert.equal(await active(s, tokens.refresh_token), true);
  refused(await post(s, 'revoke', { token: tokens.refresh_token }), 'invalid_client', 401);
  for (const token of ['grt_no-such-refresh-token-0000000000', 'not-a-token-at-all']) assert.equal((await as(s, s.client, 'revoke', { token })).statusCode, 200);
  assert.equal((await as(s, s.client, 'revoke', { token: tokens.refresh_token })).statusCode, 200); // control: its own client can
  assert.equal(await active(s, tokens.access_token), false);
});

test('introspection: only confidential clients; inactive for garbage, expired tokens and deleted users', async () => {
  const s = await setup();
  const c = await authorize(s);
  const tokens = issued(await exchange(s, c.code, c.verifier));
  refused(await as(s, s.spa, 'token/introspect', { token: tokens.access_token }), 'invalid_client', 401);
  refused(await post(s, 'token/introspect', { token: tokens.access_token }), 'invalid_client', 401);
  const [h, p, sig] = tokens.access_token.split('.');
  for (const token of ['garbage', 'grt_garbage', `${h}.${p}.${sig!.slice(0, 10)}${sig![10] === 'A' ? 'B' : 'A'}${sig!.slice(11)}`]) {
    assert.deepEqual(json(await as(s, s.client, 'token/introspect', { token })), { active: false }, token);
  }
  assert.equal(await active(s, tokens.access_token), true);
  s.advance(16 * 60_000); // the access token lives 15 minutes
  assert.equal(await active(s, tokens.access_token), false, 'expired');
  const next = issued(await refresh(s, s.client, tokens.refresh_token));
  assert.equal(await active(s, next.access_token), true);
  const gone = await s.t.app.inject({ method: 'DELETE', url: `/users/${s.user.id}`, headers: ADMIN });
  assert.equal(gone.statusCode, 200, gone.body);
  assert.equal(await active(s, next.access_token), false, 'the user is deleted');
  assert.equal(await active(s, next.refresh_token), false, 'the user is deleted');
});

for (const alg of ['ES256', 'EdDSA'] as const) {
  test(`GATEHOUSE_SIGNING_ALG=${alg}: JWKS publishes that key and the whole flow works`, async () => {
    const s = await setup({ GATEHOUSE_SIGNING_ALG: alg });
    const certs = (await (await fetch(`${s.t.issuer}/protocol/openid-connect/certs`)).json()) as { keys: Record<string, string>[] };
    const expected = alg === 'ES256' ? { kty: 'EC', crv: 'P-256' } : { kty: 'OKP', crv: 'Ed25519' };
    assert.deepEqual(certs.keys.map((k) => ({ alg: k.alg, kty: k.kty, crv: k.crv })), [{ alg, ...expected }]);
    const discovery = (await (await fetch(`${s.t.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    assert.deepEqual(discovery.id_token_signing_alg_values_supported, [alg]);
    const c = await authorize(s);
    const tokens = issued(await exchange(s, c.code, c.verifier));
    const jwks = createRemoteJWKSet(new URL(`${s.t.issuer}/protocol/openid-connect/certs`));
    const { payload, protectedHeader } = await jwtVerify(tokens.id_token, jwks, { issuer: s.t.issuer, audience: s.client.client_id, algorithms: [alg] });
    assert.equal(protectedHeader.alg, alg);
    assert.equal(payload.nonce, 'nonce-1');
    assert.equal(payload.at_hash, atHash(tokens.access_token, alg));
    assert.equal(decodeProtectedHeader(tokens.access_token).alg, alg);
    assert.equal(await me(s, tokens.access_token), 200);
    const info = await fetch(`${s.t.issuer}/protocol/openid-connect/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(info.status, 200);
    const next = issued(await refresh(s, s.client, tokens.refresh_token));
    await jwtVerify(next.id_token, jwks, { issuer: s.t.issuer, audience: s.client.client_id, algorithms: [alg] });
    assert.equal(await active(s, next.access_token), true);
  });
}
