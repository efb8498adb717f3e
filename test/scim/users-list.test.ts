import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ADMIN, json, mintKey, testApp } from '../helpers/app.ts';

// Listing and searching Users (RFC 7644 §3.4.2–3.4.3): filters become SQL, userName compared case-insensitively,
// sorting, 1-based paging with count=0 answering only the total, attributes/excludedAttributes, POST /.search.

const { app } = await testApp();
const { auth } = await mintKey(app, ['SCIM-PROVISIONER']);
const SCIM = { ...auth, 'content-type': 'application/scim+json' };
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

// A directory of its own (a domain no other test uses), so every expectation is exact.
const D = `list${Date.now().toString(36)}.example.org`;
const people = [
  { userName: `alice@${D}`, name: { givenName: 'Alice', familyName: 'Zephyr' }, externalId: 'ext-alice', active: true },
  { userName: `bob@${D}`, name: { givenName: 'Bob', familyName: 'Young' }, externalId: 'ext-bob', active: false },
  { userName: `carol@${D}`, name: { givenName: 'Carol', familyName: 'Xu' }, active: true },
  { userName: `dave@${D}`, name: { givenName: 'Dave' }, externalId: 'EXT-DAVE', active: true },
  { userName: `eve.o'hara@${D}`, active: true },
];
const ids: Record<string, string> = {};
for (const p of people) {
  const res = await app.inject({ method: 'POST', url: '/scim/v2/Users', headers: SCIM, payload: JSON.stringify({ schemas: [USER], ...p }) });
  assert.equal(res.statusCode, 201, res.body);
  ids[p.userName.split(/[@.]/)[0]!] = json(res).id;
}
const group = json(await app.inject({ method: 'POST', url: '/groups', headers: ADMIN, payload: { name: `Engineers ${D}` } }));
assert.equal((await app.inject({ method: 'POST', url: `/groups/${group.id}/members`, headers: ADMIN, payload: { user_ids: [ids.alice, ids.carol] } })).statusCode < 300, true);

const list = (query: string) => app.inject({ method: 'GET', url: `/scim/v2/Users?${query}`, headers: auth });
const filtered = (filter: string, more = '') => list(`filter=${encodeURIComponent(filter)}${more}`);

function names(res: LightMyRequestResponse): string[] {
  assert.equal(res.statusCode, 200, res.body);
  const body = json(res);
  assert.deepEqual(body.schemas, [LIST]);
  return body.Resources.map((r: { userName: string }) => r.userName.split(/[@.]/)[0]);
}

/** Users of this test's directory that match, in creation order. */
const within = (filter: string) => filtered(`userName ew "@${D}" and (${filter})`);

test('userName eq is case-insensitive and exact; the ListResponse shape', async () => {
  const res = await filtered(`userName eq "ALICE@${D.toUpperCase()}"`);
  assert.deepEqual(names(res), ['alice']);
  const body = json(res);
  assert.deepEqual(Object.keys(body).sort(), ['Resources', 'itemsPerPage', 'schemas', 'startIndex', 'totalResults']);
  assert.equal(body.totalResults, 1);
  assert.equal(body.startIndex, 1);
  assert.equal(body.itemsPerPage, 1);
  assert.equal(body.Resources[0].id, ids.alice);
  assert.deepEqual(names(await filtered(`userName eq "nobody@${D}"`)), []);
  assert.equal(json(await filtered(`userName eq "nobody@${D}"`)).totalResults, 0);
});

