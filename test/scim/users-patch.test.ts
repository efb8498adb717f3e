import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { GOOD_PASSWORD, json, mintKey, testApp } from '../helpers/app.ts';

// PATCH as identity providers send it (RFC 7644 §3.5.2): op in any case, no path with dotted keys, value-path
// filters, booleans as strings, password changes, the errors of §3.12, and If-Match.

const { app } = await testApp();
const { auth } = await mintKey(app, ['SCIM-PROVISIONER']);
const SCIM = { ...auth, 'content-type': 'application/scim+json' };
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let n = 0;
const unique = (p = 'patch') => `${p}.${Date.now().toString(36)}.${++n}@example.net`;

async function user(extra: Record<string, unknown> = {}) {
  const res = await app.inject({ method: 'POST', url: '/scim/v2/Users', headers: SCIM, payload: JSON.stringify({ schemas: [USER], userName: unique(), name: { givenName: 'Given', familyName: 'Family' }, ...extra }) });
  assert.equal(res.statusCode, 201, res.body);
  return json(res);
}

const patch = (id: string, operations: unknown[], headers: Record<string, string> = {}) =>
  app.inject({ method: 'PATCH', url: `/scim/v2/Users/${id}`, headers: { ...SCIM, ...headers }, payload: JSON.stringify({ schemas: [PATCH], Operations: operations }) });

function ok(res: LightMyRequestResponse) {
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers.etag, json(res).meta.version);
  return json(res);
}

