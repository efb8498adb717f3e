import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import { ADMIN, createUser, GOOD_PASSWORD, json, mintKey, testApp } from '../helpers/app.ts';
import { CookieBrowser, formOf, listeningApp, REALM_PATH, registerClient, signInThroughPage, type ListeningApp, type RegisteredClient } from '../helpers/oidc.ts';

// GET /users/{id}/sessions, DELETE /users/{id}/sessions/{sid}, DELETE /users/{id}/sessions: every sign-in is a
// session the user (or an administrator) can see and end, with where and when it was last used.

const NO_LIMIT = { GATEHOUSE_AUTH_RATE_LIMIT: '0' };
const LOOPBACK = '127.0.0.1'; // what app.inject and a local fetch come from
const REDIRECT = 'http://app.example.test/callback';
const NEW_PASSWORD = 'Quiet-Orchard-31-Beacon';

interface Tokens {
  access_token: string;
  refresh_token: string;
  id_token?: string;
}

interface SessionItem {
  id: string;
  created_at: string;
  last_used_at: string | null;
  auth_time: string;
  expires_at: string | null;
  client_ip: string | null;
  user_agent: string | null;
  kind: 'browser' | 'token';
  clients: string[];
}

interface Page {
  items: SessionItem[];
  next_cursor: string | null;
}

const bearer = (token: string, userAgent?: string) => ({ authorization: `Bearer ${token}`, ...(userAgent ? { 'user-agent': userAgent } : {}) });
const sidOf = (t: Tokens) => String(decodeJwt(t.access_token).sid);
const iso = (ms: number) => new Date(ms).toISOString();

/** A password-grant login through the token endpoint, as a form post from `userAgent`. */
async function login(app: FastifyInstance, username: string, userAgent = 'gatehouse-tests', password = GOOD_PASSWORD): Promise<Tokens> {
  const res = await app.inject({
    method: 'POST',
    url: '/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': userAgent },
    payload: new URLSearchParams({ grant_type: 'password', username, password }).toString(),
  });
  assert.equal(res.statusCode, 200, res.body);
  return json<Tokens>(res);
}

const refresh = (app: FastifyInstance, refreshToken: string, userAgent = 'gatehouse-tests') =>
  app.inject({
    method: 'POST',
    url: '/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': userAgent },
    payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
  });

const me = (app: FastifyInstance, token: string, userAgent?: string) => app.inject({ method: 'GET', url: '/users/me', headers: bearer(token, userAgent) });

const list = (app: FastifyInstance, userId: string, headers: Record<string, string> = ADMIN, query = '') =>
  app.inject({ method: 'GET', url: `/users/${encodeURIComponent(userId)}/sessions${query}`, headers });

const endOne = (app: FastifyInstance, userId: string, sid: string, headers: Record<string, string> = ADMIN) =>
  app.inject({ method: 'DELETE', url: `/users/${encodeURIComponent(userId)}/sessions/${encodeURIComponent(sid)}`, headers });

const endAll = (app: FastifyInstance, userId: string, headers: Record<string, string> = ADMIN) =>
  app.inject({ method: 'DELETE', url: `/users/${encodeURIComponent(userId)}/sessions`, headers });

async function sessionsOf(app: FastifyInstance, userId: string, headers: Record<string, string> = ADMIN): Promise<SessionItem[]> {
  const res = await list(app, userId, headers, '?page_size=1000');
  assert.equal(res.statusCode, 200, res.body);
  const page = json<Page>(res);
  assert.equal(page.next_cursor, null);
  return page.items;
}

