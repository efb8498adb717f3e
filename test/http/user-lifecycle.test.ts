import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { ADMIN, createUser, GOOD_PASSWORD, json, mintKey, testApp, USER_RESPONSE_KEYS } from '../helpers/app.ts';
import { CookieBrowser, formOf, listeningApp, registerClient, signInThroughPage } from '../helpers/oidc.ts';

// CONTRACT.md §4b: GET/PATCH /users/{id}, POST /users/{id}/unlock, self-service reset's re-authentication, GET /roles.

const NO_LIMIT = { GATEHOUSE_AUTH_RATE_LIMIT: '0' };
const NEW_PASSWORD = 'Quiet-Orchard-31-Beacon';
const PKCE_VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'; // RFC 7636 appendix B: its S256 is the challenge below
const INVALID_LOGIN = { error: 'invalid_grant', error_description: 'Invalid username or password' };
type Headers = Record<string, string>;
interface Tokens { access_token: string; refresh_token: string }

/** A clock the test moves: updated_at, lockouts and the re-authentication window all read it. */
function testClock() {
  let now = Date.now();
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const get = (app: FastifyInstance, id: string, headers: Headers = ADMIN) => app.inject({ method: 'GET', url: `/users/${id}`, headers });
const patch = (app: FastifyInstance, id: string, payload: unknown, headers: Headers = ADMIN) =>
  app.inject({ method: 'PATCH', url: `/users/${id}`, headers, payload: payload as object });
const grant = (app: FastifyInstance, payload: Record<string, string>) => app.inject({ method: 'POST', url: '/auth/token', payload });
const passwordGrant = (app: FastifyInstance, username: string, password = GOOD_PASSWORD) => grant(app, { grant_type: 'password', username, password });
const me = (app: FastifyInstance, token: string) => app.inject({ method: 'GET', url: '/users/me', headers: bearer(token) });
const reset = (app: FastifyInstance, id: string, headers: Headers, password = NEW_PASSWORD) =>
  app.inject({ method: 'POST', url: `/users/${id}/reset_password`, headers, payload: { password } });

async function login(app: FastifyInstance, username: string, password = GOOD_PASSWORD): Promise<Tokens> {
  const res = await passwordGrant(app, username, password);
  assert.equal(res.statusCode, 200, res.body);
  return json<Tokens>(res);
}

function expect(res: LightMyRequestResponse, status: number, body?: unknown, what = '') {
  assert.equal(res.statusCode, status, `${what} ${res.statusCode} ${res.body}`);
  if (body !== undefined) assert.deepEqual(json(res), body, what);
}

function expectProblem(res: LightMyRequestResponse, loc: (string | number)[]) {
  assert.equal(res.statusCode, 422, res.body);
  assert.deepEqual(json(res).detail.map((p: { loc: unknown }) => p.loc), [loc], res.body);
}

async function view(app: FastifyInstance, id: string) {
  const res = await get(app, id);
  assert.equal(res.statusCode, 200, res.body);
  return json(res);
}
const searchIds = async (app: FastifyInstance, q: string) =>
  json<{ id: string }[]>(await app.inject({ method: 'GET', url: `/users?search_string=${encodeURIComponent(q)}`, headers: ADMIN })).map((u) => u.id);

test('GET /users/{id}: the full view; 404; 401 without a credential, 403 for CHAT-USER, 200 for an auditor', async () => {
  const { app } = await testApp();
  const created = await createUser(app, { roles: ['TASK-ADMIN', 'CHAT-USER'] });
  const res = await get(app, created.id);
  expect(res, 200);
  const body = json(res);
  assert.deepEqual(Object.keys(body).sort(), USER_RESPONSE_KEYS);
  assert.deepEqual(json(res), created, 'GET answers what POST answered');
  assert.equal(body.enabled, true);
  assert.equal(body.locked_until, null);
  assert.deepEqual(body.groups, []);
  assert.equal(body.created_at, body.updated_at);
  assert.deepEqual(body.roles.map((r: { name: string }) => r.name), ['TASK-ADMIN', 'CHAT-USER']);

  const missing = '01900000-0000-7000-8000-000000000000';
  expect(await get(app, missing), 404, { detail: `User ${missing} not found.` });
  expect(await get(app, created.id, {}), 401, { detail: 'Requires authentication' });
  expect(await get(app, created.id, (await mintKey(app, ['CHAT-USER'])).auth), 403, { detail: 'Forbidden' });
  expect(await get(app, created.id, (await mintKey(app, ['ORG-AUDITOR'])).auth), 200, created);
});

test('PATCH: each field alone changes only itself; updated_at moves, created_at does not', async () => {
  const clock = testClock();
  const { app } = await testApp({}, { clock });
  const user = await createUser(app, { roles: ['CHAT-USER'] });
  const start = await view(app, user.id);
  const catalogue = json<{ name: string; description: string }[]>(await app.inject({ method: 'GET', url: '/roles', headers: ADMIN }));
  const roleView = (name: string) => ({ id: name, name, description: catalogue.find((r) => r.name === name)!.description, composite: false });
  const steps: [Record<string, unknown>, Record<string, unknown>][] = [
    [{ firstName: 'Ada' }, { first_name: 'Ada' }],
    [{ lastName: 'Lovelace' }, { last_name: 'Lovelace' }],
    [{ email: '  Ada.Lovelace@Example.COM ' }, { email: 'ada.lovelace@example.com' }],
    [{ roles: ['VALIDATION-USER', 'TASK-ADMIN', 'VALIDATION-USER'] }, { roles: ['TASK-ADMIN', 'VALIDATION-USER'] }],
    [{ enabled: false }, { enabled: false }],
    [{ enabled: true }, { enabled: true }],
    [{ firstName: null, lastName: null }, { first_name: null, last_name: null }],
  ];
  let expected = start;
  for (const [payload, changes] of steps) {
    clock.advance(1000);
    const res = await patch(app, user.id, payload);
    expect(res, 200, undefined, JSON.stringify(payload));
    const { roles, ...rest } = changes as { roles?: string[] };
    expected = { ...expected, ...rest, ...(roles ? { roles: roles.map(roleView) } : {}), updated_at: new Date(clock.now()).toISOString() };
    assert.deepEqual(json(res), expected, JSON.stringify(payload));
    assert.deepEqual(await view(app, user.id), expected, `GET after ${JSON.stringify(payload)}`);
    assert.equal(json(res).created_at, start.created_at);
  }
  expect(await patch(app, user.id, { roles: [] }), 200);
  assert.deepEqual((await view(app, user.id)).roles, [], 'roles replaced as a set: [] leaves none');
  // Null names are searchable by email still, and the user's email is now the only text to match.
  assert.deepEqual(await searchIds(app, 'ada.lovelace'), [user.id]);
});

test('PATCH refusals change nothing: unknown role 400, email taken 409, bad email 422, unknown user 404, auditor 403', async () => {
  const { app } = await testApp();
  const user = await createUser(app, { roles: ['CHAT-USER'] });
  const other = await createUser(app);
  const before = await view(app, user.id);
  const unchanged = async (what: string) => {
    assert.deepEqual(await view(app, user.id), before, `${what}: nothing changed`);
    assert.deepEqual(await searchIds(app, user.email), [user.id], `${what}: still found by the old email`);
  };

  expect(await patch(app, user.id, { firstName: 'Changed', roles: ['TASK-ADMIN', 'NOPE'] }), 400, { detail: 'Role NOPE does not exist.' });
  await unchanged('unknown role');
  expect(await patch(app, user.id, { roles: ['ADMIN-KEY'] }), 400, { detail: 'Role ADMIN-KEY does not exist.' });
  await unchanged('ADMIN-KEY is no assignable role');
  expect(await patch(app, user.id, { firstName: 'Changed', email: other.email.toUpperCase() }), 409, { detail: `User ${other.email} already exists.` });
  await unchanged('email taken');
  expectProblem(await patch(app, user.id, { email: 'not-an-email', firstName: 'Changed' }), ['body', 'email']);
  await unchanged('bad email');
  expectProblem(await patch(app, user.id, { enabled: 'maybe' }), ['body', 'enabled']);
  await unchanged('enabled not a boolean');
  expectProblem(await patch(app, user.id, { firstName: 'x'.repeat(101) }), ['body', 'firstName']);
  await unchanged('name too long');
  const auditor = (await mintKey(app, ['ORG-AUDITOR'])).auth;
  expect(await patch(app, user.id, { firstName: 'Changed' }, auditor), 403, { detail: 'Forbidden' });
  expect(await patch(app, user.id, { email: 'bad' }, auditor), 403, { detail: 'Forbidden' }, 'authorization before validation');
  expect(await patch(app, user.id, { firstName: 'Changed' }, {}), 401, { detail: 'Requires authentication' });
  await unchanged('auditor');
  const missing = '01900000-0000-7000-8000-00000000abcd';
  expect(await patch(app, missing, { firstName: 'Changed' }), 404, { detail: `User ${missing} not found.` });
  // The email of the user it already has is no conflict.
  expect(await patch(app, user.id, { email: user.email.toUpperCase() }), 200);
});

test('a new email: found by it in search, not by the old one; login works with the new email only', async () => {
  const { app } = await testApp(NO_LIMIT);
  const user = await createUser(app);
  expect(await patch(app, user.id, { email: 'Renamed.Person@Example.org' }), 200);
  assert.deepEqual(await searchIds(app, 'renamed.person@example.org'), [user.id]);
  assert.deepEqual(await searchIds(app, 'RENAMED'), [user.id]);
  assert.deepEqual(await searchIds(app, user.email), []);
  const session = await login(app, 'renamed.person@example.org');
  expect(await passwordGrant(app, user.email), 400, INVALID_LOGIN, 'old email');
  // New own roles hold on the token's next request, as the token's user's email does.
  const check = () => app.inject({ method: 'GET', url: '/users/permissions/check?action=read&resource=tasks', headers: bearer(session.access_token) });
  expect(await check(), 403, { detail: 'Forbidden', allowed: false, action: 'read', resource: 'tasks' });
  expect(await patch(app, user.id, { roles: ['TASK-ADMIN'], email: 'second.name@example.org' }), 200);
  expect(await check(), 200, { allowed: true, action: 'read', resource: 'tasks', granted_by: ['TASK-ADMIN'] }, 'the same token, after PATCH roles');
  assert.equal(json(await me(app, session.access_token)).email, 'second.name@example.org');
  expect(await patch(app, user.id, { email: 'renamed.person@example.org' }), 200);
  // The old email is free for someone else.
  await createUser(app, { email: user.email });
});

test('disabling ends tokens and browser sessions at once; enabling again revives none of them', async () => {
  const t = await listeningApp(NO_LIMIT);
  const { app } = t;
  const user = await createUser(app);
  const bystander = await createUser(app);
  const theirs = await login(app, bystander.email);
  const session = await login(app, user.email);
  expect(await me(app, session.access_token), 200); // now cached too
  const client = await registerClient(app);
  const browser = new CookieBrowser(t.origin);
  const authUrl = `${t.issuer}/protocol/openid-connect/auth?${new URLSearchParams({ client_id: client.client_id, redirect_uri: client.redirect_uris[0]!, response_type: 'code', scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })}`;
  // Codes from before the disabling: one exchanged now (so the exchange itself is right), one kept for after.
  const exchange = (code: string | null) => app.inject({
    method: 'POST', url: '/auth/token', payload: new URLSearchParams({ grant_type: 'authorization_code', code: String(code), redirect_uri: client.redirect_uris[0]!, code_verifier: PKCE_VERIFIER }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}` },
  });
  const browserTokens = json<Tokens>(await exchange((await signInThroughPage(browser, authUrl, user.email, GOOD_PASSWORD)).searchParams.get('code')));
  expect(await me(app, browserTokens.access_token), 200, undefined, 'the browser login');
  const silent = await browser.get(authUrl);
  assert.equal(silent.status, 302, 'single sign-on before disabling');
  const pendingCode = new URL(silent.location!).searchParams.get('code');

  const disabled = await patch(app, user.id, { enabled: false });
  expect(disabled, 200);
  assert.equal(json(disabled).enabled, false);
  expect(await me(app, session.access_token), 401, { detail: 'Bad credentials' }, 'access token');
  expect(await me(app, browserTokens.access_token), 401, { detail: 'Bad credentials' }, "the browser login's access token");
  assert.deepEqual([(await exchange(pendingCode)).statusCode, json(await exchange(pendingCode)).error], [400, 'invalid_grant'], 'a code issued before disabling');
  expect(await grant(app, { grant_type: 'refresh_token', refresh_token: session.refresh_token }), 400, { error: 'invalid_grant', error_description: 'Invalid refresh token' });
  const wrong = await passwordGrant(app, bystander.email, 'Wrong-Password-123-xyz');
  expect(await passwordGrant(app, user.email), 400, json(wrong), 'a disabled user gets the wrong-password answer');
  assert.deepEqual(json(wrong), INVALID_LOGIN);
  const page = await browser.get(authUrl);
  assert.equal(page.status, 200, `the login page, not single sign-on: ${page.status} ${page.location}`);
  const form = formOf(page.body);
  const refused = await browser.post(form.action, { ...form.fields, username: user.email, password: GOOD_PASSWORD });
  assert.equal(refused.status, 200, refused.body.slice(0, 300));
  assert.equal(/role="alert">([^<]*)</.exec(refused.body)?.[1], 'Invalid username or password.');
  expect(await me(app, theirs.access_token), 200, undefined, "another user's token");
  expect(await patch(app, user.id, { enabled: false }), 200, undefined, 'disabling twice');

  expect(await patch(app, user.id, { enabled: true }), 200);
  expect(await me(app, session.access_token), 401, { detail: 'Bad credentials' }, 'old access token after enabling');
  expect(await grant(app, { grant_type: 'refresh_token', refresh_token: session.refresh_token }), 400, { error: 'invalid_grant', error_description: 'Invalid refresh token' });
  const fresh = await login(app, user.email);
  expect(await me(app, fresh.access_token), 200);
  assert.ok((await signInThroughPage(browser, authUrl, user.email, GOOD_PASSWORD)).searchParams.get('code'), 'the login page works again');
});

test('unlock: a lockout from failed logins shows in locked_until; unlock and an admin reset both lift it', async () => {
  const clock = testClock();
  const { app } = await testApp({ ...NO_LIMIT, GATEHOUSE_LOCKOUT_THRESHOLD: '3' }, { clock });
  const user = await createUser(app);
  const lock = async () => {
    for (let i = 0; i < 3; i++) expect(await passwordGrant(app, user.email, 'Wrong-Password-123-xyz'), 400, INVALID_LOGIN);
    expect(await passwordGrant(app, user.email), 400, INVALID_LOGIN, 'locked: the right password is refused too');
    const lockedUntil = (await view(app, user.id)).locked_until;
    assert.ok(typeof lockedUntil === 'string' && Date.parse(lockedUntil) > clock.now(), `locked_until in the future: ${lockedUntil}`);
  };
  await lock();
  const unlocked = await app.inject({ method: 'POST', url: `/users/${user.id}/unlock`, headers: ADMIN });
  expect(unlocked, 200);
  assert.equal(json(unlocked).locked_until, null);
  assert.equal((await view(app, user.id)).locked_until, null);
  await login(app, user.email);
  expect(await app.inject({ method: 'POST', url: `/users/${user.id}/unlock`, headers: ADMIN }), 200, undefined, 'unlocking an unlocked user');

  await lock();
  expect(await reset(app, user.id, ADMIN), 200, { id: user.id, temporary: true });
  assert.equal((await view(app, user.id)).locked_until, null, 'an admin reset lifts the lock');
  // Past the lock: the (temporary) new password is recognised, and only asks to be changed.
  expect(await passwordGrant(app, user.email, NEW_PASSWORD), 400, { error: 'invalid_grant', error_description: 'Password change required' });

  const missing = '01900000-0000-7000-8000-00000000beef';
  expect(await app.inject({ method: 'POST', url: `/users/${missing}/unlock`, headers: ADMIN }), 404, { detail: `User ${missing} not found.` });
  expect(await app.inject({ method: 'POST', url: `/users/${user.id}/unlock`, headers: (await mintKey(app, ['ORG-AUDITOR'])).auth }), 403, { detail: 'Forbidden' });
  expect(await app.inject({ method: 'POST', url: `/users/${user.id}/unlock` }), 401, { detail: 'Requires authentication' });
});

test('self-service reset needs a sign-in within GATEHOUSE_REAUTH_WINDOW (300 s by default); admin resets do not', async () => {
  const SIGN_IN_AGAIN = { detail: 'Sign in again to change your password.' };
  for (const [env, within, past] of [[{}, 290, 301], [{ GATEHOUSE_REAUTH_WINDOW: '60' }, 58, 61]] as const) {
    const clock = testClock();
    const { app } = await testApp({ ...NO_LIMIT, ...env }, { clock });
    const user = await createUser(app);
    let password = GOOD_PASSWORD;
    const fresh = await login(app, user.email, password);
    clock.advance(within * 1000);
    expect(await reset(app, user.id, bearer(fresh.access_token)), 200, { id: user.id, temporary: false }, `${within}s after sign-in`);
    password = NEW_PASSWORD;

    const stale = await login(app, user.email, password);
    clock.advance(past * 1000);
    expect(await reset(app, user.id, bearer(stale.access_token), GOOD_PASSWORD), 403, SIGN_IN_AGAIN, `${past}s after sign-in`);
    // A refresh is no sign-in: the rotated token carries the same sign-in time.
    const refreshed = json<Tokens>(await grant(app, { grant_type: 'refresh_token', refresh_token: stale.refresh_token }));
    expect(await reset(app, user.id, bearer(refreshed.access_token), GOOD_PASSWORD), 403, SIGN_IN_AGAIN, 'after a refresh');
    await login(app, user.email, password); // the password is unchanged
    expect(await me(app, refreshed.access_token), 200, undefined, 'a refused reset revokes nothing');

    const again = await login(app, user.email, password);
    expect(await reset(app, user.id, bearer(again.access_token), GOOD_PASSWORD), 200, { id: user.id, temporary: false }, 'after signing in again');
    clock.advance(86_400_000);
    expect(await reset(app, user.id, ADMIN), 200, { id: user.id, temporary: true }, 'admin key, long after anything');
  }
});

/** CONTRACT.md §2's table (test/http/roles.test.ts): what /users/permissions/check grants each seed role. */
const RESOURCES = ['prompts', 'responses', 'rules', 'tasks'];
const ALL = RESOURCES.flatMap((r) => [`create:${r}`, `read:${r}`]);
const GRANTS: Record<string, string[]> = {
  'ORG-ADMIN': ALL,
  'ORG-AUDITOR': RESOURCES.map((r) => `read:${r}`),
  'TASK-ADMIN': ALL,
  'CHAT-USER': ['create:prompts', 'create:responses'],
  'DEFAULT-RULE-ADMIN': ['create:rules', 'read:rules'],
  'VALIDATION-USER': ['create:prompts', 'create:responses'],
  'SCIM-PROVISIONER': [],
};
const PERMISSIONS = ['users:read', 'users:write', 'groups:read', 'groups:write', 'keys:read', 'keys:write', 'clients:read', 'clients:write', 'audit:read', 'scim:provision'];

test('GET /roles: every role, its description and permissions; the permission check answers as in the seed', async () => {
  const { app } = await testApp(NO_LIMIT);
  const res = await app.inject({ method: 'GET', url: '/roles', headers: (await mintKey(app, ['ORG-AUDITOR'])).auth });
  expect(res, 200);
  const roles = json<{ name: string; description: string; permissions: string[] }[]>(res);
  assert.deepEqual(roles.map((r) => r.name), Object.keys(GRANTS));
  for (const r of roles) {
    assert.deepEqual(Object.keys(r).sort(), ['description', 'name', 'permissions']);
    assert.ok(r.description.length > 0, r.name);
    const want =
      r.name === 'ORG-ADMIN' ? PERMISSIONS : r.name === 'ORG-AUDITOR' ? PERMISSIONS.filter((p) => p.endsWith(':read')) : r.name === 'SCIM-PROVISIONER' ? ['scim:provision'] : [];
    assert.deepEqual(r.permissions, want, r.name);
  }
  assert.equal(roles[0]!.permissions.length, 10);
  expect(await app.inject({ method: 'GET', url: '/roles', headers: (await mintKey(app, ['CHAT-USER'])).auth }), 403, { detail: 'Forbidden' });
  expect(await app.inject({ method: 'GET', url: '/roles' }), 401, { detail: 'Requires authentication' });

  for (const role of Object.keys(GRANTS)) {
    const user = await createUser(app, { roles: [role] });
    const callers = { key: (await mintKey(app, [role])).auth, user: bearer((await login(app, user.email)).access_token) };
    for (const [who, auth] of Object.entries(callers)) {
      for (const grantName of ALL) {
        const [action, resource] = grantName.split(':');
        const check = await app.inject({ method: 'GET', url: `/users/permissions/check?action=${action}&resource=${resource}`, headers: auth });
        if (GRANTS[role]!.includes(grantName)) expect(check, 200, { allowed: true, action, resource, granted_by: [role] }, `${role} ${who} ${grantName}`);
        else expect(check, 403, { detail: 'Forbidden', allowed: false, action, resource }, `${role} ${who} ${grantName}`);
      }
    }
  }
});
