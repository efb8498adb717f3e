import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { ADMIN, createUser, json, mintKey, testApp, USER_RESPONSE_KEYS } from '../helpers/app.ts';

// CONTRACT.md §4b: GET /users's optional role (direct or through a group), group and enabled filters, and
// GET /users/count, which counts what the same search would find. Without filters GET /users is the seed's.

type Query = Record<string, string>;
const qs = (q: Query) => new URLSearchParams(q).toString();

const { app } = await testApp();

async function search(query: Query, headers: Record<string, string> = ADMIN): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: `/users?${qs(query)}`, headers });
}

async function ids(query: Query): Promise<string[]> {
  const res = await search(query);
  assert.equal(res.statusCode, 200, `${qs(query)}: ${res.body}`);
  return json<{ id: string }[]>(res).map((u) => u.id);
}

async function count(query: Query, headers: Record<string, string> = ADMIN): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: `/users/count?${qs(query)}`, headers });
}

function expect(res: LightMyRequestResponse, status: number, body: unknown, what = '') {
  assert.equal(res.statusCode, status, `${what} ${res.statusCode} ${res.body}`);
  assert.deepEqual(json(res), body, what);
}

const patch = (url: string, payload: object) => app.inject({ method: 'PATCH', url, headers: ADMIN, payload });
async function group(name: string, roles: string[], members: string[]): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/groups', headers: ADMIN, payload: { name, roles } });
  assert.equal(res.statusCode, 201, res.body);
  const { id } = json(res);
  if (members.length > 0) {
    const added = await app.inject({ method: 'POST', url: `/groups/${id}/members`, headers: ADMIN, payload: { user_ids: members } });
    assert.equal(added.statusCode, 200, added.body);
  }
  return id;
}

// Six users, created in this order (so creation order is array order), with their roles, groups and state.
const specs = [
  { firstName: 'Ann', lastName: 'Filtered', roles: ['CHAT-USER'] },
  { firstName: 'Bob', lastName: 'Filtered', roles: ['TASK-ADMIN'] },
  { firstName: 'Cid', lastName: 'Filtered', roles: ['CHAT-USER'] },
  { firstName: 'Dee', lastName: 'Filtered', roles: ['VALIDATION-USER'] },
  { firstName: 'Eve', lastName: 'Outsider', roles: [] },
  { firstName: 'Fay', lastName: 'Filtered', roles: ['CHAT-USER', 'TASK-ADMIN'] },
];
const users: string[] = [];
for (const spec of specs) users.push((await createUser(app, { ...spec, email: `${spec.firstName.toLowerCase()}@filters.example` })).id);
const [a, b, c, d, e, f] = users as [string, string, string, string, string, string];
// Before any group or disabled user exists: what the seed's clients see.
const seedView = json(await search({ page_size: '5000' }));
const seedPages = [await ids({ page_size: '4' }), await ids({ page_size: '4', page: '1', sort: 'asc' })];
const taskers = await group('Taskers', ['TASK-ADMIN'], [d, f]); // f holds TASK-ADMIN both ways
const outsiders = await group('Outsiders', [], [e]);
for (const id of [c, f]) assert.equal((await patch(`/users/${id}`, { enabled: false })).statusCode, 200);

/** Every query below, with the users it must find in creation order. */
const CASES: [Query, string[]][] = [
  [{ role: 'TASK-ADMIN' }, [b, d, f]],
  [{ role: 'CHAT-USER' }, [a, c, f]],
  [{ role: 'VALIDATION-USER' }, [d]],
  [{ role: 'ORG-ADMIN' }, []],
  [{ group: taskers }, [d, f]],
  [{ group: outsiders }, [e]],
  [{ group: '01900000-0000-7000-8000-000000000000' }, []],
  [{ enabled: 'false' }, [c, f]],
  [{ enabled: 'true' }, [a, b, d, e]],
  [{ role: 'TASK-ADMIN', enabled: 'true' }, [b, d]],
  [{ role: 'TASK-ADMIN', group: taskers, enabled: 'false' }, [f]],
  [{ role: 'CHAT-USER', group: taskers }, [f]],
  [{ group: outsiders, role: 'TASK-ADMIN' }, []],
  [{ search_string: 'filtered', role: 'TASK-ADMIN' }, [b, d, f]],
  [{ search_string: 'FILTERS.EXAMPLE dee', role: 'TASK-ADMIN' }, [d]],
  [{ search_string: 'fi', role: 'CHAT-USER' }, [a, c, f]], // a short term: no trigram index
  [{ search_string: 'e', enabled: 'true' }, [a, b, d, e]],
  [{ search_string: 'outsider', group: outsiders }, [e]],
  [{ search_string: 'eve', group: taskers }, []],
  [{ search_string: 'filtered', enabled: 'false', group: taskers }, [f]],
];

test('each filter and combination finds exactly its users, in either order, and the count agrees', async () => {
  for (const [query, expected] of CASES) {
    const label = qs(query);
    assert.deepEqual(await ids({ ...query, sort: 'asc', page_size: '5000' }), expected, `asc ${label}`);
    assert.deepEqual(await ids({ ...query, page_size: '5000' }), [...expected].reverse(), `desc (the default) ${label}`);
    expect(await count(query), 200, { count: expected.length }, `count ${label}`);
  }
});

