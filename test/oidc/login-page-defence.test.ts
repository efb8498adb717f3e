import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import { createUser, GOOD_PASSWORD, json } from '../helpers/app.ts';
import { CookieBrowser, formOf, listeningApp, REALM_PATH, registerClient, type BrowserResponse, type RegisteredClient } from '../helpers/oidc.ts';

// The browser-facing pages: the login form (login CSRF, enumeration, lockout, rate limit, expiry, escaping), the
// sign-out confirmation, and when the login page must be shown again (prompt, max_age). A refusal must neither
// redirect with a code nor set a session cookie, and a batch of bad requests must leave the sign-in tables as they were.

const REDIRECT = 'http://app.example.test/callback';
const SIGNED_OUT = 'http://app.example.test/signed-out';
const OIDC = `${REALM_PATH}/protocol/openid-connect`;
const WRONG = 'Wrong-Guess-Password-1';

/** A fresh app with a user, a confidential client, a browser and a movable clock. */
async function setup(env: Record<string, string> = {}) {
  let now = Date.now();
  const t = await listeningApp(env, { clock: { now: () => now } });
  const user = await createUser(t.app);
  const client = await registerClient(t.app);
  return { t, user, client, browser: new CookieBrowser(t.origin), advance: (ms: number) => void (now += ms) };
}
type Setup = Awaited<ReturnType<typeof setup>>;
type Params = Record<string, string | undefined>;

const defined = (p: Params) => Object.fromEntries(Object.entries(p).filter((e): e is [string, string] => e[1] !== undefined));
const authUrl = (s: Setup, params: Params) => `${s.t.issuer}/protocol/openid-connect/auth?${new URLSearchParams(defined(params))}`;

function authParams(client: RegisteredClient, extra: Params = {}) {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const params = { client_id: client.client_id, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid email', state: 'st-1', code_challenge: challenge, code_challenge_method: 'S256', ...extra };
  return { params, verifier };
}

/** Opens the login page in `browser` (a fresh one by default) and posts it; returns the answer to the post. */
async function tryLogin(s: Setup, username: string, password: string, browser = new CookieBrowser(s.t.origin)) {
  const page = await browser.get(authUrl(s, authParams(s.client).params));
  assert.equal(page.status, 200, page.body.slice(0, 300));
  const form = formOf(page.body);
  return browser.post(form.action, { ...form.fields, username, password });
}

/** Runs an authorization request in the setup's browser (signing in on the page if asked) and returns the code. */
async function authorize(s: Setup, extra: Params = {}) {
  const { params, verifier } = authParams(s.client, extra);
  let res = await s.browser.get(authUrl(s, params));
  if (res.status === 200) {
    const form = formOf(res.body);
    res = await s.browser.post(form.action, { ...form.fields, username: s.user.email, password: GOOD_PASSWORD });
  }
  const code = res.location && new URL(res.location).searchParams.get('code');
  assert.ok(code, `a code expected, got ${res.status} ${res.location ?? ''}: ${res.body.slice(0, 300)}`);
  return { code, verifier };
}

const basic = (c: RegisteredClient) => ({ authorization: `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}` });
/** A back-channel POST through app.inject (checked for leaked secrets by the test app), as the setup's client. */
const backChannel = (s: Setup, path: string, form: Params, headers: Record<string, string> = basic(s.client)) =>
  s.t.app.inject({ method: 'POST', url: path.startsWith('/') ? path : `${OIDC}/${path}`, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: new URLSearchParams(defined(form)).toString() });
const exchange = (s: Setup, c: { code: string; verifier: string }) =>
  backChannel(s, 'token', { grant_type: 'authorization_code', code: c.code, redirect_uri: REDIRECT, code_verifier: c.verifier });
const passwordGrant = (s: Setup, username: string, password: string) => backChannel(s, '/auth/token', { grant_type: 'password', username, password }, {});

const issued = (res: LightMyRequestResponse): { access_token: string; refresh_token: string; id_token: string } => (assert.equal(res.statusCode, 200, res.body), json(res));
const me = async (s: Setup, accessToken: string) => (await s.t.app.inject({ url: '/users/me', headers: { authorization: `Bearer ${accessToken}` } })).statusCode;
const active = async (s: Setup, token: string) => json(await backChannel(s, 'token/introspect', { token })).active as boolean;

/** Nobody was signed in: no redirect (so no code), no session cookie. */
function noSignIn(res: BrowserResponse, what: string) {
  assert.equal(res.location, null, `${what}: no redirect with a code (${res.status})`);
  assert.ok(!res.headers.getSetCookie().some((c) => c.startsWith('GATEHOUSE_SESSION=')), `${what}: no session cookie`);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/, what);
}

