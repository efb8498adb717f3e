import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ADMIN, createUser, json, mintKey, newUserBody, testApp } from '../helpers/app.ts';

// CONTRACT.md §2: what each role may call, and what /users/permissions/check reports for it.

const { app } = await testApp();

type Role = 'ORG-ADMIN' | 'ORG-AUDITOR' | 'TASK-ADMIN' | 'CHAT-USER' | 'DEFAULT-RULE-ADMIN' | 'VALIDATION-USER' | 'SCIM-PROVISIONER';
const ROLES: Role[] = ['ORG-ADMIN', 'ORG-AUDITOR', 'TASK-ADMIN', 'CHAT-USER', 'DEFAULT-RULE-ADMIN', 'VALIDATION-USER', 'SCIM-PROVISIONER'];
const ACTIONS = ['create', 'read'] as const;
const RESOURCES = ['prompts', 'responses', 'rules', 'tasks'] as const;

const ALL = RESOURCES.flatMap((r) => [`create:${r}`, `read:${r}`]);
/** The permissions column of the §2 table. */
const GRANTS: Record<Role, string[]> = {
  'ORG-ADMIN': ALL,
  'ORG-AUDITOR': RESOURCES.map((r) => `read:${r}`),
  'TASK-ADMIN': ALL,
  'CHAT-USER': ['create:prompts', 'create:responses'],
  'DEFAULT-RULE-ADMIN': ['create:rules', 'read:rules'],
  'VALIDATION-USER': ['create:prompts', 'create:responses'],
  'SCIM-PROVISIONER': [],
};

const CANNOT_RESET = "You can't reset password for this user.";

function assertForbidden(res: LightMyRequestResponse, detail = 'Forbidden') {
  assert.equal(res.statusCode, 403, res.body);
  assert.deepEqual(json(res), { detail });
}

async function stillExists(id: string, email: string): Promise<boolean> {
  const res = await app.inject({ method: 'GET', url: `/users?search_string=${encodeURIComponent(email)}`, headers: ADMIN });
  return json<{ id: string }[]>(res).some((u) => u.id === id);
}

async function checkPermission(auth: Record<string, string>, action: string, resource: string) {
  return app.inject({ method: 'GET', url: `/users/permissions/check?action=${action}&resource=${resource}`, headers: auth });
}

/** Asserts the whole 2×4 permission matrix for a caller whose roles are `roles`. */
async function assertPermissionMatrix(auth: Record<string, string>, roles: Role[]) {
  for (const action of ACTIONS) {
    for (const resource of RESOURCES) {
      const granting = roles.filter((r) => GRANTS[r].includes(`${action}:${resource}`));
      const res = await checkPermission(auth, action, resource);
      const label = `${roles.join('+')} ${action} ${resource}`;
      if (granting.length > 0) {
        assert.equal(res.statusCode, 200, `${label}: ${res.body}`);
        const body = json(res);
        assert.deepEqual(Object.keys(body).sort(), ['action', 'allowed', 'granted_by', 'resource'], label);
        assert.equal(body.allowed, true, label);
        assert.equal(body.action, action, label);
        assert.equal(body.resource, resource, label);
        assert.deepEqual([...body.granted_by].sort(), [...granting].sort(), label);
      } else {
        assert.equal(res.statusCode, 403, `${label}: ${res.body}`);
        assert.deepEqual(json(res), { detail: 'Forbidden', allowed: false, action, resource }, label);
      }
    }
  }
}

