import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ADMIN, GOOD_PASSWORD, newUserBody, testApp } from '../helpers/app.ts';

// The logs: JSON lines with ISO times by default, one human-readable line per entry with GATEHOUSE_LOG_FORMAT=pretty,
// and in either format no search term, email or name from a URL, and no request body.

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The `req.url` of every "incoming request" line (JSON format). */
function loggedUrls(logs: string[]): string[] {
  return logs.map((l) => JSON.parse(l)).filter((e) => e.msg === 'incoming request').map((e) => e.req.url);
}

describe('JSON logs (the default)', () => {
  test('every line is one JSON object with an ISO 8601 time in UTC', async () => {
    const { app, logs } = await testApp();
    const before = Date.now();
    await app.inject({ method: 'GET', url: '/healthz' });
    assert.ok(logs.length >= 2, 'the request was logged');
    for (const line of logs) {
      assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'), 'one line');
      const entry = JSON.parse(line);
      assert.match(entry.time, ISO_TIME);
      assert.ok(Math.abs(Date.parse(entry.time) - before) < 60_000, 'the time is now');
      assert.equal(typeof entry.level, 'number');
    }
    const done = logs.map((l) => JSON.parse(l)).find((e) => e.msg === 'request completed');
    assert.equal(done?.res?.statusCode, 200);
  });
});

describe('GATEHOUSE_LOG_FORMAT=pretty', () => {
  test('one human-readable line per entry: ISO time, level, message; not JSON, no colour codes', async () => {
    const { app, logs } = await testApp({ GATEHOUSE_LOG_FORMAT: 'pretty' });
    await app.inject({ method: 'GET', url: '/users?search_string=grace@example.com&page_size=5', headers: ADMIN });
    assert.ok(logs.length >= 2);
    for (const line of logs) {
      assert.throws(() => JSON.parse(line), SyntaxError, `not JSON: ${line}`);
      assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'), `one line: ${JSON.stringify(line)}`);
      assert.match(line, /^\[\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\] (INFO|WARN|ERROR|DEBUG)/);
      assert.doesNotMatch(line, /\u001b\[/, 'no ANSI colours into a captured stream');
    }
    const incoming = logs.find((l) => l.includes('incoming request'));
    assert.ok(incoming, 'the request line is there');
    assert.ok(incoming.includes('"url":"/users?search_string=[redacted]&page_size=5"'), incoming);
    assert.ok(!logs.join('').includes('grace'), 'the search term is not logged');
  });
});

describe('the request log redacts personal data from URLs', () => {
  test('a search for an email or a name: the value is [redacted], the rest of the URL kept', async () => {
    const { app, logs } = await testApp();
    const searches = [
      ['/users?search_string=alice@example.com&page_size=5&sort=desc', '/users?search_string=[redacted]&page_size=5&sort=desc'],
      ['/users?page=0&search_string=alice%40example.com', '/users?page=0&search_string=[redacted]'],
      ['/users/count?search_string=Lovelace&enabled=true', '/users/count?search_string=[redacted]&enabled=true'],
      ['/users?search_string=ada+lovelace&search_string=babbage', '/users?search_string=[redacted]&search_string=[redacted]'],
    ];
    for (const [url] of searches) await app.inject({ method: 'GET', url: url!, headers: ADMIN });
    assert.deepEqual(loggedUrls(logs), searches.map(([, logged]) => logged));
    const text = logs.join('');
    for (const personal of ['alice', 'Lovelace', 'lovelace', 'babbage']) assert.ok(!text.includes(personal), `${personal} is not logged`);
  });

  test('the sign-in pages: login_hint and id_token_hint are [redacted], client_id and state kept', async () => {
    const { app, logs } = await testApp();
    await app.inject({ method: 'GET', url: '/protocol/openid-connect/auth?client_id=app-1&login_hint=ada@example.com&state=s-1' });
    await app.inject({ method: 'GET', url: '/protocol/openid-connect/logout?id_token_hint=eyJhbGciOi.eyJzdWIiOi.c2ln&client_id=app-1' });
    assert.deepEqual(loggedUrls(logs), [
      '/protocol/openid-connect/auth?client_id=app-1&login_hint=[redacted]&state=s-1',
      '/protocol/openid-connect/logout?id_token_hint=[redacted]&client_id=app-1',
    ]);
  });

  test('no request body is logged: created users, malformed JSON, sign-in forms', async () => {
    const { app, logs } = await testApp();
    const body = newUserBody({ email: 'hedy.lamarr@example.com', firstName: 'Hedy', lastName: 'Lamarr' });
    assert.equal((await app.inject({ method: 'POST', url: '/users', headers: ADMIN, payload: body })).statusCode, 200);
    const taken = await app.inject({ method: 'POST', url: '/users', headers: ADMIN, payload: body });
    assert.equal(taken.statusCode, 409);
    const malformed = await app.inject({
      method: 'POST',
      url: '/users',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      payload: '{"email": "katherine.johnson@example.com", "firstName": "Katherine",',
    });
    assert.equal(malformed.statusCode, 422);
    const signIn = await app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=password&username=hedy.lamarr%40example.com&password=${encodeURIComponent(GOOD_PASSWORD)}x`,
    });
    assert.equal(signIn.statusCode, 400);
    assert.ok(logs.length >= 8, 'the requests were logged');
    const text = logs.join('');
    for (const personal of ['hedy', 'Hedy', 'Lamarr', 'katherine', 'Katherine']) assert.ok(!text.includes(personal), `${personal} is not logged`);
  });
});