/** Uses are written in the background: waits (up to 2 s) until the listing satisfies `ok`. */
async function eventually(app: FastifyInstance, userId: string, what: string, ok: (items: SessionItem[]) => boolean): Promise<SessionItem[]> {
  const deadline = Date.now() + 2_000;
  for (;;) {
    const items = await sessionsOf(app, userId);
    if (ok(items)) return items;
    if (Date.now() > deadline) assert.fail(`${what}: ${JSON.stringify(items, null, 1)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Gives a (wrongly) scheduled background write the time to land, before asserting that none happened. */
const settle = () => new Promise((r) => setTimeout(r, 150));

const find = (items: SessionItem[], sid: string) => items.find((s) => s.id === sid);

function assertRefused(res: LightMyRequestResponse, what: string) {
  assert.equal(res.statusCode, 401, `${what}: ${res.statusCode} ${res.body}`);
  assert.deepEqual(json(res), { detail: 'Bad credentials' }, what);
}

function assertInvalidGrant(res: LightMyRequestResponse, what: string) {
  assert.equal(res.statusCode, 400, `${what}: ${res.statusCode} ${res.body}`);
  assert.equal(json(res).error, 'invalid_grant', what);
}

function assertStatus(res: LightMyRequestResponse, status: number, body: unknown, what: string) {
  assert.equal(res.statusCode, status, `${what}: ${res.statusCode} ${res.body}`);
  if (body !== undefined) assert.deepEqual(json(res), body, what);
}

/** Both tokens of a login work (which also warms the principal cache); returns the rotated tokens. */
async function assertAlive(app: FastifyInstance, t: Tokens, what: string): Promise<Tokens> {
  assert.equal((await me(app, t.access_token)).statusCode, 200, `${what}: access token`);
  const res = await refresh(app, t.refresh_token);
  assert.equal(res.statusCode, 200, `${what}: refresh token: ${res.body}`);
  const next = json<Tokens>(res);
  assert.equal((await me(app, next.access_token)).statusCode, 200, `${what}: rotated access token`);
  return next;
}

async function assertDead(app: FastifyInstance, t: Tokens, what: string) {
  assertRefused(await me(app, t.access_token), `${what}: access token`);
  assertInvalidGrant(await refresh(app, t.refresh_token), `${what}: refresh token`);
}

/** A browser sign-in of `email` for `client` in `browser`, and the code exchanged (back channel, via inject). */
async function browserSignIn(t: ListeningApp, browser: CookieBrowser, client: RegisteredClient, email: string): Promise<Tokens> {
  const verifier = randomBytes(32).toString('base64url');
  const params = new URLSearchParams({
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    response_type: 'code',
    scope: 'openid email',
    state: 'st',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  const url = `${t.issuer}/protocol/openid-connect/auth?${params}`;
  let back: URL;
  const first = await browser.get(url);
  if (first.status === 200) {
    const form = formOf(first.body);
    const done = await browser.post(form.action, { ...form.fields, username: email, password: GOOD_PASSWORD });
    assert.equal(done.status, 303, done.body.slice(0, 300));
    back = new URL(done.location!);
  } else {
    assert.equal(first.status, 302, `single sign-on expected: ${first.status} ${first.body.slice(0, 200)}`);
    back = new URL(first.location!);
  }
  const code = back.searchParams.get('code');
  assert.ok(code, `a code expected: ${back}`);
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret!)}`).toString('base64')}`;
  const res = await t.app.inject({
    method: 'POST',
    url: `${REALM_PATH}/protocol/openid-connect/token`,
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
    payload: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }).toString(),
  });
  assert.equal(res.statusCode, 200, res.body);
  return json<Tokens>(res);
}

describe('listing', () => {
  test('each login is a session with its address, user agent, kind and clients; newest first', async () => {
    const t = await listeningApp(NO_LIMIT);
    const { app } = t;
    const user = await createUser(app);
    const bystander = await createUser(app);
    const phone = await login(app, user.email, 'Phone-App/2.1 (iOS 18)');
    const laptop = await login(app, user.email, 'Laptop-CLI/0.9');
    await login(app, bystander.email);

    const client = await registerClient(app, { redirect_uris: [REDIRECT] });
    const other = await registerClient(app, { redirect_uris: [REDIRECT] });
    const browser = new CookieBrowser(t.origin);
    const viaBrowser = await browserSignIn(t, browser, client, user.email);
    const sso = await browserSignIn(t, browser, other, user.email); // single sign-on: the same session, a second client
    assert.equal(sidOf(sso), sidOf(viaBrowser));
    // A browser session is used by its applications' back ends, with its access tokens.
    assert.equal((await me(app, viaBrowser.access_token, 'Acme-Web-Backend/1.0')).statusCode, 200);

    const items = await eventually(app, user.id, 'three sessions with their uses', (items) => items.length === 3 && items.every((s) => s.user_agent !== null));
    assert.deepEqual(
      items.map((s) => s.id),
      [sidOf(viaBrowser), sidOf(laptop), sidOf(phone)],
      'newest first',
    );
    const [b, l, p] = items as [SessionItem, SessionItem, SessionItem];
    assert.deepEqual(Object.keys(p).sort(), ['auth_time', 'client_ip', 'clients', 'created_at', 'expires_at', 'id', 'kind', 'last_used_at', 'user_agent']);
    assert.deepEqual({ ...p, created_at: '', auth_time: '', last_used_at: '' }, {
      id: sidOf(phone),
      created_at: '',
      last_used_at: '',
      auth_time: '',
      expires_at: null, // a token login lasts as long as its refresh tokens
      client_ip: LOOPBACK,
      user_agent: 'Phone-App/2.1 (iOS 18)',
      kind: 'token',
      clients: [],
    });
    assert.equal(p.auth_time, p.created_at);
    const sinceLogin = Date.parse(p.last_used_at!) - Date.parse(p.created_at);
    assert.ok(sinceLogin >= 0 && sinceLogin < 5_000, `the login itself is the first use: ${p.created_at} ${p.last_used_at}`);
    assert.equal(l.user_agent, 'Laptop-CLI/0.9');
    assert.equal(l.kind, 'token');
    assert.equal(b.kind, 'browser');
    assert.deepEqual(b.clients, [client.client_id, other.client_id]);
    assert.equal(b.client_ip, LOOPBACK);
    assert.equal(b.user_agent, 'Acme-Web-Backend/1.0');
    assert.ok(b.expires_at !== null && Date.parse(b.expires_at) - Date.parse(b.created_at) === t.config.sessionTtlSeconds * 1000, `${b.expires_at}`);

    assert.equal((await sessionsOf(app, bystander.id)).length, 1, "another user's sessions are theirs");
  });

  test('the user agent is kept to 300 characters; a request without one records none', async () => {
    const { app } = await testApp(NO_LIMIT);
    const user = await createUser(app);
    await login(app, user.email, `Long-Agent/${'x'.repeat(600)}`);
    const [s] = await eventually(app, user.id, 'the login recorded', (items) => items[0]?.user_agent !== null);
    assert.equal(s!.user_agent, `Long-Agent/${'x'.repeat(600)}`.slice(0, 300));

    const other = await createUser(app);
    const res = await app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': undefined },
      payload: new URLSearchParams({ grant_type: 'password', username: other.email, password: GOOD_PASSWORD }).toString(),
    });
    assert.equal(res.statusCode, 200, res.body);
    const [bare] = await eventually(app, other.id, 'the login recorded', (items) => items[0]?.last_used_at !== null);
    assert.deepEqual([bare!.client_ip, bare!.user_agent], [LOOPBACK, null]);
  });

  test('only live sessions: not ended, not outlived by a password change, not spent by a refresh-token replay', async () => {
    const { app } = await testApp(NO_LIMIT);
    const user = await createUser(app);
    const replayed = await login(app, user.email);
    const kept = await login(app, user.email);
    const rotated = json<Tokens>(await refresh(app, replayed.refresh_token));
    assertInvalidGrant(await refresh(app, replayed.refresh_token), 'a replayed refresh token ends its grant');
    assertRefused(await me(app, rotated.access_token), 'the replayed grant');
    assert.deepEqual((await sessionsOf(app, user.id)).map((s) => s.id), [sidOf(kept)]);

    const reset = await app.inject({ method: 'POST', url: `/users/${user.id}/reset_password`, headers: ADMIN, payload: { password: NEW_PASSWORD } });
    assert.equal(reset.statusCode, 200, reset.body);
    assert.deepEqual(await sessionsOf(app, user.id), [], 'a password reset ends every session');
  });

  test('pages of page_size, newest first, with an opaque cursor; the last page has no next_cursor', async () => {
    let now = Date.now();
    const { app } = await testApp(NO_LIMIT, { clock: { now: () => now } });
    const user = await createUser(app);
    const sids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      sids.unshift(sidOf(await login(app, user.email)));
      now += 1_000;
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await list(app, user.id, ADMIN, `?page_size=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
      assert.equal(res.statusCode, 200, res.body);
      const page: Page = json<Page>(res);
      assert.ok(page.items.length <= 2);
      seen.push(...page.items.map((s) => s.id));
      cursor = page.next_cursor;
      pages += 1;
    } while (cursor !== null && pages < 10);
    assert.equal(pages, 3);
    assert.deepEqual(seen, sids);

    const all = json<Page>(await list(app, user.id));
    assert.equal(all.items.length, 5, 'page_size defaults to 50');
    assert.equal(all.next_cursor, null);
  });

  test('last_used_at follows access-token requests and refresh grants, written at most once a minute', async () => {
    let now = Date.now();
    const { app } = await testApp(NO_LIMIT, { clock: { now: () => now } });
    const user = await createUser(app);
    const t0 = now;
    const a = await login(app, user.email, 'agent-1');
    const created = await eventually(app, user.id, 'the login recorded', (items) => items[0]?.last_used_at !== null);
    assert.deepEqual([created[0]!.last_used_at, created[0]!.user_agent], [iso(t0), 'agent-1']);

    now = t0 + 10_000;
    const b = await login(app, user.email, 'agent-b'); // another session is not held back by the first one's write
    assert.equal((await me(app, a.access_token, 'agent-2')).statusCode, 200);
    let items = await eventually(app, user.id, "b's login recorded", (items) => find(items, sidOf(b))?.last_used_at === iso(t0 + 10_000));
    await settle();
    items = await sessionsOf(app, user.id);
    assert.deepEqual([find(items, sidOf(a))!.last_used_at, find(items, sidOf(a))!.user_agent], [iso(t0), 'agent-1'], 'within the minute: not written');

    now = t0 + 61_000;
    assert.equal((await me(app, a.access_token, 'agent-3')).statusCode, 200);
    items = await eventually(app, user.id, 'the use a minute later', (items) => find(items, sidOf(a))?.last_used_at === iso(t0 + 61_000));
    assert.equal(find(items, sidOf(a))!.user_agent, 'agent-3');
    assert.equal(find(items, sidOf(a))!.client_ip, LOOPBACK);

    now = t0 + 90_000;
    const r1 = await refresh(app, a.refresh_token, 'agent-4');
    assert.equal(r1.statusCode, 200, r1.body);
    await settle();
    assert.equal(find(await sessionsOf(app, user.id), sidOf(a))!.last_used_at, iso(t0 + 61_000), 'a refresh within the minute: not written');

    now = t0 + 122_000;
    const r2 = await refresh(app, json<Tokens>(r1).refresh_token, 'agent-5');
    assert.equal(r2.statusCode, 200, r2.body);
    items = await eventually(app, user.id, 'the refresh grant a minute later', (items) => find(items, sidOf(a))?.last_used_at === iso(t0 + 122_000));
    assert.equal(find(items, sidOf(a))!.user_agent, 'agent-5');
    assert.equal(find(items, sidOf(b))!.last_used_at, iso(t0 + 10_000));

    // Listing with an API key uses no session.
    now = t0 + 200_000;
    await sessionsOf(app, user.id);
    await settle();
    assert.equal(find(await sessionsOf(app, user.id), sidOf(b))!.last_used_at, iso(t0 + 10_000));
  });
});

