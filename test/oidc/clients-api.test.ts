import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { s256, sha256Hex } from '../../src/security/secrets.ts';
import { ADMIN, createUser, GOOD_PASSWORD, json, mintKey, testApp } from '../helpers/app.ts';
import { CookieBrowser, listeningApp, registerClient, signInThroughPage } from '../helpers/oidc.ts';

// The client registry (CONTRACT.md §4a, RFC 7591 names) on the dialect under test: who may do what, what each
// call changes, what it refuses, and that the token endpoint agrees with the registry at every step.

const REDIRECT = 'http://app.example.test/callback';
const NO_LIMIT = { GATEHOUSE_AUTH_RATE_LIMIT: '0' }; // these tests call the token endpoint often

const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}` });

function token(app: FastifyInstance, form: Record<string, string>, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: new URLSearchParams(form).toString() });
}

/**
 * Client authentication runs before the code is looked up, so a code that does not exist tells them apart:
 * `invalid_grant` means the credentials were accepted, `invalid_client` (401) that they were not.
 */
async function authAs(app: FastifyInstance, clientId: string, secret?: string, method: 'basic' | 'post' = 'basic'): Promise<string> {
  const form = { grant_type: 'authorization_code', code: 'no-such-code', redirect_uri: REDIRECT };
  const res =
    secret === undefined ? await token(app, { ...form, client_id: clientId })
    : method === 'basic' ? await token(app, form, basic(clientId, secret))
    : await token(app, { ...form, client_id: clientId, client_secret: secret });
  const error = json(res).error as string;
  assert.equal(res.statusCode, error === 'invalid_client' ? 401 : 400, res.body);
  return error;
}

const call = (app: FastifyInstance, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = ADMIN) =>
  app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });

const listBody = async (app: FastifyInstance) => (await call(app, 'GET', '/auth/clients')).body;

test('registration: defaults, a confidential client gets its secret once, a public one none; reads never show it', async () => {
  const { app } = await testApp(NO_LIMIT);
  const confidential = await registerClient(app);
  const created = confidential as unknown as Record<string, unknown>;
  assert.match(confidential.client_id, /\S/);
  assert.match(confidential.client_secret ?? '', /^gcs_/);
  assert.equal(created.client_secret_expires_at, 0, 'RFC 7591: 0 means it never expires');
  assert.equal(confidential.token_endpoint_auth_method, 'client_secret_basic');
  assert.deepEqual(created.grant_types, ['authorization_code', 'refresh_token']);
  assert.deepEqual(created.response_types, ['code']);
  assert.equal(await authAs(app, confidential.client_id, confidential.client_secret), 'invalid_grant');

  const pub = await registerClient(app, { token_endpoint_auth_method: 'none' });
  assert.equal(pub.token_endpoint_auth_method, 'none');
  assert.ok(!('client_secret' in pub) && !('client_secret_expires_at' in pub), 'a public client has no secret');
  assert.equal(await authAs(app, pub.client_id), 'invalid_grant', 'a public client only names itself');

  // Neither the secret nor its stored digest is shown again, to an admin or an auditor.
  const auditor = await mintKey(app, ['ORG-AUDITOR']);
  const reads = [
    await call(app, 'GET', '/auth/clients'),
    await call(app, 'GET', `/auth/clients/${confidential.client_id}`),
    await call(app, 'GET', '/auth/clients', undefined, auditor.auth),
    await call(app, 'GET', `/auth/clients/${confidential.client_id}`, undefined, auditor.auth),
  ];
  for (const res of reads) {
    assert.equal(res.statusCode, 200, res.body);
    assert.ok(!res.body.includes(confidential.client_secret!) && !res.body.includes(sha256Hex(confidential.client_secret!)), res.body);
    assert.doesNotMatch(res.body, /"client_secret(_expires_at)?"|hash/i); // (auth method values contain "client_secret")
  }
  assert.deepEqual(json(reads[0]!).map((c: { client_id: string }) => c.client_id).sort(), [confidential.client_id, pub.client_id].sort());
  assert.equal(json(reads[1]!).client_name, 'Test App');
});

test('access: no credential 401, CHAT-USER 403, ORG-AUDITOR reads but may not change anything', async () => {
  const { app } = await testApp(NO_LIMIT);
  const client = await registerClient(app);
  const chat = await mintKey(app, ['CHAT-USER']);
  const auditor = await mintKey(app, ['ORG-AUDITOR']);
  const id = client.client_id;
  const before = await listBody(app);
  type Call = [method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown];
  const reads: Call[] = [['GET', '/auth/clients'], ['GET', `/auth/clients/${id}`]];
  const writes: Call[] = [['POST', '/auth/clients', { redirect_uris: [REDIRECT] }], ['PATCH', `/auth/clients/${id}`, { client_name: 'x' }], ['DELETE', `/auth/clients/${id}`], ['POST', `/auth/clients/${id}/secret`]];
  for (const [method, url, body] of [...reads, ...writes]) {
    const anonymous = await call(app, method, url, body, {});
    assert.equal(anonymous.statusCode, 401, `${method} ${url}`);
    assert.deepEqual(json(anonymous), { detail: 'Requires authentication' });
    assert.equal((await call(app, method, url, body, chat.auth)).statusCode, 403, `${method} ${url} as CHAT-USER`);
  }
  for (const [method, url] of reads) assert.equal((await call(app, method, url, undefined, auditor.auth)).statusCode, 200);
  for (const [method, url, body] of writes) {
    const res = await call(app, method, url, body, auditor.auth);
    assert.equal(res.statusCode, 403, `${method} ${url} as ORG-AUDITOR`);
    assert.deepEqual(json(res), { detail: 'Forbidden' });
  }
  assert.equal(await listBody(app), before, 'refused calls changed nothing');
  assert.equal(await authAs(app, id, client.client_secret), 'invalid_grant', 'the secret was not rotated');
});

test('RFC 7591 errors: bad metadata is refused with the right code and changes nothing', async () => {
  const { app } = await testApp(NO_LIMIT);
  const existing = await registerClient(app, { client_id: 'taken-app' });
  const before = await listBody(app);
  const ok = { redirect_uris: [REDIRECT] };
  // RFC 7591 §3.2.2: any problem with redirect_uris, its type included, is invalid_redirect_uri.
  const badRedirects: unknown[] = [
    {}, { redirect_uris: [] }, { redirect_uris: REDIRECT }, { redirect_uris: [42] }, { redirect_uris: ['/callback'] },
    { redirect_uris: [`${REDIRECT}#frag`] }, { redirect_uris: [`${REDIRECT}#`] }, { redirect_uris: ['javascript:alert(1)'] },
    { redirect_uris: ['data:text/html,<script>alert(1)</script>'] }, { redirect_uris: [REDIRECT, 'JavaScript:alert(1)'] },
  ];
  const badMetadata: unknown[] = [
    { ...ok, token_endpoint_auth_method: 'private_key_jwt' }, { ...ok, token_endpoint_auth_method: 42 },
    { ...ok, grant_types: ['refresh_token'] }, { ...ok, grant_types: [] }, { ...ok, grant_types: ['authorization_code', 'implicit'] },
    { ...ok, grant_types: ['authorization_code', 'password'] }, { ...ok, grant_types: ['authorization_code', 'client_credentials'] },
    { ...ok, response_types: ['token'] }, { ...ok, response_types: ['code', 'id_token'] }, { ...ok, response_types: 'code' },
    { ...ok, client_id: 'my app' }, { ...ok, client_id: '' }, { ...ok, client_id: 'x'.repeat(101) },
    { ...ok, client_secret: 'an-imported-secret-31-chars-lon' }, // one short of the 32 Keycloak gives
    { ...ok, client_secret: 'an imported secret with spaces inside it' },
    { ...ok, token_endpoint_auth_method: 'none', client_secret: 'a-public-client-never-has-a-secret-at-all' },
    { ...ok, client_name: 42 }, [], [ok], 'redirect_uris', 42, null,
  ];
  for (const body of badRedirects) {
    const res = await call(app, 'POST', '/auth/clients', body);
    assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
    assert.equal(json(res).error, 'invalid_redirect_uri', JSON.stringify(body));
  }
  for (const body of badMetadata) {
    const res = await call(app, 'POST', '/auth/clients', JSON.stringify(body), { ...ADMIN, 'content-type': 'application/json' });
    assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
    assert.equal(json(res).error, 'invalid_client_metadata', JSON.stringify(body));
  }
  const malformed = await call(app, 'POST', '/auth/clients', '{"redirect_uris": [', { ...ADMIN, 'content-type': 'application/json' });
  assert.equal(malformed.statusCode, 400);
  assert.equal(json(malformed).error, 'invalid_client_metadata');

  const taken = await call(app, 'POST', '/auth/clients', { ...ok, client_id: existing.client_id });
  assert.equal(taken.statusCode, 409);
  assert.match(json(taken).detail, /taken-app/);

  // PATCH validates the same way, and may neither rename the client nor set its secret directly.
  for (const [body, error] of [
    [{ redirect_uris: ['javascript:alert(1)'] }, 'invalid_redirect_uri'], [{ redirect_uris: [] }, 'invalid_redirect_uri'],
    [{ grant_types: ['authorization_code', 'implicit'] }, 'invalid_client_metadata'], [{ client_id: 'renamed' }, 'invalid_client_metadata'],
    [{ client_secret: 'a-patched-secret-that-is-long-enough-to-import' }, 'invalid_client_metadata'], [[], 'invalid_client_metadata'],
  ] as const) {
    const res = await call(app, 'PATCH', `/auth/clients/${existing.client_id}`, body);
    assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
    assert.equal(json(res).error, error, JSON.stringify(body));
  }

  for (const [method, url, body] of [['GET', '/auth/clients/nope'], ['PATCH', '/auth/clients/nope', { client_name: 'x' }], ['DELETE', '/auth/clients/nope'], ['POST', '/auth/clients/nope/secret']] as const) {
    const res = await call(app, method, url, body);
    assert.equal(res.statusCode, 404, `${method} ${url}`);
    assert.deepEqual(json(res), { detail: 'Client not found' });
  }
  assert.equal(await listBody(app), before, 'no refused request changed the registry');
  assert.equal(await authAs(app, existing.client_id, existing.client_secret), 'invalid_grant');
});