/** A page shown to the browser, which is sent nowhere. */
function errorPage(res: BrowserResponse, what = '') {
  assert.equal(res.status, 400, `${what}: ${res.status} ${res.location ?? ''}`);
  noSignIn(res, what);
}

const alertOf = (html: string) => /role="alert">([^<]*)</.exec(html)?.[1];

test('login CSRF: the form is refused without the browser cookie that started it, from another browser, or cross-site', async () => {
  const s = await setup();
  const a = new CookieBrowser(s.t.origin);
  const page = await a.get(authUrl(s, authParams(s.client).params));
  const form = formOf(page.body);
  const credentials = { ...form.fields, username: s.user.email, password: GOOD_PASSWORD };
  const bare = new CookieBrowser(s.t.origin);
  errorPage(await bare.post(form.action, credentials), 'no browser cookie');
  const b = new CookieBrowser(s.t.origin);
  assert.equal((await b.get(authUrl(s, authParams(s.client).params))).status, 200); // B has its own browser cookie
  errorPage(await b.post(form.action, credentials), "browser B posts browser A's form");
  const foreign: Record<string, string>[] = [{ origin: 'http://evil.example.test' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }];
  for (const headers of foreign) {
    const crossSite = await a.post(form.action, credentials, headers); // from browser A, with its cookie
    assert.equal(crossSite.status, 403, JSON.stringify(headers));
    noSignIn(crossSite, JSON.stringify(headers));
  }
  for (const browser of [a, b, bare]) assert.equal(browser.cookies.has('GATEHOUSE_SESSION'), false);
  const done = await a.post(form.action, credentials); // control: browser A, same site
  assert.equal(done.status, 303);
  assert.ok(new URL(done.location!).searchParams.get('code'));
});

test('one answer for an unknown email, a wrong password and a locked account; the lock is shared with /auth/token', async () => {
  const s = await setup({ GATEHOUSE_LOCKOUT_THRESHOLD: '3' });
  const normalised = (html: string) => html.replace(/name="interaction" value="[^"]*"/, '').replace(/(id="username"[^>]*value=")[^"]*"/, '$1"');
  const unknown = await tryLogin(s, 'no.such.person@example.com', WRONG);
  assert.equal(unknown.status, 200);
  noSignIn(unknown, 'unknown email');
  assert.equal(alertOf(unknown.body), 'Invalid username or password.');
  for (let i = 0; i < 3; i++) {
    const wrong = await tryLogin(s, s.user.email, WRONG);
    noSignIn(wrong, 'wrong password');
    assert.equal(normalised(wrong.body), normalised(unknown.body), 'a wrong password looks like an unknown email');
  }
  const locked = await tryLogin(s, s.user.email, GOOD_PASSWORD);
  noSignIn(locked, 'locked, right password');
  assert.equal(normalised(locked.body), normalised(unknown.body), 'a locked account looks like an unknown email');
  const token = await passwordGrant(s, s.user.email, GOOD_PASSWORD);
  assert.equal(token.statusCode, 400, 'locked through the page, so locked at /auth/token');
  assert.deepEqual(json(token), { error: 'invalid_grant', error_description: 'Invalid username or password' });

  // ... and the other way round.
  const other = await createUser(s.t.app);
  assert.equal((await tryLogin(s, other.email, GOOD_PASSWORD)).status, 303, 'control: the page signs this user in');
  for (let i = 0; i < 3; i++) assert.equal((await passwordGrant(s, other.email, WRONG)).statusCode, 400);
  const lockedByApi = await tryLogin(s, other.email, GOOD_PASSWORD);
  noSignIn(lockedByApi, 'locked through /auth/token');
  assert.equal(alertOf(lockedByApi.body), 'Invalid username or password.');
});

