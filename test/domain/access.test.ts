import assert from 'node:assert/strict';
import { roleView } from '../../src/http/views/user-view.ts';
import { describe, test } from 'node:test';
import {
  ACTIONS,
  ADMIN_KEY_ROLE,
  can,
  firstUnknownRole,
  hasPermission,
  PERMISSIONS,
  permissionsOf,
  isAssignableRole,
  normaliseRoles,
  RESOURCES,
  ROLES,
  type Action,
  type Resource,
} from '../../src/domain/access.ts';

// CONTRACT.md §2, written out by hand from the table so the catalogue is checked against the contract, not itself.
const ALL = ['create:prompts', 'read:prompts', 'create:responses', 'read:responses', 'create:rules', 'read:rules', 'create:tasks', 'read:tasks'];
const EXPECTED: Record<string, string[]> = {
  'ORG-ADMIN': ALL,
  'ORG-AUDITOR': ['read:prompts', 'read:responses', 'read:rules', 'read:tasks'],
  'TASK-ADMIN': ALL,
  'CHAT-USER': ['create:prompts', 'create:responses'],
  'DEFAULT-RULE-ADMIN': ['create:rules', 'read:rules'],
  'VALIDATION-USER': ['create:prompts', 'create:responses'],
  'SCIM-PROVISIONER': [],
};
const ROLE_NAMES = Object.keys(EXPECTED);

describe('the role catalogue', () => {
  test('actions and resources are exactly the contract’s', () => {
    assert.deepEqual([...ACTIONS].sort(), ['create', 'read']);
    assert.deepEqual([...RESOURCES].sort(), ['prompts', 'responses', 'rules', 'tasks']);
  });

  test('the assignable roles are exactly the six of §2 and SCIM-PROVISIONER, in documented order', () => {
    assert.deepEqual(Object.keys(ROLES), ROLE_NAMES);
  });

  for (const role of ROLE_NAMES) {
    test(`${role}: every action × resource`, () => {
      for (const action of ACTIONS) {
        for (const resource of RESOURCES) {
          const granted = EXPECTED[role]!.includes(`${action}:${resource}`);
          assert.deepEqual(can([role], action, resource), granted ? [role] : [], `${role} ${action} ${resource}`);
        }
      }
    });
  }

  test('no role grants anything beyond the two actions and four resources', () => {
    for (const role of ROLE_NAMES) {
      assert.deepEqual(can([role], 'delete' as Action, 'prompts'), [], role);
      assert.deepEqual(can([role], 'read', 'users' as Resource), []);
    }
  });

  test('roleView is the seed’s AuthUserRole with a one-line description', () => {
    for (const role of ROLE_NAMES) {
      const view = roleView(role as keyof typeof ROLES);
      assert.deepEqual(Object.keys(view).sort(), ['composite', 'description', 'id', 'name']);
      assert.equal(view.id, role);
      assert.equal(view.name, role);
      assert.equal(view.composite, false);
      assert.equal(typeof view.description, 'string');
      assert.ok(view.description.length > 0 && !view.description.includes('\n'), role);
    }
  });
});

describe('can()', () => {
  test('returns the held roles that grant the permission, in the order held', () => {
    assert.deepEqual(can(['CHAT-USER', 'DEFAULT-RULE-ADMIN', 'VALIDATION-USER'], 'create', 'prompts'), ['CHAT-USER', 'VALIDATION-USER']);
    assert.deepEqual(can(['VALIDATION-USER', 'TASK-ADMIN', 'ORG-ADMIN'], 'create', 'responses'), ['VALIDATION-USER', 'TASK-ADMIN', 'ORG-ADMIN']);
    assert.deepEqual(can(['ORG-AUDITOR', 'DEFAULT-RULE-ADMIN'], 'read', 'rules'), ['ORG-AUDITOR', 'DEFAULT-RULE-ADMIN']);
    assert.deepEqual(can(['ORG-AUDITOR', 'CHAT-USER'], 'create', 'tasks'), []);
  });

  test('nothing held, nothing granted', () => {
    for (const action of ACTIONS) for (const resource of RESOURCES) assert.deepEqual(can([], action, resource), []);
  });

  test('unknown names and wrong case grant nothing', () => {
    assert.deepEqual(can(['org-admin', 'Task-Admin', 'NOPE', '__proto__', 'constructor'], 'read', 'tasks'), []);
  });

  test('ADMIN-KEY itself grants nothing; the admin key’s permissions come from its ORG-ADMIN role', () => {
    for (const action of ACTIONS) for (const resource of RESOURCES) assert.deepEqual(can([ADMIN_KEY_ROLE], action, resource), []);
    assert.deepEqual(can([ADMIN_KEY_ROLE, 'ORG-ADMIN'], 'create', 'tasks'), ['ORG-ADMIN']);
  });
});