test('every operator and the logical ones', async () => {
  assert.deepEqual(names(await within('userName sw "CA"')), ['carol']);
  assert.deepEqual(names(await within('userName co "VE"')), ['dave', 'eve']);
  assert.deepEqual(names(await within('userName co "ob@"')), ['bob']);
  assert.deepEqual(names(await within('userName co "\'"')), ['eve'], 'quotes are data, not syntax');
  assert.deepEqual(names(await within('userName ne "alice@' + D + '"')), ['bob', 'carol', 'dave', 'eve']);
  assert.deepEqual(names(await within('userName gt "carol@"')), ['carol', 'dave', 'eve']);
  assert.deepEqual(names(await within('userName le "bob@' + D + '"')), ['alice', 'bob']);
  assert.deepEqual(names(await within('name.givenName eq "alice"')), ['alice'], 'name parts compare case-insensitively');
  assert.deepEqual(names(await within('name.familyName pr')), ['alice', 'bob', 'carol']);
  assert.deepEqual(names(await within('not (name.familyName pr)')), ['dave', 'eve']);
  assert.deepEqual(names(await within('externalId eq "ext-bob"')), ['bob']);
  assert.deepEqual(names(await within('externalId eq "ext-dave"')), [], 'externalId is case-exact');
  assert.deepEqual(names(await within('externalId ne "ext-bob"')), ['alice', 'carol', 'dave', 'eve'], 'ne finds users without one too');
  assert.deepEqual(names(await within('not (externalId eq "ext-bob")')), ['alice', 'carol', 'dave', 'eve']);
  assert.deepEqual(names(await within('active eq false')), ['bob']);
  assert.deepEqual(names(await within('active eq "True" and name.givenName sw "c" or userName eq "dave@' + D + '"')), ['carol', 'dave']);
  assert.deepEqual(names(await within('meta.created gt "2000-01-01T00:00:00Z" and meta.lastModified lt "2999-01-01T00:00:00Z"')), ['alice', 'bob', 'carol', 'dave', 'eve']);
  assert.deepEqual(names(await within('meta.created lt "2000-01-01T00:00:00Z"')), []);
  assert.deepEqual(names(await within(`id eq "${ids.dave}"`)), ['dave']);
});

test('value paths and groups', async () => {
  assert.deepEqual(names(await within('emails[type eq "work" and value sw "b"]')), ['bob']);
  assert.deepEqual(names(await within('emails[type eq "home"]')), []);
  assert.deepEqual(names(await within('emails co "eve"')), ['eve']);
  assert.deepEqual(names(await within('emails[type eq "work"].value eq "carol@' + D + '"')), ['carol']);
  assert.deepEqual(names(await within(`groups[value eq "${group.id}"]`)), ['alice', 'carol']);
  assert.deepEqual(names(await within(`groups.value eq "${group.id}"`)), ['alice', 'carol']);
  assert.deepEqual(names(await within(`groups.display eq "engineers ${D}"`)), ['alice', 'carol']);
  assert.deepEqual(names(await within('groups pr')), ['alice', 'carol']);
  assert.deepEqual(names(await within('not (groups pr)')), ['bob', 'dave', 'eve']);
  const alice = json(await filtered(`userName eq "alice@${D}"`)).Resources[0];
  assert.deepEqual(alice.groups, [{ value: group.id, $ref: `http://localhost:80/scim/v2/Groups/${group.id}`, display: `Engineers ${D}`, type: 'direct' }]);
});

test('sortBy and sortOrder', async () => {
  const mine = `filter=${encodeURIComponent(`userName ew "@${D}"`)}`;
  assert.deepEqual(names(await list(`${mine}&sortBy=userName&sortOrder=descending`)), ['eve', 'dave', 'carol', 'bob', 'alice']);
  assert.deepEqual(names(await list(`${mine}&sortBy=name.familyName`)), ['carol', 'bob', 'alice', 'dave', 'eve'], 'users without one last');
  assert.deepEqual(names(await list(`${mine}&sortBy=urn:ietf:params:scim:schemas:core:2.0:User:name.givenName&sortOrder=DESCENDING`)), ['dave', 'carol', 'bob', 'alice', 'eve']);
  assert.deepEqual(names(await list(`${mine}&sortBy=meta.created`)), ['alice', 'bob', 'carol', 'dave', 'eve']);
  for (const bad of ['sortBy=password', 'sortBy=nope', 'sortOrder=sideways']) {
    const res = await list(`${mine}&${bad}`);
    assert.equal(res.statusCode, 400, `${bad}: ${res.body}`);
    assert.equal(json(res).scimType, 'invalidValue');
    assert.equal(json(res).status, '400');
  }
});

