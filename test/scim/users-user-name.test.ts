import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ADMIN, GOOD_PASSWORD, json, mintKey, testApp } from '../helpers/app.ts';

// A userName that is not the email: providers that provision `jdoe` or an employee number send the address in
// `emails`. Gatehouse keeps the userName beside the email, unique among userNames and emails alike, and the rest of
// the API (and sign-in) keeps using the email.

const { app } = await testApp();
const { auth } = await mintKey(app, ['SCIM-PROVISIONER']);
const SCIM = { ...auth, 'content-type': 'application/scim+json' };
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let n = 0;
const tag = () => `${Date.now().toString(36)}${++n}`;
const address = (p: string) => `${p}.${tag()}@example.org`;

const create = (body: Record<string, unknown>) => app.inject({ method: 'POST', url: '/scim/v2/Users', headers: SCIM, payload: JSON.stringify({ schemas: [USER], ...body }) });
const patch = (id: string, operations: unknown[]) =>
  app.inject({ method: 'PATCH', url: `/scim/v2/Users/${id}`, headers: SCIM, payload: JSON.stringify({ schemas: [PATCH], Operations: operations }) });
const find = async (filter: string) => json(await app.inject({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(filter)}`, headers: auth }));

function status(res: LightMyRequestResponse, code: number, scimType?: string) {
  assert.equal(res.statusCode, code, res.body);
  if (scimType) assert.equal(json(res).scimType, scimType, res.body);
  return json(res);
}

test('a userName apart from the email: kept as given (lower-cased), the address in emails, found by either', async () => {
  const name = `JDoe-${tag()}`;
  const email = address('jane');
  const u = status(await create({ userName: name, emails: [{ value: email, type: 'work', primary: true }], name: { givenName: 'Jane', familyName: 'Doe' } }), 201);
  assert.equal(u.userName, name.toLowerCase());
  assert.deepEqual(u.emails, [{ value: email, type: 'work', primary: true }]);

  const byName = await find(`userName eq "${name.toUpperCase()}"`);
  assert.deepEqual(byName.Resources.map((r: { id: string }) => r.id), [u.id]);
  const byEmail = await find(`emails.value eq "${email}"`);
  assert.deepEqual(byEmail.Resources.map((r: { id: string }) => r.id), [u.id]);
  assert.equal((await find(`userName eq "${email}"`)).totalResults, 0, 'the userName is not the email');

  // The rest of the API knows the user by their email.
  const rest = json(await app.inject({ method: 'GET', url: `/users/${u.id}`, headers: ADMIN }));
  assert.equal(rest.email, email);
});

test('the address Gatehouse keeps of several: primary, else work, else the first', async () => {
  const primary = address('primary');
  let u = status(await create({ userName: `multi-${tag()}`, emails: [{ value: address('home'), type: 'home' }, { value: primary, type: 'other', primary: 'True' }] }), 201);
  assert.equal(u.emails[0].value, primary);
  const work = address('work');
  u = status(await create({ userName: `multi-${tag()}`, emails: [{ value: address('home'), type: 'home' }, { value: work, type: 'work' }] }), 201);
  assert.equal(u.emails[0].value, work);
  // The userName is the address sent in emails too: one value, as for every user the API makes.
  const same = address('same');
  u = status(await create({ userName: same.toUpperCase(), emails: [{ value: same, type: 'work', primary: true }] }), 201);
  assert.equal(u.userName, same);
});

test('a userName that is no address needs one in emails: 400 invalidValue, nothing made', async () => {
  const name = `lonely-${tag()}`;
  status(await create({ userName: name }), 400, 'invalidValue');
  status(await create({ userName: name, emails: [] }), 400, 'invalidValue');
  assert.equal((await find(`userName eq "${name}"`)).totalResults, 0);
});

test('unique among userNames and emails alike: 409 uniqueness either way, nothing changed', async () => {
  const a = status(await create({ userName: address('a') }), 201);
  const bName = `b-${tag()}`;
  const b = status(await create({ userName: bName, emails: [{ value: address('b'), primary: true }] }), 201);
  // Another user's userName may not be someone's email, or someone's userName...
  status(await create({ userName: a.userName, emails: [{ value: address('c'), primary: true }] }), 409, 'uniqueness');
  status(await create({ userName: bName.toUpperCase(), emails: [{ value: address('d'), primary: true }] }), 409, 'uniqueness');
  // ...and an email may not be someone's separate userName, even through the REST API.
  const taken = address('taken');
  const c = status(await create({ userName: taken, emails: [{ value: address('c2'), primary: true }] }), 201);
  assert.equal(c.userName, taken);
  const rest = await app.inject({ method: 'POST', url: '/users', headers: ADMIN, payload: { email: taken, firstName: 'Taken', lastName: 'Twice', roles: [], password: GOOD_PASSWORD, temporary: true } });
  assert.equal(rest.statusCode, 409, rest.body);
  status(await patch(b.id, [{ op: 'replace', path: 'userName', value: a.userName }]), 409, 'uniqueness');
  assert.equal(json(await app.inject({ method: 'GET', url: `/scim/v2/Users/${b.id}`, headers: auth })).userName, bName.toLowerCase());
});

test('PATCH: while one value, changing either carries the other; once apart, each keeps its own', async () => {
  const first = address('first');
  const u = status(await create({ userName: first }), 201);
  // The userName becomes a login name: the email stays.
  let body = status(await patch(u.id, [{ op: 'replace', path: 'userName', value: `First-${tag()}` }]), 200);
  assert.equal(body.emails[0].value, first);
  assert.notEqual(body.userName, first);
  // Apart: a new work address changes only the email.
  const moved = address('moved');
  const userName = body.userName;
  body = status(await patch(u.id, [{ op: 'replace', path: 'emails[type eq "work"].value', value: moved }]), 200);
  assert.deepEqual([body.userName, body.emails[0].value], [userName, moved]);
  // The userName set back to the address: one value again, and the next email change moves both.
  body = status(await patch(u.id, [{ op: 'replace', path: 'userName', value: moved.toUpperCase() }]), 200);
  assert.equal(body.userName, moved);
  const last = address('last');
  body = status(await patch(u.id, [{ op: 'replace', path: 'emails[type eq "work"].value', value: last }]), 200);
  assert.deepEqual([body.userName, body.emails[0].value], [last, last]);
  // Removing the emails of a user whose userName is an address: the userName is the address.
  const apart = status(await create({ userName: address('un'), emails: [{ value: address('em'), primary: true }] }), 201);
  body = status(await patch(apart.id, [{ op: 'remove', path: 'emails' }]), 200);
  assert.deepEqual(body.emails, [{ value: apart.userName, type: 'work', primary: true }]);
});

test('PUT: a userName that is no address keeps the email when emails are not sent', async () => {
  const email = address('put');
  const u = status(await create({ userName: email, name: { givenName: 'Put' } }), 201);
  const name = `put-${tag()}`;
  const res = await app.inject({ method: 'PUT', url: `/scim/v2/Users/${u.id}`, headers: SCIM, payload: JSON.stringify({ schemas: [USER], userName: name }) });
  const body = status(res, 200);
  assert.deepEqual([body.userName, body.emails[0].value], [name, email]);
});

test('sign-in stays by email, and sortBy=userName orders by what SCIM shows', async () => {
  const email = address('signin');
  const u = status(await create({ userName: `zz-signin-${tag()}`, emails: [{ value: email, primary: true }], password: GOOD_PASSWORD }), 201);
  const grant = await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: email, password: GOOD_PASSWORD } });
  assert.equal(grant.statusCode, 200, grant.body);
  const page = json(await app.inject({ method: 'GET', url: '/scim/v2/Users?sortBy=userName&sortOrder=descending&count=1000', headers: auth }));
  const names: string[] = page.Resources.map((r: { userName: string }) => r.userName);
  assert.deepEqual(names, [...names].sort().reverse());
  assert.ok(names.includes(u.userName));
});