test('rate limit: with GATEHOUSE_AUTH_RATE_LIMIT=3 the 4th login post is a 429 page with Retry-After', async () => {
  const s = await setup({ GATEHOUSE_AUTH_RATE_LIMIT: '3' });
  const form = formOf((await s.browser.get(authUrl(s, authParams(s.client).params))).body);
  for (let i = 0; i < 3; i++) assert.equal((await s.browser.post(form.action, { ...form.fields, username: s.user.email, password: WRONG })).status, 200);
  const limited = await s.browser.post(form.action, { ...form.fields, username: s.user.email, password: GOOD_PASSWORD });
  assert.equal(limited.status, 429);
  assert.match(limited.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
  assert.match(limited.body, /<html/);
  noSignIn(limited, 'rate limited, even with the right password');
});

test('an expired temporary password is told as such (to whoever knows it) and signs nobody in', async () => {
  const s = await setup({ GATEHOUSE_TEMPORARY_PASSWORD_TTL: '60' });
  const temp = await createUser(s.t.app, { temporary: true });
  s.advance(120_000);
  const res = await tryLogin(s, temp.email, GOOD_PASSWORD);
  errorPage(res, 'expired temporary password');
  assert.match(res.body, /temporary password has expired/i);
  assert.doesNotMatch(res.body, /Choose a new password/);
  const wrong = await tryLogin(s, temp.email, WRONG);
  assert.equal(alertOf(wrong.body), 'Invalid username or password.', 'a wrong password learns nothing about the expiry');
  const fresh = await createUser(s.t.app, { temporary: true });
  assert.match((await tryLogin(s, fresh.email, GOOD_PASSWORD)).body, /Choose a new password/, 'control: a fresh one leads on');
});

test('a login interaction expires after 15 minutes, on the login and on the set-new-password step', async () => {
  const s = await setup();
  const form = formOf((await s.browser.get(authUrl(s, authParams(s.client).params))).body);
  s.advance(16 * 60_000);
  const late = await s.browser.post(form.action, { ...form.fields, username: s.user.email, password: GOOD_PASSWORD });
  errorPage(late, 'expired interaction');
  assert.match(late.body, /expired/);

  const temp = await createUser(s.t.app, { temporary: true });
  const browser = new CookieBrowser(s.t.origin);
  const step = await tryLogin(s, temp.email, GOOD_PASSWORD, browser);
  assert.match(step.body, /Choose a new password/);
  s.advance(16 * 60_000);
  const update = formOf(step.body);
  const NEW = 'Brand-New-Harbor-77-Lamp';
  const stale = await browser.post(update.action, { ...update.fields, password: NEW, confirm: NEW });
  errorPage(stale, 'expired set-new-password step');
  assert.equal((await passwordGrant(s, temp.email, NEW)).statusCode, 400, 'the password was not changed');
});

test('a repeated parameter in the authorization request is a 400 page, by GET or POST', async () => {
  const s = await setup();
  const { params } = authParams(s.client);
  for (const [key, value] of [['client_id', s.client.client_id], ['redirect_uri', 'http://evil.example.test/cb'], ['state', 'other']] as const) {
    const query = new URLSearchParams(params);
    query.append(key, value);
    errorPage(await s.browser.get(`${s.t.issuer}/protocol/openid-connect/auth?${query}`), `GET, ${key} twice`);
    const res = await fetch(`${s.t.issuer}/protocol/openid-connect/auth`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: query.toString(), redirect: 'manual' });
    errorPage({ status: res.status, location: res.headers.get('location'), body: await res.text(), headers: res.headers }, `POST, ${key} twice`);
  }
});