test('PATCH changes only the fields given; switching public and confidential adds or drops the secret', async () => {
  const { app } = await testApp(NO_LIMIT);
  const client = await registerClient(app, { redirect_uris: [REDIRECT, 'http://app.example.test/other'] });
  const url = `/auth/clients/${client.client_id}`;
  const original = json((await call(app, 'GET', url)));

  const renamed = await call(app, 'PATCH', url, { client_name: 'Renamed' });
  assert.equal(renamed.statusCode, 200, renamed.body);
  assert.ok(!('client_secret' in json(renamed)), 'a metadata change shows no secret');
  const { client_name, updated_at: _u, ...rest } = json((await call(app, 'GET', url)));
  const { client_name: _n, updated_at: _v, ...restBefore } = original;
  assert.equal(client_name, 'Renamed');
  assert.deepEqual(rest, restBefore);

  const moved = json(await call(app, 'PATCH', url, { redirect_uris: ['https://new.example.test/cb'] }));
  assert.deepEqual(moved.redirect_uris, ['https://new.example.test/cb'], 'redirect URIs are replaced, not merged');
  assert.equal(moved.client_name, 'Renamed');

  // Confidential to confidential (basic to post) keeps the secret; confidential to public drops it.
  const post = json(await call(app, 'PATCH', url, { token_endpoint_auth_method: 'client_secret_post' }));
  assert.equal(post.token_endpoint_auth_method, 'client_secret_post');
  assert.ok(!('client_secret' in post));
  assert.equal(await authAs(app, client.client_id, client.client_secret, 'post'), 'invalid_grant');
  const pub = json(await call(app, 'PATCH', url, { token_endpoint_auth_method: 'none' }));
  assert.equal(pub.token_endpoint_auth_method, 'none');
  assert.ok(!('client_secret' in pub));
  assert.equal(await authAs(app, client.client_id, client.client_secret), 'invalid_client', 'the dropped secret no longer works');
  assert.equal(await authAs(app, client.client_id), 'invalid_grant', 'now public: the id alone');

  // Public to confidential: a new secret, in this response only.
  const back = json(await call(app, 'PATCH', url, { token_endpoint_auth_method: 'client_secret_basic' }));
  assert.match(back.client_secret, /^gcs_/);
  assert.notEqual(back.client_secret, client.client_secret);
  assert.equal(back.client_secret_expires_at, 0);
  assert.equal(await authAs(app, client.client_id, back.client_secret), 'invalid_grant');
  assert.equal(await authAs(app, client.client_id), 'invalid_client', 'confidential again: the id alone is not enough');
  assert.equal(await authAs(app, client.client_id, client.client_secret), 'invalid_client', 'the first secret stays dead');
  assert.doesNotMatch((await call(app, 'GET', url)).body, /"client_secret"/);
});