test('filters page like the plain search: page_size and page over the filtered list', async () => {
  const query = { role: 'TASK-ADMIN', sort: 'asc', page_size: '1' };
  assert.deepEqual(await ids({ ...query, page: '0' }), [b]);
  assert.deepEqual(await ids({ ...query, page: '1' }), [d]);
  assert.deepEqual(await ids({ ...query, page: '2' }), [f]);
  assert.deepEqual(await ids({ ...query, page: '3' }), []);
  assert.deepEqual(await ids({ enabled: 'true', page_size: '3', page: '1' }), [a], 'desc: e, d, b | a');
  assert.deepEqual(await ids({ search_string: 'filtered', enabled: 'true', sort: 'asc', page_size: '2', page: '1' }), [d]);
  // The count ignores paging parameters it is not given: it is the length of the unpaged search.
  expect(await count({ role: 'CHAT-USER' }), 200, { count: (await ids({ role: 'CHAT-USER', page_size: '5000' })).length });
});

test("a role through a group follows the group's roles and members at once", async () => {
  const temp = await group('Temp', ['DEFAULT-RULE-ADMIN'], [a, e]);
  assert.deepEqual(await ids({ role: 'DEFAULT-RULE-ADMIN', sort: 'asc' }), [a, e]);
  assert.equal((await patch(`/groups/${temp}`, { roles: ['ORG-AUDITOR'] })).statusCode, 200);
  assert.deepEqual(await ids({ role: 'DEFAULT-RULE-ADMIN' }), []);
  assert.deepEqual(await ids({ role: 'ORG-AUDITOR', sort: 'asc' }), [a, e]);
  assert.equal((await app.inject({ method: 'DELETE', url: `/groups/${temp}/members/${a}`, headers: ADMIN })).statusCode, 204);
  assert.deepEqual(await ids({ role: 'ORG-AUDITOR' }), [e]);
  assert.equal((await app.inject({ method: 'DELETE', url: `/groups/${temp}`, headers: ADMIN })).statusCode, 204);
  assert.deepEqual(await ids({ role: 'ORG-AUDITOR' }), []);
  assert.deepEqual(await ids({ group: temp }), [], 'a deleted group has no members');
  expect(await count({ group: temp }), 200, { count: 0 });
});

test('an unknown role is 400, a non-boolean enabled 422, on both routes; nothing else is looked at first', async () => {
  for (const run of [search, count]) {
    expect(await run({ role: 'NOPE' }), 400, { detail: 'Role NOPE does not exist.' }, run.name);
    expect(await run({ role: 'ADMIN-KEY', enabled: 'true' }), 400, { detail: 'Role ADMIN-KEY does not exist.' }, run.name);
    expect(await run({ role: 'chat-user' }), 400, { detail: 'Role chat-user does not exist.' }, `${run.name}: role names are case-sensitive`);
    for (const enabled of ['notabool', 'yes!', '']) {
      const res = await run({ enabled });
      assert.equal(res.statusCode, 422, res.body);
      assert.deepEqual(json(res).detail.map((p: { loc: unknown; type: string }) => [p.loc, p.type]), [[['query', 'enabled'], 'bool_type']], res.body);
    }
    const tooLong = await run({ group: 'g'.repeat(101) });
    assert.equal(tooLong.statusCode, 422, tooLong.body);
    assert.deepEqual(json(tooLong).detail[0].loc, ['query', 'group']);
  }
  const terms = await count({ search_string: 'a b c d e f g h i j k' });
  assert.equal(terms.statusCode, 422, terms.body);
  assert.deepEqual(json(terms).detail[0].loc, ['query', 'search_string']);
});

test('who may count: readers only', async () => {
  expect(await count({}, (await mintKey(app, ['ORG-AUDITOR'])).auth), 200, { count: 6 });
  expect(await count({ role: 'NOPE' }, (await mintKey(app, ['CHAT-USER'])).auth), 403, { detail: 'Forbidden' }, 'authorization before validation');
  expect(await count({}, {}), 401, { detail: 'Requires authentication' });
  expect(await search({ role: 'TASK-ADMIN' }, (await mintKey(app, ['TASK-ADMIN'])).auth), 403, { detail: 'Forbidden' });
});

test("without filters GET /users is the seed's: everyone, disabled users and group members included", async () => {
  const now = json<Record<string, unknown>[]>(await search({ page_size: '5000' }));
  assert.deepEqual(now.map((u) => u.id), seedView.map((u: { id: string }) => u.id), 'same users, same order');
  for (const u of now) assert.deepEqual(Object.keys(u).sort(), USER_RESPONSE_KEYS);
  // The seed's five fields are exactly as they were; only the lifecycle additions moved.
  const seedFields = (u: Record<string, unknown>) => ({ id: u.id, email: u.email, first_name: u.first_name, last_name: u.last_name, roles: u.roles });
  assert.deepEqual(now.map(seedFields), seedView.map(seedFields));
  assert.deepEqual([await ids({ page_size: '4' }), await ids({ page_size: '4', page: '1', sort: 'asc' })], seedPages);
  assert.deepEqual(await ids({}), [...users].reverse().slice(0, 6));
  expect(await count({}), 200, { count: 6 });
  expect(await count({ search_string: 'filtered' }), 200, { count: 5 });
  expect(await count({ search_string: '  ' }), 200, { count: 6 });
});