test("the client's name and the login_hint are escaped in the login page", async () => {
  const s = await setup();
  const evil = await registerClient(s.t.app, { client_name: '<script>alert(1)</script>' });
  const hint = `"><img src=x onerror=alert(1)>'`;
  const escaped = 'value="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&#39;"';
  const page = await s.browser.get(authUrl(s, authParams(evil, { login_hint: hint }).params));
  assert.equal(page.status, 200);
  assert.ok(page.body.includes('<strong>&lt;script&gt;alert(1)&lt;/script&gt;</strong>'), page.body);
  assert.ok(page.body.includes(escaped), page.body);
  assert.doesNotMatch(page.body, /<script|<img/);
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  const form = formOf(page.body);
  const again = await s.browser.post(form.action, { ...form.fields, username: hint, password: WRONG }); // echoed after a failure
  assert.ok(again.body.includes(escaped), again.body);
  assert.doesNotMatch(again.body, /<script|<img/);
});

const TABLES = ['login_sessions', 'grants', 'authorization_codes', 'refresh_tokens'] as const;

/** Row counts and every row of the sign-in tables. */
async function snapshot(s: Setup) {
  const counts: Record<string, number> = {};
  const rows: Record<string, string[]> = {};
  for (const table of TABLES) {
    const row = await s.t.database.db.selectFrom(table).select(({ fn }) => fn.countAll().as('n')).executeTakeFirst();
    counts[table] = Number(row?.n);
    rows[table] = (await s.t.database.db.selectFrom(table).selectAll().execute()).map((r) => JSON.stringify(r)).sort();
  }
  return { counts, rows };
}

