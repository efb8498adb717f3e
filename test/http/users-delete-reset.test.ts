import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ADMIN, createUser, json, mintKey, testApp } from '../helpers/app.ts';

// CONTRACT.md §3.2 (DELETE /users/{user_id}) and §3.3 (POST /users/{user_id}/reset_password).

const { app } = await testApp();

const NEW_PASSWORD = 'Brand-New-Secret-58';
const CANNOT_RESET = "You can't reset password for this user.";

const del = (id: string, headers: Record<string, string> = ADMIN) =>
  app.inject({ method: 'DELETE', url: `/users/${encodeURIComponent(id)}`, headers });
const reset = (id: string, payload?: unknown, headers: Record<string, string> = ADMIN) =>
  app.inject({
    method: 'POST',
    url: `/users/${encodeURIComponent(id)}/reset_password`,
    headers,
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });

async function searchIds(search: string): Promise<string[]> {
  const res = await app.inject({ method: 'GET', url: `/users?search_string=${encodeURIComponent(search)}&page_size=5000`, headers: ADMIN });
  assert.equal(res.statusCode, 200);
  return json<{ id: string }[]>(res).map((u) => u.id);
}

function assertOnlyProblem(res: LightMyRequestResponse, loc: (string | number)[], type: string) {
  assert.equal(res.statusCode, 422, res.body);
  const { detail } = json(res);
  assert.equal(detail.length, 1, res.body);
  assert.deepEqual(detail[0].loc, loc, res.body);
  assert.equal(detail[0].type, type, res.body);
  assert.equal(typeof detail[0].msg, 'string');
}

test('DELETE returns 200 with the deleted UserResponse, and the user is gone', async () => {
  const user = await createUser(app, { roles: ['TASK-ADMIN', 'CHAT-USER'], firstName: 'Gone', lastName: 'Soon' });
  const bystander = await createUser(app);
  const res = await del(user.id);
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(json(res), user);
  assert.deepEqual(await searchIds(user.email), []);
  assert.deepEqual(await searchIds(bystander.email), [bystander.id]);
  assert.ok(!(await searchIds('')).includes(user.id));
});

test('DELETE of an unknown id is 404 "User <user_id> not found."', async () => {
  for (const id of ['no-such-user', '018f0000-0000-7000-8000-000000000000', "x'; DROP TABLE users;--"]) {
    const res = await del(id);
    assert.equal(res.statusCode, 404, res.body);
    assert.deepEqual(json(res), { detail: `User ${id} not found.` });
  }
  const user = await createUser(app);
  assert.equal((await del(user.id)).statusCode, 200);
  const again = await del(user.id);
  assert.equal(again.statusCode, 404);
  assert.deepEqual(json(again), { detail: `User ${user.id} not found.` });
});

test('long unknown ids (101 and 200 characters) are still 404 with the contract text', async () => {
  for (const id of ['L'.repeat(101), 'M'.repeat(200)]) {
    const gone = await del(id);
    assert.equal(gone.statusCode, 404, `DELETE ${id.length}: ${gone.body.slice(0, 120)}`);
    assert.deepEqual(json(gone), { detail: `User ${id} not found.` });
    const res = await reset(id, { password: NEW_PASSWORD });
    assert.equal(res.statusCode, 404, `reset ${id.length}: ${res.body.slice(0, 120)}`);
    assert.deepEqual(json(res), { detail: `User ${id} not found.` });
  }
});

test('the email of a deleted user can be used again', async () => {
  const user = await createUser(app);
  assert.equal((await del(user.id)).statusCode, 200);
  const reborn = await createUser(app, { email: user.email });
  assert.notEqual(reborn.id, user.id);
  assert.deepEqual(await searchIds(user.email), [reborn.id]);
});

test('an ORG-ADMIN API key may delete; DELETE with a trailing slash works', async () => {
  const key = await mintKey(app, ['ORG-ADMIN']);
  const user = await createUser(app);
  const res = await app.inject({ method: 'DELETE', url: `/users/${user.id}/`, headers: key.auth });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(json(res).id, user.id);
});

