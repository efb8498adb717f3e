import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { decodeJwt } from 'jose';
import { GOOD_PASSWORD } from '../helpers/app.ts';
import { CookieBrowser, formOf } from '../helpers/oidc.ts';
import { freshSchema, postgresSkipReason } from '../helpers/postgres.ts';
import { freePorts, spawnServer, stopServers, waitUntilReady, type ServerProcess } from '../helpers/server-process.ts';

// One browser sign-in split over three real `npm start` replicas on one PostgreSQL schema, as a load balancer
// without sticky sessions would split it: login interactions, codes, sessions and grants live in the database, so
// every step must work whichever replica it lands on, and an ending (logout, code replay) must reach every replica
// within the contract's 1 s (CONTRACT.md §1.1).

const skip = await postgresSkipReason();
const ADMIN_KEY = 'e2e-sign-in-replicas-admin-key-0123456789ab';
const REALM = '/realms/acme';
const REDIRECT = 'http://app.example.test/callback';
const SIGNED_OUT = 'http://app.example.test/signed-out';
const NEW_PASSWORD = 'Copper-Orchard-58-Violin';
const PROPAGATION_MS = 1_000;

interface Reply {
  status: number;
  body: any;
}
interface Tokens {
  access_token: string;
  refresh_token: string;
  id_token: string;
}

