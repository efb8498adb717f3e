/**
 * The request sequence Microsoft Entra ID documents for SCIM provisioning ("Tutorial: Develop and plan provisioning
 * for a SCIM endpoint", its protocol examples, and "Known issues and resolutions with SCIM 2.0 protocol compliance"),
 * replayed over HTTP as Entra sends it (`Content-Type: application/scim+json`, capitalised ops `Replace`/`Add`/
 * `Remove`, booleans as the strings "True"/"False", PATCH without a path using dotted keys, member removal by value).
 * userNames are UPN-shaped addresses (Gatehouse's userName is the email).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { ADMIN, GOOD_PASSWORD, createUser, json } from '../helpers/app.ts';
import {
  ENTERPRISE_SCHEMA, GROUP_SCHEMA, PATCH_OP, USER_SCHEMA, assertListResponse, assertMeta, assertScimContentType, assertScimError, assertStatus, auditBy, q,
  scimClient,
} from './rfc-helpers.ts';

const c = await scimClient();
const { req } = c;
const ADSCIM_GROUP = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group';
const upn = () => `Test_User_${randomUUID()}@testuser.com`;
const state: { userId?: string; userName?: string; groupId?: string; otherId?: string } = {};
const ok2xx = (res: { status: number; raw: { body: string } }) => assert.ok(res.status === 200 || res.status === 204, `${res.status} ${res.raw.body.slice(0, 400)}`);

test('connection test: a query for a user that does not exist answers 200 with totalResults 0 and Resources []', async () => {
  const res = await req('GET', `/Users?filter=${q(`userName eq "${randomUUID()}"`)}`);
  assert.deepEqual(assertListResponse(res, 0), []);
  assert.deepEqual(res.body.Resources, [], 'Entra reads Resources: an empty array, not absent');
  const upnQuery = await req('GET', `/Users?filter=${q('userName eq "non-existent user"')}`);
  assertListResponse(upnQuery, 0);
});

test('Create User: POST /Users with Entra\'s body (enterprise extension, meta, roles: [], name.formatted) → 201', async () => {
  const userName = upn();
  const externalId = randomUUID();
  const res = await req('POST', '/Users', {
    schemas: [USER_SCHEMA, ENTERPRISE_SCHEMA],
    externalId,
    userName,
    active: true,
    emails: [{ primary: true, type: 'work', value: userName }],
    meta: { resourceType: 'User' },
    name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
    roles: [],
    [ENTERPRISE_SCHEMA]: { department: 'Engineering', employeeNumber: '701984' },
  });
  assertStatus(res, 201);
  assertScimContentType(res);
  assert.equal(res.body.userName, userName.toLowerCase(), 'userName is the address, stored lower-cased (caseExact false)');
  assert.equal(res.body.externalId, externalId);
  assert.equal(res.body.active, true);
  assert.equal(res.body.name.givenName, 'givenName');
  assert.equal(res.body.name.familyName, 'familyName');
  assertMeta(res.body, 'User', res);
  state.userId = res.body.id;
  state.userName = userName;
});

test('Get User, and Get User by query on userName (and on externalId)', async () => {
  const one = await req('GET', `/Users/${state.userId}`);
  assertStatus(one, 200);
  assert.equal(one.body.userName, state.userName!.toLowerCase());
  const byName = assertListResponse(await req('GET', `/Users?filter=${q(`userName eq "${state.userName}"`)}`), 1);
  assert.equal(byName[0].id, state.userId);
  const byExternal = assertListResponse(await req('GET', `/Users?filter=${q(`externalId eq "${one.body.externalId}"`)}`), 1);
  assert.equal(byExternal[0].id, state.userId);
});

test('Update User [multi-valued]: Replace emails[type eq "work"].value and name.familyName in one PATCH → 200', async () => {
  const email = `updatedEmail.${randomUUID()}@microsoft.com`;
  const res = await req('PATCH', `/Users/${state.userId}`, {
    schemas: [PATCH_OP],
    Operations: [
      { op: 'Replace', path: 'emails[type eq "work"].value', value: email },
      { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
    ],
  });
  assertStatus(res, 200);
  assert.equal(res.body.name.familyName, 'updatedFamilyName');
  assert.ok(res.body.emails.some((e: any) => e.type === 'work' && e.value.toLowerCase() === email.toLowerCase()), JSON.stringify(res.body.emails));
});

test('Update User [single-valued]: Replace userName → 200, and the user is found by the new userName', async () => {
  const userName = upn();
  const res = await req('PATCH', `/Users/${state.userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'userName', value: userName }] });
  assertStatus(res, 200);
  assert.equal(res.body.userName, userName.toLowerCase(), 'userName is the address, stored lower-cased (caseExact false)');
  state.userName = userName;
  const found = assertListResponse(await req('GET', `/Users?filter=${q(`userName eq "${userName}"`)}`), 1);
  assert.equal(found[0].id, state.userId);
});

test('PATCH without a path, with dotted keys (and an enterprise-extension key) → 200', async () => {
  const res = await req('PATCH', `/Users/${state.userId}`, {
    schemas: [PATCH_OP],
    Operations: [{ op: 'Replace', value: { 'name.givenName': 'Dotted', 'name.familyName': 'Keys', [`${ENTERPRISE_SCHEMA}:department`]: 'Sales' } }],
  });
  assertStatus(res, 200);
  assert.equal(res.body.name.givenName, 'Dotted');
  assert.equal(res.body.name.familyName, 'Keys');
  const add = await req('PATCH', `/Users/${state.userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'Add', value: { externalId: 'added-without-path', 'name.givenName': 'Added' } }] });
  assertStatus(add, 200);
  assert.equal(add.body.externalId, 'added-without-path');
  assert.equal(add.body.name.givenName, 'Added');
});

test('Entra\'s default attribute mappings left in place: one PATCH of attributes Gatehouse does not store is accepted and ignored', async () => {
  const before = await req('GET', `/Users/${state.userId}`);
  const res = await req('PATCH', `/Users/${state.userId}`, {
    schemas: [PATCH_OP],
    Operations: [
      { op: 'Add', path: 'displayName', value: 'Dotted Keys' },
      { op: 'Add', path: 'title', value: 'Engineer' },
      { op: 'Add', path: 'preferredLanguage', value: 'en-US' },
      { op: 'Add', path: 'phoneNumbers[type eq "work"].value', value: '+1 555 0100' },
      { op: 'Add', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 0101' },
      { op: 'Add', path: 'addresses[type eq "work"].streetAddress', value: '1 Microsoft Way' },
      { op: 'Add', path: 'addresses[type eq "work"].locality', value: 'Redmond' },
      { op: 'Add', path: `${ENTERPRISE_SCHEMA}:employeeNumber`, value: '701984' },
      { op: 'Add', path: `${ENTERPRISE_SCHEMA}:department`, value: 'Sales' },
      { op: 'Add', path: `${ENTERPRISE_SCHEMA}:manager`, value: randomUUID() },
    ],
  });
  assertStatus(res, 200);
  for (const k of ['userName', 'name', 'emails', 'active', 'externalId']) assert.deepEqual(res.body[k], before.body[k], `${k} unchanged`);
});

test('Disable User: Replace active with false, and with the string "False"; enable with "True"', async () => {
  let res = await req('PATCH', `/Users/${state.userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: false }] });
  assertStatus(res, 200);
  assert.equal(res.body.active, false);
  res = await req('PATCH', `/Users/${state.userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'True' }] });
  assertStatus(res, 200);
  assert.equal(res.body.active, true, '"True" is true');
  res = await req('PATCH', `/Users/${state.userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
  assertStatus(res, 200);
  assert.equal(res.body.active, false, '"False" is false');
  res = await req('PATCH', `/Users/${state.userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', value: { active: 'True' } }] });
  assertStatus(res, 200);
  assert.equal(res.body.active, true, 'and without a path');
  res = await req('PATCH', `/Users/${state.userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: 'False' }] });
  assertStatus(res, 200);
  assert.equal(res.body.active, false);
  const got = await req('GET', `/Users/${state.userId}`);
  assert.equal(got.body.active, false);
});

test('disabling a signed-in user through Entra\'s PATCH ends their tokens, as the lifecycle API does', async () => {
  const user = await createUser(c.t.app, {});
  const login = await c.t.app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: user.email, password: GOOD_PASSWORD } });
  assert.equal(login.statusCode, 200, login.body);
  const { access_token: access, refresh_token: refresh } = json(login);
  const res = await req('PATCH', `/Users/${user.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
  assertStatus(res, 200);
  assert.equal((await c.t.app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${access}` } })).statusCode, 401);
  const refreshed = await c.t.app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'refresh_token', refresh_token: refresh } });
  assert.notEqual(refreshed.statusCode, 200, 'the refresh token ended too');
  assert.equal(json(await c.t.app.inject({ method: 'GET', url: `/users/${user.id}`, headers: ADMIN })).enabled, false);
});

test('Create Group: POST /Groups with Entra\'s body (ADSCIM schema, externalId, meta) → 201 with members []', async () => {
  const displayName = `displayName ${randomUUID()}`;
  const res = await req('POST', '/Groups', { schemas: [GROUP_SCHEMA, ADSCIM_GROUP], externalId: randomUUID(), displayName, meta: { resourceType: 'Group' } });
  assertStatus(res, 201);
  assert.equal(res.body.displayName, displayName);
  assert.deepEqual(res.body.members ?? [], []);
  assertMeta(res.body, 'Group', res);
  state.groupId = res.body.id;
});

test('Get Group with excludedAttributes=members; Get Group by displayName with excludedAttributes=members', async () => {
  const one = await req('GET', `/Groups/${state.groupId}?excludedAttributes=members`);
  assertStatus(one, 200);
  assert.equal(one.body.members, undefined);
  const found = assertListResponse(await req('GET', `/Groups?excludedAttributes=members&filter=${q(`displayName eq "${one.body.displayName}"`)}`), 1);
  assert.equal(found[0].id, state.groupId);
  assert.equal(found[0].members, undefined);
});

test('Update Group [non-member attributes]: Replace displayName → 204 (or 200)', async () => {
  const displayName = `${randomUUID()}updatedDisplayName`;
  ok2xx(await req('PATCH', `/Groups/${state.groupId}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'displayName', value: displayName }] }));
  assert.equal((await req('GET', `/Groups/${state.groupId}`)).body.displayName, displayName);
});

test('Update Group [add members]: Add path members with {"$ref": null, value}', async () => {
  const other = await req('POST', '/Users', { schemas: [USER_SCHEMA], userName: upn(), active: true });
  assertStatus(other, 201);
  state.otherId = other.body.id;
  ok2xx(await req('PATCH', `/Groups/${state.groupId}`, {
    schemas: [PATCH_OP],
    Operations: [{ op: 'Add', path: 'members', value: [{ $ref: null, value: state.userId }, { $ref: null, value: state.otherId }] }],
  }));
  const got = await req('GET', `/Groups/${state.groupId}`);
  assert.deepEqual(got.body.members.map((m: any) => m.value).sort(), [state.userId, state.otherId].sort());
});

test('Update Group [remove members]: Remove path members with the value to remove (removal by value)', async () => {
  ok2xx(await req('PATCH', `/Groups/${state.groupId}`, {
    schemas: [PATCH_OP],
    Operations: [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: state.userId }] }],
  }));
  const got = await req('GET', `/Groups/${state.groupId}`);
  assert.deepEqual((got.body.members ?? []).map((m: any) => m.value), [state.otherId], 'only the named member was removed');
  // The compliant form too: a value filter in the path.
  ok2xx(await req('PATCH', `/Groups/${state.groupId}`, { schemas: [PATCH_OP], Operations: [{ op: 'Remove', path: `members[value eq "${state.otherId}"]` }] }));
  assert.deepEqual((await req('GET', `/Groups/${state.groupId}`)).body.members ?? [], []);
});

test('a non-existent group or user member: clear SCIM errors, not 500s', async () => {
  assertScimError(await req('PATCH', `/Groups/${randomUUID()}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'displayName', value: 'x' }] }), 404);
  assertScimError(await req('PATCH', `/Groups/${state.groupId}`, { schemas: [PATCH_OP], Operations: [{ op: 'Add', path: 'members', value: [{ $ref: null, value: randomUUID() }] }] }), 400, 'invalidValue');
});

test('Delete Group and Delete User → 204; then 404; all changes audited with the SCIM key as actor', async () => {
  assertStatus(await req('DELETE', `/Groups/${state.groupId}`), 204);
  assertStatus(await req('DELETE', `/Users/${state.userId}`), 204);
  assertScimError(await req('GET', `/Users/${state.userId}`), 404);
  assertScimError(await req('GET', `/Groups/${state.groupId}`), 404);
  assertListResponse(await req('GET', `/Users?filter=${q(`userName eq "${state.userName}"`)}`), 0);
  const events = await auditBy(c.t, c.key.id);
  const onUser = events.filter((e) => e.target?.id === state.userId).map((e) => e.action);
  for (const a of ['user.created', 'user.updated', 'user.disabled', 'user.enabled', 'user.deleted']) assert.ok(onUser.includes(a), `${a} in ${JSON.stringify(onUser)}`);
  const onGroup = events.filter((e) => e.target?.id === state.groupId).map((e) => e.action);
  for (const a of ['group.created', 'group.updated', 'group.deleted']) assert.ok(onGroup.includes(a), `${a} in ${JSON.stringify(onGroup)}`);
  for (const e of events) assert.deepEqual(e.actor, { kind: 'api_key', id: c.key.id });
});
