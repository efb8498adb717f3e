import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { openSqlite } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { ADMIN, ADMIN_KEY, createUser, json, mintKey, newUserBody, testApp, testHasher } from '../helpers/app.ts';

// CONTRACT.md §5 operations, plus the cross-cutting rules of §1 (404 body, request ids) and "nothing secret is logged".

const SEED_OPERATIONS: [string, string, string][] = [
  ['get', '/users/permissions/check', 'check_user_permission_users_permissions_check_get'],
  ['post', '/users', 'create_user_users_post'],
  ['delete', '/users/{user_id}', 'delete_user_users_user_id_delete'],
  ['post', '/users/{user_id}/reset_password', 'reset_user_password_users_user_id_reset_password_post'],
  ['get', '/users', 'search_users_users_get'],
];

describe('probes', () => {
  test('/healthz → 200 {"status":"ok"} without credentials', async () => {
    const { app } = await testApp();
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(json(res), { status: 'ok' });
  });

  test('/readyz → 200 while the database answers, 503 once it does not', async () => {
    const { app } = await testApp();
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200);

    const database = openSqlite(':memory:');
    await migrateToLatest(database.db);
    const logs: string[] = [];
    const logStream = { write: (line: string) => void logs.push(line) } as unknown as NodeJS.WritableStream;
    const broken = await buildApp(loadConfig({ GATEHOUSE_ADMIN_KEY: ADMIN_KEY }), { database, hasher: testHasher, logStream });
    after(() => broken.close());
    assert.equal((await broken.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
    await database.close();
    const down = await broken.inject({ method: 'GET', url: '/readyz' });
    assert.equal(down.statusCode, 503);
    assert.equal((await broken.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'liveness does not depend on the database');
  });
});

describe('/metrics', () => {
  test('Prometheus text with request counts labelled by route template', async () => {
    const { app } = await testApp();
    const user = await createUser(app);
    await app.inject({ method: 'GET', url: '/healthz' });
    await app.inject({ method: 'DELETE', url: `/users/${user.id}`, headers: ADMIN });
    await app.inject({ method: 'DELETE', url: '/users/no-such-user', headers: ADMIN });
    await app.inject({ method: 'GET', url: '/no/such/route/4711' });

    const res = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    const text = res.body;
    assert.match(text, /^# TYPE gatehouse_http_requests_total counter$/m);
    const sample = (route: string, status: number) =>
      new RegExp(`^gatehouse_http_requests_total\\{(?=[^}]*route="${route.replace(/[/]/g, '\\/')}")(?=[^}]*status="${status}")[^}]*\\} (\\d+)$`, 'm');
    assert.match(text, sample('/users/:user_id', 200));
    assert.match(text, sample('/users/:user_id', 404));
    assert.match(text, sample('/users', 200));
    assert.equal(Number(sample('/healthz', 200).exec(text)?.[1]), 1);
    assert.ok(!text.includes(user.id), 'raw ids never become labels');
    assert.ok(!text.includes('no-such-user'));
    assert.ok(!text.includes('/no/such/route/4711'), 'unmatched URLs never become labels');
    // every sample line is `name{labels} value` or `name value`
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) {
      assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? ([-+0-9.eE]+|NaN|[+-]Inf)$/, line);
    }
  });
});

describe('/openapi.json and /docs', () => {
  test('OpenAPI 3 with the seed operation ids, the API Key scheme and security on every protected operation', async () => {
    const { app } = await testApp();
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200);
    const doc = json(res);
    assert.match(String(doc.openapi), /^3\./);

    for (const [method, path, operationId] of SEED_OPERATIONS) {
      assert.equal(doc.paths?.[path]?.[method]?.operationId, operationId, `${method.toUpperCase()} ${path}`);
    }
    assert.deepEqual(doc.components?.securitySchemes?.['API Key'], { type: 'http', scheme: 'bearer' });

    const protectedPaths = ['/users', '/users/{user_id}', '/users/{user_id}/reset_password', '/users/permissions/check', '/users/me', '/auth/api_keys', '/auth/api_keys/{id}', '/auth/api_keys/deactivate/{id}'];
    for (const path of protectedPaths) assert.ok(doc.paths[path], `${path} is documented`);
    for (const [path, ops] of Object.entries<Record<string, { security?: unknown }>>(doc.paths)) {
      if (!path.startsWith('/users') && !path.startsWith('/auth/api_keys')) continue;
      for (const [method, op] of Object.entries(ops)) {
        if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
        assert.deepEqual(op.security, [{ 'API Key': [] }], `security on ${method.toUpperCase()} ${path}`);
      }
    }
    assert.deepEqual(doc.paths['/users/{user_id}/reset_password'].post.security, [{ 'API Key': [] }]);
  });

  test('/docs answers 200 HTML', async () => {
    const { app } = await testApp();
    const res = await app.inject({ method: 'GET', url: '/docs' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(res.body, /<html/i);
  });
});

describe('HTTP conventions', () => {
  test('an unknown route → 404 {"detail":"Not Found"}', async () => {
    const { app } = await testApp();
    for (const [method, url] of [['GET', '/nope'], ['POST', '/users/a/b/c'], ['GET', '/auth']] as const) {
      const res = await app.inject({ method, url, headers: ADMIN });
      assert.equal(res.statusCode, 404, `${method} ${url}`);
      assert.deepEqual(json(res), { detail: 'Not Found' });
    }
  });

  test('x-request-id is echoed, or made up when absent', async () => {
    const { app } = await testApp();
    const res = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'req-abc.123' } });
    assert.equal(res.headers['x-request-id'], 'req-abc.123');
    const protectedRes = await app.inject({ method: 'GET', url: '/users', headers: { 'x-request-id': 'req-xyz' } });
    assert.equal(protectedRes.statusCode, 401);
    assert.equal(protectedRes.headers['x-request-id'], 'req-xyz', 'echoed on errors too');
    const made = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(typeof made.headers['x-request-id'], 'string');
    assert.ok(String(made.headers['x-request-id']).length > 0);
  });

  test('an oversize body → 413 and nothing is stored', async () => {
    const { app } = await testApp();
    const body = newUserBody({ firstName: 'x'.repeat(2 * 1024 * 1024) });
    const res = await app.inject({ method: 'POST', url: '/users', headers: ADMIN, payload: body });
    assert.equal(res.statusCode, 413);
    assert.equal(typeof json(res).detail, 'string');
    const search = await app.inject({ method: 'GET', url: `/users?search_string=${encodeURIComponent(body.email)}`, headers: ADMIN });
    assert.deepEqual(json(search), []);
  });
});

