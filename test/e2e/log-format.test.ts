import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServers } from '../helpers/server-process.ts';

// The log formats of a real `npm start` on standard output, through a graceful stop: JSON lines with ISO times by
// default; with GATEHOUSE_LOG_FORMAT=pretty, human-readable lines (no colour into a pipe), the last one — written
// while shutting down — not lost. In both, a search for an email is logged without it.

const ADMIN_KEY = 'e2e-log-format-admin-key-0123456789abcdefgh';
const ISO = String.raw`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z`;

test('npm start logs JSON by default and human-readable lines with GATEHOUSE_LOG_FORMAT=pretty', async (t) => {
  const env = { DATABASE_URL: 'sqlite::memory:', GATEHOUSE_ADMIN_KEY: ADMIN_KEY };
  const [json, pretty] = await startServers(t, [env, { ...env, GATEHOUSE_LOG_FORMAT: 'pretty' }], { names: ['json', 'pretty'] });
  for (const server of [json!, pretty!]) {
    const res = await fetch(`${server.base}/users?search_string=ada.lovelace@example.com&page_size=3`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    await server.stop();
    assert.equal((await server.exited).code, 0, server.logTail());
    assert.ok(!server.stdout().includes('lovelace'), `${server.name}: the searched email is not logged`);
    assert.ok(server.stdout().includes('search_string=[redacted]&page_size=3'), `${server.name}: the URL is logged, redacted\n${server.logTail()}`);
  }

  // npm announces the script it runs ("> gatehouse@0.1.0 start"); everything else is the server's.
  const serverLines = (out: string) => out.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('> '));
  const jsonLines = serverLines(json!.stdout());
  assert.ok(jsonLines.length >= 4, json!.logTail());
  for (const line of jsonLines) assert.match(JSON.parse(line).time, new RegExp(`^${ISO}$`), line);
  assert.ok(jsonLines.some((l) => JSON.parse(l).msg === 'shutting down'));

  const prettyLines = serverLines(pretty!.stdout());
  assert.ok(prettyLines.length >= 4, pretty!.logTail());
  for (const line of prettyLines) {
    assert.throws(() => JSON.parse(line), SyntaxError, `not JSON: ${line}`);
    assert.match(line, new RegExp(`^\\[${ISO}\\] (INFO|WARN|ERROR): `), line);
  }
  assert.doesNotMatch(pretty!.stdout(), /\u001b\[/, 'no colour codes into a pipe');
  assert.ok(prettyLines.some((l) => /INFO: Server listening at http:\/\/127\.0\.0\.1:\d+/.test(l)), pretty!.logTail());
  assert.ok(prettyLines.some((l) => /INFO: shutting down \{"signal":"SIGTERM"\}$/.test(l)), `the line written on the way out is there\n${pretty!.logTail()}`);
});
