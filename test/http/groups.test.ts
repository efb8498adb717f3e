import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import { ADMIN, createUser, GOOD_PASSWORD, json, mintKey, testApp, testHasher } from '../helpers/app.ts';

// CONTRACT.md §4b: groups that carry roles, their members, and the effective roles (own ∪ groups') they give.

const NO_LIMIT = { GATEHOUSE_AUTH_RATE_LIMIT: '0' };
const GROUP_KEYS = ['created_at', 'description', 'id', 'member_count', 'name', 'roles', 'updated_at'];
type Headers = Record<string, string>;
interface Group { id: string; name: string; description: string | null; roles: string[]; member_count: number; created_at: string; updated_at: string }

function testClock() {
  let now = Date.now();
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

const call = (app: FastifyInstance, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers: Headers = ADMIN) =>
  app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function expect(res: LightMyRequestResponse, status: number, body?: unknown, what = '') {
  assert.equal(res.statusCode, status, `${what} ${res.statusCode} ${res.body}`);
  if (body !== undefined) assert.deepEqual(json(res), body, what);
}

function expectProblem(res: LightMyRequestResponse, loc: (string | number)[], what = '') {
  assert.equal(res.statusCode, 422, `${what} ${res.body}`);
  assert.deepEqual(json(res).detail.map((p: { loc: unknown }) => p.loc), [loc], `${what} ${res.body}`);
}

async function createGroup(app: FastifyInstance, body: Record<string, unknown>): Promise<Group> {
  const res = await call(app, 'POST', '/groups', body);
  expect(res, 201);
  return json<Group>(res);
}

async function groupOf(app: FastifyInstance, id: string): Promise<Group> {
  const res = await call(app, 'GET', `/groups/${id}`);
  expect(res, 200);
  return json<Group>(res);
}

async function login(app: FastifyInstance, username: string): Promise<{ access_token: string }> {
  const res = await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username, password: GOOD_PASSWORD } });
  expect(res, 200);
  return json(res);
}

const missing = '01900000-0000-7000-8000-00000000cafe';

