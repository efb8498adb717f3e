import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { ADMIN, ADMIN_KEY, json, testApp } from '../helpers/app.ts';

/** Sends raw bytes to a listening app and returns everything it answers before closing. */
function raw(port: number, bytes: string, waitMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let out = '';
    socket.on('data', (d) => (out += d.toString()));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
    socket.setTimeout(waitMs, () => socket.destroy());
    socket.write(bytes);
  });
}

async function listening(env: Record<string, string> = {}) {
  const t = await testApp(env);
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  return { ...t, port: typeof address === 'object' && address ? address.port : 0 };
}

test('headers larger than 16 KiB are refused with 431 and a JSON detail', async () => {
  const { port } = await listening();
  const answer = await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  assert.match(answer, /^HTTP\/1\.1 431 /);
  assert.match(answer, /\{"detail":"Request headers are too large"\}$/);
});

test('a client too slow to finish its request gets 408 and the connection is closed', async () => {
  const { port } = await listening({ GATEHOUSE_REQUEST_TIMEOUT_MS: '300' });
  const started = Date.now();
  const answer = await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n'); // headers never finished
  assert.match(answer, /^HTTP\/1\.1 408 /);
  assert.match(answer, /\{"detail":"Request timed out"\}$/);
  assert.ok(Date.now() - started < 4000, 'answered within the timeout plus the one-second check interval');
});

test('a malformed request line is 400 with a JSON detail', async () => {
  const { port } = await listening();
  const answer = await raw(port, 'BLAH\r\n\r\n');
  assert.match(answer, /^HTTP\/1\.1 400 /);
  assert.match(answer, /\{"detail":"Malformed HTTP request"\}$/);
});

test('more than 10 search terms is 422 at ["query","search_string"]; 10 are fine', async () => {
  const { app } = await testApp();
  const eleven = Array.from({ length: 11 }, (_, i) => `t${i}`).join(' ');
  const res = await app.inject({ method: 'GET', url: `/users?search_string=${encodeURIComponent(eleven)}&page=999999999999`, headers: ADMIN });
  assert.equal(res.statusCode, 422);
  assert.deepEqual(json(res).detail[0].loc, ['query', 'search_string']);
  assert.equal(json(res).detail[0].type, 'value_error');
  const ten = await app.inject({ method: 'GET', url: `/users?search_string=${encodeURIComponent(eleven.split(' ').slice(1).join(' '))}`, headers: ADMIN });
  assert.equal(ten.statusCode, 200);
});

test('every response carries the security headers; no CORS headers unless configured', async () => {
  const { app } = await testApp();
  for (const url of ['/healthz', '/users', '/nope']) {
    const res = await app.inject({ method: 'GET', url, headers: { ...ADMIN, origin: 'https://evil.example' } });
    assert.equal(res.headers['x-content-type-options'], 'nosniff', url);
    assert.equal(res.headers['x-frame-options'], 'DENY', url);
    assert.equal(res.headers['referrer-policy'], 'no-referrer', url);
    assert.match(String(res.headers['strict-transport-security']), /max-age=\d+/, url);
    assert.match(String(res.headers['content-security-policy']), /default-src 'none'/, url);
    assert.equal(res.headers['access-control-allow-origin'], undefined, url);
  }
  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/users',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
  });
  assert.equal(preflight.headers['access-control-allow-origin'], undefined);
});

test('GATEHOUSE_CORS_ORIGINS allows exactly the origins it names', async () => {
  const { app } = await testApp({ GATEHOUSE_CORS_ORIGINS: 'https://app.example.com' });
  const ok = await app.inject({
    method: 'OPTIONS',
    url: '/users',
    headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
  });
  assert.equal(ok.statusCode, 204);
  assert.equal(ok.headers['access-control-allow-origin'], 'https://app.example.com');
  assert.match(String(ok.headers['access-control-allow-headers']), /authorization/);
  const other = await app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://evil.example' } });
  assert.equal(other.headers['access-control-allow-origin'], undefined);
});

test('the docs page and the OpenAPI document expose no secret and load scripts only from this origin', async () => {
  const { app } = await testApp();
  const spec = await app.inject({ method: 'GET', url: '/openapi.json' });
  const docs = await app.inject({ method: 'GET', url: '/docs/' });
  const init = await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
  for (const res of [spec, docs, init]) {
    assert.equal(res.statusCode, 200);
    assert.ok(!res.body.includes(ADMIN_KEY), 'admin key not exposed');
    assert.doesNotMatch(res.body, /\$argon2id\$|gk_[A-Za-z0-9_-]{20,}|grt_[A-Za-z0-9_-]{20,}/);
  }
  assert.match(String(docs.headers['content-security-policy']), /script-src 'self';/);
  assert.doesNotMatch(docs.body, /<script[^>]+src="https?:/i, 'no third-party scripts');
  const securitySchemes = json(spec).components.securitySchemes;
  assert.deepEqual(securitySchemes, { 'API Key': { type: 'http', scheme: 'bearer' } });
});
