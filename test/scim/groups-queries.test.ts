import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ADMIN } from '../helpers/app.ts';
import { assertScimError, GROUP_SCHEMA, groupsApp, LIST_RESPONSE, type GroupsApp } from './groups-helpers.ts';

// Listing and searching Groups (RFC 7644 §3.4.2, §3.4.3): filters over displayName (case-insensitive), externalId,
// id, members and meta; sorting; 1-based paging with count=0 giving only the total; projections; SCIM errors for
// what cannot be answered. Five groups, made once:
//   Alpha (ext-a; members a, b)   beta (ext-b; member b)   Gamma (no externalId)   Delta Force (ext-d)   empty (ext-e)

// Opened at the top level, so the app closes after the file rather than after the first hook.
const g: GroupsApp = await groupsApp();
const ids: Record<string, string> = {};
let users: { id: string; email: string }[] = [];

before(async () => {
  users = await g.users(3);
  const make = async (displayName: string, extra: Record<string, unknown> = {}) => {
    const res = await g.req('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName, ...extra });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    ids[displayName] = res.body.id;
  };
  await make('Alpha', { externalId: 'ext-a', members: [{ value: users[0]!.id }, { value: users[1]!.id }] });
  await make('beta', { externalId: 'ext-b', members: [{ value: users[1]!.id }] });
  await make('Gamma');
  await make('Delta Force', { externalId: 'ext-d' });
  await make('empty', { externalId: 'ext-e' });
});

const names = (body: { Resources: { id: string }[] }) => body.Resources.map((r) => Object.entries(ids).find(([, id]) => id === r.id)?.[0]);

async function list(query: string) {
  const res = await g.req('GET', `/Groups${query ? `?${query}` : ''}`);
  assert.equal(res.status, 200, `${query}: ${JSON.stringify(res.body)}`);
  assert.match(String(res.headers['content-type']), /^application\/scim\+json/);
  assert.deepEqual(res.body.schemas, [LIST_RESPONSE]);
  return res.body;
}

const filtered = async (filter: string, extra = '') => names(await list(`filter=${encodeURIComponent(filter)}${extra}`));

test('a list: every group in creation order, with totalResults, startIndex and itemsPerPage', async () => {
  const body = await list('');
  assert.deepEqual(names(body), ['Alpha', 'beta', 'Gamma', 'Delta Force', 'empty']);
  assert.deepEqual([body.totalResults, body.startIndex, body.itemsPerPage], [5, 1, 5]);
  const alpha = body.Resources[0];
  assert.deepEqual(alpha.members.map((m: { value: string }) => m.value).sort(), [users[0]!.id, users[1]!.id].sort());
  assert.equal(alpha.meta.location.endsWith(`/scim/v2/Groups/${ids.Alpha}`), true);
});

test('filters: displayName case-insensitively, externalId and id exactly, the operators, and, or, not, parentheses', async () => {
  assert.deepEqual(await filtered('displayName eq "alpha"'), ['Alpha']);
  assert.deepEqual(await filtered('DISPLAYNAME eq "BETA"'), ['beta'], 'attribute names and displayName values in any case');
  assert.deepEqual(await filtered(`${GROUP_SCHEMA}:displayName eq "Gamma"`), ['Gamma']);
  assert.deepEqual(await filtered('displayName eq "nobody"'), []);
  assert.deepEqual(await filtered('externalId eq "ext-a"'), ['Alpha']);
  assert.deepEqual(await filtered('externalId eq "EXT-A"'), [], 'externalId is case-exact');
  assert.deepEqual(await filtered(`id eq "${ids.Gamma}"`), ['Gamma']);
  assert.deepEqual(await filtered('displayName co "ta"'), ['beta', 'Delta Force']);
  assert.deepEqual(await filtered('displayName sw "DEL"'), ['Delta Force']);
  assert.deepEqual(await filtered('displayName ew "A"'), ['Alpha', 'beta', 'Gamma']);
  assert.deepEqual(await filtered('displayName gt "d"'), ['Gamma', 'Delta Force', 'empty']);
  assert.deepEqual(await filtered('displayName le "beta"'), ['Alpha', 'beta']);
  assert.deepEqual(await filtered('externalId pr'), ['Alpha', 'beta', 'Delta Force', 'empty']);
  assert.deepEqual(await filtered('not (externalId pr)'), ['Gamma']);
  assert.deepEqual(await filtered('externalId ne "ext-a"'), ['beta', 'Gamma', 'Delta Force', 'empty'], 'an absent externalId is not equal');
  assert.deepEqual(await filtered('externalId sw "ext-" and not (displayName eq "beta")'), ['Alpha', 'Delta Force', 'empty']);
  assert.deepEqual(await filtered('displayName eq "Gamma" or (externalId eq "ext-b" and displayName co "e")'), ['beta', 'Gamma']);
  assert.deepEqual(await filtered('meta.resourceType eq "Group"'), ['Alpha', 'beta', 'Gamma', 'Delta Force', 'empty']);
  const created = (await g.req('GET', `/Groups/${ids.Gamma}`)).body.meta.created as string;
  assert.deepEqual(await filtered(`meta.created lt "${created}"`), ['Alpha', 'beta']);
  assert.deepEqual(await filtered(`meta.lastModified ge "${created}"`), ['Gamma', 'Delta Force', 'empty']);
});

test('filters on members: a member by value (Entra ID), members[value eq], and presence', async () => {
  const [a, b, c] = users;
  assert.deepEqual(await filtered(`members[value eq "${b!.id}"]`), ['Alpha', 'beta']);
  assert.deepEqual(await filtered(`members eq "${a!.id}"`), ['Alpha']);
  assert.deepEqual(await filtered(`members.value eq "${c!.id}"`), []);
  assert.deepEqual(await filtered(`id eq "${ids.beta}" and members[value eq "${a!.id}"]`), [], 'is a a member of beta? no');
  assert.deepEqual(await filtered(`id eq "${ids.Alpha}" and members[value eq "${a!.id}"]`, '&excludedAttributes=members'), ['Alpha']);
  assert.deepEqual(await filtered('members pr'), ['Alpha', 'beta']);
  assert.deepEqual(await filtered('not (members pr)'), ['Gamma', 'Delta Force', 'empty']);
  assert.deepEqual(await filtered(`members[type eq "User" and value eq "${a!.id}"]`), ['Alpha']);
});

test('sortBy and sortOrder; absent values last when ascending', async () => {
  assert.deepEqual(names(await list('sortBy=displayName')), ['Alpha', 'beta', 'Delta Force', 'empty', 'Gamma'], 'case-insensitive order');
  assert.deepEqual(names(await list('sortBy=displayName&sortOrder=descending')), ['Gamma', 'empty', 'Delta Force', 'beta', 'Alpha']);
  assert.deepEqual(names(await list('sortBy=externalId')), ['Alpha', 'beta', 'Delta Force', 'empty', 'Gamma']);
  assert.deepEqual(names(await list('sortBy=externalId&sortOrder=descending')), ['Gamma', 'empty', 'Delta Force', 'beta', 'Alpha']);
  assert.deepEqual(names(await list('sortBy=meta.created&sortOrder=descending')), ['empty', 'Delta Force', 'Gamma', 'beta', 'Alpha']);
  assertScimError(await g.req('GET', '/Groups?sortBy=members'), 400, 'invalidValue');
  assertScimError(await g.req('GET', '/Groups?sortBy=displayName&sortOrder=sideways'), 400, 'invalidValue');
});

test('paging: startIndex is 1-based, count bounds the page, count=0 gives only the total', async () => {
  const page = await list('startIndex=2&count=2');
  assert.deepEqual(names(page), ['beta', 'Gamma']);
  assert.deepEqual([page.totalResults, page.startIndex, page.itemsPerPage], [5, 2, 2]);
  const last = await list('startIndex=5&count=2');
  assert.deepEqual(names(last), ['empty']);
  const beyond = await list('startIndex=9');
  assert.deepEqual([beyond.totalResults, beyond.itemsPerPage, beyond.Resources], [5, 0, []]);
  const total = await list('count=0');
  assert.deepEqual([total.totalResults, total.itemsPerPage, total.Resources], [5, 0, []]);
  const filteredTotal = await list(`count=0&filter=${encodeURIComponent('externalId pr')}`);
  assert.equal(filteredTotal.totalResults, 4);
  const below = await list('startIndex=0&count=1');
  assert.deepEqual([below.startIndex, names(below)], [1, ['Alpha']], 'startIndex below 1 is 1');
  assertScimError(await g.req('GET', '/Groups?count=many'), 400, 'invalidValue');
});

test('projections apply to every listed group; excludedAttributes=members leaves the members out', async () => {
  const lean = await list('excludedAttributes=members');
  for (const r of lean.Resources) assert.deepEqual(Object.keys(r).sort(), ['displayName', 'id', 'meta', 'schemas'].concat(r.externalId ? ['externalId'] : []).sort());
  const namesOnly = await list(`attributes=displayName&filter=${encodeURIComponent('displayName eq "Alpha"')}`);
  assert.deepEqual(namesOnly.Resources, [{ schemas: [GROUP_SCHEMA], id: ids.Alpha, displayName: 'Alpha' }]);
});

test('POST /Groups/.search takes the same query as a SearchRequest body', async () => {
  const res = await g.req('POST', '/Groups/.search', {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
    filter: 'externalId sw "ext-"',
    sortBy: 'displayName',
    sortOrder: 'descending',
    startIndex: 1,
    count: 3,
    excludedAttributes: ['members'],
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual(names(res.body), ['empty', 'Delta Force', 'beta']);
  assert.equal(res.body.totalResults, 4);
  assert.equal(res.body.Resources[2].members, undefined);
  assertScimError(await g.req('POST', '/Groups/.search', { schemas: ['urn:nope'], filter: 'displayName pr' }), 400, 'invalidSyntax');
  assertScimError(await g.req('POST', '/Groups/.search', { filter: 'userName eq "x"' }), 400, 'invalidFilter');

  // The root search (RFC 7644 §3.4.3) finds groups as well.
  const root = await g.req('POST', '/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'displayName eq "beta"' });
  assert.equal(root.status, 200, JSON.stringify(root.body));
  assert.ok(root.body.Resources.some((r: { id: string }) => r.id === ids.beta));
});

test('filters that cannot be answered are 400 invalidFilter, never a 500', async () => {
  const bad = [
    'displayName eq',
    'displayName xx "a"',
    '(displayName eq "a"',
    'userName eq "a"',
    'description eq "x"',
    'displayName eq 5',
    'externalId gt true',
    'meta.created gt "yesterday"',
    'members[display eq "x"]',
    'members[value eq "x"',
    'displayName eq "a" and',
    '"Alpha"',
    'x'.repeat(5000),
    Array.from({ length: 60 }, (_, i) => `displayName eq "${i}"`).join(' or '),
    '(((((((((((((((((((((((((((((((((((displayName eq "a")))))))))))))))))))))))))))))))))',
  ];
  for (const f of bad) assertScimError(await g.req('GET', `/Groups?filter=${encodeURIComponent(f)}`), 400, 'invalidFilter', f.slice(0, 60));
  // Quotes and wildcards in values are data, not syntax.
  assert.deepEqual(await filtered('displayName co "%"'), []);
  assert.deepEqual(await filtered('displayName sw "_"'), []);
  assert.deepEqual(await filtered('displayName eq "a\\"b"'), []);
  const rest = await g.t.app.inject({ method: 'GET', url: '/groups', headers: ADMIN });
  assert.equal(JSON.parse(rest.body).items.length, 5, 'nothing was changed by the queries');
});
