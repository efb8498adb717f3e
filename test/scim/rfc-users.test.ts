/**
 * RFC 7644's examples for Users, replayed over HTTP (userNames made emails: Gatehouse's userName is the email):
 * §3.3 create, §3.4.1 read, §3.5.1 PUT, §3.5.2 PATCH, §3.6 DELETE, §3.12 errors, §3.14 versions — and what the
 * issue adds: password policy, `active` as the lifecycle's disable, the audit trail, case-insensitive userName.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN, GOOD_PASSWORD, createUser, json } from '../helpers/app.ts';
import {
  ENTERPRISE_SCHEMA, PATCH_OP, USER_SCHEMA, assertMeta, assertScimContentType, assertScimError, assertStatus, auditBy, minimalUser, q, scimClient,
  show, uniqueEmail,
} from './rfc-helpers.ts';

const c = await scimClient();
const { req } = c;
const { app } = c.t;

test('§3.3: POST /Users creates: 201, Location, ETag, the resource with id, meta and the core attributes', async () => {
  const userName = uniqueEmail('bjensen');
  const res = await req('POST', '/Users', {
    schemas: [USER_SCHEMA],
    userName,
    externalId: 'bjensen',
    name: { formatted: 'Ms. Barbara J Jensen III', familyName: 'Jensen', givenName: 'Barbara' },
  });
  assertStatus(res, 201);
  assertScimContentType(res);
  const u = res.body;
  assert.ok(u.schemas.includes(USER_SCHEMA));
  assert.equal(typeof u.id, 'string');
  assert.ok(u.id.length > 0);
  assert.equal(u.userName, userName);
  assert.equal(u.externalId, 'bjensen');
  assert.equal(u.name.givenName, 'Barbara');
  assert.equal(u.name.familyName, 'Jensen');
  assert.equal(u.active, true, 'a created user is active unless told otherwise');
  assert.ok(Array.isArray(u.emails) && u.emails.some((e: any) => e.value === userName), `emails carry the userName: ${JSON.stringify(u.emails)}`);
  assertMeta(u, 'User', res);
  assert.equal(res.headers.location, u.meta.location, 'Location is meta.location (§3.3)');
  assert.ok(!('password' in u), 'password is never returned (RFC 7643 §4.1.1: returned "never")');
});

test('§3.4.1: GET /Users/{id} returns the resource with an ETag; an unknown id is a SCIM 404', async () => {
  const created = await req('POST', '/Users', minimalUser());
  assertStatus(created, 201);
  const res = await req('GET', `/Users/${created.body.id}`);
  assertStatus(res, 200);
  assertScimContentType(res);
  assert.equal(res.body.id, created.body.id);
  assert.equal(res.body.userName, created.body.userName);
  assertMeta(res.body, 'User', res);
  assertScimError(await req('GET', '/Users/2819c223-7f76-453a-919d-413861904646'), 404);
  assertScimError(await req('GET', '/Users/not-an-id-at-all'), 404);
});

test('§3.3: a second user with the same userName, in any case, is 409 uniqueness and changes nothing', async () => {
  const userName = uniqueEmail('Dup');
  assertStatus(await req('POST', '/Users', minimalUser(userName)), 201);
  const before = await req('GET', `/Users?filter=${q(`userName eq "${userName}"`)}`);
  assertScimError(await req('POST', '/Users', minimalUser(userName)), 409, 'uniqueness');
  assertScimError(await req('POST', '/Users', minimalUser(userName.toUpperCase())), 409, 'uniqueness');
  const after = await req('GET', `/Users?filter=${q(`userName eq "${userName}"`)}`);
  assert.equal(after.body.totalResults, 1);
  assert.equal(before.body.totalResults, 1);
});

test('userName is the email: one that is not an email is 400 invalidValue; a missing userName is 400', async () => {
  assertScimError(await req('POST', '/Users', minimalUser('bjensen')), 400, 'invalidValue');
  const { userName: _, ...noUserName } = minimalUser();
  assertScimError(await req('POST', '/Users', noUserName), 400, ['invalidValue', 'invalidSyntax']);
});

test('a password on create goes through the password policy: a weak one is 400 invalidValue, a good one signs in', async () => {
  const weak = uniqueEmail('weak');
  const res = await req('POST', '/Users', minimalUser(weak, { password: 'qwertyuiop' }));
  assertScimError(res, 400, 'invalidValue');
  // (test/helpers/app.ts checks that no error body echoes the password it was sent.)
  const none = await req('GET', `/Users?filter=${q(`userName eq "${weak}"`)}`);
  assert.equal(none.body.totalResults, 0, 'a refused create writes nothing');

  const good = uniqueEmail('good');
  const created = await req('POST', '/Users', minimalUser(good, { password: GOOD_PASSWORD }));
  assertStatus(created, 201);
  assert.ok(!created.raw.body.includes(GOOD_PASSWORD));
  const token = await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: good, password: GOOD_PASSWORD } });
  assert.equal(token.statusCode, 200, `a provisioned password signs in: ${token.body}`);
});

test('a password on PUT goes through the policy too', async () => {
  const created = await req('POST', '/Users', minimalUser());
  assertStatus(created, 201);
  const { id, meta: _m, ...rest } = created.body;
  assertScimError(await req('PUT', `/Users/${id}`, { ...rest, password: '12345678' }), 400, 'invalidValue');
  const ok = await req('PUT', `/Users/${id}`, { ...rest, password: GOOD_PASSWORD });
  assertStatus(ok, 200);
  const token = await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: created.body.userName, password: GOOD_PASSWORD } });
  assert.equal(token.statusCode, 200, token.body);
});

test('§3.5.1: PUT replaces the attributes; readOnly ones sent are ignored; lastModified and version move', async () => {
  const created = await req('POST', '/Users', minimalUser(uniqueEmail(), { externalId: 'ext-1' }));
  assertStatus(created, 201);
  const id = created.body.id;
  const newName = uniqueEmail('renamed');
  const res = await req('PUT', `/Users/${id}`, {
    schemas: [USER_SCHEMA],
    id,
    userName: newName,
    externalId: 'ext-2',
    name: { givenName: 'Barbara', familyName: 'Jensen' },
    emails: [{ value: newName, type: 'work', primary: true }],
    active: true,
    groups: [{ value: '00000000-0000-0000-0000-000000000000' }],
    meta: { resourceType: 'User', created: '2000-01-01T00:00:00Z' },
  });
  assertStatus(res, 200);
  assert.equal(res.body.id, id);
  assert.equal(res.body.userName, newName);
  assert.equal(res.body.externalId, 'ext-2');
  assert.equal(res.body.name.givenName, 'Barbara');
  assert.equal(res.body.name.familyName, 'Jensen');
  assert.deepEqual(res.body.groups ?? [], [], 'groups is readOnly: ignored on PUT');
  assert.equal(res.body.meta.created, created.body.meta.created, 'meta.created is not changed by a PUT');
  assertMeta(res.body, 'User', res);
  assert.notEqual(res.body.meta.version, created.body.meta.version, 'a change makes a new version');
  const got = await req('GET', `/Users/${id}`);
  assert.equal(got.body.userName, newName);
  assertScimError(await req('PUT', '/Users/2819c223-7f76-453a-919d-413861904646', minimalUser()), 404);
});

test('§3.5.2: PATCH with the RFC\'s operations: replace a sub-attribute, add, remove an optional attribute', async () => {
  const created = await req('POST', '/Users', minimalUser(uniqueEmail(), { externalId: 'patch-me' }));
  const id = created.body.id;
  let res = await req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'name.familyName', value: 'Jensen' }] });
  assertStatus(res, 200);
  assert.equal(res.body.name.familyName, 'Jensen');
  assert.equal(res.body.name.givenName, 'Given', 'the other sub-attribute stays');

  res = await req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', value: { name: { givenName: 'Babs' }, externalId: 'ext-added' } }] });
  assertStatus(res, 200);
  assert.equal(res.body.name.givenName, 'Babs');
  assert.equal(res.body.name.familyName, 'Jensen');
  assert.equal(res.body.externalId, 'ext-added');

  res = await req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: 'externalId' }] });
  assertStatus(res, 200);
  assert.equal(res.body.externalId, undefined, 'a removed attribute is unassigned (not returned)');

  res = await req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] });
  assertStatus(res, 200);
  assert.equal(res.body.active, false);
  assertMeta(res.body, 'User', res);
});

test('§3.5.2: PATCH errors — remove without a path is noTarget, a bad path invalidPath, a readOnly attribute mutability, a bad op invalidSyntax', async () => {
  const created = await req('POST', '/Users', minimalUser());
  const id = created.body.id;
  const patch = (op: Record<string, unknown>) => req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [op] });
  assertScimError(await patch({ op: 'remove' }), 400, 'noTarget');
  assertScimError(await patch({ op: 'replace', path: 'name..givenName', value: 'x' }), 400, 'invalidPath');
  assertScimError(await patch({ op: 'replace', path: 'emails[type eq "work"', value: 'x' }), 400, 'invalidPath');
  assertScimError(await patch({ op: 'replace', path: 'id', value: 'abc' }), 400, 'mutability');
  assertScimError(await patch({ op: 'replace', path: 'meta.created', value: '2000-01-01T00:00:00Z' }), 400, 'mutability');
  assertScimError(await patch({ op: 'launch', path: 'active', value: false }), 400, 'invalidSyntax');
  assertScimError(await patch({ op: 'replace', path: 'active', value: 'maybe' }), 400, 'invalidValue');
  assertScimError(await req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP] }), 400, ['invalidSyntax', 'invalidValue']);
  assertScimError(await req('PATCH', `/Users/${id}`, '{"schemas": ['), 400, 'invalidSyntax');
  // Nothing of the above changed the user.
  const after = await req('GET', `/Users/${id}`);
  assert.equal(after.body.meta.version, created.body.meta.version, 'refused PATCHes change nothing');
  assert.equal(after.body.active, true);
});

test('a PATCH is all or nothing: a failing operation after a good one leaves the user unchanged', async () => {
  const created = await req('POST', '/Users', minimalUser());
  const id = created.body.id;
  const res = await req('PATCH', `/Users/${id}`, {
    schemas: [PATCH_OP],
    Operations: [{ op: 'replace', path: 'name.givenName', value: 'Changed' }, { op: 'replace', path: 'id', value: 'nope' }],
  });
  assertScimError(res, 400, 'mutability');
  const after = await req('GET', `/Users/${id}`);
  assert.equal(after.body.name.givenName, 'Given');
});

test('§3.14: If-Match with the current version succeeds; with another is 412; without it the change goes through', async () => {
  const created = await req('POST', '/Users', minimalUser());
  const id = created.body.id;
  const v1 = created.body.meta.version;
  const op = (value: string) => ({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'name.givenName', value }] });
  const stale = await req('PATCH', `/Users/${id}`, op('Nope'), { 'if-match': 'W/"definitely-not-the-version"' });
  assertScimError(stale, 412);
  const ok = await req('PATCH', `/Users/${id}`, op('Yes'), { 'if-match': v1 });
  assertStatus(ok, 200);
  const v2 = ok.body.meta.version;
  assert.notEqual(v2, v1);
  // The old version no longer matches, for PUT, PATCH and DELETE alike.
  const { meta: _m, id: _i, ...body } = ok.body;
  assertScimError(await req('PUT', `/Users/${id}`, body, { 'if-match': v1 }), 412);
  assertScimError(await req('PATCH', `/Users/${id}`, op('Again'), { 'if-match': v1 }), 412);
  assertScimError(await req('DELETE', `/Users/${id}`, undefined, { 'if-match': v1 }), 412);
  assert.equal((await req('GET', `/Users/${id}`)).body.name.givenName, 'Yes');
  assertStatus(await req('PATCH', `/Users/${id}`, op('Free')), 200);
  // RFC 7232 §3.1: `*` matches any current version; a list matches when one of its tags does.
  assertStatus(await req('PATCH', `/Users/${id}`, op('Star'), { 'if-match': '*' }), 200);
  const listed = (await req('GET', `/Users/${id}`)).body.meta.version;
  assertStatus(await req('PATCH', `/Users/${id}`, op('Listed'), { 'if-match': `W/"not-this-one", ${listed}` }), 200);
  const now = await req('GET', `/Users/${id}`);
  assertStatus(await req('DELETE', `/Users/${id}`, undefined, { 'if-match': now.body.meta.version }), 204);
});

test('§3.6: DELETE is 204 with no body; the user is gone (404 on GET, DELETE again, PUT and PATCH)', async () => {
  const created = await req('POST', '/Users', minimalUser());
  const id = created.body.id;
  const res = await req('DELETE', `/Users/${id}`);
  assertStatus(res, 204);
  assert.equal(res.raw.body, '');
  assertScimError(await req('GET', `/Users/${id}`), 404);
  assertScimError(await req('DELETE', `/Users/${id}`), 404);
  assertScimError(await req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] }), 404);
  const gone = await app.inject({ method: 'GET', url: `/users/${id}`, headers: ADMIN });
  assert.equal(gone.statusCode, 404, 'deleted for the rest of Gatehouse too');
});

test('active: false disables exactly as the lifecycle does: tokens stop working, sign-in is refused; true enables again', async () => {
  const user = await createUser(app, {});
  const login = await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: user.email, password: GOOD_PASSWORD } });
  assert.equal(login.statusCode, 200, login.body);
  const access = json(login).access_token as string;
  assert.equal((await app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${access}` } })).statusCode, 200);

  const found = await req('GET', `/Users?filter=${q(`userName eq "${user.email}"`)}`);
  assert.equal(found.body.totalResults, 1, show(found));
  const res = await req('PATCH', `/Users/${user.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] });
  assertStatus(res, 200);
  assert.equal(res.body.active, false);

  assert.equal((await app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${access}` } })).statusCode, 401, 'the token ended');
  const again = await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: user.email, password: GOOD_PASSWORD } });
  assert.notEqual(again.statusCode, 200, 'a disabled user cannot sign in');
  const lifecycle = json(await app.inject({ method: 'GET', url: `/users/${user.id}`, headers: ADMIN }));
  assert.equal(lifecycle.enabled, false, 'the lifecycle API sees the same user disabled');

  assertStatus(await req('PATCH', `/Users/${user.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: true }] }), 200);
  const back = await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: user.email, password: GOOD_PASSWORD } });
  assert.equal(back.statusCode, 200, back.body);
});

test('users made elsewhere are SCIM users too: roles are not lost by a SCIM PUT', async () => {
  const user = await createUser(app, { roles: ['TASK-ADMIN'] });
  const got = await req('GET', `/Users/${user.id}`);
  assertStatus(got, 200);
  assert.equal(got.body.userName, user.email);
  const { meta: _m, ...body } = got.body;
  assertStatus(await req('PUT', `/Users/${user.id}`, { ...body, name: { givenName: 'New', familyName: 'Name' } }), 200);
  const after = json(await app.inject({ method: 'GET', url: `/users/${user.id}`, headers: ADMIN }));
  assert.equal(after.first_name, 'New');
  assert.deepEqual(after.roles.map((r: any) => r.name ?? r), ['TASK-ADMIN']);
});

test('the enterprise extension and attributes Gatehouse does not store are accepted on create', async () => {
  const userName = uniqueEmail('ent');
  const res = await req('POST', '/Users', {
    schemas: [USER_SCHEMA, ENTERPRISE_SCHEMA],
    userName,
    name: { givenName: 'Ent', familyName: 'Erprise' },
    displayName: 'Ent Erprise',
    locale: 'en-US',
    [ENTERPRISE_SCHEMA]: { department: 'Finance' },
  });
  assertStatus(res, 201);
  assert.equal(res.body.userName, userName);
});

test('every change is in the audit trail with the SCIM key as the actor; reads write nothing', async () => {
  const fresh = await scimClient();
  const created = await fresh.req('POST', '/Users', minimalUser());
  assertStatus(created, 201);
  const id = created.body.id;
  await fresh.req('GET', `/Users/${id}`);
  await fresh.req('GET', '/Users');
  assertStatus(await fresh.req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'name.givenName', value: 'Audited' }] }), 200);
  assertStatus(await fresh.req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] }), 200);
  assertStatus(await fresh.req('DELETE', `/Users/${id}`), 204);
  const events = await auditBy(fresh.t, fresh.key.id);
  for (const e of events) assert.deepEqual(e.actor, { kind: 'api_key', id: fresh.key.id });
  const onUser = events.filter((e) => e.target?.id === id).map((e) => e.action);
  for (const action of ['user.created', 'user.updated', 'user.disabled', 'user.deleted']) assert.ok(onUser.includes(action), `${action} in ${JSON.stringify(onUser)}`);
});

test('§3.5.2: a PATCH of the readOnly groups attribute is 400 mutability; membership changes only through Groups', async () => {
  const created = await req('POST', '/Users', minimalUser());
  const id = created.body.id;
  const res = await req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'groups', value: [{ value: '2819c223-7f76-453a-919d-413861904646' }] }] });
  assertScimError(res, 400, 'mutability');
  assert.deepEqual((await req('GET', `/Users/${id}`)).body.groups ?? [], []);
});

test('§3.5.1: a PUT with active false disables the user as the lifecycle does; a PUT with active true enables', async () => {
  const created = await req('POST', '/Users', minimalUser());
  const { id, meta: _m, ...body } = created.body;
  const off = await req('PUT', `/Users/${id}`, { ...body, active: false });
  assertStatus(off, 200);
  assert.equal(off.body.active, false);
  assert.equal(json(await app.inject({ method: 'GET', url: `/users/${id}`, headers: ADMIN })).enabled, false);
  const on = await req('PUT', `/Users/${id}`, { ...body, active: true });
  assertStatus(on, 200);
  assert.equal(json(await app.inject({ method: 'GET', url: `/users/${id}`, headers: ADMIN })).enabled, true);
});
