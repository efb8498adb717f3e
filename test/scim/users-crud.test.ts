import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ADMIN, GOOD_PASSWORD, json, mintKey, testApp } from '../helpers/app.ts';

// SCIM Users (RFC 7644 §3.3–3.6): create, read, replace, patch, delete, with ETags, SCIM errors, and the
// lifecycle's effects (disabling ends tokens) and audit trail (the SCIM key is the actor).

const { app, database } = await testApp();
const provisioner = await mintKey(app, ['SCIM-PROVISIONER']);
const SCIM = { ...provisioner.auth, 'content-type': 'application/scim+json' };
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let n = 0;
const unique = (prefix = 'user') => `${prefix}.${Date.now().toString(36)}.${++n}@example.com`;

function scimError(res: LightMyRequestResponse, status: number, scimType?: string) {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/scim\+json/);
  const body = json(res);
  assert.deepEqual(body.schemas, [ERROR], res.body);
  assert.equal(body.status, String(status), res.body);
  assert.equal(typeof body.detail, 'string');
  if (scimType) assert.equal(body.scimType, scimType, res.body);
  return body;
}

async function create(body: Record<string, unknown>) {
  const res = await app.inject({ method: 'POST', url: '/scim/v2/Users', headers: SCIM, payload: JSON.stringify({ schemas: [USER], ...body }) });
  assert.equal(res.statusCode, 201, res.body);
  return { res, body: json(res) };
}

test('POST creates a user: 201, Location, ETag, the SCIM shape, and no password in the answer', async () => {
  const userName = unique('Ada');
  const { res, body } = await create({
    userName: userName.toUpperCase(),
    externalId: 'okta-00u1',
    name: { givenName: 'Ada', familyName: 'Lovelace' },
    emails: [{ value: userName, type: 'work', primary: true }],
    active: true,
    password: GOOD_PASSWORD,
  });
  assert.match(String(res.headers['content-type']), /^application\/scim\+json/);
  assert.equal(res.headers.location, `http://localhost:80/scim/v2/Users/${body.id}`, 'absolute, on the host the client used');
  assert.equal(res.headers.etag, body.meta.version);
  assert.match(body.meta.version, /^W\/".+"$/);
  assert.deepEqual(body.schemas, [USER]);
  assert.equal(body.userName, userName.toLowerCase());
  assert.equal(body.externalId, 'okta-00u1');
  assert.deepEqual(body.name, { givenName: 'Ada', familyName: 'Lovelace' });
  assert.deepEqual(body.emails, [{ value: userName.toLowerCase(), type: 'work', primary: true }]);
  assert.equal(body.active, true);
  assert.deepEqual(body.groups, []);
  assert.equal(body.meta.resourceType, 'User');
  assert.equal(body.meta.location, res.headers.location);
  assert.ok(!Number.isNaN(Date.parse(body.meta.created)) && !Number.isNaN(Date.parse(body.meta.lastModified)));
  assert.ok(!res.body.includes(GOOD_PASSWORD) && !('password' in body));

  // The password was set permanently: the user signs in with it.
  const grant = await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: userName, password: GOOD_PASSWORD } });
  assert.equal(grant.statusCode, 200, grant.body);

  // Also the REST API sees the user.
  const rest = await app.inject({ method: 'GET', url: `/users/${body.id}`, headers: ADMIN });
  assert.equal(json(rest).email, userName.toLowerCase());
});

test('application/json is accepted as well, and a user without a password cannot sign in', async () => {
  const userName = unique();
  const res = await app.inject({ method: 'POST', url: '/scim/v2/Users', headers: { ...provisioner.auth, 'content-type': 'application/json' }, payload: { schemas: [USER], userName } });
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(json(res).active, true);
  assert.equal(json(res).name, undefined);
});

test('POST refuses: duplicate userName (409 uniqueness, any case), missing userName, bad email, weak password, bad JSON', async () => {
  const userName = unique();
  await create({ userName });
  scimError(await app.inject({ method: 'POST', url: '/scim/v2/Users', headers: SCIM, payload: JSON.stringify({ schemas: [USER], userName: userName.toUpperCase() }) }), 409, 'uniqueness');
  scimError(await app.inject({ method: 'POST', url: '/scim/v2/Users', headers: SCIM, payload: JSON.stringify({ schemas: [USER], name: { givenName: 'X' } }) }), 400, 'invalidValue');
  scimError(await app.inject({ method: 'POST', url: '/scim/v2/Users', headers: SCIM, payload: JSON.stringify({ schemas: [USER], userName: 'not an email' }) }), 400, 'invalidValue');
  const weak = await app.inject({ method: 'POST', url: '/scim/v2/Users', headers: SCIM, payload: JSON.stringify({ schemas: [USER], userName: unique(), password: 'password1' }) });
  scimError(weak, 400, 'invalidValue');
  assert.ok(!weak.body.includes('password1'), 'the refused password is not echoed');
  scimError(await app.inject({ method: 'POST', url: '/scim/v2/Users', headers: SCIM, payload: '{"userName": ' }), 400, 'invalidSyntax');
  scimError(await app.inject({ method: 'POST', url: '/scim/v2/Users', headers: SCIM, payload: '[1,2]' }), 400, 'invalidSyntax');
  scimError(await app.inject({ method: 'POST', url: '/scim/v2/Users', headers: SCIM, payload: JSON.stringify({ schemas: [USER], userName: unique(), active: 'maybe' }) }), 400, 'invalidValue');
  scimError(await app.inject({ method: 'POST', url: '/scim/v2/Users', headers: SCIM, payload: JSON.stringify({ schemas: [USER], userName: unique(), name: { givenName: 'x'.repeat(101) } }) }), 400, 'invalidValue');
});

