import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ADMIN, json, mintKey, testApp } from '../helpers/app.ts';

// CONTRACT.md §3.5 (GET /users/permissions/check) and §3.6 (GET /users/me).

const { app } = await testApp();

const BOTH_REQUIRED = { detail: 'Both Action and Resource must be supplied.' };

const check = (query: string, headers: Record<string, string> = ADMIN) =>
  app.inject({ method: 'GET', url: `/users/permissions/check${query}`, headers });
const me = (headers: Record<string, string>) => app.inject({ method: 'GET', url: '/users/me', headers });

function assertProblems(res: LightMyRequestResponse, expected: [string[], string][]) {
  assert.equal(res.statusCode, 422, res.body);
  const { detail } = json(res);
  const got = detail.map((p: { loc: string[]; type: string }) => [p.loc, p.type]);
  assert.deepEqual(got, expected, res.body);
  for (const p of detail) assert.equal(typeof p.msg, 'string');
}

test('a missing action or resource is 400 "Both Action and Resource must be supplied."', async () => {
  for (const query of ['', '?', '?action=read', '?resource=tasks', '?action=create&foo=bar', '?other=1&resource=rules']) {
    const res = await check(query);
    assert.equal(res.statusCode, 400, `${query}: ${res.body}`);
    assert.deepEqual(json(res), BOTH_REQUIRED);
  }
  const key = await mintKey(app, ['CHAT-USER']);
  const byKey = await check('?action=create', key.auth);
  assert.equal(byKey.statusCode, 400, byKey.body);
  assert.deepEqual(json(byKey), BOTH_REQUIRED);
});

test('a value outside the enums is 422 enum at ["query","action"] / ["query","resource"]', async () => {
  assertProblems(await check('?action=delete&resource=tasks'), [[['query', 'action'], 'enum']]);
  assertProblems(await check('?action=READ&resource=tasks'), [[['query', 'action'], 'enum']]);
  assertProblems(await check('?action=read&resource=users'), [[['query', 'resource'], 'enum']]);
  assertProblems(await check('?action=read&resource=Tasks'), [[['query', 'resource'], 'enum']]);
  const both = await check('?action=write&resource=users');
  assert.equal(both.statusCode, 422, both.body);
  const locs = json(both).detail.map((p: { loc: string[]; type: string }) => `${p.loc.join('.')}:${p.type}`);
  assert.deepEqual([...locs].sort(), ['query.action:enum', 'query.resource:enum']);
});

test('422 wins over 400 when one parameter is bad and the other missing', async () => {
  assertProblems(await check('?action=delete'), [[['query', 'action'], 'enum']]);
  assertProblems(await check('?resource=users'), [[['query', 'resource'], 'enum']]);
  const key = await mintKey(app, ['VALIDATION-USER']);
  assertProblems(await check('?action=delete', key.auth), [[['query', 'action'], 'enum']]);
});

test('allowed is 200 with allowed/action/resource/granted_by; not allowed is 403 with the contract body', async () => {
  const key = await mintKey(app, ['CHAT-USER']);
  const yes = await check('?action=create&resource=prompts', key.auth);
  assert.equal(yes.statusCode, 200, yes.body);
  assert.deepEqual(json(yes), { allowed: true, action: 'create', resource: 'prompts', granted_by: ['CHAT-USER'] });
  const no = await check('?action=read&resource=prompts', key.auth);
  assert.equal(no.statusCode, 403, no.body);
  assert.deepEqual(json(no), { detail: 'Forbidden', allowed: false, action: 'read', resource: 'prompts' });
  const slash = await app.inject({ method: 'GET', url: '/users/permissions/check/?action=create&resource=responses', headers: key.auth });
  assert.equal(slash.statusCode, 200, slash.body);
  assert.deepEqual(json(slash).granted_by, ['CHAT-USER']);
});

test('a key with no roles is allowed nothing', async () => {
  const key = await mintKey(app, []);
  const res = await check('?action=create&resource=prompts', key.auth);
  assert.equal(res.statusCode, 403, res.body);
  assert.deepEqual(json(res), { detail: 'Forbidden', allowed: false, action: 'create', resource: 'prompts' });
});

test('/users/permissions/check needs authentication', async () => {
  const res = await check('?action=read&resource=tasks', {});
  assert.equal(res.statusCode, 401);
  assert.deepEqual(json(res), { detail: 'Requires authentication' });
});

test('/users/me for the admin key', async () => {
  const res = await me(ADMIN);
  assert.equal(res.statusCode, 200, res.body);
  const body = json(res);
  assert.deepEqual(Object.keys(body).sort(), ['email', 'first_name', 'kind', 'last_name', 'org', 'org_scope', 'roles', 'user_id']);
  assert.equal(body.user_id, 'admin-key');
  assert.equal(body.kind, 'admin_key');
  assert.ok(body.roles.includes('ADMIN-KEY'), res.body);
  assert.ok(body.roles.includes('ORG-ADMIN'), res.body);
  assert.equal(body.email, null);
  assert.equal(body.first_name, null);
  assert.equal(body.last_name, null);
  assert.equal(body.org_scope, null);
  assert.equal(body.org, null);
});

test('/users/me for an API key: user_id is the key id, kind api_key, names and email null', async () => {
  for (const roles of [['VALIDATION-USER'], ['ORG-AUDITOR', 'TASK-ADMIN'], []]) {
    const key = await mintKey(app, roles);
    const res = await me(key.auth);
    assert.equal(res.statusCode, 200, res.body);
    const body = json(res);
    assert.deepEqual(
      { ...body, roles: [...body.roles].sort() },
      {
        user_id: key.id,
        kind: 'api_key',
        roles: [...roles].sort(),
        email: null,
        first_name: null,
        last_name: null,
        org_scope: null,
        org: null,
      },
    );
  }
});

test('/users/me needs authentication', async () => {
  const res = await me({});
  assert.equal(res.statusCode, 401);
  assert.deepEqual(json(res), { detail: 'Requires authentication' });
  assert.equal(res.headers['www-authenticate'], 'Bearer');
});