function error(res: LightMyRequestResponse, status: number, scimType?: string) {
  assert.equal(res.statusCode, status, res.body);
  const body = json(res);
  assert.equal(body.status, String(status));
  assert.deepEqual(body.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
  if (scimType) assert.equal(body.scimType, scimType, res.body);
}

test('op in any case; paths to simple and sub-attributes; add, replace, remove', async () => {
  const u = await user();
  let body = ok(await patch(u.id, [{ op: 'Replace', path: 'name.givenName', value: 'Ada' }, { op: 'ADD', path: 'externalId', value: 'ext-9' }]));
  assert.deepEqual([body.name.givenName, body.externalId], ['Ada', 'ext-9']);
  body = ok(await patch(u.id, [{ op: 'remove', path: 'name.familyName' }, { op: 'Remove', path: 'externalId' }]));
  assert.deepEqual(body.name, { givenName: 'Ada' });
  assert.equal(body.externalId, undefined);
  body = ok(await patch(u.id, [{ op: 'replace', path: 'name', value: { givenName: 'Grace', familyName: 'Hopper' } }]));
  assert.deepEqual(body.name, { givenName: 'Grace', familyName: 'Hopper' });
});

test('Entra: no path, dotted keys, booleans as strings', async () => {
  const u = await user();
  const body = ok(await patch(u.id, [{ op: 'Replace', value: { 'name.givenName': 'Dotted', 'name.familyName': 'Keys', active: 'False', externalId: 'entra-1' } }]));
  assert.deepEqual(body.name, { givenName: 'Dotted', familyName: 'Keys' });
  assert.equal(body.active, false);
  assert.equal(body.externalId, 'entra-1');
  assert.equal(ok(await patch(u.id, [{ op: 'Replace', path: 'active', value: 'True' }])).active, true);
});

test('value-path filters: emails[type eq "work"].value changes the email; userName changes it too', async () => {
  const u = await user();
  const email = unique('moved');
  let body = ok(await patch(u.id, [{ op: 'replace', path: 'emails[type eq "work"].value', value: email }]));
  assert.equal(body.userName, email);
  assert.deepEqual(body.emails, [{ value: email, type: 'work', primary: true }]);
  const again = unique('again');
  body = ok(await patch(u.id, [{ op: 'replace', path: 'userName', value: again.toUpperCase() }]));
  assert.equal(body.userName, again);
});

test('attributes Gatehouse does not store are ignored, read-only ones refused (mutability)', async () => {
  const u = await user();
  const body = ok(
    await patch(u.id, [
      { op: 'replace', path: 'displayName', value: 'Ignored' },
      { op: 'add', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', value: 'R&D' },
      { op: 'replace', path: 'addresses[type eq "work"].formatted', value: 'Somewhere' },
      { op: 'replace', value: { title: 'Ignored', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber': '7' } },
    ]),
  );
  assert.equal(body.displayName, undefined);
  assert.equal(body.meta.version, u.meta.version, 'nothing changed');
  error(await patch(u.id, [{ op: 'replace', path: 'id', value: 'mine' }]), 400, 'mutability');
  error(await patch(u.id, [{ op: 'add', path: 'groups', value: [{ value: 'g' }] }]), 400, 'mutability');
  error(await patch(u.id, [{ op: 'replace', value: { meta: {} } }]), 400, 'mutability');
});

test('errors: bad op, missing path on remove, bad path, bad values, removing userName, bad body', async () => {
  const u = await user();
  error(await patch(u.id, [{ op: 'move', path: 'userName', value: 'x' }]), 400, 'invalidSyntax');
  error(await patch(u.id, [{ op: 'remove' }]), 400, 'noTarget');
  error(await patch(u.id, [{ op: 'replace', path: 'name[', value: 'x' }]), 400, 'invalidPath');
  error(await patch(u.id, [{ op: 'replace', path: 'active', value: 'perhaps' }]), 400, 'invalidValue');
  error(await patch(u.id, [{ op: 'remove', path: 'userName' }]), 400, 'mutability');
  error(await patch(u.id, [{ op: 'remove', path: 'active' }]), 400, 'mutability');
  error(await patch(u.id, [{ op: 'remove', path: 'emails' }, { op: 'replace', path: 'userName', value: 'no-address' }]), 400, 'mutability');
  error(await patch(u.id, [{ op: 'replace', path: 'name.givenName', value: 42 }]), 400, 'invalidValue');
  error(await patch(u.id, []), 400, 'invalidSyntax');
  error(await app.inject({ method: 'PATCH', url: `/scim/v2/Users/${u.id}`, headers: SCIM, payload: JSON.stringify({ schemas: [USER], Operations: [{ op: 'add', path: 'externalId', value: 'x' }] }) }), 400, 'invalidSyntax');
  error(await app.inject({ method: 'PATCH', url: `/scim/v2/Users/${u.id}`, headers: SCIM, payload: '"text"' }), 400, 'invalidSyntax');
  error(await patch('no-such-user', [{ op: 'replace', path: 'active', value: false }]), 404);
  // Nothing was written by any refused patch.
  const now = json(await app.inject({ method: 'GET', url: `/scim/v2/Users/${u.id}`, headers: auth }));
  assert.equal(now.meta.version, u.meta.version);
});

test('a taken userName is 409 uniqueness and changes nothing', async () => {
  const a = await user();
  const b = await user();
  error(await patch(b.id, [{ op: 'replace', path: 'name.givenName', value: 'Changed' }, { op: 'replace', path: 'userName', value: a.userName }]), 409, 'uniqueness');
  const now = json(await app.inject({ method: 'GET', url: `/scim/v2/Users/${b.id}`, headers: auth }));
  assert.equal(now.name.givenName, 'Given');
});

test('password: set through PATCH and PUT by the password policy; never returned', async () => {
  const u = await user();
  const weak = await patch(u.id, [{ op: 'replace', path: 'password', value: 'password1' }]);
  error(weak, 400, 'invalidValue');
  assert.ok(!weak.body.includes('password1'));
  const res = await patch(u.id, [{ op: 'replace', path: 'password', value: GOOD_PASSWORD }]);
  const body = ok(res);
  assert.equal(body.password, undefined);
  assert.ok(!res.body.includes(GOOD_PASSWORD));
  const grant = await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: u.userName, password: GOOD_PASSWORD } });
  assert.equal(grant.statusCode, 200, grant.body);
  const second = `${GOOD_PASSWORD}-Two`;
  const put = await app.inject({ method: 'PUT', url: `/scim/v2/Users/${u.id}`, headers: SCIM, payload: JSON.stringify({ schemas: [USER], userName: u.userName, password: second }) });
  assert.equal(put.statusCode, 200, put.body);
  const old = await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: u.userName, password: GOOD_PASSWORD } });
  assert.equal(old.statusCode, 400);
  assert.equal((await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: u.userName, password: second } })).statusCode, 200);
});

test('If-Match: the current version passes, an old one is 412 and changes nothing, * passes', async () => {
  const u = await user();
  const first = ok(await patch(u.id, [{ op: 'replace', path: 'name.givenName', value: 'One' }], { 'if-match': u.meta.version }));
  error(await patch(u.id, [{ op: 'replace', path: 'name.givenName', value: 'Two' }], { 'if-match': u.meta.version }), 412);
  assert.equal(json(await app.inject({ method: 'GET', url: `/scim/v2/Users/${u.id}`, headers: auth })).name.givenName, 'One');
  ok(await patch(u.id, [{ op: 'replace', path: 'name.givenName', value: 'Three' }], { 'if-match': `W/"other", ${first.meta.version}` }));
  ok(await patch(u.id, [{ op: 'replace', path: 'name.givenName', value: 'Four' }], { 'if-match': '*' }));
});