async function reply(res: Response): Promise<Reply> {
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

const api = (s: ServerProcess, method: string, path: string, body?: unknown, auth: string | null = ADMIN_KEY) =>
  fetch(`${s.base}${path}`, {
    method,
    headers: { ...(auth === null ? {} : { authorization: `Bearer ${auth}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(15_000),
  }).then(reply);

const me = (s: ServerProcess, accessToken: string) => api(s, 'GET', '/users/me', undefined, accessToken);

/** Polls until `accept` holds; fails once `ms` have passed since `since` (the contract's bound, not a guess). */
async function within(what: string, ms: number, since: number, probe: () => Promise<Reply>, accept: (r: Reply) => boolean): Promise<number> {
  for (;;) {
    const last = await probe();
    if (accept(last)) return Date.now() - since;
    if (Date.now() - since > ms) assert.fail(`${what}: not within ${ms} ms; last ${last.status} ${JSON.stringify(last.body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const refused = (r: Reply) => r.status === 401 && r.body?.detail === 'Bad credentials';
const invalidGrant = (r: Reply, description: string) => assert.deepEqual(r, { status: 400, body: { error: 'invalid_grant', error_description: description } });

test('one browser sign-in split over three replicas on one PostgreSQL schema', { skip, timeout: 240_000 }, async (t) => {
  const schema = await freshSchema();
  // The issuer must be known before any replica starts, so the ports are chosen here rather than by startServers.
  const ports = await freePorts(3);
  // Every replica carries the same issuer; it names A's origin, but it is only a name: requests go to each origin.
  const issuer = `http://127.0.0.1:${ports[0]}${REALM}`;
  const env = {
    DATABASE_URL: schema.url,
    GATEHOUSE_ADMIN_KEY: ADMIN_KEY,
    GATEHOUSE_ISSUER: issuer,
    GATEHOUSE_AUTH_RATE_LIMIT: '0',
    GATEHOUSE_DB_POOL_SIZE: '5',
  };
  const servers = ports.map((port, i) => spawnServer('ABC'[i]!, port, env));
  t.after(async () => {
    try {
      await stopServers(servers);
    } finally {
      await schema.drop();
    }
  });
  await Promise.all(servers.map((s) => waitUntilReady(s, 90_000)));
  const [A, B, C] = servers as [ServerProcess, ServerProcess, ServerProcess];

  const registered = await api(A, 'POST', '/auth/clients', { client_name: 'Replica App', redirect_uris: [REDIRECT], post_logout_redirect_uris: [SIGNED_OUT] });
  assert.equal(registered.status, 201, JSON.stringify(registered.body));
  const clientId: string = registered.body.client_id;
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(registered.body.client_secret)}`).toString('base64')}`;

  const tokenCall = (s: ServerProcess, form: Record<string, string>) =>
    fetch(`${s.base}${REALM}/protocol/openid-connect/token`, { method: 'POST', headers: { authorization: basic }, body: new URLSearchParams(form) }).then(reply);

  let counter = 0;
  async function createUser(s: ServerProcess, temporary: boolean) {
    const email = `split.${++counter}.${Date.now()}@example.com`;
    const r = await api(s, 'POST', '/users', { email, password: GOOD_PASSWORD, temporary, roles: ['CHAT-USER'], firstName: 'Split', lastName: `Flow${counter}` });
    assert.equal(r.status, 200, `create on ${s.name}: ${JSON.stringify(r.body)}`);
    return { id: r.body.id as string, email };
  }

  /** A code + PKCE authorization request against `s`, as the application would build it. */
  function authorization(s: ServerProcess) {
    const verifier = randomBytes(32).toString('base64url');
    const state = randomBytes(8).toString('hex');
    const nonce = randomBytes(8).toString('hex');
    const url = new URL(`${s.base}${REALM}/protocol/openid-connect/auth`);
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const params = { client_id: clientId, response_type: 'code', redirect_uri: REDIRECT, scope: 'openid email profile', state, nonce };
    for (const [k, v] of Object.entries({ ...params, code_challenge: challenge, code_challenge_method: 'S256' })) url.searchParams.set(k, v);
    return { url: url.toString(), verifier, state, nonce };
  }

  /** The redirect back to the application: it must carry a code, our state and the issuer (RFC 9207). */
  function codeFrom(location: string | null, state: string): string {
    const back = new URL(location ?? 'missing:');
    assert.equal(`${back.origin}${back.pathname}`, REDIRECT, `a redirect to the application, got ${location}`);
    assert.equal(back.searchParams.get('error'), null, `${location}`);
    assert.equal(back.searchParams.get('state'), state);
    assert.equal(back.searchParams.get('iss'), issuer);
    const code = back.searchParams.get('code');
    assert.ok(code, `a code in ${location}`);
    return code;
  }

  async function exchange(s: ServerProcess, code: string, verifier: string): Promise<Tokens> {
    const r = await tokenCall(s, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });
    assert.equal(r.status, 200, `code exchange on ${s.name}: ${JSON.stringify(r.body)}`);
    return r.body as Tokens;
  }

  /** Login page from `first`, login form posted to `second`; the code it returns. */
  async function splitLogin(browser: CookieBrowser, first: ServerProcess, second: ServerProcess, email: string) {
    const req = authorization(first);
    const page = await browser.get(req.url);
    assert.equal(page.status, 200, `login page from ${first.name}: ${page.status} ${page.body.slice(0, 200)}`);
    assert.ok(browser.cookies.has('GATEHOUSE_BROWSER'), 'the login page binds the browser');
    const form = formOf(page.body);
    const done = await browser.post(`${second.base}${form.action}`, { ...form.fields, username: email, password: GOOD_PASSWORD });
    assert.equal(done.status, 303, `login posted to ${second.name}: ${done.status} ${done.body.slice(0, 300)}\n${second.logTail(5)}`);
    return { ...req, code: codeFrom(done.location, req.state) };
  }

  await t.test('login page on A, form on B, code at B, refresh on C, SSO on B, userinfo on A, logout on B', async (st) => {
    const user = await createUser(B, false);
    const browser = new CookieBrowser(A.base);
    const first = await splitLogin(browser, A, B, user.email);
    const session = browser.cookies.get('GATEHOUSE_SESSION');
    assert.ok(session, 'B set the session cookie');

    const tokens = await exchange(B, first.code, first.verifier);
    const id = decodeJwt(tokens.id_token);
    assert.equal(id.iss, issuer);
    assert.equal(id.sub, user.id);
    assert.equal(id.aud, clientId);
    assert.equal(id.nonce, first.nonce, 'the nonce stored by A comes back from B');

    const refreshed = await tokenCall(C, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
    assert.equal(refreshed.status, 200, `B's refresh token on C: ${JSON.stringify(refreshed.body)}`);
    assert.notEqual(refreshed.body.refresh_token, tokens.refresh_token);

    // Single sign-on on B from the session cookie B set: a code at once, no page, for the same session.
    const again = authorization(B);
    const silent = await browser.get(again.url);
    assert.equal(silent.status, 302, `SSO on B: ${silent.status} ${silent.body.slice(0, 200)}`);
    const sso = await exchange(A, codeFrom(silent.location, again.state), again.verifier);
    assert.equal(decodeJwt(sso.id_token).sid, id.sid, 'the same browser session');

    const info = await fetch(`${A.base}${REALM}/protocol/openid-connect/userinfo`, { headers: { authorization: `Bearer ${sso.access_token}` } }).then(reply);
    assert.equal(info.status, 200, JSON.stringify(info.body));
    assert.equal(info.body.sub, user.id);
    assert.equal(info.body.email, user.email);
    // Warm A's principal cache, so the logout below must get past it (its TTL is what bounds propagation).
    for (const access of [refreshed.body.access_token, sso.access_token]) assert.equal((await me(A, access)).status, 200);

    const bye = await browser.get(`${B.base}${REALM}/protocol/openid-connect/logout?${new URLSearchParams({ id_token_hint: sso.id_token, post_logout_redirect_uri: SIGNED_OUT, state: 'bye' })}`);
    assert.equal(bye.status, 302, `logout on B: ${bye.status} ${bye.body.slice(0, 200)}`);
    assert.equal(bye.location, `${SIGNED_OUT}?state=bye`);
    const since = Date.now();
    await within('the refreshed access token on A after logout on B', PROPAGATION_MS, since, () => me(A, refreshed.body.access_token), refused);
    const ms = await within('the SSO access token on A after logout on B', PROPAGATION_MS, since, () => me(A, sso.access_token), refused);
    st.diagnostic(`A refused the logged-out access tokens after ${ms} ms`);
    // One probe per refresh token: a wrongly accepted one would rotate, so it is not retried.
    invalidGrant(await tokenCall(A, { grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token }), 'Invalid refresh token');
    invalidGrant(await tokenCall(A, { grant_type: 'refresh_token', refresh_token: sso.refresh_token }), 'Invalid refresh token');

    // The session ended in the database, not just in this browser: its old cookie, replayed to A, gets the login page.
    browser.cookies.set('GATEHOUSE_SESSION', session);
    const after = await browser.get(authorization(A).url);
    assert.equal(after.status, 200, `the ended session's cookie on A: ${after.status} ${after.location ?? ''}`);
  });

  await t.test('a temporary password: login on A, new password set on B, code exchanged on C', async () => {
    const user = await createUser(C, true);
    const browser = new CookieBrowser(A.base);
    const req = authorization(A);
    const form = formOf((await browser.get(req.url)).body);
    const step = await browser.post(`${A.base}${form.action}`, { ...form.fields, username: user.email, password: GOOD_PASSWORD });
    assert.equal(step.status, 200, step.body.slice(0, 300));
    assert.match(step.body, /Choose a new password/);
    const update = formOf(step.body);
    // The interaction remembered on A which user passed the temporary password; B reads that from the database.
    const done = await browser.post(`${B.base}${update.action}`, { ...update.fields, password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    assert.equal(done.status, 303, `new password posted to B: ${done.status} ${done.body.slice(0, 300)}\n${B.logTail(5)}`);
    const tokens = await exchange(C, codeFrom(done.location, req.state), req.verifier);
    assert.equal(decodeJwt(tokens.id_token).sub, user.id);
    assert.equal((await me(A, tokens.access_token)).status, 200);

    // The interaction is spent: posting the same step again, on C, changes nothing.
    const replay = await browser.post(`${C.base}${update.action}`, { ...update.fields, password: 'Another-Fresh-Garden-93', confirm: 'Another-Fresh-Garden-93' });
    assert.equal(replay.status, 400, replay.body.slice(0, 300));
    const grant = (password: string) => api(A, 'POST', '/auth/token', { grant_type: 'password', username: user.email, password }, null);
    assert.equal((await grant(NEW_PASSWORD)).status, 200, 'the new password is the permanent one');
    invalidGrant(await grant(GOOD_PASSWORD), 'Invalid username or password');
  });

  await t.test('a code replayed on another replica is refused, and what it bought dies on every replica', async (st) => {
    const user = await createUser(A, false);
    const browser = new CookieBrowser(B.base);
    const flow = await splitLogin(browser, B, C, user.email);
    const tokens = await exchange(A, flow.code, flow.verifier);
    for (const s of servers) assert.equal((await me(s, tokens.access_token)).status, 200, `before the replay, on ${s.name}`);

    const replay = await tokenCall(B, { grant_type: 'authorization_code', code: flow.code, redirect_uri: REDIRECT, code_verifier: flow.verifier });
    invalidGrant(replay, 'Authorization code was already used');
    const since = Date.now();
    for (const s of [A, C, B]) {
      const ms = await within(`the first access token on ${s.name} after the replay on B`, PROPAGATION_MS, since, () => me(s, tokens.access_token), refused);
      st.diagnostic(`${s.name} refused the replayed code's access token after ${ms} ms`);
    }
    invalidGrant(await tokenCall(C, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }), 'Invalid refresh token');
  });

  await t.test('no replica crashed or logged an error', async () => {
    for (const s of servers) {
      assert.equal(s.exitStatus(), null, `${s.name} is still running`);
      assert.doesNotMatch(s.stdout() + s.stderr(), /"level":(50|60)/, `${s.name} logged an error:\n${s.logTail(20)}`);
    }
  });
});