test('rotating the secret: the old one gets invalid_client at once, the new one works; a public client has none', async () => {
  const { app } = await testApp(NO_LIMIT);
  const client = await registerClient(app);
  const res = await call(app, 'POST', `/auth/clients/${client.client_id}/secret`);
  assert.equal(res.statusCode, 200, res.body);
  const rotated = json(res);
  assert.equal(rotated.client_id, client.client_id);
  assert.match(rotated.client_secret, /^gcs_/);
  assert.notEqual(rotated.client_secret, client.client_secret);
  assert.equal(await authAs(app, client.client_id, client.client_secret), 'invalid_client');
  assert.equal(await authAs(app, client.client_id, client.client_secret, 'post'), 'invalid_client');
  assert.equal(await authAs(app, client.client_id, rotated.client_secret), 'invalid_grant');

  const pub = await registerClient(app, { token_endpoint_auth_method: 'none' });
  const refused = await call(app, 'POST', `/auth/clients/${pub.client_id}/secret`);
  assert.equal(refused.statusCode, 400);
  assert.equal(json(refused).error, 'invalid_client_metadata');
  assert.equal(await authAs(app, pub.client_id), 'invalid_grant', 'still public');
});

test('moving from Keycloak: a chosen client_id and an imported secret authenticate unchanged', async () => {
  const { app } = await testApp(NO_LIMIT);
  const KEYCLOAK_SECRET = 'q8XvT2mN5kLp9RsW3yZbC7dF1gH4jK6a'; // Keycloak generates 32 alphanumerics
  const client = await registerClient(app, { client_id: 'billing-portal.prod_1', client_secret: KEYCLOAK_SECRET });
  assert.equal(client.client_id, 'billing-portal.prod_1');
  assert.equal(client.client_secret, KEYCLOAK_SECRET, 'the kept secret, not a new one');
  assert.equal(await authAs(app, 'billing-portal.prod_1', KEYCLOAK_SECRET), 'invalid_grant');
  assert.equal(await authAs(app, 'billing-portal.prod_1', KEYCLOAK_SECRET, 'post'), 'invalid_grant');
  assert.equal(await authAs(app, 'billing-portal.prod_1', `${KEYCLOAK_SECRET}x`), 'invalid_client');
  assert.equal(await authAs(app, 'billing-portal.prod_1'), 'invalid_client');
  assert.equal(json(await call(app, 'GET', '/auth/clients/billing-portal.prod_1')).client_id, 'billing-portal.prod_1');
});

