/**
 * RFC 7644 §4 (discovery: ServiceProviderConfig, ResourceTypes, Schemas), §2 / §3.12 (authentication and errors),
 * §3.1 / §8.1 (media types) — and the issue's rules: the Schemas advertise only what Gatehouse stores, the
 * SCIM-PROVISIONER role may provision and nothing else, `application/json` is accepted too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN, mintKey } from '../helpers/app.ts';
import {
  ENTERPRISE_SCHEMA, GROUP_SCHEMA, RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA, SPC_SCHEMA, USER_SCHEMA, assertListResponse,
  assertScimContentType, assertScimError, assertStatus, minimalUser, scimClient, uniqueEmail,
} from './rfc-helpers.ts';

const c = await scimClient();
const { req } = c;
const { app } = c.t;

test('§4 / RFC 7643 §5: GET /ServiceProviderConfig says what is supported', async () => {
  const res = await req('GET', '/ServiceProviderConfig');
  assertStatus(res, 200);
  assertScimContentType(res);
  const spc = res.body;
  assert.deepEqual(spc.schemas, [SPC_SCHEMA]);
  assert.equal(spc.patch.supported, true);
  assert.equal(spc.filter.supported, true);
  assert.ok(Number.isInteger(spc.filter.maxResults) && spc.filter.maxResults > 0);
  assert.equal(spc.sort.supported, true);
  assert.equal(spc.etag.supported, true);
  assert.equal(typeof spc.bulk.supported, 'boolean');
  assert.equal(typeof spc.changePassword.supported, 'boolean');
  assert.ok(Array.isArray(spc.authenticationSchemes) && spc.authenticationSchemes.length > 0);
  for (const s of spc.authenticationSchemes) {
    assert.equal(typeof s.type, 'string');
    assert.equal(typeof s.name, 'string');
    assert.equal(typeof s.description, 'string');
  }
  assert.ok(spc.authenticationSchemes.some((s: any) => s.type === 'oauthbearertoken'), 'bearer keys are advertised as oauthbearertoken');
});

test('§4: GET /ResourceTypes lists User and Group; GET /ResourceTypes/User reads one', async () => {
  const res = await req('GET', '/ResourceTypes');
  const types = assertListResponse(res);
  const byName = new Map(types.map((t: any) => [t.name, t]));
  assert.deepEqual([...byName.keys()].sort(), ['Group', 'User']);
  const user = byName.get('User');
  assert.deepEqual(user.schemas, [RESOURCE_TYPE_SCHEMA]);
  assert.equal(user.endpoint, '/Users');
  assert.equal(user.schema, USER_SCHEMA);
  assert.equal(byName.get('Group').endpoint, '/Groups');
  assert.equal(byName.get('Group').schema, GROUP_SCHEMA);
  for (const ext of user.schemaExtensions ?? []) assert.equal(ext.schema, ENTERPRISE_SCHEMA, 'the only extension a user may have');
  const one = await req('GET', '/ResourceTypes/User');
  assertStatus(one, 200);
  assert.equal(one.body.name, 'User');
  assertScimError(await req('GET', '/ResourceTypes/Printer'), 404);
});

/** What Gatehouse stores of a user (the issue, item 2), and of a group. */
const USER_ATTRIBUTES = new Set(['userName', 'name', 'emails', 'active', 'externalId', 'groups', 'password', 'id', 'meta']);
const REQUIRED_USER_ATTRIBUTES = ['userName', 'name', 'emails', 'active', 'externalId', 'groups'];
const GROUP_ATTRIBUTES = new Set(['displayName', 'members', 'externalId', 'id', 'meta']);

test('§4: GET /Schemas advertises only attributes Gatehouse really stores, with RFC 7643 §7 characteristics', async () => {
  const res = await req('GET', '/Schemas');
  const schemas = assertListResponse(res);
  const byId = new Map(schemas.map((s: any) => [s.id, s]));
  assert.ok(byId.has(USER_SCHEMA) && byId.has(GROUP_SCHEMA), [...byId.keys()].join());
  for (const id of byId.keys()) assert.ok([USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_SCHEMA].includes(id as string), `unexpected schema ${id}`);

  const user = byId.get(USER_SCHEMA);
  assert.deepEqual(user.meta?.resourceType, 'Schema');
  const names = user.attributes.map((a: any) => a.name);
  for (const n of names) assert.ok(USER_ATTRIBUTES.has(n), `the User schema advertises ${n}, which Gatehouse does not store`);
  for (const n of REQUIRED_USER_ATTRIBUTES) assert.ok(names.includes(n), `the User schema lacks ${n}`);
  const attr = (name: string) => user.attributes.find((a: any) => a.name === name);
  assert.equal(attr('userName').uniqueness, 'server');
  assert.equal(attr('userName').caseExact, false, 'userName compares case-insensitively');
  assert.equal(attr('userName').required, true);
  assert.equal(attr('groups').mutability, 'readOnly');
  assert.equal(attr('active').type, 'boolean');
  const nameParts = attr('name').subAttributes.map((a: any) => a.name);
  for (const n of ['givenName', 'familyName']) assert.ok(nameParts.includes(n), `name.${n} is advertised`);
  for (const n of nameParts) assert.ok(['givenName', 'familyName', 'formatted'].includes(n), `name.${n} is not stored`);
  if (attr('password')) {
    assert.equal(attr('password').returned, 'never');
    assert.equal(attr('password').mutability, 'writeOnly');
  }
  for (const a of user.attributes) {
    for (const k of ['name', 'type', 'multiValued', 'required', 'mutability', 'returned']) assert.ok(k in a, `${a.name} lacks ${k}`);
  }
  const group = byId.get(GROUP_SCHEMA);
  for (const a of group.attributes) assert.ok(GROUP_ATTRIBUTES.has(a.name), `the Group schema advertises ${a.name}`);
  assert.ok(group.attributes.some((a: any) => a.name === 'displayName'));
  assert.ok(group.attributes.some((a: any) => a.name === 'members'));

  const one = await req('GET', `/Schemas/${USER_SCHEMA}`);
  assertStatus(one, 200);
  assert.equal(one.body.id, USER_SCHEMA);
  assert.ok(Array.isArray(one.body.schemas) && one.body.schemas.includes(SCHEMA_SCHEMA));
  assertScimError(await req('GET', '/Schemas/urn:example:nope'), 404);
});

