import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import pg from 'pg';
import { GOOD_PASSWORD } from '../helpers/app.ts';
import { freshSchema, postgresSkipReason } from '../helpers/postgres.ts';
import { startServers, type ServerProcess } from '../helpers/server-process.ts';
import { MIGRATIONS } from '../../src/store/migrate.ts';

// Scale-out: three real `npm start` processes on one PostgreSQL schema, started together, spoken to over real HTTP.
// Whatever one replica writes or revokes, the others must honour at once (CONTRACT.md §1.1: "on every replica
// within 1 s"), because they share everything through the database.

const ADMIN_KEY = 'e2e-replicas-admin-key-0123456789abcdefghij';
// Replicas behind one load balancer share one issuer; the default (http://127.0.0.1:<PORT>) differs per replica.
const ISSUER = 'https://gatehouse.replicas.test';
const AUDIENCE = 'gatehouse';
const WRONG_PASSWORD = 'Wrong-Guess-Password-1';
const PROPAGATION_MS = 1_000;

const skip = await postgresSkipReason();

interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

async function call(
  server: ServerProcess,
  method: string,
  path: string,
  opts: { auth?: string | null; body?: unknown } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  const auth = opts.auth === undefined ? ADMIN_KEY : opts.auth;
  if (auth !== null) headers.authorization = `Bearer ${auth}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.base}${path}`, {
    method,
    headers,
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text for the message
  }
  return { status: res.status, body, headers: res.headers };
}

const show = (server: ServerProcess, r: Reply) => `${server.name} answered ${r.status} ${JSON.stringify(r.body)}`;

/**
 * Polls `probe` every 50 ms until `accept` holds or `ms` have passed since `since`; fails with the last answer.
 * The deadline is the contract's propagation bound, not a guess at how long things take.
 */
async function within(
  what: string,
  ms: number,
  since: number,
  probe: () => Promise<Reply>,
  accept: (r: Reply) => boolean,
  server: ServerProcess,
): Promise<Reply> {
  let last: Reply;
  for (;;) {
    last = await probe();
    if (accept(last)) return last;
    if (Date.now() - since > ms) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`${what}: not within ${ms} ms; last: ${show(server, last)}\n${server.logTail(10)}`);
}

const isBadCredentials = (r: Reply) =>
  r.status === 401 && JSON.stringify(r.body) === JSON.stringify({ detail: 'Bad credentials' });
const isInvalidGrant = (description: string) => (r: Reply) =>
  r.status === 400 && JSON.stringify(r.body) === JSON.stringify({ error: 'invalid_grant', error_description: description });

let counter = 0;
function userBody(tag: string) {
  counter += 1;
  return {
    email: `replica.${tag}.${counter}.${Date.now()}@example.com`,
    password: GOOD_PASSWORD,
    temporary: false,
    roles: ['CHAT-USER'],
    firstName: `Rep${tag}`,
    lastName: `Lica${counter}`,
  };
}

async function createUser(server: ServerProcess, tag: string) {
  const body = userBody(tag);
  const r = await call(server, 'POST', '/users', { body });
  assert.equal(r.status, 200, `create on ${show(server, r)}`);
  return { id: r.body.id as string, email: body.email };
}

async function login(server: ServerProcess, username: string, password = GOOD_PASSWORD) {
  return call(server, 'POST', '/auth/token', { auth: null, body: { grant_type: 'password', username, password } });
}

async function loginOk(server: ServerProcess, username: string) {
  const r = await login(server, username);
  assert.equal(r.status, 200, `login on ${show(server, r)}`);
  return { access: r.body.access_token as string, refresh: r.body.refresh_token as string };
}

const refresh = (server: ServerProcess, token: string) =>
  call(server, 'POST', '/auth/token', { auth: null, body: { grant_type: 'refresh_token', refresh_token: token } });

