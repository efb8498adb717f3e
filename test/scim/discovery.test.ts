import assert from 'node:assert/strict';
import { test } from 'node:test';
import { json, mintKey, testApp } from '../helpers/app.ts';

// Discovery (RFC 7644 §4, RFC 7643 §5–7): what Gatehouse says about itself, and only attributes it stores.

const { app } = await testApp();
const { auth } = await mintKey(app, ['SCIM-PROVISIONER']);
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

const get = (url: string, headers: Record<string, string> = auth) => app.inject({ method: 'GET', url: `/scim/v2${url}`, headers });

test('ServiceProviderConfig: patch, filter, sort, etag and changePassword supported; bulk not; bearer keys', async () => {
  const res = await get('/ServiceProviderConfig');
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['content-type']), /^application\/scim\+json/);
  const body = json(res);
  assert.deepEqual(body.schemas, ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig']);
  assert.deepEqual(body.patch, { supported: true });
  assert.equal(body.bulk.supported, false);
  assert.deepEqual(body.filter, { supported: true, maxResults: 1000 });
  assert.deepEqual([body.sort.supported, body.etag.supported, body.changePassword.supported], [true, true, true]);
  assert.equal(body.authenticationSchemes[0].type, 'oauthbearertoken');
  assert.equal(body.meta.resourceType, 'ServiceProviderConfig');
});

test('ResourceTypes: User and Group, as a list and one by one', async () => {
  const body = json(await get('/ResourceTypes'));
  assert.equal(body.totalResults, 2);
  assert.deepEqual(body.Resources.map((r: { id: string; endpoint: string; schema: string }) => [r.id, r.endpoint, r.schema]), [
    ['User', '/Users', USER],
    ['Group', '/Groups', GROUP],
  ]);
  assert.equal(json(await get('/ResourceTypes/User')).schema, USER);
  assert.equal((await get('/ResourceTypes/Device')).statusCode, 404);
});

test('Schemas: only what is stored; password write-only and never returned; groups read-only', async () => {
  const body = json(await get('/Schemas'));
  assert.deepEqual(body.Resources.map((s: { id: string }) => s.id), [USER, GROUP]);
  const user = json(await get(`/Schemas/${USER}`));
  const names = user.attributes.map((a: { name: string }) => a.name);
  assert.deepEqual(names, ['id', 'externalId', 'meta', 'userName', 'name', 'emails', 'active', 'password', 'groups']);
  const by = (n: string) => user.attributes.find((a: { name: string }) => a.name === n);
  assert.deepEqual(by('name').subAttributes.map((a: { name: string }) => a.name), ['givenName', 'familyName']);
  assert.deepEqual([by('password').mutability, by('password').returned], ['writeOnly', 'never']);
  assert.equal(by('groups').mutability, 'readOnly');
  assert.deepEqual([by('userName').required, by('userName').uniqueness, by('userName').caseExact], [true, 'server', false]);
  const group = json(await get(`/Schemas/${GROUP}`));
  assert.deepEqual(group.attributes.map((a: { name: string }) => a.name), ['id', 'externalId', 'meta', 'displayName', 'members']);
  assert.equal((await get('/Schemas/urn:nope')).statusCode, 404);
});

test('discovery needs a provisioning key, and is read-only', async () => {
  const none = await get('/ServiceProviderConfig', {});
  assert.equal(none.statusCode, 401);
  assert.equal(json(none).status, '401');
  const other = await mintKey(app, ['CHAT-USER']);
  assert.equal((await get('/Schemas', other.auth)).statusCode, 403);
  const post = await app.inject({ method: 'POST', url: '/scim/v2/Schemas', headers: { ...auth, 'content-type': 'application/scim+json' }, payload: '{}' });
  assert.equal(post.statusCode, 405);
  assert.equal(json(post).status, '405');
});