describe('ending sessions', () => {
  test("ending one session kills its access and refresh tokens at once, and not the other session's", async () => {
    const { app } = await testApp(NO_LIMIT);
    const user = await createUser(app);
    const doomed = await assertAlive(app, await login(app, user.email), 'doomed, before'); // the cache is warm now
    const kept = await assertAlive(app, await login(app, user.email), 'kept, before');

    const res = await endOne(app, user.id, sidOf(doomed));
    assertStatus(res, 204, undefined, 'end one');
    assert.equal(res.body, '');
    await assertDead(app, doomed, 'the ended session');
    const next = await assertAlive(app, kept, 'the other session');
    assert.deepEqual((await sessionsOf(app, user.id)).map((s) => s.id), [sidOf(next)]);

    assertStatus(await endOne(app, user.id, sidOf(doomed)), 404, { detail: 'Session not found' }, 'an ended session');
  });

  test("ending all of a user's sessions, browser sessions included; a new login works again", async () => {
    const t = await listeningApp(NO_LIMIT);
    const { app } = t;
    const user = await createUser(app);
    const bystander = await createUser(app);
    const one = await assertAlive(app, await login(app, user.email), 'one');
    const two = await assertAlive(app, await login(app, user.email), 'two');
    const theirs = await login(app, bystander.email);
    const client = await registerClient(app, { redirect_uris: [REDIRECT] });
    const browser = new CookieBrowser(t.origin);
    const web = await browserSignIn(t, browser, client, user.email);
    assert.equal((await me(app, web.access_token)).statusCode, 200);
    assert.equal((await sessionsOf(app, user.id)).length, 3);

    assertStatus(await endAll(app, user.id), 204, undefined, 'end all');
    await assertDead(app, one, 'one');
    await assertDead(app, two, 'two');
    await assertDead(app, web, 'the browser session');
    assert.deepEqual(await sessionsOf(app, user.id), []);
    // The browser's cookie no longer signs anybody in: the login page again.
    const page = await browser.get(`${t.issuer}/protocol/openid-connect/auth?${new URLSearchParams({ client_id: client.client_id, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })}`);
    assert.equal(page.status, 200, `${page.status} ${page.location}`);
    await assertAlive(app, theirs, "another user's login");

    assertStatus(await endAll(app, user.id), 204, undefined, 'ending none is fine');
    await assertAlive(app, await login(app, user.email), 'a new login');
    const relogged = await signInThroughPage(browser, `${t.issuer}/protocol/openid-connect/auth?${new URLSearchParams({ client_id: client.client_id, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })}`, user.email, GOOD_PASSWORD);
    assert.ok(relogged.searchParams.get('code'));
  });
});

