import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN, mintKey } from '../helpers/app.ts';
import { assertScimError, GROUP_SCHEMA, groupsApp, memberIds, patchOp } from './groups-helpers.ts';

// SCIM Groups (RFC 7643 §4.2, RFC 7644 §3): create, read, replace and delete over Gatehouse's groups, with members,
// ETags, projections, SCIM errors, the provisioning key as the audit actor, and nothing written by a refused request.

/** Where the app says it is, as light-my-request's Host header makes it. */
const BASE = 'http://localhost:80/scim/v2';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

test('POST creates a group with members; GET returns it with meta, ETag and member references', async () => {
  const g = await groupsApp();
  const [ada, bob] = await g.users(2);
  const created = await g.req('POST', '/Groups', {
    schemas: [GROUP_SCHEMA],
    displayName: 'Engineering',
    externalId: 'okta-00g1',
    members: [{ value: ada!.id, display: 'ignored' }, { value: bob!.id, type: 'User' }, { value: ada!.id }],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.match(String(created.headers['content-type']), /^application\/scim\+json/);
  const id = created.body.id as string;
  assert.equal(created.headers.location, `${BASE}/Groups/${id}`);
  assert.equal(created.headers.etag, created.body.meta.version);
  assert.match(created.body.meta.version, /^W\/".+"$/);
  assert.deepEqual(created.body.schemas, [GROUP_SCHEMA]);
  assert.equal(created.body.displayName, 'Engineering');
  assert.equal(created.body.externalId, 'okta-00g1');
  assert.equal(created.body.meta.resourceType, 'Group');
  assert.equal(created.body.meta.location, `${BASE}/Groups/${id}`);
  assert.match(created.body.meta.created, ISO);
  assert.equal(created.body.meta.lastModified, created.body.meta.created);
  const expectedMembers = [ada!, bob!]
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((u) => ({ value: u.id, $ref: `${BASE}/Users/${u.id}`, display: u.email, type: 'User' }));
  assert.deepEqual(created.body.members, expectedMembers);

  const got = await g.req('GET', `/Groups/${id}`);
  assert.equal(got.status, 200);
  assert.deepEqual(got.body, created.body);
  assert.equal(got.headers.etag, created.body.meta.version);

  // If-None-Match with the current version: 304, no body.
  const same = await g.req('GET', `/Groups/${id}`, undefined, { 'if-none-match': created.body.meta.version });
  assert.equal(same.status, 304);
  assert.equal(same.body, undefined);

  // The REST API sees the same group, its roles and description untouched by SCIM.
  const rest = await g.t.app.inject({ method: 'GET', url: `/groups/${id}`, headers: ADMIN });
  assert.equal(rest.statusCode, 200);
  assert.deepEqual({ ...JSON.parse(rest.body), created_at: '', updated_at: '' }, { id, name: 'Engineering', description: null, roles: [], member_count: 2, created_at: '', updated_at: '' });
});

test('attributes / excludedAttributes shape a group; id and schemas are always returned', async () => {
  const g = await groupsApp();
  const [ada] = await g.users(1);
  const { body: group } = await g.req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Ops', members: [{ value: ada!.id }] });

  const lean = await g.req('GET', `/Groups/${group.id}?excludedAttributes=members`);
  assert.equal(lean.status, 200);
  assert.deepEqual(Object.keys(lean.body).sort(), ['displayName', 'id', 'meta', 'schemas']);
  assert.equal(lean.headers.etag, group.meta.version, 'the ETag does not depend on the projection');

  const named = await g.req('GET', `/Groups/${group.id}?attributes=displayName`);
  assert.deepEqual(named.body, { schemas: [GROUP_SCHEMA], id: group.id, displayName: 'Ops' });
  const values = await g.req('GET', `/Groups/${group.id}?attributes=members.value,${encodeURIComponent(GROUP_SCHEMA)}:displayName`);
  assert.deepEqual(values.body, { schemas: [GROUP_SCHEMA], id: group.id, displayName: 'Ops', members: [{ value: ada!.id }] });
  const noDisplay = await g.req('GET', `/Groups/${group.id}?excludedAttributes=members.display,meta`);
  assert.deepEqual(noDisplay.body.members, [{ value: ada!.id, $ref: `${BASE}/Users/${ada!.id}`, type: 'User' }]);
  assert.equal(noDisplay.body.meta, undefined);

  assertScimError(await g.req('GET', `/Groups/${group.id}?attributes=displayName&excludedAttributes=members`), 400, 'invalidValue');

  // A group without members has no members attribute (unassigned, RFC 7643 §2.5).
  const { body: empty } = await g.req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Empty' });
  assert.equal(empty.members, undefined);
});

test('refused creates write nothing: missing or bad displayName, taken name, unknown or non-user members, bad schemas', async () => {
  const g = await groupsApp();
  const [ada] = await g.users(1);
  const missing = '0190dead-0000-7000-8000-000000000000';
  const cases: [unknown, number, string][] = [
    [{ schemas: [GROUP_SCHEMA] }, 400, 'invalidValue'],
    [{ schemas: [GROUP_SCHEMA], displayName: '' }, 400, 'invalidValue'],
    [{ schemas: [GROUP_SCHEMA], displayName: 42 }, 400, 'invalidValue'],
    [{ schemas: [GROUP_SCHEMA], displayName: 'x'.repeat(101) }, 400, 'invalidValue'],
    [{ schemas: [GROUP_SCHEMA], displayName: 'Bell\u0007' }, 400, 'invalidValue'],
    [{ schemas: [GROUP_SCHEMA], displayName: 'Team', members: [{ value: ada!.id }, { value: missing }] }, 400, 'invalidValue'],
    [{ schemas: [GROUP_SCHEMA], displayName: 'Team', members: [{ value: ada!.id, type: 'Group' }] }, 400, 'invalidValue'],
    [{ schemas: [GROUP_SCHEMA], displayName: 'Team', members: 'everyone' }, 400, 'invalidValue'],
    [{ schemas: [GROUP_SCHEMA], displayName: 'Team', members: [{ display: 'no value' }] }, 400, 'invalidValue'],
    [{ schemas: [GROUP_SCHEMA], displayName: 'Team', externalId: 7 }, 400, 'invalidValue'],
    [{ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], displayName: 'Team' }, 400, 'invalidSyntax'],
    [[{ displayName: 'Team' }], 400, 'invalidSyntax'],
  ];
  for (const [body, status, scimType] of cases) {
    const events = await g.written(async () => assertScimError(await g.req('POST', '/Groups', body), status, scimType, JSON.stringify(body)));
    assert.deepEqual(events, [], `nothing written for ${JSON.stringify(body)}`);
  }
  assertScimError(await g.req('POST', '/Groups', '{"displayName": '), 400, 'invalidSyntax', 'broken JSON');
  const list = await g.req('GET', '/Groups');
  assert.equal(list.body.totalResults, 0, 'no group was created');

  assert.equal((await g.req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Team' })).status, 201);
  const taken = await g.written(async () => assertScimError(await g.req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Team' }), 409, 'uniqueness'));
  assert.deepEqual(taken, []);
});

test('PUT replaces displayName, externalId and members in one change; roles and description stay', async () => {
  const g = await groupsApp();
  const [ada, bob, cy] = await g.users(3);
  const rest = await g.t.app.inject({ method: 'POST', url: '/groups', headers: ADMIN, payload: { name: 'Readers', description: 'they read', roles: ['CHAT-USER'] } });
  const id = JSON.parse(rest.body).id as string;
  await g.t.app.inject({ method: 'POST', url: `/groups/${id}/members`, headers: ADMIN, payload: { user_ids: [ada!.id, bob!.id] } });
  const before = await g.req('GET', `/Groups/${id}`);

  let put: Awaited<ReturnType<typeof g.req>> | undefined;
  const events = await g.written(async () => {
    put = await g.req('PUT', `/Groups/${id}`, { schemas: [GROUP_SCHEMA], id, displayName: 'Writers', externalId: 'ext-9', members: [{ value: bob!.id }, { value: cy!.id }] });
  });
  assert.equal(put!.status, 200, JSON.stringify(put!.body));
  assert.equal(put!.body.displayName, 'Writers');
  assert.equal(put!.body.externalId, 'ext-9');
  assert.deepEqual(await memberIds(g, id), [bob!.id, cy!.id].sort());
  assert.notEqual(put!.body.meta.version, before.body.meta.version);
  assert.equal(put!.headers.etag, put!.body.meta.version);
  assert.ok(put!.body.meta.lastModified > before.body.meta.lastModified || put!.body.meta.lastModified === before.body.meta.lastModified);

  // One event per kind, each naming what changed, the SCIM key as the actor.
  assert.deepEqual(events.map((e) => e.action), ['group.updated', 'group.member_removed', 'group.member_added']);
  for (const e of events) {
    assert.deepEqual(e.actor, { kind: 'api_key', id: g.key.id });
    assert.equal(e.targetId, id);
  }
  assert.deepEqual(events[0]!.details, { fields: ['name', 'external_id'] });
  assert.deepEqual(events[1]!.details, { user_ids: [ada!.id], count: 1 });
  assert.deepEqual(events[2]!.details, { user_ids: [cy!.id], count: 1 });

  const restView = JSON.parse((await g.t.app.inject({ method: 'GET', url: `/groups/${id}`, headers: ADMIN })).body);
  assert.deepEqual([restView.description, restView.roles], ['they read', ['CHAT-USER']], 'what SCIM does not know stays');

  // PUT without members leaves them; with an empty list removes them all; externalId null removes it.
  const kept = await g.req('PUT', `/Groups/${id}`, { schemas: [GROUP_SCHEMA], displayName: 'Writers' });
  assert.equal(kept.status, 200);
  assert.equal(kept.body.externalId, 'ext-9');
  assert.deepEqual(await memberIds(g, id), [bob!.id, cy!.id].sort());
  const cleared = await g.req('PUT', `/Groups/${id}`, { schemas: [GROUP_SCHEMA], displayName: 'Writers', externalId: null, members: [] });
  assert.equal(cleared.status, 200);
  assert.equal(cleared.body.externalId, undefined);
  assert.equal(cleared.body.members, undefined);

  // An unknown member refuses the whole PUT: the name does not change either.
  const missing = '0190dead-0000-7000-8000-000000000000';
  const refused = await g.written(async () =>
    assertScimError(await g.req('PUT', `/Groups/${id}`, { schemas: [GROUP_SCHEMA], displayName: 'Renamed', members: [{ value: ada!.id }, { value: missing }] }), 400, 'invalidValue'),
  );
  assert.deepEqual(refused, []);
  assert.equal((await g.req('GET', `/Groups/${id}`)).body.displayName, 'Writers');
  assertScimError(await g.req('PUT', `/Groups/${missing}`, { schemas: [GROUP_SCHEMA], displayName: 'Ghost' }), 404);
});

test('If-Match: a stale version is 412 for PUT, PATCH and DELETE and changes nothing; the current one, or *, goes through', async () => {
  const g = await groupsApp();
  const { body: group } = await g.req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Ops' });
  const stale = group.meta.version as string;
  const renamed = await g.req('PATCH', `/Groups/${group.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'Ops 2' }), { 'if-match': stale });
  assert.equal(renamed.status, 200);
  const current = renamed.headers.etag as string;
  assert.notEqual(current, stale);

  for (const [method, body] of [
    ['PUT', { schemas: [GROUP_SCHEMA], displayName: 'Nope' }],
    ['PATCH', patchOp({ op: 'replace', path: 'displayName', value: 'Nope' })],
    ['DELETE', undefined],
  ] as const) {
    const events = await g.written(async () => assertScimError(await g.req(method, `/Groups/${group.id}`, body, { 'if-match': stale }), 412, undefined, method));
    assert.deepEqual(events, [], `${method} with a stale version writes nothing`);
  }
  assert.equal((await g.req('GET', `/Groups/${group.id}`)).body.displayName, 'Ops 2');

  const put = await g.req('PUT', `/Groups/${group.id}`, { schemas: [GROUP_SCHEMA], displayName: 'Ops 3' }, { 'if-match': `"nope", ${current}` });
  assert.equal(put.status, 200, 'a list holding the current version matches');
  assert.equal((await g.req('PATCH', `/Groups/${group.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'Ops 4' }), { 'if-match': '*' })).status, 200);
  const latest = (await g.req('GET', `/Groups/${group.id}`)).headers.etag as string;
  assert.equal((await g.req('DELETE', `/Groups/${group.id}`, undefined, { 'if-match': latest })).status, 204);
});

test('a membership change is a new version even when made through the REST API', async () => {
  const g = await groupsApp();
  const [ada] = await g.users(1);
  const { body: group } = await g.req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Ops' });
  await g.t.app.inject({ method: 'POST', url: `/groups/${group.id}/members`, headers: ADMIN, payload: { user_ids: [ada!.id] } });
  const after = await g.req('GET', `/Groups/${group.id}?excludedAttributes=members`);
  assert.notEqual(after.headers.etag, group.meta.version);
  assertScimError(await g.req('PATCH', `/Groups/${group.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: ada!.id }] }), { 'if-match': group.meta.version }), 412);
});

test('DELETE deletes the group (memberships go, users stay); then 404', async () => {
  const g = await groupsApp();
  const [ada] = await g.users(1);
  const { body: group } = await g.req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Doomed', members: [{ value: ada!.id }] });
  let res: Awaited<ReturnType<typeof g.req>> | undefined;
  const events = await g.written(async () => {
    res = await g.req('DELETE', `/Groups/${group.id}`);
  });
  assert.equal(res!.status, 204);
  assert.equal(res!.body, undefined);
  assert.deepEqual(events.map((e) => [e.action, e.actor.id, e.details.member_count]), [['group.deleted', g.key.id, 1]]);
  assertScimError(await g.req('GET', `/Groups/${group.id}`), 404);
  assertScimError(await g.req('DELETE', `/Groups/${group.id}`), 404);
  assertScimError(await g.req('PATCH', `/Groups/${group.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'x' })), 404);
  const user = await g.t.app.inject({ method: 'GET', url: `/users/${ada!.id}`, headers: ADMIN });
  assert.equal(user.statusCode, 200);
  assert.deepEqual(JSON.parse(user.body).groups, []);
});

test('only a key with scim:provision may use /Groups; the key cannot use the rest of the API', async () => {
  const g = await groupsApp();
  const chat = await mintKey(g.t.app, ['CHAT-USER']);
  assertScimError(await g.req('GET', '/Groups', undefined, chat.auth), 403);
  assertScimError(await g.req('POST', '/Groups', { displayName: 'x' }, chat.auth), 403);
  const anonymous = await g.t.app.inject({ method: 'GET', url: '/scim/v2/Groups' });
  assert.equal(anonymous.statusCode, 401);
  const rest = await g.t.app.inject({ method: 'GET', url: '/groups', headers: g.key.auth });
  assert.equal(rest.statusCode, 403, 'a SCIM key cannot use the REST groups API');
  assert.equal((await g.req('GET', '/Groups', undefined, ADMIN)).status, 200, 'ORG-ADMIN holds every permission');
});
