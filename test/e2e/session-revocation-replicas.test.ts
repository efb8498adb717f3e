import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeJwt } from 'jose';
import { GOOD_PASSWORD } from '../helpers/app.ts';
import { freshSchema, postgresSkipReason } from '../helpers/postgres.ts';
import { startServers, type ServerProcess } from '../helpers/server-process.ts';

// Ending a session through the API on one replica (DELETE /users/{id}/sessions[/{sid}]) must reach every other
// replica within the contract's 1 s (CONTRACT.md §1.1): two real `npm start` processes on one PostgreSQL schema,
// each with a warm principal cache that the ending has to get past.

const skip = await postgresSkipReason();
const ADMIN_KEY = 'e2e-session-revocation-admin-key-0123456789';
const ISSUER = 'https://gatehouse.sessions.test'; // replicas behind one load balancer share one issuer
const PROPAGATION_MS = 1_000;

interface Reply {
  status: number;
  body: any;
}

async function call(server: ServerProcess, method: string, path: string, opts: { auth?: string | null; body?: unknown; userAgent?: string } = {}): Promise<Reply> {
  const auth = opts.auth === undefined ? ADMIN_KEY : opts.auth;
  const res = await fetch(`${server.base}${path}`, {
    method,
    headers: {
      ...(auth === null ? {} : { authorization: `Bearer ${auth}` }),
      ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(opts.userAgent ? { 'user-agent': opts.userAgent } : {}),
    },
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: text === '' ? null : JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

const show = (s: ServerProcess, r: Reply) => `${s.name} answered ${r.status} ${JSON.stringify(r.body)}`;
const me = (s: ServerProcess, accessToken: string) => call(s, 'GET', '/users/me', { auth: accessToken });
const refused = (r: Reply) => r.status === 401 && r.body?.detail === 'Bad credentials';

/** Polls `probe` until `accept` holds; fails once `ms` have passed since `since` (the contract's bound, not a guess). */
async function within(what: string, since: number, s: ServerProcess, probe: () => Promise<Reply>, accept: (r: Reply) => boolean): Promise<number> {
  for (;;) {
    const last = await probe();
    if (accept(last)) return Date.now() - since;
    if (Date.now() - since > PROPAGATION_MS) assert.fail(`${what}: not within ${PROPAGATION_MS} ms; last: ${show(s, last)}\n${s.logTail(10)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a session ended on one replica is refused on the other within 1 s', { skip, timeout: 240_000 }, async (t) => {
  const schema = await freshSchema();
  const env = {
    DATABASE_URL: schema.url,
    GATEHOUSE_ADMIN_KEY: ADMIN_KEY,
    GATEHOUSE_ISSUER: ISSUER,
    GATEHOUSE_AUTH_RATE_LIMIT: '0',
    GATEHOUSE_DB_POOL_SIZE: '5',
  };
  const servers = await startServers(t, [env, env], { afterStop: () => schema.drop() });
  const [A, B] = servers as [ServerProcess, ServerProcess];

  const email = `sessions.${Date.now()}@example.com`;
  const created = await call(A, 'POST', '/users', { body: { email, password: GOOD_PASSWORD, temporary: false, roles: ['CHAT-USER'], firstName: 'Sess', lastName: 'Ion' } });
  assert.equal(created.status, 200, show(A, created));
  const userId: string = created.body.id;

  async function login(s: ServerProcess, userAgent: string) {
    const r = await call(s, 'POST', '/auth/token', { auth: null, body: { grant_type: 'password', username: email, password: GOOD_PASSWORD }, userAgent });
    assert.equal(r.status, 200, `login on ${show(s, r)}`);
    return { access: r.body.access_token as string, refresh: r.body.refresh_token as string, sid: String(decodeJwt(r.body.access_token).sid) };
  }

  await t.test('DELETE one session on B: its access token is refused on A within 1 s, the other session lives on', async (st) => {
    const doomed = await login(A, 'Doomed-Device/1.0');
    const kept = await login(B, 'Kept-Device/1.0');
    // Warm both replicas' principal caches: the ending has to get past them.
    for (const s of servers) for (const token of [doomed.access, kept.access]) assert.equal((await me(s, token)).status, 200, `before, on ${s.name}`);

    const listed = await call(B, 'GET', `/users/${userId}/sessions`);
    assert.equal(listed.status, 200, show(B, listed));
    assert.deepEqual(
      listed.body.items.map((x: { id: string }) => x.id).sort(),
      [doomed.sid, kept.sid].sort(),
      "B lists the session A created, and its own",
    );

    const ended = await call(B, 'DELETE', `/users/${userId}/sessions/${doomed.sid}`);
    assert.equal(ended.status, 204, show(B, ended));
    const since = Date.now();
    const onB = await me(B, doomed.access);
    assert.ok(refused(onB), `at once on the replica that ended it: ${show(B, onB)}`);
    const ms = await within("the ended session's access token on A", since, A, () => me(A, doomed.access), refused);
    st.diagnostic(`A refused the ended session's access token after ${ms} ms`);
    // One probe per refresh token: a wrongly accepted one would rotate, so it is not retried.
    const r = await call(A, 'POST', '/auth/token', { auth: null, body: { grant_type: 'refresh_token', refresh_token: doomed.refresh } });
    assert.deepEqual(r, { status: 400, body: { error: 'invalid_grant', error_description: 'Invalid refresh token' } });
    for (const s of servers) assert.equal((await me(s, kept.access)).status, 200, `the other session, on ${s.name}`);
    const after = await call(A, 'GET', `/users/${userId}/sessions`);
    assert.deepEqual(after.body.items.map((x: { id: string }) => x.id), [kept.sid]);
  });

  await t.test('DELETE all sessions on A (the user, signing out everywhere): refused on B within 1 s', async (st) => {
    const one = await login(A, 'Laptop/3.0');
    const two = await login(B, 'Phone/4.0');
    for (const s of servers) for (const token of [one.access, two.access]) assert.equal((await me(s, token)).status, 200, `before, on ${s.name}`);

    const ended = await call(A, 'DELETE', `/users/${userId}/sessions`, { auth: one.access });
    assert.equal(ended.status, 204, show(A, ended));
    const since = Date.now();
    for (const token of [one.access, two.access]) {
      const ms = await within('an access token of the user on B after sign-out everywhere on A', since, B, () => me(B, token), refused);
      st.diagnostic(`B refused it after ${ms} ms`);
      assert.ok(refused(await me(A, token)), 'and on A');
    }
    const listed = await call(B, 'GET', `/users/${userId}/sessions`);
    assert.deepEqual(listed, { status: 200, body: { items: [], next_cursor: null } });
  });

  await t.test('no replica crashed or logged an error', async () => {
    for (const s of servers) {
      assert.equal(s.exitStatus(), null, `${s.name} is still running`);
      assert.doesNotMatch(s.stdout() + s.stderr(), /"level":(50|60)/, `${s.name} logged an error:\n${s.logTail(20)}`);
    }
  });
});

test('a user disabled on one replica is refused on the other within 1 s; enabling again brings no old token back', { skip, timeout: 240_000 }, async (t) => {
  const schema = await freshSchema();
  const env = { DATABASE_URL: schema.url, GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_ISSUER: ISSUER, GATEHOUSE_AUTH_RATE_LIMIT: '0', GATEHOUSE_DB_POOL_SIZE: '5' };
  const servers = await startServers(t, [env, env], { afterStop: () => schema.drop() });
  const [A, B] = servers as [ServerProcess, ServerProcess];
  const email = `disabled.${Date.now()}@example.com`;
  const created = await call(A, 'POST', '/users', { body: { email, password: GOOD_PASSWORD, temporary: false, roles: ['CHAT-USER'], firstName: 'Dis', lastName: 'Abled' } });
  assert.equal(created.status, 200, show(A, created));
  const login = async (s: ServerProcess) => call(s, 'POST', '/auth/token', { auth: null, body: { grant_type: 'password', username: email, password: GOOD_PASSWORD } });
  const first = await login(B);
  assert.equal(first.status, 200, show(B, first));
  for (const s of servers) assert.equal((await me(s, first.body.access_token)).status, 200, `before, on ${s.name}`);

  const disabled = await call(B, 'PATCH', `/users/${created.body.id}`, { body: { enabled: false } });
  assert.equal(disabled.status, 200, show(B, disabled));
  assert.equal(disabled.body.enabled, false);
  const since = Date.now();
  const ms = await within('a disabled user’s access token on A', since, A, () => me(A, first.body.access_token), refused);
  t.diagnostic(`A refused the disabled user's token after ${ms} ms`);
  const denied = await login(A);
  assert.deepEqual(denied, { status: 400, body: { error: 'invalid_grant', error_description: 'Invalid username or password' } }, 'no grant while disabled');

  const enabled = await call(A, 'PATCH', `/users/${created.body.id}`, { body: { enabled: true } });
  assert.equal(enabled.status, 200, show(A, enabled));
  for (const s of servers) assert.ok(refused(await me(s, first.body.access_token)), `the old token stays dead on ${s.name}`);
  const refreshed = await call(B, 'POST', '/auth/token', { auth: null, body: { grant_type: 'refresh_token', refresh_token: first.body.refresh_token } });
  assert.deepEqual(refreshed, { status: 400, body: { error: 'invalid_grant', error_description: 'Invalid refresh token' } });
  const again = await login(B);
  assert.equal(again.status, 200, 'a new login works once enabled');
  assert.equal((await me(A, again.body.access_token)).status, 200);
});
