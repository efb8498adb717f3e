/**
 * The request sequence Okta documents for its SCIM 2.0 provisioning ("SCIM 2.0 protocol reference" of Okta's
 * developer documentation), replayed over HTTP as Okta sends it — `Content-Type: application/json; charset=utf-8`,
 * Okta's bodies, verbatim where Gatehouse's rules allow (userName an email, a password the policy accepts):
 *
 * connection test → "does the user exist?" (userName filter, startIndex=1&count=100) → create → read → profile
 * update by PUT → deactivate / reactivate and password sync by PATCH without a path → import (paged list) →
 * Group Push: create, link by displayName, rename (PATCH with `id` in the value), add and remove members, PUT, delete.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GOOD_PASSWORD } from '../helpers/app.ts';
import { GROUP_SCHEMA, LIST_RESPONSE, PATCH_OP, USER_SCHEMA, assertListResponse, assertMeta, assertScimContentType, assertScimError, assertStatus, auditBy, q, scimClient } from './rfc-helpers.ts';

const c = await scimClient();
const OKTA = { 'content-type': 'application/json; charset=utf-8', accept: 'application/scim+json', 'user-agent': 'Okta SCIM Client 1.0.0' };
const okta = (method: string, path: string, body?: unknown) => c.req(method, path, body, body === undefined ? { 'user-agent': OKTA['user-agent'] } : OKTA);

const stamp = Date.now().toString(36);
const USER_NAME = `test.user.${stamp}@okta.local`;
const state: { userId?: string; groupId?: string; version?: string } = {};

test('connection test: GET /Users?startIndex=1&count=1 answers a ListResponse', async () => {
  const res = await okta('GET', '/Users?startIndex=1&count=1');
  assertListResponse(res);
  assert.equal(res.body.startIndex, 1);
  assert.ok(res.body.itemsPerPage <= 1);
});

test('the user does not exist yet: userName filter with startIndex=1&count=100 answers an empty ListResponse', async () => {
  const res = await okta('GET', `/Users?filter=${q(`userName eq "${USER_NAME}"`)}&startIndex=1&count=100`);
  assert.deepEqual(assertListResponse(res, 0), []);
  assert.deepEqual(res.body.schemas, [LIST_RESPONSE]);
  assert.equal(res.body.startIndex, 1);
  assert.equal(res.body.itemsPerPage, 0);
});

test('create: POST /Users with Okta\'s body (displayName, locale, groups: [], password) → 201 with the user', async () => {
  const res = await okta('POST', '/Users', {
    schemas: [USER_SCHEMA],
    userName: USER_NAME,
    name: { givenName: 'Test', familyName: 'User' },
    emails: [{ primary: true, value: USER_NAME, type: 'work' }],
    displayName: 'Test User',
    locale: 'en-US',
    externalId: '00ujl29u0le5T6Aj10h7',
    groups: [],
    password: GOOD_PASSWORD,
    active: true,
  });
  assertStatus(res, 201);
  assertScimContentType(res);
  const u = res.body;
  assert.equal(u.userName, USER_NAME);
  assert.equal(u.externalId, '00ujl29u0le5T6Aj10h7');
  assert.deepEqual([u.name.givenName, u.name.familyName], ['Test', 'User']);
  assert.equal(u.active, true);
  assert.ok(u.emails.some((e: any) => e.value === USER_NAME && e.primary === true));
  assert.equal(u.password, undefined);
  assertMeta(u, 'User', res);
  state.userId = u.id;
});

test('the user now exists: the same userName filter finds exactly it (any case)', async () => {
  for (const name of [USER_NAME, USER_NAME.toUpperCase()]) {
    const res = await okta('GET', `/Users?filter=${q(`userName eq "${name}"`)}&startIndex=1&count=100`);
    const found = assertListResponse(res, 1);
    assert.equal(found[0].id, state.userId);
    assert.equal(found[0].userName, USER_NAME);
  }
});

test('read: GET /Users/{id}', async () => {
  const res = await okta('GET', `/Users/${state.userId}`);
  assertStatus(res, 200);
  assert.equal(res.body.userName, USER_NAME);
  assertMeta(res.body, 'User', res);
  state.version = res.body.meta.version;
});

test('profile update: PUT /Users/{id} with the whole user (Okta sends id and its own attributes)', async () => {
  const res = await okta('PUT', `/Users/${state.userId}`, {
    schemas: [USER_SCHEMA],
    id: state.userId,
    userName: USER_NAME,
    name: { givenName: 'Another', familyName: 'User' },
    emails: [{ primary: true, value: USER_NAME, type: 'work' }],
    displayName: 'Another User',
    locale: 'en-US',
    externalId: '00ujl29u0le5T6Aj10h7',
    groups: [],
    active: true,
    meta: { resourceType: 'User' },
  });
  assertStatus(res, 200);
  assert.equal(res.body.name.givenName, 'Another');
  assert.equal(res.body.active, true);
  assert.notEqual(res.body.meta.version, state.version);
});

test('deactivate: PATCH {"op": "replace", "value": {"active": false}} (no path) → 200 with active false', async () => {
  const res = await okta('PATCH', `/Users/${state.userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] });
  assertStatus(res, 200);
  assert.equal(res.body.active, false);
  assert.equal(res.body.name.givenName, 'Another', 'nothing else changed');
  const sign = await c.t.app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: USER_NAME, password: GOOD_PASSWORD } });
  assert.notEqual(sign.statusCode, 200, 'a deactivated user cannot sign in');
  const filtered = assertListResponse(await okta('GET', `/Users?filter=${q(`userName eq "${USER_NAME}"`)}&startIndex=1&count=100`), 1);
  assert.equal(filtered[0].active, false);
});

test('reactivate and sync the password: PATCH without a path; the new password signs in', async () => {
  const res = await okta('PATCH', `/Users/${state.userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: true } }] });
  assertStatus(res, 200);
  assert.equal(res.body.active, true);
  const newPassword = 'Okta-Synced-Password-73-Quartz';
  const pw = await okta('PATCH', `/Users/${state.userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { password: newPassword } }] });
  assertStatus(pw, 200);
  assert.ok(!pw.raw.body.includes(newPassword));
  const sign = await c.t.app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: USER_NAME, password: newPassword } });
  assert.equal(sign.statusCode, 200, sign.body);
  const weak = await okta('PATCH', `/Users/${state.userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { password: 'qwertyui' } }] });
  assertScimError(weak, 400, 'invalidValue');
});

test('import: GET /Users?startIndex=1&count=100 pages through every user', async () => {
  const res = await okta('GET', '/Users?startIndex=1&count=100');
  const page = assertListResponse(res);
  assert.ok(page.some((u) => u.id === state.userId));
  assert.equal(res.body.totalResults, page.length, 'one page holds this small directory');
});

test('Group Push: create, link by displayName, read', async () => {
  const displayName = `Test SCIMv2 ${stamp}`;
  const none = await okta('GET', `/Groups?filter=${q(`displayName eq "${displayName}"`)}&startIndex=1&count=100`);
  assertListResponse(none, 0);
  const res = await okta('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName, members: [] });
  assertStatus(res, 201);
  assert.equal(res.body.displayName, displayName);
  assert.deepEqual(res.body.members ?? [], []);
  assertMeta(res.body, 'Group', res);
  state.groupId = res.body.id;
  const linked = assertListResponse(await okta('GET', `/Groups?filter=${q(`displayName eq "${displayName}"`)}&startIndex=1&count=100`), 1);
  assert.equal(linked[0].id, state.groupId);
  const got = await okta('GET', `/Groups/${state.groupId}`);
  assertStatus(got, 200);
  assert.equal(got.body.displayName, displayName);
  assertListResponse(await okta('GET', '/Groups?startIndex=1&count=100'));
});

test('Group Push: rename with {"op": "replace", "value": {"id", "displayName"}} (the id Okta sends is the group\'s own)', async () => {
  const displayName = `Test SCIMv2 renamed ${stamp}`;
  const res = await okta('PATCH', `/Groups/${state.groupId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { id: state.groupId, displayName } }] });
  assert.ok(res.status === 200 || res.status === 204, `${res.status} ${res.raw.body}`);
  const got = await okta('GET', `/Groups/${state.groupId}`);
  assert.equal(got.body.displayName, displayName);
  assert.equal(got.body.id, state.groupId);
});

test('Group Push: add a member with {value, display}; remove with members[value eq "…"]', async () => {
  const add = await okta('PATCH', `/Groups/${state.groupId}`, {
    schemas: [PATCH_OP],
    Operations: [{ op: 'add', path: 'members', value: [{ value: state.userId, display: USER_NAME }] }],
  });
  assert.ok(add.status === 200 || add.status === 204, `${add.status} ${add.raw.body}`);
  let got = await okta('GET', `/Groups/${state.groupId}`);
  assert.deepEqual((got.body.members ?? []).map((m: any) => m.value), [state.userId]);
  const user = await okta('GET', `/Users/${state.userId}`);
  assert.deepEqual((user.body.groups ?? []).map((g: any) => g.value), [state.groupId]);

  const remove = await okta('PATCH', `/Groups/${state.groupId}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${state.userId}"]` }] });
  assert.ok(remove.status === 200 || remove.status === 204, `${remove.status} ${remove.raw.body}`);
  got = await okta('GET', `/Groups/${state.groupId}`);
  assert.deepEqual(got.body.members ?? [], []);
});

test('Group Push: PUT with the whole group (displayName and members)', async () => {
  const displayName = `Test SCIMv2 put ${stamp}`;
  const res = await okta('PUT', `/Groups/${state.groupId}`, { schemas: [GROUP_SCHEMA], id: state.groupId, displayName, members: [{ value: state.userId, display: USER_NAME }] });
  assertStatus(res, 200);
  assert.equal(res.body.displayName, displayName);
  assert.deepEqual(res.body.members.map((m: any) => m.value), [state.userId]);
});

test('Group Push: DELETE the group (204); the user stays; every change was the SCIM key\'s', async () => {
  const res = await okta('DELETE', `/Groups/${state.groupId}`);
  assertStatus(res, 204);
  assertScimError(await okta('GET', `/Groups/${state.groupId}`), 404);
  const user = await okta('GET', `/Users/${state.userId}`);
  assertStatus(user, 200);
  assert.deepEqual(user.body.groups ?? [], []);
  const events = await auditBy(c.t, c.key.id);
  const actions = new Set(events.map((e) => e.action));
  for (const a of ['user.created', 'user.updated', 'user.disabled', 'user.enabled', 'group.created', 'group.member_added', 'group.member_removed', 'group.deleted']) {
    assert.ok(actions.has(a), `${a} in ${JSON.stringify([...actions])}`);
  }
  for (const e of events) assert.deepEqual(e.actor, { kind: 'api_key', id: c.key.id });
});