for (const role of ROLES) {
  const isAdmin = role === 'ORG-ADMIN';
  const mayRead = isAdmin || role === 'ORG-AUDITOR';

  test(`${role}: route access follows the §2 table`, async () => {
    const { auth } = await mintKey(app, [role]);

    const body = newUserBody();
    const created = await app.inject({ method: 'POST', url: '/users', headers: auth, payload: body });
    if (isAdmin) assert.equal(created.statusCode, 200, created.body);
    else {
      assertForbidden(created);
      const search = await app.inject({ method: 'GET', url: `/users?search_string=${encodeURIComponent(body.email)}`, headers: ADMIN });
      assert.deepEqual(json(search), []);
    }

    const victim = await createUser(app);
    const reset = await app.inject({
      method: 'POST',
      url: `/users/${victim.id}/reset_password`,
      headers: auth,
      payload: { password: 'Another-Valid-Pass-91' },
    });
    if (isAdmin) {
      assert.equal(reset.statusCode, 200, reset.body);
      assert.deepEqual(json(reset), { id: victim.id, temporary: true });
    } else assertForbidden(reset, CANNOT_RESET);

    const deleted = await app.inject({ method: 'DELETE', url: `/users/${victim.id}`, headers: auth });
    if (isAdmin) {
      assert.equal(deleted.statusCode, 200, deleted.body);
      assert.equal(json(deleted).id, victim.id);
      assert.equal(await stillExists(victim.id, victim.email), false);
    } else {
      assertForbidden(deleted);
      assert.equal(await stillExists(victim.id, victim.email), true);
    }

    const search = await app.inject({ method: 'GET', url: '/users', headers: auth });
    if (mayRead) {
      assert.equal(search.statusCode, 200, search.body);
      assert.ok(Array.isArray(json(search)));
    } else assertForbidden(search);

    const keys = await app.inject({ method: 'GET', url: '/auth/api_keys', headers: auth });
    if (mayRead) {
      assert.equal(keys.statusCode, 200, keys.body);
      assert.ok(Array.isArray(json(keys)));
    } else assertForbidden(keys);

    const mint = await app.inject({ method: 'POST', url: '/auth/api_keys', headers: auth, payload: { roles: ['CHAT-USER'] } });
    if (isAdmin) assert.equal(mint.statusCode, 200, mint.body);
    else assertForbidden(mint);

    const other = await mintKey(app, ['CHAT-USER']);
    const deactivate = await app.inject({ method: 'DELETE', url: `/auth/api_keys/deactivate/${other.id}`, headers: auth });
    if (isAdmin) assert.equal(deactivate.statusCode, 200, deactivate.body);
    else {
      assertForbidden(deactivate);
      const stillWorks = await app.inject({ method: 'GET', url: '/users/me', headers: other.auth });
      assert.equal(stillWorks.statusCode, 200);
    }

    const meRes = await app.inject({ method: 'GET', url: '/users/me', headers: auth });
    assert.equal(meRes.statusCode, 200, meRes.body);
    assert.deepEqual(json(meRes).roles, [role]);
  });

  test(`${role}: /users/permissions/check reports exactly the §2 permissions`, async () => {
    const { auth } = await mintKey(app, [role]);
    await assertPermissionMatrix(auth, [role]);
  });
}

test('the admin key has every permission, granted by ORG-ADMIN', async () => {
  for (const action of ACTIONS) {
    for (const resource of RESOURCES) {
      const res = await checkPermission(ADMIN, action, resource);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(json(res), { allowed: true, action, resource, granted_by: ['ORG-ADMIN'] });
    }
  }
});

test('a key holding two roles gets the union of their permissions, granted_by naming each granting role', async () => {
  const pairs: [Role, Role][] = [
    ['CHAT-USER', 'DEFAULT-RULE-ADMIN'],
    ['TASK-ADMIN', 'CHAT-USER'],
    ['ORG-AUDITOR', 'VALIDATION-USER'],
    ['ORG-AUDITOR', 'DEFAULT-RULE-ADMIN'],
  ];
  for (const roles of pairs) {
    const { auth } = await mintKey(app, roles);
    await assertPermissionMatrix(auth, roles);
  }
  const { auth } = await mintKey(app, ['TASK-ADMIN', 'CHAT-USER']);
  const both = json(await checkPermission(auth, 'create', 'prompts'));
  assert.deepEqual([...both.granted_by].sort(), ['CHAT-USER', 'TASK-ADMIN']);
});

test('a key holding two roles may call the union of their routes, and no more', async () => {
  const { auth } = await mintKey(app, ['ORG-AUDITOR', 'TASK-ADMIN']);
  const search = await app.inject({ method: 'GET', url: '/users', headers: auth });
  assert.equal(search.statusCode, 200, search.body);
  const keys = await app.inject({ method: 'GET', url: '/auth/api_keys', headers: auth });
  assert.equal(keys.statusCode, 200, keys.body);
  assertForbidden(await app.inject({ method: 'POST', url: '/users', headers: auth, payload: newUserBody() }));
  assertForbidden(await app.inject({ method: 'POST', url: '/auth/api_keys', headers: auth, payload: { roles: [] } }));
  const victim = await createUser(app);
  assertForbidden(await app.inject({ method: 'DELETE', url: `/users/${victim.id}`, headers: auth }));
  const reset = await app.inject({
    method: 'POST',
    url: `/users/${victim.id}/reset_password`,
    headers: auth,
    payload: { password: 'Another-Valid-Pass-91' },
  });
  assertForbidden(reset, CANNOT_RESET);
});