test('create, read, list, rename, delete a group: every status and error text', async () => {
  const clock = testClock();
  const { app } = await testApp({}, { clock });
  const editors = await createGroup(app, { name: '  Editors ', description: 'Edit things', roles: ['TASK-ADMIN', 'CHAT-USER', 'TASK-ADMIN'] });
  assert.deepEqual(Object.keys(editors).sort(), GROUP_KEYS);
  const at = new Date(clock.now()).toISOString();
  assert.deepEqual({ ...editors, id: '' }, { id: '', name: 'Editors', description: 'Edit things', roles: ['TASK-ADMIN', 'CHAT-USER'], member_count: 0, created_at: at, updated_at: at });
  const bare = await createGroup(app, { name: 'Bare' });
  assert.deepEqual([bare.description, bare.roles, bare.member_count], [null, [], 0]);
  assert.deepEqual(await groupOf(app, editors.id), editors);

  const list = async () => json(await call(app, 'GET', '/groups?page_size=1000'));
  const all = await list();
  assert.deepEqual(all, { items: [editors, bare], next_cursor: null });
  expect(await call(app, 'POST', '/groups', { name: 'Editors' }), 409, { detail: 'Group Editors already exists.' });
  expect(await call(app, 'POST', '/groups', { name: ' Editors  ' }), 409, { detail: 'Group Editors already exists.' }, 'the name is trimmed first');
  expect(await call(app, 'POST', '/groups', { name: 'Other', roles: ['CHAT-USER', 'NOPE'] }), 400, { detail: 'Role NOPE does not exist.' });
  for (const name of ['', '   ', 'tab\there', 'x'.repeat(101)]) expectProblem(await call(app, 'POST', '/groups', { name }), ['body', 'name'], JSON.stringify(name));
  expectProblem(await call(app, 'POST', '/groups', { description: 'no name' }), ['body', 'name'], 'missing name');
  expectProblem(await call(app, 'POST', '/groups', { name: 'Other', roles: 'CHAT-USER' }), ['body', 'roles'], 'roles not a list');
  assert.deepEqual(await list(), all, 'refused creations created nothing');

  // Paging: one per page, in creation order, then null; a cursor of another shape is 422.
  const first = json(await call(app, 'GET', '/groups?page_size=1'));
  assert.deepEqual(first.items, [editors]);
  const second = json(await call(app, 'GET', `/groups?page_size=1&cursor=${first.next_cursor}`));
  assert.deepEqual(second, { items: [bare], next_cursor: null });
  for (const cursor of ['garbage!', 'bm90LWEtcG9zaXRpb24', '']) expectProblem(await call(app, 'GET', `/groups?cursor=${cursor}`), ['query', 'cursor'], cursor);
  expectProblem(await call(app, 'GET', '/groups?page_size=0'), ['query', 'page_size']);

  clock.advance(5000);
  const renamed = await call(app, 'PATCH', `/groups/${editors.id}`, { name: 'Writers', description: null });
  expect(renamed, 200, { ...editors, name: 'Writers', description: null, updated_at: new Date(clock.now()).toISOString() });
  const writers = json<Group>(renamed);
  expect(await call(app, 'PATCH', `/groups/${editors.id}`, { name: 'Bare', description: 'x' }), 409, { detail: 'Group Bare already exists.' });
  expect(await call(app, 'PATCH', `/groups/${editors.id}`, { description: 'x', roles: ['NOPE'] }), 400, { detail: 'Role NOPE does not exist.' });
  expectProblem(await call(app, 'PATCH', `/groups/${editors.id}`, { name: '\u0007', description: 'x' }), ['body', 'name']);
  expectProblem(await call(app, 'PATCH', `/groups/${editors.id}`, { name: null }), ['body', 'name']);
  assert.deepEqual(await groupOf(app, editors.id), writers, 'refused updates changed nothing');
  expect(await call(app, 'PATCH', `/groups/${missing}`, { name: 'Ghost' }), 404, { detail: `Group ${missing} not found.` });
  expect(await call(app, 'GET', `/groups/${missing}`), 404, { detail: `Group ${missing} not found.` });

  const deleted = await call(app, 'DELETE', `/groups/${bare.id}`);
  expect(deleted, 204);
  assert.equal(deleted.body, '');
  expect(await call(app, 'DELETE', `/groups/${bare.id}`), 404, { detail: `Group ${bare.id} not found.` });
  expect(await call(app, 'GET', `/groups/${bare.id}`), 404, { detail: `Group ${bare.id} not found.` });
  assert.deepEqual(await list(), { items: [writers], next_cursor: null });
  await createGroup(app, { name: 'Bare' }); // a deleted group's name is free again
});