describe('logs', () => {
  test('never contain the admin key, API keys, passwords or their hashes', async () => {
    const { app, logs, database } = await testApp();
    const createPassword = 'Create-Secret-Orchid-93';
    const resetPassword = 'Reset-Secret-Quartz-57';
    const weakPassword = 'weak-secret-xyz';

    const user = await createUser(app, { password: createPassword });
    const reset = await app.inject({
      method: 'POST',
      url: `/users/${user.id}/reset_password`,
      headers: ADMIN,
      payload: { password: resetPassword },
    });
    assert.equal(reset.statusCode, 200);
    const refused = await app.inject({ method: 'POST', url: '/users', headers: ADMIN, payload: newUserBody({ password: weakPassword }) });
    assert.equal(refused.statusCode, 422);
    const key = await mintKey(app, ['ORG-ADMIN']);
    assert.equal((await app.inject({ method: 'GET', url: '/users', headers: key.auth })).statusCode, 200);
    // credentials also arrive in cookies and in malformed headers
    await app.inject({ method: 'GET', url: '/users/me', headers: { cookie: `ACCESS_TOKEN=Bearer ${key.key}` } });
    await app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Token ${ADMIN_KEY} extra` } });
    await app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${key.key}x` } });

    const hashes = await database.db.selectFrom('users').select('password_hash').execute();
    assert.ok(logs.length > 0, 'the app logged something');
    const text = logs.join('');
    const secrets: [string, string][] = [
      ['admin key', ADMIN_KEY],
      ['API key', key.key],
      ['API key digest', createHash('sha256').update(key.key).digest('hex')],
      ['create password', createPassword],
      ['reset password', resetPassword],
      ['refused password', weakPassword],
      ...hashes.map((h): [string, string] => ['password hash', String(h.password_hash)]),
    ];
    for (const [what, secret] of secrets) assert.ok(!text.includes(secret), `the ${what} is not logged`);
  });
});