test('authentication: no key is 401, a key without scim:provision is 403, a SCIM key reaches nothing else', async () => {
  scimError(await app.inject({ method: 'GET', url: '/scim/v2/Users' }), 401);
  scimError(await app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: 'Bearer nope-nope-nope' } }), 401);
  const other = await mintKey(app, ['ORG-AUDITOR']);
  scimError(await app.inject({ method: 'GET', url: '/scim/v2/Users', headers: other.auth }), 403);
  scimError(await app.inject({ method: 'POST', url: '/scim/v2/Users', headers: { ...other.auth, 'content-type': 'application/scim+json' }, payload: JSON.stringify({ userName: unique() }) }), 403);
  for (const url of ['/users', '/groups', '/auth/api_keys', '/audit']) {
    const res = await app.inject({ method: 'GET', url, headers: provisioner.auth });
    assert.equal(res.statusCode, 403, `${url}: ${res.body}`);
  }
  // The admin key holds ORG-ADMIN, which holds every permission, scim:provision included.
  assert.equal((await app.inject({ method: 'GET', url: '/scim/v2/Users', headers: ADMIN })).statusCode, 200);
});

test('GET by id: the user, attributes/excludedAttributes, 404 as a SCIM error, If-None-Match 304', async () => {
  const { body: created } = await create({ userName: unique(), name: { givenName: 'Grace', familyName: 'Hopper' }, externalId: 'e-1' });
  const res = await app.inject({ method: 'GET', url: `/scim/v2/Users/${created.id}`, headers: provisioner.auth });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(json(res), created);
  assert.equal(res.headers.etag, created.meta.version);

  const few = json(await app.inject({ method: 'GET', url: `/scim/v2/Users/${created.id}?attributes=userName,name.givenName`, headers: provisioner.auth }));
  assert.deepEqual(few, { schemas: [USER], id: created.id, userName: created.userName, name: { givenName: 'Grace' } });
  const less = json(await app.inject({ method: 'GET', url: `/scim/v2/Users/${created.id}?excludedAttributes=groups,emails,meta,name.familyName`, headers: provisioner.auth }));
  assert.deepEqual(Object.keys(less).sort(), ['active', 'externalId', 'id', 'name', 'schemas', 'userName']);
  assert.deepEqual(less.name, { givenName: 'Grace' });

  const cached = await app.inject({ method: 'GET', url: `/scim/v2/Users/${created.id}`, headers: { ...provisioner.auth, 'if-none-match': created.meta.version } });
  assert.equal(cached.statusCode, 304);

  scimError(await app.inject({ method: 'GET', url: '/scim/v2/Users/no-such-user', headers: provisioner.auth }), 404);
  scimError(await app.inject({ method: 'GET', url: '/scim/v2/Nope', headers: provisioner.auth }), 404);
});

test('PUT replaces names and email; active and externalId stay unless given; If-Match mismatch is 412', async () => {
  const { body: created } = await create({ userName: unique(), name: { givenName: 'A', familyName: 'B' }, externalId: 'x-1' });
  const stale = await app.inject({
    method: 'PUT',
    url: `/scim/v2/Users/${created.id}`,
    headers: { ...SCIM, 'if-match': 'W/"not-the-version"' },
    payload: JSON.stringify({ schemas: [USER], userName: created.userName, name: { givenName: 'C' } }),
  });
  scimError(stale, 412);
  const newName = unique('renamed');
  const res = await app.inject({
    method: 'PUT',
    url: `/scim/v2/Users/${created.id}`,
    headers: { ...SCIM, 'if-match': created.meta.version },
    payload: JSON.stringify({ schemas: [USER], id: created.id, userName: newName, name: { givenName: 'C' } }),
  });
  assert.equal(res.statusCode, 200, res.body);
  const body = json(res);
  assert.equal(body.userName, newName);
  assert.deepEqual(body.name, { givenName: 'C' });
  assert.equal(body.externalId, 'x-1');
  assert.equal(body.active, true);
  assert.notEqual(body.meta.version, created.meta.version);
  assert.equal(res.headers.etag, body.meta.version);

  scimError(await app.inject({ method: 'PUT', url: '/scim/v2/Users/nope', headers: SCIM, payload: JSON.stringify({ schemas: [USER], userName: unique() }) }), 404);
  const other = (await create({ userName: unique() })).body;
  scimError(await app.inject({ method: 'PUT', url: `/scim/v2/Users/${other.id}`, headers: SCIM, payload: JSON.stringify({ schemas: [USER], userName: newName }) }), 409, 'uniqueness');
});