describe('who may', () => {
  test('a user lists and ends their own sessions with an access token, and cannot see or end anyone else’s', async () => {
    const { app } = await testApp(NO_LIMIT);
    const user = await createUser(app);
    const other = await createUser(app);
    const mine = await login(app, user.email);
    const second = await login(app, user.email);
    const theirs = await login(app, other.email);
    const self = bearer(mine.access_token);

    const own = await list(app, user.id, self);
    assert.equal(own.statusCode, 200, own.body);
    assert.deepEqual(json<Page>(own).items.map((s) => s.id), [sidOf(second), sidOf(mine)]);

    assertStatus(await list(app, other.id, self), 403, { detail: 'Forbidden' }, "another user's list");
    assertStatus(await endOne(app, other.id, sidOf(theirs), self), 403, { detail: 'Forbidden' }, "another user's session");
    assertStatus(await endAll(app, other.id, self), 403, { detail: 'Forbidden' }, "all of another user's sessions");
    assertStatus(await endOne(app, user.id, sidOf(theirs), self), 404, { detail: 'Session not found' }, "another user's session under one's own id");
    await assertAlive(app, theirs, "the other user's login");

    assertStatus(await endOne(app, user.id, sidOf(second), self), 204, undefined, 'ending another own session');
    await assertDead(app, second, 'the ended own session');
    assert.equal((await me(app, mine.access_token)).statusCode, 200, 'the caller’s own session goes on');

    const third = await login(app, user.email);
    assertStatus(await endAll(app, user.id, self), 204, undefined, 'signing out everywhere');
    await assertDead(app, mine, 'the caller’s own session');
    await assertDead(app, third, 'the third session');
  });

  test('a user ending the session of the very token they call with is signed out by it', async () => {
    const { app } = await testApp(NO_LIMIT);
    const user = await createUser(app);
    const mine = await login(app, user.email);
    assertStatus(await endOne(app, user.id, sidOf(mine), bearer(mine.access_token)), 204, undefined, 'end own current session');
    await assertDead(app, mine, 'the current session');
  });

  test('an auditor lists anyone’s sessions and ends none; other roles see none', async () => {
    const { app } = await testApp(NO_LIMIT);
    const user = await createUser(app);
    const s = await login(app, user.email);
    const auditor = await mintKey(app, ['ORG-AUDITOR']);
    const chat = await mintKey(app, ['CHAT-USER']);
    const admin = await mintKey(app, ['ORG-ADMIN']);

    const seen = await list(app, user.id, auditor.auth);
    assert.equal(seen.statusCode, 200, seen.body);
    assert.deepEqual(json<Page>(seen).items.map((x) => x.id), [sidOf(s)]);
    assertStatus(await endOne(app, user.id, sidOf(s), auditor.auth), 403, { detail: 'Forbidden' }, 'auditor ends one');
    assertStatus(await endAll(app, user.id, auditor.auth), 403, { detail: 'Forbidden' }, 'auditor ends all');
    await assertAlive(app, s, 'after the auditor tried');

    assertStatus(await list(app, user.id, chat.auth), 403, { detail: 'Forbidden' }, 'CHAT-USER key lists');
    assertStatus(await endAll(app, user.id, chat.auth), 403, { detail: 'Forbidden' }, 'CHAT-USER key ends');
    // A signed-in ORG-AUDITOR is a user too: their own sessions are theirs to end.
    const auditorUser = await createUser(app, { roles: ['ORG-AUDITOR'] });
    const auditorLogin = await login(app, auditorUser.email);
    assertStatus(await endOne(app, user.id, sidOf(s), bearer(auditorLogin.access_token)), 403, { detail: 'Forbidden' }, 'auditor user ends another');
    assertStatus(await endAll(app, auditorUser.id, bearer(auditorLogin.access_token)), 204, undefined, 'auditor user ends their own');

    assertStatus(await endOne(app, user.id, sidOf(s), admin.auth), 204, undefined, 'an ORG-ADMIN key ends it');
  });

  test('401 without or with a bad credential, before anything else', async () => {
    const { app } = await testApp(NO_LIMIT);
    const user = await createUser(app);
    for (const [method, url] of [
      ['GET', `/users/${user.id}/sessions?page_size=0`],
      ['DELETE', `/users/${user.id}/sessions/nope`],
      ['DELETE', `/users/${user.id}/sessions`],
    ] as const) {
      assertStatus(await app.inject({ method, url }), 401, { detail: 'Requires authentication' }, `${method} ${url} without credential`);
      assertStatus(await app.inject({ method, url, headers: { authorization: 'Bearer not-a-credential' } }), 401, { detail: 'Bad credentials' }, `${method} ${url} bad credential`);
    }
  });
});

