/**
 * RFC 7644's Group examples over HTTP: §3.3 create (RFC 7643 §8.4's "Tour Guides"), §3.5.1 PUT, §3.5.2's member
 * PATCHes (add, remove one by filter, remove all, replace, remove-and-add), §3.6 DELETE; and the issue's
 * requirements: `excludedAttributes=members`, 1,000 members added and removed in one PATCH, all or nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN, json } from '../helpers/app.ts';
import {
  GROUP_SCHEMA, PATCH_OP, assertListResponse, assertMeta, assertScimContentType, assertScimError, assertStatus, auditBy, minimalUser, q, scimClient,
  uniqueEmail,
} from './rfc-helpers.ts';

const c = await scimClient();
const { req } = c;
const { app } = c.t;

async function newUser(): Promise<{ id: string; userName: string }> {
  const res = await req('POST', '/Users', minimalUser());
  assertStatus(res, 201);
  return { id: res.body.id, userName: res.body.userName };
}
let groupCount = 0;
const groupName = (base = 'Group') => `${base} ${++groupCount} ${Date.now().toString(36)}`;
const memberIds = (g: any) => (g.members ?? []).map((m: any) => m.value as string).sort();
const patch = (id: string, ...ops: unknown[]) => req('PATCH', `/Groups/${id}`, { schemas: [PATCH_OP], Operations: ops });
async function members(id: string): Promise<string[]> {
  const res = await req('GET', `/Groups/${id}`);
  assertStatus(res, 200);
  return memberIds(res.body);
}

test('§3.3 / RFC 7643 §8.4: POST /Groups with members creates the group: 201, Location, ETag, meta', async () => {
  const babs = await newUser();
  const mandy = await newUser();
  const displayName = groupName('Tour Guides');
  const res = await req('POST', '/Groups', {
    schemas: [GROUP_SCHEMA],
    displayName,
    externalId: 'tour-guides',
    members: [
      { value: babs.id, $ref: `https://example.com/v2/Users/${babs.id}`, display: 'Babs Jensen' },
      { value: mandy.id, $ref: `https://example.com/v2/Users/${mandy.id}`, display: 'Mandy Pepperidge' },
    ],
  });
  assertStatus(res, 201);
  assertScimContentType(res);
  const g = res.body;
  assert.ok(g.schemas.includes(GROUP_SCHEMA));
  assert.equal(g.displayName, displayName);
  assert.equal(g.externalId, 'tour-guides');
  assert.deepEqual(memberIds(g), [babs.id, mandy.id].sort());
  assertMeta(g, 'Group', res);
  assert.equal(res.headers.location, g.meta.location);

  const got = await req('GET', `/Groups/${g.id}`);
  assertStatus(got, 200);
  assertMeta(got.body, 'Group', got);
  assert.deepEqual(memberIds(got.body), [babs.id, mandy.id].sort());
  // The members' read-only `groups` attribute shows the membership.
  const user = await req('GET', `/Users/${babs.id}`);
  assert.ok((user.body.groups ?? []).some((x: any) => x.value === g.id), `user.groups: ${JSON.stringify(user.body.groups)}`);
});

test('displayName is unique (409 uniqueness); a missing displayName or an unknown member is 400; nothing is written', async () => {
  const displayName = groupName();
  assertStatus(await req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName }), 201);
  assertScimError(await req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName }), 409, 'uniqueness');
  assertScimError(await req('POST', '/Groups', { schemas: [GROUP_SCHEMA] }), 400, ['invalidValue', 'invalidSyntax']);
  const other = groupName();
  const res = await req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: other, members: [{ value: '2819c223-7f76-453a-919d-413861904646' }] });
  assertScimError(res, 400, 'invalidValue');
  const list = await req('GET', `/Groups?filter=${q(`displayName eq "${other}"`)}`);
  assertListResponse(list, 0);
  assertScimError(await req('GET', '/Groups/2819c223-7f76-453a-919d-413861904646'), 404);
});

test('§3.5.2.1 / §3.5.2.2 / §3.5.2.3: PATCH members — add, remove by filter, replace, remove-and-add, remove all', async () => {
  const [a, b, cc, d] = [await newUser(), await newUser(), await newUser(), await newUser()];
  const g = (await req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: groupName() })).body;

  let res = await patch(g.id, { op: 'add', path: 'members', value: [{ display: 'A', $ref: `https://example.com/v2/Users/${a.id}`, value: a.id }, { value: b.id }] });
  assert.ok(res.status === 200 || res.status === 204, `add: ${res.status} ${res.raw.body}`);
  assert.deepEqual(await members(g.id), [a.id, b.id].sort());
  // Adding a member who is already in is no error and no duplicate.
  res = await patch(g.id, { op: 'add', path: 'members', value: [{ value: a.id }] });
  assert.ok(res.status === 200 || res.status === 204, `re-add: ${res.status} ${res.raw.body}`);
  assert.deepEqual(await members(g.id), [a.id, b.id].sort());

  res = await patch(g.id, { op: 'remove', path: `members[value eq "${a.id}"]` });
  assert.ok(res.status === 200 || res.status === 204, `remove one: ${res.status} ${res.raw.body}`);
  assert.deepEqual(await members(g.id), [b.id]);

  res = await patch(g.id, { op: 'replace', path: 'members', value: [{ value: cc.id }, { value: d.id }] });
  assert.ok(res.status === 200 || res.status === 204, `replace: ${res.status} ${res.raw.body}`);
  assert.deepEqual(await members(g.id), [cc.id, d.id].sort());

  res = await patch(g.id, { op: 'remove', path: `members[value eq "${cc.id}"]` }, { op: 'add', path: 'members', value: [{ value: a.id }] });
  assert.ok(res.status === 200 || res.status === 204, `remove and add: ${res.status} ${res.raw.body}`);
  assert.deepEqual(await members(g.id), [a.id, d.id].sort());

  res = await patch(g.id, { op: 'remove', path: 'members' });
  assert.ok(res.status === 200 || res.status === 204, `remove all: ${res.status} ${res.raw.body}`);
  assert.deepEqual(await members(g.id), []);
  if (res.status === 200) assert.deepEqual(memberIds(res.body), []);
});

test('PATCH errors on groups: unknown member (invalidValue, nothing added), bad path, remove without path, 404', async () => {
  const a = await newUser();
  const g = (await req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: groupName() })).body;
  const res = await patch(g.id, { op: 'add', path: 'members', value: [{ value: a.id }, { value: '2819c223-7f76-453a-919d-413861904646' }] });
  assertScimError(res, 400, 'invalidValue');
  assert.deepEqual(await members(g.id), [], 'all or nothing');
  assertScimError(await patch(g.id, { op: 'remove' }), 400, 'noTarget');
  assertScimError(await patch(g.id, { op: 'add', path: 'members[value eq', value: [] }), 400, 'invalidPath');
  assertScimError(await patch(g.id, { op: 'replace', path: 'id', value: 'x' }), 400, 'mutability');
  assertScimError(await patch(g.id, { op: 'replace', path: 'displayName', value: 42 }), 400, 'invalidValue');
  assertScimError(await req('PATCH', '/Groups/2819c223-7f76-453a-919d-413861904646', { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'x' }] }), 404);
});

test('§3.5.1: PUT replaces displayName and members; If-Match is honoured (412)', async () => {
  const [a, b] = [await newUser(), await newUser()];
  const created = await req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: groupName(), members: [{ value: a.id }] });
  const g = created.body;
  const renamed = groupName('Renamed');
  assertScimError(await req('PUT', `/Groups/${g.id}`, { schemas: [GROUP_SCHEMA], displayName: renamed, members: [] }, { 'if-match': 'W/"stale"' }), 412);
  const res = await req('PUT', `/Groups/${g.id}`, { schemas: [GROUP_SCHEMA], displayName: renamed, members: [{ value: b.id }] }, { 'if-match': g.meta.version });
  assertStatus(res, 200);
  assert.equal(res.body.displayName, renamed);
  assert.deepEqual(memberIds(res.body), [b.id]);
  assertMeta(res.body, 'Group', res);
  assert.notEqual(res.body.meta.version, g.meta.version);
});

test('excludedAttributes=members leaves members out, on one group and on the list; filters by displayName', async () => {
  const a = await newUser();
  const name = groupName('Excluded');
  const g = (await req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: name, members: [{ value: a.id }] })).body;
  const one = await req('GET', `/Groups/${g.id}?excludedAttributes=members`);
  assertStatus(one, 200);
  assert.equal(one.body.members, undefined);
  assert.equal(one.body.displayName, name);
  assert.equal(one.body.id, g.id);
  const list = await req('GET', `/Groups?excludedAttributes=members&filter=${q(`displayName eq "${name}"`)}`);
  const found = assertListResponse(list, 1);
  assert.equal(found[0].id, g.id);
  assert.equal(found[0].members, undefined);
  assertListResponse(await req('GET', `/Groups?filter=${q(`displayName eq "no such group ${name}"`)}`), 0);
  assertScimError(await req('GET', `/Groups?filter=${q('displayName eq')}`), 400, 'invalidFilter');
});

test('1,000 members added in one PATCH, all or none, and removed by value in one PATCH', async () => {
  const users: string[] = [];
  for (let i = 0; i < 1000; i += 1) {
    const res = await req('POST', '/Users', minimalUser(uniqueEmail('bulk')));
    assertStatus(res, 201);
    users.push(res.body.id);
  }
  const g = (await req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: groupName('Thousand') })).body;
  // One unknown id among a thousand: nothing is added.
  const bad = await patch(g.id, { op: 'add', path: 'members', value: [...users.slice(0, 999), '2819c223-7f76-453a-919d-413861904646'].map((value) => ({ value })) });
  assertScimError(bad, 400, 'invalidValue');
  assert.deepEqual(await members(g.id), []);

  const add = await patch(g.id, { op: 'add', path: 'members', value: users.map((value) => ({ value })) });
  assert.ok(add.status === 200 || add.status === 204, `${add.status} ${add.raw.body.slice(0, 300)}`);
  assert.deepEqual(await members(g.id), [...users].sort());
  const lifecycle = await app.inject({ method: 'GET', url: `/groups/${g.id}`, headers: ADMIN });
  assert.equal(json(lifecycle).member_count, 1000, 'the group API sees the same thousand members');

  const remove = await patch(g.id, { op: 'remove', path: 'members', value: users.map((value) => ({ value })) });
  assert.ok(remove.status === 200 || remove.status === 204, `${remove.status} ${remove.raw.body.slice(0, 300)}`);
  assert.deepEqual(await members(g.id), []);
});

test('DELETE /Groups/{id}: 204, then 404; the users stay; the changes are audited with the SCIM key as actor', async () => {
  const a = await newUser();
  const g = (await req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: groupName(), members: [{ value: a.id }] })).body;
  const renamed = await patch(g.id, { op: 'replace', path: 'displayName', value: groupName('Renamed') });
  assert.ok(renamed.status === 200 || renamed.status === 204, `${renamed.status} ${renamed.raw.body}`);
  const del = await req('DELETE', `/Groups/${g.id}`);
  assertStatus(del, 204);
  assert.equal(del.raw.body, '');
  assertScimError(await req('GET', `/Groups/${g.id}`), 404);
  assertStatus(await req('GET', `/Users/${a.id}`), 200);
  const events = await auditBy(c.t, c.key.id);
  const onGroup = events.filter((e) => e.target?.id === g.id).map((e) => e.action);
  for (const action of ['group.created', 'group.deleted']) assert.ok(onGroup.includes(action), `${action} in ${JSON.stringify(onGroup)}`);
  assert.ok(events.some((e) => e.action === 'group.member_added'), 'membership changes are audited');
  for (const e of events) assert.deepEqual(e.actor, { kind: 'api_key', id: c.key.id });
});

test('displayName compares case-insensitively in filters; a deleted user leaves every group', async () => {
  const a = await newUser();
  const name = groupName('MixedCase Crew');
  const g = (await req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: name, members: [{ value: a.id }] })).body;
  const found = assertListResponse(await req('GET', `/Groups?filter=${q(`displayName eq "${name.toUpperCase()}"`)}`), 1);
  assert.equal(found[0].id, g.id);
  const accented = groupName('Équipe Ørsted');
  const e = (await req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: accented })).body;
  const lowered = assertListResponse(await req('GET', `/Groups?filter=${q(`displayName eq "${accented.toLowerCase()}"`)}`), 1);
  assert.equal(lowered[0].id, e.id, 'case-insensitive for every letter, not only ASCII');
  assertStatus(await req('DELETE', `/Users/${a.id}`), 204);
  assert.deepEqual(await members(g.id), [], 'the deleted user is no member any more');
});

test('§3.4.3: POST /.search at the root spans Users and Groups', async () => {
  // A directory of its own, small enough for one page (this file's other tests made a thousand users).
  const fresh = await scimClient();
  const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
  const userIds: string[] = [];
  for (let i = 0; i < 3; i += 1) userIds.push((await fresh.req('POST', '/Users', minimalUser())).body.id);
  const name = groupName('Root search');
  const g = await fresh.req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: name, members: [{ value: userIds[0] }] });
  assertStatus(g, 201);
  const all = await fresh.req('POST', '/.search', { schemas: [SEARCH] });
  const resources = assertListResponse(all, 4);
  assert.deepEqual(resources.map((r: any) => r.id).sort(), [...userIds, g.body.id].sort());
  assert.deepEqual(resources.map((r: any) => r.meta.resourceType).sort(), ['Group', 'User', 'User', 'User']);
  // Paged across both types: every resource once.
  const seen: string[] = [];
  for (let start = 1; start <= 4; start += 1) {
    const page = await fresh.req('POST', '/.search', { schemas: [SEARCH], startIndex: start, count: 1 });
    seen.push(...assertListResponse(page, 4).map((r: any) => r.id));
  }
  assert.deepEqual([...seen].sort(), [...userIds, g.body.id].sort());

  const byName = await fresh.req('POST', '/.search', { schemas: [SEARCH], filter: `userName eq "${resources.find((r: any) => r.id === userIds[1]).userName}"` });
  assert.deepEqual(assertListResponse(byName, 1).map((r: any) => r.id), [userIds[1]]);
  const byGroup = await fresh.req('POST', '/.search', { schemas: [SEARCH], filter: `displayName eq "${name}"`, attributes: ['displayName'] });
  const found = assertListResponse(byGroup, 1);
  assert.equal(found[0].id, g.body.id);
  assert.equal(found[0].members, undefined, 'attributes honoured');
});