test('members: bulk and idempotent adds, all-or-nothing on an unknown user, stable paging, removal', async () => {
  const { app } = await testApp();
  const group = await createGroup(app, { name: 'Team', roles: ['TASK-ADMIN'] });
  const other = await createGroup(app, { name: 'Alpha' });
  const users = [];
  for (let i = 0; i < 6; i++) users.push(await createUser(app));
  const ids = users.map((u) => u.id);
  const add = (userIds: string[], groupId = group.id) => call(app, 'POST', `/groups/${groupId}/members`, { user_ids: userIds });

  expect(await add(ids.slice(0, 3)), 200, { ...(await groupOf(app, group.id)), member_count: 3 });
  assert.equal(json(await add([ids[0]!, ids[1]!, ids[1]!])).member_count, 3, 'adding members again adds nothing');
  assert.equal(json(await add([ids[3]!, ids[3]!])).member_count, 4, 'a duplicate in one request counts once');
  expect(await add([ids[4]!, missing]), 404, { detail: `User ${missing} not found.` });
  assert.equal((await groupOf(app, group.id)).member_count, 4, 'nobody was added');
  assert.deepEqual(json(await call(app, 'GET', `/users/${ids[4]}`)).groups, []);
  expect(await add([ids[4]!]), 200);
  expect(await add([ids[0]!], missing), 404, { detail: `Group ${missing} not found.` });
  expectProblem(await add([]), ['body', 'user_ids']);
  expectProblem(await call(app, 'POST', `/groups/${group.id}/members`, { user_ids: 'x' }), ['body', 'user_ids']);

  // Five members, two a page: the same pages every time, in creation (id) order, next_cursor null at the end.
  const page = async (cursor?: string) => {
    const res = await call(app, 'GET', `/groups/${group.id}/members?page_size=2${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res, 200);
    return json<{ items: { id: string }[]; next_cursor: string | null }>(res);
  };
  const walk = async () => {
    const pages = [];
    let cursor: string | undefined;
    do {
      const p = await page(cursor);
      pages.push(p.items.map((u) => u.id));
      cursor = p.next_cursor ?? undefined;
    } while (cursor);
    return pages;
  };
  const pages = await walk();
  assert.deepEqual(pages, [ids.slice(0, 2), ids.slice(2, 4), [ids[4]]]);
  assert.deepEqual(await walk(), pages, 'stable');
  const view = (await page()).items[0]!;
  assert.deepEqual(view, json(await call(app, 'GET', `/users/${ids[0]}`)), 'members are full user views');
  const groupCursor = json(await call(app, 'GET', '/groups?page_size=1')).next_cursor;
  for (const cursor of ['not a cursor', '%%%', groupCursor]) expectProblem(await call(app, 'GET', `/groups/${group.id}/members?cursor=${encodeURIComponent(cursor)}`), ['query', 'cursor'], cursor);
  expect(await call(app, 'GET', `/groups/${missing}/members`), 404, { detail: `Group ${missing} not found.` });

  // GET /users/{id} lists the user's groups by name; a rename shows there.
  expect(await add([ids[0]!], other.id), 200);
  assert.deepEqual(json(await call(app, 'GET', `/users/${ids[0]}`)).groups, [{ id: other.id, name: 'Alpha' }, { id: group.id, name: 'Team' }]);
  expect(await call(app, 'PATCH', `/groups/${group.id}`, { name: 'Crew' }), 200);
  assert.deepEqual(json(await call(app, 'GET', `/users/${ids[0]}`)).groups, [{ id: other.id, name: 'Alpha' }, { id: group.id, name: 'Crew' }]);

  const removed = await call(app, 'DELETE', `/groups/${group.id}/members/${ids[0]}`);
  expect(removed, 204);
  assert.equal(removed.body, '');
  assert.equal((await groupOf(app, group.id)).member_count, 4);
  assert.deepEqual(json(await call(app, 'GET', `/users/${ids[0]}`)).groups, [{ id: other.id, name: 'Alpha' }]);
  expect(await call(app, 'DELETE', `/groups/${group.id}/members/${ids[5]}`), 204, undefined, 'removing a non-member');
  expect(await call(app, 'DELETE', `/groups/${missing}/members/${ids[1]}`), 404, { detail: `Group ${missing} not found.` });
  // Deleting a user takes them out of every group.
  expect(await call(app, 'DELETE', `/users/${ids[1]}`), 200);
  assert.equal((await groupOf(app, group.id)).member_count, 3);
  assert.deepEqual((await walk()).flat(), [ids[2], ids[3], ids[4]]);
});

test("a group's roles hold for its members on their next request, with the same token", async () => {
  const { app } = await testApp(NO_LIMIT);
  const user = await createUser(app, { roles: ['CHAT-USER'] });
  const { access_token } = await login(app, user.email);
  const auth = bearer(access_token);
  const canCreateTasks = () => call(app, 'GET', '/users/permissions/check?action=create&resource=tasks', undefined, auth);
  const roles = async () => json(await call(app, 'GET', '/users/me', undefined, auth)).roles;
  const DENIED = { detail: 'Forbidden', allowed: false, action: 'create', resource: 'tasks' };
  const ALLOWED = { allowed: true, action: 'create', resource: 'tasks', granted_by: ['TASK-ADMIN'] };
  expect(await canCreateTasks(), 403, DENIED);

  const group = await createGroup(app, { name: 'Taskers', roles: ['TASK-ADMIN'] });
  expect(await call(app, 'POST', `/groups/${group.id}/members`, { user_ids: [user.id] }), 200);
  expect(await canCreateTasks(), 200, ALLOWED, 'member of a TASK-ADMIN group');
  assert.deepEqual(await roles(), ['TASK-ADMIN', 'CHAT-USER']);
  assert.deepEqual(decodeJwt((await login(app, user.email)).access_token).realm_access, { roles: ['TASK-ADMIN', 'CHAT-USER'] });
  assert.deepEqual(json(await call(app, 'GET', `/users/${user.id}`)).roles.map((r: { name: string }) => r.name), ['CHAT-USER'], 'own roles stay own');

  expect(await call(app, 'PATCH', `/groups/${group.id}`, { roles: [] }), 200);
  expect(await canCreateTasks(), 403, DENIED, 'after the group lost the role');
  assert.deepEqual(await roles(), ['CHAT-USER']);
  expect(await call(app, 'PATCH', `/groups/${group.id}`, { roles: ['TASK-ADMIN'] }), 200);
  expect(await canCreateTasks(), 200, ALLOWED, 'after the group got it back');
  expect(await call(app, 'DELETE', `/groups/${group.id}/members/${user.id}`), 204);
  expect(await canCreateTasks(), 403, DENIED, 'after leaving the group');
  expect(await call(app, 'POST', `/groups/${group.id}/members`, { user_ids: [user.id] }), 200);
  expect(await canCreateTasks(), 200, ALLOWED, 'after joining again');
  expect(await call(app, 'DELETE', `/groups/${group.id}`), 204);
  expect(await canCreateTasks(), 403, DENIED, 'after the group was deleted');
  assert.deepEqual(await roles(), ['CHAT-USER']);
  // A group's ORG-ADMIN makes its members administrators, and only while they are members.
  const admins = await createGroup(app, { name: 'Admins', roles: ['ORG-ADMIN'] });
  expect(await call(app, 'GET', '/groups', undefined, auth), 403, { detail: 'Forbidden' });
  expect(await call(app, 'POST', `/groups/${admins.id}/members`, { user_ids: [user.id] }), 200);
  expect(await call(app, 'GET', '/groups', undefined, auth), 200);
  expect(await call(app, 'PATCH', `/groups/${admins.id}`, { roles: ['ORG-AUDITOR'] }), 200);
  expect(await call(app, 'POST', '/groups', { name: 'Mine' }, auth), 403, { detail: 'Forbidden' });
});

test('a group of 2,000 members changes roles in one PATCH, writing no member row', async () => {
  const { app, database } = await testApp(NO_LIMIT);
  const member = await createUser(app, { roles: [] });
  const { access_token } = await login(app, member.email);
  // The other 1,999 users go straight into the table: only the group's side of them is under test here.
  const hash = await testHasher.hash(GOOD_PASSWORD);
  const created = Date.now() - 60_000;
  const rows = Array.from({ length: 1999 }, (_, i) => ({
    id: `0190bulk-0000-7000-8000-${String(i).padStart(12, '0')}`, email: `bulk${i}@example.com`, first_name: 'Bulk', last_name: `No${i}`,
    search_text: `bulk${i}@example.com\nbulk\nno${i}`, password_hash: hash, password_temporary: 0, password_set_at: created, created_at: created, updated_at: created,
  }));
  for (let i = 0; i < rows.length; i += 400) await database.db.insertInto('users').values(rows.slice(i, i + 400)).execute();
  const group = await createGroup(app, { name: 'Everyone', roles: ['CHAT-USER'] });
  const ids = [member.id, ...rows.map((r) => r.id)];
  for (let i = 0; i < ids.length; i += 1000) expect(await call(app, 'POST', `/groups/${group.id}/members`, { user_ids: ids.slice(i, i + 1000) }), 200);
  assert.equal((await groupOf(app, group.id)).member_count, 2000);

  const userRows = () => database.db.selectFrom('users').select(['id', 'updated_at', 'token_version', 'enabled']).orderBy('id').execute();
  const sample = [member.id, rows[0]!.id, rows[999]!.id, rows[1998]!.id];
  const views = () => Promise.all(sample.map(async (id) => json(await call(app, 'GET', `/users/${id}`))));
  const [before, viewsBefore] = [await userRows(), await views()];
  const started = performance.now();
  const res = await call(app, 'PATCH', `/groups/${group.id}`, { roles: ['TASK-ADMIN', 'ORG-AUDITOR'] });
  const took = performance.now() - started;
  expect(res, 200);
  assert.deepEqual(json(res).roles, ['ORG-AUDITOR', 'TASK-ADMIN']);
  assert.deepEqual(await userRows(), before, 'no user row was written (updated_at, token_version)');
  assert.ok(took < 2000, `one PATCH of a 2,000-member group took ${Math.round(took)} ms`);
  assert.deepEqual(await views(), viewsBefore, 'a sample of members, updated_at included, reads the same');
  const check = await call(app, 'GET', '/users/permissions/check?action=create&resource=tasks', undefined, bearer(access_token));
  expect(check, 200, { allowed: true, action: 'create', resource: 'tasks', granted_by: ['TASK-ADMIN'] }, 'the member holds the new role at once');
  expect(await call(app, 'GET', '/users?page_size=1', undefined, bearer(access_token)), 200, undefined, 'ORG-AUDITOR through the group');
});

test('who may: auditors read groups and members but change nothing; CHAT-USER nothing; no credential 401', async () => {
  const { app } = await testApp();
  const user = await createUser(app);
  const { id } = await createGroup(app, { name: 'Readers', roles: ['CHAT-USER'] });
  const added = await call(app, 'POST', `/groups/${id}/members`, { user_ids: [user.id] });
  expect(added, 200);
  const group = json<Group>(added);
  const auditor = (await mintKey(app, ['ORG-AUDITOR'])).auth;
  const chat = (await mintKey(app, ['CHAT-USER'])).auth;
  const reads: [string, string][] = [['GET', '/groups'], ['GET', `/groups/${group.id}`], ['GET', `/groups/${group.id}/members`]];
  const writes: [string, string, unknown][] = [
    ['POST', '/groups', { name: 'Nope' }], ['POST', '/groups', { name: '' }], ['PATCH', `/groups/${group.id}`, { roles: ['ORG-ADMIN'] }],
    ['DELETE', `/groups/${group.id}`, undefined], ['POST', `/groups/${group.id}/members`, { user_ids: [user.id] }],
    ['POST', `/groups/${group.id}/members`, { user_ids: [] }], ['DELETE', `/groups/${group.id}/members/${user.id}`, undefined],
  ];
  for (const [method, url] of reads) {
    expect(await call(app, method as 'GET', url, undefined, auditor), 200, undefined, `auditor ${url}`);
    expect(await call(app, method as 'GET', url, undefined, chat), 403, { detail: 'Forbidden' }, `chat ${url}`);
    expect(await call(app, method as 'GET', url, undefined, {}), 401, { detail: 'Requires authentication' }, `nobody ${url}`);
  }
  for (const [method, url, body] of writes) {
    for (const [who, headers] of [['auditor', auditor], ['chat', chat]] as const) {
      expect(await call(app, method as 'POST', url, body, headers), 403, { detail: 'Forbidden' }, `${who} ${method} ${url} ${JSON.stringify(body)}`);
    }
    expect(await call(app, method as 'POST', url, body, {}), 401, { detail: 'Requires authentication' }, `nobody ${method} ${url}`);
  }
  assert.deepEqual(json(await call(app, 'GET', '/groups')), { items: [group], next_cursor: null }, 'nothing changed');
});