test('paging: 1-based startIndex, count, count=0 gives only the total, out-of-range values clamp', async () => {
  const mine = `filter=${encodeURIComponent(`userName ew "@${D}"`)}&sortBy=userName`;
  let body = json(await list(`${mine}&startIndex=2&count=2`));
  assert.deepEqual([body.totalResults, body.startIndex, body.itemsPerPage], [5, 2, 2]);
  assert.deepEqual(body.Resources.map((r: { id: string }) => r.id), [ids.bob, ids.carol]);
  body = json(await list(`${mine}&count=0`));
  assert.deepEqual([body.totalResults, body.itemsPerPage, body.Resources], [5, 0, []]);
  body = json(await list(`${mine}&startIndex=5&count=10`));
  assert.deepEqual([body.totalResults, body.startIndex, body.itemsPerPage], [5, 5, 1]);
  body = json(await list(`${mine}&startIndex=9`));
  assert.deepEqual([body.totalResults, body.itemsPerPage, body.Resources], [5, 0, []]);
  body = json(await list(`${mine}&startIndex=0&count=-3`));
  assert.deepEqual([body.totalResults, body.startIndex, body.itemsPerPage], [5, 1, 0], 'startIndex < 1 is 1, a negative count is 0');
  body = json(await list(`${mine}&STARTINDEX=3&Count=1`));
  assert.deepEqual([body.startIndex, body.itemsPerPage], [3, 1], 'parameter names are case-insensitive');
  for (const bad of ['startIndex=one', 'count=1.5', 'count=99999999999999999999']) {
    const res = await list(`${mine}&${bad}`);
    assert.equal(res.statusCode, 400, `${bad}: ${res.body}`);
    assert.equal(json(res).scimType, 'invalidValue');
  }
});

test('attributes and excludedAttributes on lists', async () => {
  const f = `filter=${encodeURIComponent(`userName eq "alice@${D}"`)}`;
  assert.deepEqual(json(await list(`${f}&attributes=userName,externalId`)).Resources, [{ schemas: [USER], id: ids.alice, userName: `alice@${D}`, externalId: 'ext-alice' }]);
  const less = json(await list(`${f}&excludedAttributes=groups,meta,emails,name`)).Resources[0];
  assert.deepEqual(Object.keys(less).sort(), ['active', 'externalId', 'id', 'schemas', 'userName']);
  const res = await list(`${f}&attributes=userName&excludedAttributes=name`);
  assert.equal(res.statusCode, 400);
});

test('malformed or untranslatable filters are 400 invalidFilter, never a 500', async () => {
  for (const f of ['userName eq', 'userName eq "a" and', 'title eq "x"', 'password eq "x"', 'active gt true', '((((', 'userName eq "a"))', 'emails[type eq "work"', 'meta.created gt "soon"']) {
    const res = await filtered(f);
    assert.equal(res.statusCode, 400, `${f}: ${res.body}`);
    const body = json(res);
    assert.deepEqual([body.status, body.scimType], ['400', 'invalidFilter'], f);
    assert.match(String(res.headers['content-type']), /^application\/scim\+json/);
  }
});

test('POST /Users/.search and POST /.search take a SearchRequest', async () => {
  const payload = JSON.stringify({ schemas: [SEARCH], filter: `userName ew "@${D}"`, sortBy: 'userName', sortOrder: 'descending', startIndex: 1, count: 2, attributes: ['userName'] });
  const res = await app.inject({ method: 'POST', url: '/scim/v2/Users/.search', headers: SCIM, payload });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(json(res).Resources, [
    { schemas: [USER], id: ids.eve, userName: `eve.o'hara@${D}` },
    { schemas: [USER], id: ids.dave, userName: `dave@${D}` },
  ]);
  assert.equal(json(res).totalResults, 5);

  const root = await app.inject({ method: 'POST', url: '/scim/v2/.search', headers: SCIM, payload: JSON.stringify({ schemas: [SEARCH], filter: `userName eq "bob@${D}"` }) });
  assert.equal(root.statusCode, 200, root.body);
  assert.deepEqual(json(root).Resources.map((r: { id: string }) => r.id), [ids.bob]);

  const bad = await app.inject({ method: 'POST', url: '/scim/v2/Users/.search', headers: SCIM, payload: JSON.stringify({ schemas: [SEARCH], filter: 'userName eq' }) });
  assert.equal(bad.statusCode, 400);
  assert.equal(json(bad).scimType, 'invalidFilter');
  const notSearch = await app.inject({ method: 'POST', url: '/scim/v2/Users/.search', headers: SCIM, payload: JSON.stringify({ schemas: [USER] }) });
  assert.equal(notSearch.statusCode, 400);
  assert.equal(json(notSearch).scimType, 'invalidSyntax');
});