describe('not found and validation', () => {
  test('an unknown user is 404 "User <id> not found."; an unknown session is 404 "Session not found"', async () => {
    const { app } = await testApp(NO_LIMIT);
    const user = await createUser(app);
    const s = await login(app, user.email);
    const missing = '0190f0e0-0000-7000-8000-000000000000';
    const notFound = { detail: `User ${missing} not found.` };
    assertStatus(await list(app, missing), 404, notFound, 'list');
    assertStatus(await endOne(app, missing, sidOf(s)), 404, notFound, 'end one');
    assertStatus(await endAll(app, missing), 404, notFound, 'end all');
    assertStatus(await endOne(app, user.id, missing), 404, { detail: 'Session not found' }, 'unknown session');
    assertStatus(await endOne(app, user.id, 'x'.repeat(300)), 404, { detail: 'Session not found' }, 'a long unknown session id');
    await assertAlive(app, s, 'after all that');
  });

  test('422 for a bad page_size or cursor, for admins and users alike', async () => {
    const { app } = await testApp(NO_LIMIT);
    const user = await createUser(app);
    const s = await login(app, user.email);
    for (const headers of [ADMIN, bearer(s.access_token)]) {
      for (const [query, field] of [
        ['?page_size=0', 'page_size'],
        ['?page_size=1001', 'page_size'],
        ['?page_size=abc', 'page_size'],
        ['?page_size=1.5', 'page_size'],
        ['?cursor=', 'cursor'],
        ['?cursor=!!!', 'cursor'],
        [`?cursor=${Buffer.from('not a cursor').toString('base64url')}`, 'cursor'],
        [`?cursor=${Buffer.from('99999999999999999:abc').toString('base64url')}`, 'cursor'],
        [`?cursor=${Buffer.from('1700000000000.abc').toString('base64url')}`, 'cursor'],
        [`?cursor=${'A'.repeat(513)}`, 'cursor'],
        ['?cursor=%00', 'cursor'],
      ] as const) {
        const res = await list(app, user.id, headers, query);
        assert.equal(res.statusCode, 422, `${query}: ${res.statusCode} ${res.body}`);
        const problems = json<{ detail: { loc: unknown[] }[] }>(res).detail;
        assert.ok(problems.length > 0 && problems.every((p) => p.loc[0] === 'query' && p.loc[1] === field), `${query}: ${res.body}`);
      }
    }
    // Bad input for an unknown user is still 422 (validation comes first), and a 403 comes before validation.
    assert.equal((await list(app, 'nobody', ADMIN, '?page_size=0')).statusCode, 422);
    const other = await createUser(app);
    assert.equal((await list(app, other.id, bearer(s.access_token), '?page_size=0')).statusCode, 403);
  });
});