test('a batch of bad requests changes nothing in login_sessions, grants, authorization_codes and refresh_tokens', async () => {
  const s = await setup();
  const tokens = issued(await exchange(s, await authorize(s)));
  const pending = await authorize(s); // an unspent code for the bad exchanges below
  const other = await registerClient(s.t.app);
  const before = await snapshot(s);
  assert.ok(Object.values(before.counts).every((n) => n > 0), JSON.stringify(before.counts));

  const fresh = () => new CookieBrowser(s.t.origin);
  for (const extra of [{ redirect_uri: `${REDIRECT}/x` }, { client_id: 'no-such-client' }, { response_type: 'token' }, { request_uri: 'https://evil.example.test/r' }, { prompt: 'none' }]) {
    const res = await fresh().get(authUrl(s, authParams(s.client, extra).params));
    assert.ok(res.status === 400 || (res.status === 302 && new URL(res.location!).searchParams.has('error')), JSON.stringify(extra));
  }
  const a = fresh();
  const form = formOf((await a.get(authUrl(s, authParams(s.client).params))).body);
  const right = { ...form.fields, username: s.user.email, password: GOOD_PASSWORD };
  noSignIn(await fresh().post(form.action, right), 'no cookie');
  noSignIn(await a.post(form.action, right, { origin: 'http://evil.example.test' }), 'cross-site');
  noSignIn(await a.post(form.action, { ...right, password: WRONG }), 'wrong password');
  noSignIn(await a.post(form.action, { ...right, username: 'nobody@example.com' }), 'unknown user');
  noSignIn(await a.post(form.action, { ...right, interaction: 'made-up-interaction' }), 'made-up interaction');

  const code = { grant_type: 'authorization_code', code: pending.code, redirect_uri: REDIRECT, code_verifier: pending.verifier };
  const bad: [Params, Record<string, string>?][] = [
    [{ ...code, code_verifier: randomBytes(32).toString('base64url') }],
    [{ ...code, code_verifier: undefined }],
    [{ ...code, redirect_uri: `${REDIRECT}/x` }],
    [code, basic(other)],
    [code, basic({ ...s.client, client_secret: 'gcs_wrong-wrong-wrong-wrong-wrong' })],
    [{ ...code, code: 'no-such-code' }],
    [{ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, basic(other)],
    [{ grant_type: 'refresh_token', refresh_token: 'grt_no-such-token' }],
  ];
  for (const [form, headers] of bad) assert.ok((await backChannel(s, 'token', form, headers)).statusCode >= 400, JSON.stringify(form));
  assert.equal((await passwordGrant(s, s.user.email, WRONG)).statusCode, 400);
  assert.equal((await backChannel(s, 'revoke', { token: tokens.refresh_token }, basic(other))).statusCode, 200);
  assert.equal((await backChannel(s, 'token/introspect', { token: 'garbage' })).statusCode, 200);
  const [h, p, sig] = tokens.id_token.split('.');
  const logout = `${s.t.issuer}/protocol/openid-connect/logout`;
  errorPage(await s.browser.post(logout, { id_token_hint: `${h}.${p}.${sig!.slice(0, 10)}${sig![10] === 'A' ? 'B' : 'A'}${sig!.slice(11)}` }), 'tampered hint');
  errorPage(await s.browser.post(logout, { id_token_hint: tokens.id_token, post_logout_redirect_uri: 'http://evil.example.test/' }), 'unregistered target');
  await s.browser.post(logout, { confirm: 'yes', csrf: 'forged' });

  const after = await snapshot(s);
  assert.deepEqual(after.counts, before.counts);
  assert.deepEqual(after.rows, before.rows, 'no row was changed either (nothing ended, revoked or spent)');
});

test('logout: a forged or foreign id_token_hint or an unregistered target ends nothing; without a hint only a same-site POST with the csrf does', async () => {
  const s = await setup();
  const other = await registerClient(s.t.app, { post_logout_redirect_uris: ['http://other.example.test/out'] });
  const tokens = issued(await exchange(s, await authorize(s)));
  // Hints go by POST here (RP-Initiated Logout §2 allows both); the GET form is the log test below.
  const logout = (params: Params) => s.browser.post(`${s.t.issuer}/protocol/openid-connect/logout`, defined(params));
  async function stillSignedIn(what: string) {
    assert.equal(await me(s, tokens.access_token), 200, `${what}: access token`);
    assert.equal(await active(s, tokens.refresh_token), true, `${what}: refresh token`);
    const silent = await s.browser.get(authUrl(s, authParams(s.client, { prompt: 'none' }).params));
    assert.ok(silent.location && new URL(silent.location).searchParams.get('code'), `${what}: SSO is still silent (${silent.location})`);
  }
  const [h, p, sig] = tokens.id_token.split('.');
  const flipped = `${h}.${p}.${sig!.slice(0, 10)}${sig![10] === 'A' ? 'B' : 'A'}${sig!.slice(11)}`;
  errorPage(await logout({ id_token_hint: flipped, post_logout_redirect_uri: SIGNED_OUT }), 'tampered signature');
  await stillSignedIn('tampered hint');
  const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`;
  errorPage(await logout({ id_token_hint: unsigned }), 'alg none');
  await stillSignedIn('alg none hint');
  errorPage(await logout({ id_token_hint: tokens.id_token, post_logout_redirect_uri: 'http://evil.example.test/' }), 'unregistered target');
  await stillSignedIn('unregistered post_logout_redirect_uri');
  errorPage(await logout({ id_token_hint: tokens.id_token, client_id: other.client_id, post_logout_redirect_uri: 'http://other.example.test/out' }), 'other client');
  await stillSignedIn('hint for A, client_id B');

  const confirm = await s.browser.get(`${s.t.issuer}/protocol/openid-connect/logout`);
  assert.equal(confirm.status, 200);
  assert.match(confirm.body, /Sign out\?/);
  await stillSignedIn('GET without a hint');
  const form = formOf(confirm.body);
  assert.ok(form.fields.csrf);
  await s.browser.get(`${form.action}?${new URLSearchParams(form.fields)}`); // the right fields, but a GET (a link, an <img>)
  await stillSignedIn('GET with the form fields');
  await s.browser.post(form.action, { ...form.fields, csrf: 'A'.repeat(form.fields.csrf!.length) });
  await stillSignedIn('wrong csrf');
  await s.browser.post(form.action, { confirm: 'yes' });
  await stillSignedIn('missing csrf');
  await s.browser.post(form.action, form.fields, { origin: 'http://evil.example.test' });
  await stillSignedIn('cross-site POST');
  const out = await s.browser.post(form.action, form.fields); // control: the confirmation itself signs out
  assert.equal(out.status, 200);
  assert.equal(await me(s, tokens.access_token), 401);
});

test('an id_token_hint sent by GET, as relying parties send it, is not written to the log', async () => {
  const s = await setup();
  const tokens = issued(await exchange(s, await authorize(s)));
  const hint = new URLSearchParams({ id_token_hint: tokens.id_token, post_logout_redirect_uri: SIGNED_OUT });
  const out = await s.browser.get(`${s.t.issuer}/protocol/openid-connect/logout?${hint}`);
  assert.equal(out.location, SIGNED_OUT);
  // The ID token carries the user's personal data, and stays a valid sign-out hint after it expires.
  assert.ok(!s.t.logs.some((line) => line.includes(tokens.id_token)), 'the ID token was written to the log');
});

test('prompt=none answers login_required without a session and a code with one; prompt=login shows the login page', async () => {
  const s = await setup();
  const none = await s.browser.get(authUrl(s, authParams(s.client, { prompt: 'none' }).params));
  const back = new URL(none.location!).searchParams;
  assert.deepEqual([back.get('error'), back.get('state'), back.get('iss'), back.get('code')], ['login_required', 'st-1', s.t.issuer, null]);
  await authorize(s); // signs in
  await authorize(s, { prompt: 'none' }); // a code, silently
  const login = await s.browser.get(authUrl(s, authParams(s.client, { prompt: 'login' }).params));
  assert.equal(login.status, 200, 'the login page despite the session');
  assert.ok(formOf(login.body).fields.interaction);
});

test('max_age: an older sign-in (or max_age=0) must sign in again, and the new ID token has a newer auth_time', async () => {
  const s = await setup();
  const authTime = async (c: { code: string; verifier: string }) => decodeJwt(issued(await exchange(s, c)).id_token).auth_time as number;
  const first = await authTime(await authorize(s));
  s.advance(120_000);
  const silent = await s.browser.get(authUrl(s, authParams(s.client, { max_age: '3600' }).params));
  assert.equal(silent.status, 302, 'control: a recent enough sign-in is silent');
  const page = await s.browser.get(authUrl(s, authParams(s.client, { max_age: '60' }).params));
  assert.equal(page.status, 200, 'the login page, not a code');
  const none = await s.browser.get(authUrl(s, authParams(s.client, { max_age: '60', prompt: 'none' }).params));
  assert.equal(new URL(none.location!).searchParams.get('error'), 'login_required');
  const second = await authTime(await authorize(s, { max_age: '60' }));
  assert.ok(second >= first + 120, `auth_time ${second} is the new sign-in, not ${first}`);
  // OpenID Connect Core §3.1.2.1: "max_age=0 is equivalent to prompt=login", even within the same millisecond.
  const zeroRequest = authParams(s.client, { max_age: '0' });
  const zero = await s.browser.get(authUrl(s, zeroRequest.params));
  assert.equal(zero.status, 200, `max_age=0 must show the login page: ${zero.status} ${zero.location ?? ''}`);
  s.advance(2_000);
  const done = await s.browser.post(formOf(zero.body).action, { ...formOf(zero.body).fields, username: s.user.email, password: GOOD_PASSWORD });
  const third = await authTime({ code: new URL(done.location!).searchParams.get('code')!, verifier: zeroRequest.verifier });
  assert.ok(third >= second + 2, `auth_time ${third} is the newest sign-in`);
});