test('PATCH active "False" disables exactly as the lifecycle API does: tokens end; "True" enables again', async () => {
  const userName = unique();
  const { body: created } = await create({ userName, password: GOOD_PASSWORD });
  const grant = await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: userName, password: GOOD_PASSWORD } });
  assert.equal(grant.statusCode, 200, grant.body);
  const { access_token: accessToken, refresh_token: refreshToken } = json(grant);
  assert.equal((await app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${accessToken}` } })).statusCode, 200);

  const res = await app.inject({
    method: 'PATCH',
    url: `/scim/v2/Users/${created.id}`,
    headers: SCIM,
    payload: JSON.stringify({ schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] }),
  });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(json(res).active, false);
  assert.equal(json(await app.inject({ method: 'GET', url: `/users/${created.id}`, headers: ADMIN })).enabled, false);
  assert.equal((await app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${accessToken}` } })).statusCode, 401);
  const refreshed = await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'refresh_token', refresh_token: refreshToken } });
  assert.equal(refreshed.statusCode, 400, refreshed.body);
  const again = await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: userName, password: GOOD_PASSWORD } });
  assert.equal(again.statusCode, 400, again.body);

  const enabled = await app.inject({
    method: 'PATCH',
    url: `/scim/v2/Users/${created.id}`,
    headers: SCIM,
    payload: JSON.stringify({ schemas: [PATCH], Operations: [{ op: 'replace', value: { active: 'True' } }] }),
  });
  assert.equal(json(enabled).active, true);
  const back = await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: userName, password: GOOD_PASSWORD } });
  assert.equal(back.statusCode, 200, back.body);
});

test('POST with active false creates the user disabled', async () => {
  const { body } = await create({ userName: unique(), active: false });
  assert.equal(body.active, false);
  assert.equal(json(await app.inject({ method: 'GET', url: `/users/${body.id}`, headers: ADMIN })).enabled, false);
});

test('DELETE deletes (204); then 404; If-Match honoured', async () => {
  const { body: created } = await create({ userName: unique() });
  scimError(await app.inject({ method: 'DELETE', url: `/scim/v2/Users/${created.id}`, headers: { ...provisioner.auth, 'if-match': 'W/"old"' } }), 412);
  const res = await app.inject({ method: 'DELETE', url: `/scim/v2/Users/${created.id}`, headers: { ...provisioner.auth, 'if-match': created.meta.version } });
  assert.equal(res.statusCode, 204, res.body);
  assert.equal(res.body, '');
  scimError(await app.inject({ method: 'GET', url: `/scim/v2/Users/${created.id}`, headers: provisioner.auth }), 404);
  scimError(await app.inject({ method: 'DELETE', url: `/scim/v2/Users/${created.id}`, headers: provisioner.auth }), 404);
  assert.equal((await app.inject({ method: 'GET', url: `/users/${created.id}`, headers: ADMIN })).statusCode, 404);
});

test('every provisioning change is in the audit trail with the SCIM key as the actor', async () => {
  const { body: created } = await create({ userName: unique(), externalId: 'audit-1' });
  await app.inject({ method: 'PATCH', url: `/scim/v2/Users/${created.id}`, headers: SCIM, payload: JSON.stringify({ schemas: [PATCH], Operations: [{ op: 'replace', path: 'name.givenName', value: 'Audited' }, { op: 'replace', path: 'active', value: false }] }) });
  await app.inject({ method: 'DELETE', url: `/scim/v2/Users/${created.id}`, headers: provisioner.auth });
  const events = (await database.db
    .selectFrom('audit_events' as never)
    .select(['action', 'actor_kind', 'actor_id', 'details'] as never[])
    .where('target_id' as never, '=', created.id as never)
    .orderBy('seq' as never)
    .execute()) as unknown as { action: string; actor_kind: string; actor_id: string; details: string }[];
  assert.deepEqual(events.map((e) => e.action), ['user.created', 'user.updated', 'user.disabled', 'user.deleted']);
  for (const e of events) {
    assert.equal(e.actor_kind, 'api_key');
    assert.equal(e.actor_id, provisioner.id);
  }
  assert.deepEqual(JSON.parse(events[1]!.details).fields, ['firstName']);
});
