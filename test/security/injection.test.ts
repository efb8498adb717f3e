import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { ADMIN, createUser, GOOD_PASSWORD, json, mintKey, testApp } from '../helpers/app.ts';

/** Classic payloads: quotes, comments, stacked statements, LIKE and FTS5 wildcards and syntax. */
const PAYLOADS = [
  "' OR '1'='1",
  "'; DROP TABLE users; --",
  '" OR ""="',
  "admin'--",
  '%',
  '_',
  '\\',
  "*",
  'NEAR(a b)',
  '"a" OR "b"',
  "1; select pg_sleep(5)",
  "x') UNION SELECT password_hash FROM users --",
];

async function tableCounts(database: Awaited<ReturnType<typeof testApp>>['database']) {
  const counts: Record<string, number> = {};
  for (const table of ['users', 'user_roles', 'api_keys', 'refresh_tokens']) {
    const { rows } = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(database.db);
    counts[table] = Number(rows[0]?.n);
  }
  return counts;
}

test('SQL-looking input in every string field is stored or matched literally, never executed', async () => {
  // The victim gets one wrong password per payload: raise the lockout threshold so the last login shows the account intact.
  const { app, database } = await testApp({ GATEHOUSE_AUTH_RATE_LIMIT: '0', GATEHOUSE_LOCKOUT_THRESHOLD: '1000' });
  const victim = await createUser(app, { email: 'victim@example.com', firstName: 'Vic', lastName: 'Tim' });
  const key = await mintKey(app, ['ORG-AUDITOR']);

  for (const [i, p] of PAYLOADS.entries()) {
    // Names are stored verbatim and come back verbatim.
    const made = await createUser(app, { email: `inj${i}@example.com`, firstName: p, lastName: `${p}x` });
    assert.equal(made.first_name, p);
    assert.equal(made.last_name, `${p}x`);

    // Search treats the payload as literal text: it finds exactly the users whose names contain it.
    const found = await app.inject({ method: 'GET', url: `/users?search_string=${encodeURIComponent(p)}&page_size=5000`, headers: ADMIN });
    assert.equal(found.statusCode, 200);
    for (const u of json(found) as { email: string; first_name: string; last_name: string }[]) {
      const text = `${u.email}\n${u.first_name}\n${u.last_name}`.toLowerCase();
      for (const term of p.toLowerCase().split(/\s+/).filter(Boolean)) assert.ok(text.includes(term), `${p} matched ${u.email}`);
    }

    // Everywhere else the payload is just a wrong value. (In secret fields it gets a suffix: the leak checker of the
    // test helpers would rightly object to a "password" that also appears in a logged URL below.)
    const secret = `${p}~secret`;
    const login = await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: p, password: secret } });
    assert.equal(login.statusCode, 400);
    const victimLogin = await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: victim.email, password: secret } });
    assert.equal(json(victimLogin).error, 'invalid_grant');
    const refresh = await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'refresh_token', refresh_token: secret } });
    assert.equal(json(refresh).error, 'invalid_grant');
    const logout = await app.inject({ method: 'POST', url: '/auth/logout', payload: { refresh_token: secret } });
    assert.equal(logout.statusCode, 200);
    const del = await app.inject({ method: 'DELETE', url: `/users/${encodeURIComponent(p)}`, headers: ADMIN });
    assert.equal(del.statusCode, 404);
    const getKey = await app.inject({ method: 'GET', url: `/auth/api_keys/${encodeURIComponent(p)}`, headers: key.auth });
    assert.equal(getKey.statusCode, 404);
    const bearer = await app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${p.replace(/\s/g, '')}x` } });
    assert.equal(bearer.statusCode, 401);
    const role = await app.inject({ method: 'POST', url: '/auth/api_keys', headers: ADMIN, payload: { description: p, roles: [p] } });
    assert.equal(role.statusCode, 400);
  }

  // Nothing was dropped or rewritten: every table is there, the victim is intact and can still log in.
  const counts = await tableCounts(database);
  assert.equal(counts.users, 1 + PAYLOADS.length);
  assert.ok(counts.user_roles! >= counts.users!);
  const stillThere = await app.inject({ method: 'GET', url: '/users?search_string=victim@example.com', headers: ADMIN });
  assert.deepEqual((json(stillThere) as { id: string }[]).map((u) => u.id), [victim.id]);
  const ok = await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: victim.email, password: GOOD_PASSWORD } });
  assert.equal(ok.statusCode, 200);
});