test('three replicas on one PostgreSQL schema share users, keys, sessions, lockouts and signing keys', { skip, timeout: 240_000 }, async (t) => {
  const schema = await freshSchema();
  const env = {
    DATABASE_URL: schema.url,
    GATEHOUSE_ADMIN_KEY: ADMIN_KEY,
    GATEHOUSE_ISSUER: ISSUER,
    GATEHOUSE_AUDIENCE: AUDIENCE,
    GATEHOUSE_AUTH_RATE_LIMIT: '0',
    GATEHOUSE_LOCKOUT_THRESHOLD: '3',
    GATEHOUSE_LOG_LEVEL: 'info',
    GATEHOUSE_DB_POOL_SIZE: '5',
  };
  const startedAt = Date.now();
  // All three spawned in the same tick on an empty schema: they race to migrate and to make the first signing key.
  const servers = await startServers(t, [env, env, env], { afterStop: () => schema.drop() });
  const [A, B, C] = servers as [ServerProcess, ServerProcess, ServerProcess];
  t.diagnostic(`schema ${schema.name}`);
  t.diagnostic(`three replicas ready in ${Date.now() - startedAt} ms on ports ${servers.map((s) => s.port).join(', ')}`);

  await t.test('the racing migrations ran once each, and nobody crashed', async (st) => {
    const client = new pg.Client({ connectionString: schema.url.replace(/[?&]schema=[^&]*/, '') });
    await client.connect();
    try {
      const { rows } = await client.query(`select name from ${schema.name}.gatehouse_migrations order by name`);
      assert.deepEqual(
        rows.map((r: { name: string }) => r.name),
        Object.keys(MIGRATIONS).sort(),
      );
      const keys = await client.query(`select kid, retired_at from ${schema.name}.signing_keys order by created_at, kid`);
      st.diagnostic(`signing keys made by the racing replicas: ${JSON.stringify(keys.rows)}`);
    } finally {
      await client.end();
    }
    for (const s of servers) {
      assert.equal(s.exitStatus(), null, `${s.name} is still running`);
      assert.doesNotMatch(s.stderr(), /error|unhandled/i, `${s.name} stderr:\n${s.stderr()}`);
    }
  });

  await t.test('a user created on A is found by search on B and C at once', async () => {
    const tag = `s${Date.now()}`;
    const created = await call(A, 'POST', '/users', { body: { ...userBody(tag), firstName: `Find${tag}` } });
    assert.equal(created.status, 200, show(A, created));
    for (const s of [B, C]) {
      const found = await call(s, 'GET', `/users?search_string=${encodeURIComponent(`find${tag}`)}`);
      assert.equal(found.status, 200, show(s, found));
      assert.deepEqual(found.body, [created.body], `search on ${s.name} right after the create on A`);
    }
  });

  await t.test('10 concurrent creates of one email over three replicas: exactly one 200, nine 409', async () => {
    const email = `race.${Date.now()}@example.com`;
    const body = { email, password: GOOD_PASSWORD, temporary: false, roles: ['CHAT-USER'], firstName: 'Race', lastName: 'Condition' };
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) => {
        const s = servers[i % 3]!;
        return call(s, 'POST', '/users', { body }).then((r) => ({ s, r }));
      }),
    );
    const summary = replies.map(({ s, r }) => `${s.name}:${r.status}`).join(' ');
    const ok = replies.filter(({ r }) => r.status === 200);
    const conflicts = replies.filter(({ r }) => r.status === 409);
    assert.equal(ok.length, 1, `exactly one create succeeds: ${summary}`);
    assert.equal(conflicts.length, 9, `the other nine are 409: ${summary} ${JSON.stringify(replies.map(({ r }) => r.body))}`);
    for (const { s, r } of conflicts) assert.deepEqual(r.body, { detail: `User ${email} already exists.` }, show(s, r));
    assert.equal(ok[0]!.r.body.email, email);
    for (const s of servers) {
      const found = await call(s, 'GET', `/users?search_string=${encodeURIComponent(email)}`);
      assert.equal(found.status, 200, show(s, found));
      assert.deepEqual(found.body.map((u: { id: string }) => u.id), [ok[0]!.r.body.id], `one stored user, seen from ${s.name}`);
    }
  });

  await t.test('an API key minted on A works on B and C; deactivated on B, A and C refuse it within 1 s', async () => {
    const minted = await call(A, 'POST', '/auth/api_keys', { body: { description: 'replica test', roles: ['ORG-AUDITOR'] } });
    assert.equal(minted.status, 200, show(A, minted));
    const { id, key } = minted.body as { id: string; key: string };
    for (const s of [B, C]) {
      const me = await call(s, 'GET', '/users/me', { auth: key });
      assert.equal(me.status, 200, show(s, me));
      assert.equal(me.body.user_id, id);
      assert.equal(me.body.kind, 'api_key');
      assert.deepEqual(me.body.roles, ['ORG-AUDITOR']);
      const search = await call(s, 'GET', '/users?page_size=1', { auth: key });
      assert.equal(search.status, 200, `the key's role works on ${show(s, search)}`);
    }

    const off = await call(B, 'DELETE', `/auth/api_keys/deactivate/${id}`);
    assert.equal(off.status, 200, show(B, off));
    assert.equal(off.body.is_active, false);
    const since = Date.now();
    for (const s of [A, C, B]) {
      const refused = await within(`key deactivated on B, refused by ${s.name}`, PROPAGATION_MS, since, () => call(s, 'GET', '/users/me', { auth: key }), isBadCredentials, s);
      assert.match(refused.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
    const listed = await call(C, 'GET', `/auth/api_keys/${id}`);
    assert.equal(listed.status, 200, show(C, listed));
    assert.equal(listed.body.is_active, false, 'C lists the key as inactive');
  });

  await t.test('log in on A, use the access token on B and C, refresh on C', async () => {
    const user = await createUser(A, 'login');
    const first = await loginOk(A, user.email.toUpperCase());
    for (const s of [B, C]) {
      const me = await call(s, 'GET', '/users/me', { auth: first.access });
      assert.equal(me.status, 200, `A's access token on ${show(s, me)}`);
      assert.equal(me.body.user_id, user.id);
      assert.equal(me.body.kind, 'user');
      assert.equal(me.body.email, user.email);
    }

    const rotated = await refresh(C, first.refresh);
    assert.equal(rotated.status, 200, `A's refresh token on ${show(C, rotated)}`);
    assert.notEqual(rotated.body.refresh_token, first.refresh);
    for (const s of [A, B]) {
      const me = await call(s, 'GET', '/users/me', { auth: rotated.body.access_token });
      assert.equal(me.status, 200, `C's refreshed access token on ${show(s, me)}`);
      assert.equal(me.body.user_id, user.id);
    }

    // Each refresh token works once, whichever replica is asked; a replay ends the family everywhere.
    const replay = await refresh(A, first.refresh);
    assert.ok(isInvalidGrant('Invalid refresh token')(replay), `replaying the used refresh token on ${show(A, replay)}`);
    const afterReplay = await refresh(B, rotated.body.refresh_token);
    assert.ok(isInvalidGrant('Invalid refresh token')(afterReplay), `the family's newest token after the replay, on ${show(B, afterReplay)}`);
  });

  await t.test("an admin password reset on A ends the user's old access and refresh tokens on B and C within 1 s", async () => {
    const user = await createUser(A, 'reset');
    const one = await loginOk(B, user.email);
    const two = await loginOk(C, user.email);
    for (const s of [B, C]) assert.equal((await call(s, 'GET', '/users/me', { auth: one.access })).status, 200);

    const reset = await call(A, 'POST', `/users/${user.id}/reset_password`, { body: { password: 'Quiet-Meadow-77-Compass' } });
    assert.equal(reset.status, 200, show(A, reset));
    assert.deepEqual(reset.body, { id: user.id, temporary: true });
    const since = Date.now();
    for (const s of [B, C]) {
      await within(`old access token (1) on ${s.name} after the reset on A`, PROPAGATION_MS, since, () => call(s, 'GET', '/users/me', { auth: one.access }), isBadCredentials, s);
      await within(`old access token (2) on ${s.name} after the reset on A`, PROPAGATION_MS, since, () => call(s, 'GET', '/users/me', { auth: two.access }), isBadCredentials, s);
    }
    // One probe per refresh token: a wrongly accepted refresh would rotate it, so it is not retried.
    const r1 = await refresh(B, one.refresh);
    assert.ok(isInvalidGrant('Invalid refresh token')(r1), `old refresh token (1) on ${show(B, r1)}`);
    const r2 = await refresh(C, two.refresh);
    assert.ok(isInvalidGrant('Invalid refresh token')(r2), `old refresh token (2) on ${show(C, r2)}`);
    const oldPassword = await login(B, user.email);
    assert.ok(isInvalidGrant('Invalid username or password')(oldPassword), `the old password on ${show(B, oldPassword)}`);
  });

  await t.test('a user deleted on C is refused on A within 1 s', async () => {
    const user = await createUser(B, 'delete');
    const tokens = await loginOk(A, user.email);
    assert.equal((await call(A, 'GET', '/users/me', { auth: tokens.access })).status, 200);

    const deleted = await call(C, 'DELETE', `/users/${user.id}`);
    assert.equal(deleted.status, 200, show(C, deleted));
    assert.equal(deleted.body.id, user.id);
    const since = Date.now();
    await within('access token on A after the delete on C', PROPAGATION_MS, since, () => call(A, 'GET', '/users/me', { auth: tokens.access }), isBadCredentials, A);
    const refreshed = await refresh(A, tokens.refresh);
    assert.ok(isInvalidGrant('Invalid refresh token')(refreshed), `refresh token on ${show(A, refreshed)}`);
    const again = await login(A, user.email);
    assert.ok(isInvalidGrant('Invalid username or password')(again), `login on ${show(A, again)}`);
    const search = await call(A, 'GET', `/users?search_string=${encodeURIComponent(user.email)}`);
    assert.deepEqual(search.body, [], `search on ${show(A, search)}`);
    const twice = await call(B, 'DELETE', `/users/${user.id}`);
    assert.equal(twice.status, 404, show(B, twice));
  });

  await t.test('lockout counters are shared: failures spread over A, B, C lock the account on all three', async () => {
    const user = await createUser(C, 'lockout');
    await loginOk(B, user.email); // the account works (and a success clears any counter)
    const invalid = isInvalidGrant('Invalid username or password');
    // Threshold 3, one failure per replica: no single replica saw enough to lock by itself.
    for (const s of [A, B, C]) {
      const r = await login(s, user.email, WRONG_PASSWORD);
      assert.ok(invalid(r), `wrong password on ${show(s, r)}`);
    }
    for (const s of [A, B, C]) {
      const r = await login(s, user.email);
      assert.ok(invalid(r), `the right password on a locked account, on ${show(s, r)}`);
    }
  });

  await t.test('every replica serves the same JWKS, and a token signed on one verifies against any', async () => {
    const sets = await Promise.all(
      servers.map(async (s) => {
        const r = await call(s, 'GET', '/.well-known/jwks.json', { auth: null });
        assert.equal(r.status, 200, show(s, r));
        return r.body as JSONWebKeySet;
      }),
    );
    const kids = sets.map((set) => set.keys.map((k) => k.kid).sort());
    t.diagnostic(`JWKS kids: ${servers.map((s, i) => `${s.name}=${JSON.stringify(kids[i])}`).join(' ')}`);
    assert.ok(kids[0]!.length >= 1, 'at least one key is published');
    assert.deepEqual(kids[1], kids[0], 'B publishes the same kids as A');
    assert.deepEqual(kids[2], kids[0], 'C publishes the same kids as A');

    const user = await createUser(B, 'jwks');
    for (const signer of servers) {
      const { access } = await loginOk(signer, user.email);
      const { kid } = decodeProtectedHeader(access);
      for (const [i, verifier] of servers.entries()) {
        const verified = await jwtVerify(access, createLocalJWKSet(sets[i]!), { issuer: ISSUER, audience: AUDIENCE, algorithms: ['RS256'] }).catch(
          (err: Error) => assert.fail(`a token signed on ${signer.name} (kid ${kid}) against ${verifier.name}'s JWKS: ${err.message}`),
        );
        assert.equal(verified.payload.sub, user.id);
        const me = await call(verifier, 'GET', '/users/me', { auth: access });
        assert.equal(me.status, 200, `a token signed on ${signer.name}, used on ${show(verifier, me)}`);
      }
    }
  });

  await t.test('no replica logged a secret or crashed', async () => {
    for (const s of servers) {
      assert.equal(s.exitStatus(), null, `${s.name} is still running`);
      const text = s.stdout() + s.stderr();
      assert.ok(!text.includes(ADMIN_KEY), `${s.name} never logs the admin key`);
      assert.ok(!text.includes(GOOD_PASSWORD), `${s.name} never logs a password`);
      assert.doesNotMatch(text, /"level":(50|60)/, `${s.name} logged no error:\n${s.logTail(20)}`);
    }
  });
});