test('§2: no credential or a bad one is 401 (SCIM error, WWW-Authenticate: Bearer), on discovery and resources alike', async () => {
  for (const path of ['/Users', '/Groups', '/ServiceProviderConfig', '/Schemas', '/ResourceTypes']) {
    const none = await req('GET', path, undefined, { authorization: '' });
    assertScimError(none, 401);
    assert.match(String(none.headers['www-authenticate']), /^Bearer\b/);
    const bad = await req('GET', path, undefined, { authorization: 'Bearer gk_not-a-real-key-000000000000000000000000000' });
    assertScimError(bad, 401);
  }
  assertScimError(await req('POST', '/Users', minimalUser(), { authorization: 'Basic dXNlcjpwYXNz' }), 401);
});

test('a key without scim:provision is 403 and changes nothing; ORG-ADMIN (every permission) may provision', async () => {
  const auditor = await mintKey(app, ['ORG-AUDITOR']);
  const chat = await mintKey(app, ['CHAT-USER']);
  const userName = uniqueEmail('forbidden');
  for (const k of [auditor, chat]) {
    assertScimError(await req('GET', '/Users', undefined, k.auth), 403);
    assertScimError(await req('POST', '/Users', minimalUser(userName), k.auth), 403);
    assertScimError(await req('POST', '/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'] }, k.auth), 403);
  }
  assertListResponse(await req('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`), 0);
  const admin = await mintKey(app, ['ORG-ADMIN']);
  assertStatus(await req('POST', '/Users', minimalUser(), admin.auth), 201);
  assertStatus(await req('GET', '/Users', undefined, ADMIN), 200);
});

test('SCIM-PROVISIONER may provision and nothing else: the rest of the API is 403 to it', async () => {
  for (const [method, url] of [['GET', '/users'], ['GET', '/groups'], ['GET', '/audit'], ['GET', '/auth/api_keys'], ['POST', '/auth/api_keys'], ['GET', '/auth/clients']] as const) {
    const res = await app.inject({ method, url, headers: c.key.auth });
    assert.equal(res.statusCode, 403, `${method} ${url} with a SCIM-PROVISIONER key: ${res.statusCode} ${res.body}`);
  }
  const roles = await app.inject({ method: 'GET', url: '/roles', headers: ADMIN });
  assert.equal(roles.statusCode, 200);
  const body = JSON.parse(roles.body);
  const list: any[] = Array.isArray(body) ? body : body.items ?? body.roles;
  const provisioner = list.find((r) => r.name === 'SCIM-PROVISIONER');
  assert.ok(provisioner, 'GET /roles lists SCIM-PROVISIONER');
  assert.deepEqual(provisioner.permissions, ['scim:provision']);
});

test('§3.1 / §8.1: application/scim+json and application/json bodies are accepted; responses are application/scim+json', async () => {
  assertStatus(await req('POST', '/Users', minimalUser(), { 'content-type': 'application/scim+json' }), 201);
  assertStatus(await req('POST', '/Users', minimalUser(), { 'content-type': 'application/scim+json; charset=utf-8' }), 201);
  const plain = await req('POST', '/Users', minimalUser(), { 'content-type': 'application/json' });
  assertStatus(plain, 201);
  assertScimContentType(plain);
  const text = await req('POST', '/Users', minimalUser(), { 'content-type': 'text/plain' });
  assertScimError(text, 415);
  const broken = await req('POST', '/Users', '{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": ', {});
  assertScimError(broken, 400, 'invalidSyntax');
  assertScimError(await req('POST', '/Users', '[1, 2, 3]'), 400, ['invalidSyntax', 'invalidValue']);
  assertScimError(await req('POST', '/Users', '"just a string"'), 400, ['invalidSyntax', 'invalidValue']);
});

test('§3.12: unknown SCIM endpoints and methods answer SCIM errors', async () => {
  assertScimError(await req('GET', '/Printers'), 404);
  const wrong = await req('DELETE', '/ServiceProviderConfig');
  assert.ok([404, 405, 501].includes(wrong.status), `${wrong.status}`);
  assertScimError(wrong, wrong.status);
  const bulk = await req('POST', '/Bulk', { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations: [] });
  assert.ok([404, 501].includes(bulk.status), `bulk is not supported: ${bulk.status}`);
  assertScimError(bulk, bulk.status);
});