test('DELETE: 204, then every token issued to the client stops working, even under a re-registered id', async () => {
  // The longest cache the config allows: deleting a client must drop cached tokens at once, not when they age out.
  const t = await listeningApp({ GATEHOUSE_AUTH_CACHE_TTL_MS: '1000' });
  const user = await createUser(t.app);
  const SECRET = 'kept-secret-0123456789-abcdefghijklmnop';
  const client = await registerClient(t.app, { client_id: 'doomed-app', client_secret: SECRET });
  const verifier = 'v'.repeat(20) + '-verifier-of-pkce-0123456789';
  const auth = new URL(`${t.issuer}/protocol/openid-connect/auth`);
  auth.search = new URLSearchParams({ response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT, scope: 'openid', state: 's1', code_challenge: s256(verifier), code_challenge_method: 'S256' }).toString();
  const back = await signInThroughPage(new CookieBrowser(t.origin), auth.toString(), user.email, GOOD_PASSWORD);
  assert.equal(back.searchParams.get('state'), 's1');
  const exchanged = await token(t.app, { grant_type: 'authorization_code', code: back.searchParams.get('code')!, redirect_uri: REDIRECT, code_verifier: verifier }, basic(client.client_id, SECRET));
  assert.equal(exchanged.statusCode, 200, exchanged.body);
  const tokens = json(exchanged);
  assert.ok(tokens.refresh_token && tokens.access_token);
  const me = () => t.app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal((await me()).statusCode, 200, 'the access token works (and is now cached)');

  const deleted = await call(t.app, 'DELETE', '/auth/clients/doomed-app');
  assert.equal(deleted.statusCode, 204);
  assert.equal(deleted.body, '');
  assert.equal((await me()).statusCode, 401, 'the access token dies with its client, at once');
  assert.equal((await call(t.app, 'GET', '/auth/clients/doomed-app')).statusCode, 404);
  const refreshed = await token(t.app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, basic(client.client_id, SECRET));
  assert.equal(refreshed.statusCode, 401, refreshed.body);
  assert.equal(json(refreshed).error, 'invalid_client', 'the client is gone');

  // The tokens themselves were revoked, not just orphaned: registering the same id and secret again revives nothing.
  await registerClient(t.app, { client_id: 'doomed-app', client_secret: SECRET });
  const again = await token(t.app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, basic(client.client_id, SECRET));
  assert.equal(again.statusCode, 400, again.body);
  assert.equal(json(again).error, 'invalid_grant');
  assert.equal((await me()).statusCode, 401);
});
