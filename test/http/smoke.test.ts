import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN, createUser, json, testApp } from '../helpers/app.ts';

test('an admin creates a user, finds them by search and deletes them', async () => {
  const { app } = await testApp();
  const user = await createUser(app, { email: 'Smoke.Test@Example.COM', firstName: 'Smoke', lastName: 'Tester' });
  assert.equal(user.email, 'smoke.test@example.com');

  const found = await app.inject({ method: 'GET', url: '/users?search_string=SMOKE', headers: ADMIN });
  assert.equal(found.statusCode, 200);
  assert.deepEqual(json(found).map((u: { id: string }) => u.id), [user.id]);

  const deleted = await app.inject({ method: 'DELETE', url: `/users/${user.id}`, headers: ADMIN });
  assert.equal(deleted.statusCode, 200);
  assert.equal(json(deleted).id, user.id);
  const again = await app.inject({ method: 'DELETE', url: `/users/${user.id}`, headers: ADMIN });
  assert.equal(again.statusCode, 404);
  assert.deepEqual(json(again), { detail: `User ${user.id} not found.` });
});