describe('role names from requests', () => {
  test('ADMIN-KEY is not assignable', () => {
    assert.equal(ADMIN_KEY_ROLE, 'ADMIN-KEY');
    assert.equal(isAssignableRole('ADMIN-KEY'), false);
    assert.equal(firstUnknownRole(['ORG-ADMIN', 'ADMIN-KEY']), 'ADMIN-KEY');
    assert.deepEqual(normaliseRoles(['ADMIN-KEY']), []);
  });

  test('every catalogued role is assignable; names are case-sensitive', () => {
    for (const role of ROLE_NAMES) assert.equal(isAssignableRole(role), true, role);
    for (const name of ['org-admin', 'Org-Admin', ' ORG-ADMIN', 'ORG-ADMIN ', '', 'toString', '__proto__', 'hasOwnProperty']) {
      assert.equal(isAssignableRole(name), false, JSON.stringify(name));
    }
  });

  test('firstUnknownRole returns the first unknown name in request order', () => {
    assert.equal(firstUnknownRole([]), undefined);
    assert.equal(firstUnknownRole(ROLE_NAMES), undefined);
    assert.equal(firstUnknownRole(['CHAT-USER', 'NOPE', 'ALSO-NOPE']), 'NOPE');
    assert.equal(firstUnknownRole(['ALSO-NOPE', 'CHAT-USER', 'NOPE']), 'ALSO-NOPE');
    assert.equal(firstUnknownRole(['CHAT-USER', 'chat-user']), 'chat-user');
    assert.equal(firstUnknownRole(['constructor']), 'constructor');
  });

  test('normaliseRoles removes duplicates and keeps first-seen order', () => {
    assert.deepEqual(normaliseRoles(['CHAT-USER', 'ORG-ADMIN', 'CHAT-USER', 'ORG-ADMIN', 'TASK-ADMIN']), ['CHAT-USER', 'ORG-ADMIN', 'TASK-ADMIN']);
    assert.deepEqual(normaliseRoles([]), []);
    assert.deepEqual(normaliseRoles(['VALIDATION-USER', 'VALIDATION-USER']), ['VALIDATION-USER']);
  });

  test('permissions: ORG-ADMIN holds all, ORG-AUDITOR every read one, SCIM-PROVISIONER only scim:provision, the other roles none', () => {
    assert.deepEqual(permissionsOf(['ORG-ADMIN']), [...PERMISSIONS]);
    assert.deepEqual(permissionsOf(['ORG-AUDITOR']), PERMISSIONS.filter((p) => p.endsWith(':read')));
    for (const role of ['TASK-ADMIN', 'CHAT-USER', 'DEFAULT-RULE-ADMIN', 'VALIDATION-USER']) assert.deepEqual(permissionsOf([role]), [], role);
    assert.deepEqual(permissionsOf(['SCIM-PROVISIONER']), ['scim:provision']);
    assert.equal(hasPermission(['ORG-ADMIN'], 'scim:provision'), true);
    assert.equal(hasPermission(['ORG-AUDITOR'], 'scim:provision'), false);
    assert.equal(hasPermission(['CHAT-USER', 'ORG-AUDITOR'], 'users:read'), true);
    assert.equal(hasPermission(['ORG-AUDITOR'], 'users:write'), false);
    assert.equal(hasPermission(['ADMIN-KEY'], 'users:write'), false, 'ADMIN-KEY alone grants nothing: the admin key also holds ORG-ADMIN');
    assert.equal(hasPermission([], 'users:read'), false);
  });
});