test('an admin reset is 200 {"id", "temporary": true}', async () => {
  const user = await createUser(app, { temporary: false });
  const res = await reset(user.id, { password: NEW_PASSWORD });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(json(res), { id: user.id, temporary: true });

  const key = await mintKey(app, ['ORG-ADMIN']);
  const byKey = await reset(user.id, { password: 'Another-Fresh-Secret-93' }, key.auth);
  assert.equal(byKey.statusCode, 200, byKey.body);
  assert.deepEqual(json(byKey), { id: user.id, temporary: true });
});

test('resetting an unknown id is 404 "User <user_id> not found."', async () => {
  const res = await reset('no-such-user', { password: NEW_PASSWORD });
  assert.equal(res.statusCode, 404, res.body);
  assert.deepEqual(json(res), { detail: 'User no-such-user not found.' });
  const user = await createUser(app);
  await del(user.id);
  const gone = await reset(user.id, { password: NEW_PASSWORD });
  assert.equal(gone.statusCode, 404, gone.body);
  assert.deepEqual(json(gone), { detail: `User ${user.id} not found.` });
});

test('a password that breaks the policy is 422 value_error at ["body","password"], also for unknown ids', async () => {
  const user = await createUser(app);
  for (const password of ['short1!A', 'lowercase-only-42', 'UPPERCASE-ONLY-42', 'No-Digits-Here-Ever', 'NoSymbolsHere42x', 'Password1234!']) {
    assertOnlyProblem(await reset(user.id, { password }), ['body', 'password'], 'value_error');
    assertOnlyProblem(await reset('no-such-user', { password }), ['body', 'password'], 'value_error');
  }
});

test('a missing or malformed reset body is 422', async () => {
  const user = await createUser(app);
  assertOnlyProblem(await reset(user.id), ['body'], 'missing');
  assertOnlyProblem(await reset(user.id, {}), ['body', 'password'], 'missing');
  assertOnlyProblem(await reset(user.id, { password: 123456789012 }), ['body', 'password'], 'string_type');
  assertOnlyProblem(await reset(user.id, { password: null }), ['body', 'password'], 'string_type');
  const badJson = await app.inject({
    method: 'POST',
    url: `/users/${user.id}/reset_password`,
    headers: { ...ADMIN, 'content-type': 'application/json' },
    payload: '{"password": ',
  });
  assertOnlyProblem(badJson, ['body'], 'json_invalid');
  const array = await app.inject({
    method: 'POST',
    url: `/users/${user.id}/reset_password`,
    headers: { ...ADMIN, 'content-type': 'application/json' },
    payload: '[]',
  });
  assertOnlyProblem(array, ['body'], 'model_attributes_type');
});

test('unknown fields in the reset body are ignored', async () => {
  const user = await createUser(app);
  const res = await reset(user.id, { password: NEW_PASSWORD, temporary: false, id: 'other' });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(json(res), { id: user.id, temporary: true });
});

test('an API key without ORG-ADMIN may not reset anyone: 403 "You can\'t reset password for this user."', async () => {
  const user = await createUser(app);
  for (const role of ['ORG-AUDITOR', 'TASK-ADMIN', 'CHAT-USER', 'DEFAULT-RULE-ADMIN', 'VALIDATION-USER']) {
    const key = await mintKey(app, [role]);
    for (const target of [user.id, 'no-such-user', key.id]) {
      const res = await reset(target, { password: NEW_PASSWORD }, key.auth);
      assert.equal(res.statusCode, 403, `${role} → ${target}: ${res.body}`);
      assert.deepEqual(json(res), { detail: CANNOT_RESET });
    }
    const noBody = await reset(user.id, undefined, key.auth);
    assert.equal(noBody.statusCode, 403, noBody.body);
    assert.deepEqual(json(noBody), { detail: CANNOT_RESET });
  }
});

test('reset without credentials is 401, even with a bad body', async () => {
  const user = await createUser(app);
  const res = await reset(user.id, { password: 'x' }, {});
  assert.equal(res.statusCode, 401, res.body);
  assert.deepEqual(json(res), { detail: 'Requires authentication' });
});
