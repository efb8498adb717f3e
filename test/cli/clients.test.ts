import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { openSqlite, type Database } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { ADMIN, ADMIN_KEY, json, testHasher } from '../helpers/app.ts';
import { cleanEnv, failed, okJson, runCli, type Run } from './helpers/run-cli.ts';

// `gatehouse clients …` as an operator runs it: the real command in its own process, on a SQLite file, with only
// DATABASE_URL set. Then a server opened on that same file must agree with everything the command did.

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-clients-'));
const file = join(dir, 'gatehouse.db');
after(() => rmSync(dir, { recursive: true, force: true }));

// Nothing from the test runner's environment (GATEHOUSE_*, another DATABASE_URL) may leak into the command.
const env = cleanEnv({ DATABASE_URL: `sqlite:${file}` });

const clients = (...args: string[]): Promise<Run> => runCli(['clients', ...args], env);
const ok = okJson;

const REDIRECT = 'https://billing.example.test/callback';
const KEYCLOAK_SECRET = 'Zr4nW8qL2xVb6Tm9Kc3Jd7Hf1Gs5Pa0Y'; // 32 alphanumerics, as Keycloak generates
let added: { client_id: string; client_secret: string };
let rotatedSecret: string;
let spaId: string;

test('add prints the client with its secret; list and get never show it; rotate-secret prints a new one', async () => {
  assert.equal((await runCli(['migrate'], env)).code, 0);
  added = ok(await clients('add', '--redirect-uri', REDIRECT, '--name', 'Billing', '--post-logout-redirect-uri', 'https://billing.example.test/bye'));
  assert.match(added.client_secret, /^gcs_/);
  assert.equal((added as unknown as Record<string, unknown>).token_endpoint_auth_method, 'client_secret_basic');
  assert.deepEqual((added as unknown as Record<string, unknown>).redirect_uris, [REDIRECT]);

  const spa = ok(await clients('add', '--public', '--client-id', 'spa-app', '--no-refresh-tokens', '--redirect-uri', 'http://localhost:5173/cb'));
  spaId = spa.client_id;
  assert.equal(spaId, 'spa-app');
  assert.equal(spa.token_endpoint_auth_method, 'none');
  assert.ok(!('client_secret' in spa), 'a public client has no secret');
  assert.deepEqual(spa.grant_types, ['authorization_code']);

  const list = await clients('list');
  const listed = ok(list);
  assert.deepEqual(listed.map((c: { client_id: string }) => c.client_id).sort(), [added.client_id, 'spa-app'].sort());
  const got = await clients('get', added.client_id);
  assert.equal(ok(got).client_name, 'Billing');
  for (const run of [list, got]) {
    assert.ok(!run.stdout.includes(added.client_secret));
    assert.doesNotMatch(run.stdout, /"client_secret"/);
  }

  const rotated = ok(await clients('rotate-secret', added.client_id));
  assert.equal(rotated.client_id, added.client_id);
  assert.match(rotated.client_secret, /^gcs_/);
  assert.notEqual(rotated.client_secret, added.client_secret);
  rotatedSecret = rotated.client_secret;
});

test('bad input exits with the documented code and a gatehouse: line, no stack trace; help exits 0', async () => {
  const [badScheme, unknownVerb, noId, unknownId, badOption, publicRotate, help, helpFlag] = await Promise.all([
    clients('add', '--redirect-uri', 'javascript:alert(1)'),
    clients('frobnicate'),
    clients('get'),
    clients('remove', 'no-such-client'),
    clients('add', '--redirect-uri', REDIRECT, '--bogus'),
    clients('rotate-secret', 'spa-app'),
    clients('help'),
    clients('list', '--help'),
  ]);
  assert.equal(failed(badScheme, 2, /javascript/).length, 1);
  assert.equal(failed(unknownId, 3, /Client not found/).length, 1);
  assert.equal(failed(publicRotate, 2, /public client/).length, 1);
  // Usage errors: the error line, then the usage of the command that was meant.
  assert.match(failed(noId, 2, /missing required argument 'client-id'/).join('\n'), /Usage: gatehouse clients get \[options\] <client-id>/);
  assert.match(failed(badOption, 2, /unknown option '--bogus'/).join('\n'), /Usage: gatehouse clients add/);
  assert.match(failed(unknownVerb, 2, /unknown command 'frobnicate'/).join('\n'), /Usage: gatehouse clients \[options\] \[command\]/);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: gatehouse clients \[options\] \[command\]/);
  for (const verb of ['add', 'list', 'get', 'rotate-secret', 'remove']) assert.match(help.stdout, new RegExp(`^  ${verb}\\b`, 'm'));
  assert.equal(helpFlag.code, 0, helpFlag.stderr);
  assert.match(helpFlag.stdout, /^Usage: gatehouse clients list \[options\]/);
  assert.deepEqual(ok(await clients('remove', 'spa-app', '--json')), { client_id: 'spa-app', removed: true });
  // Put it back for the next test, which expects it.
  const again = ok(await clients('add', '--public', '--client-id', 'spa-app', '--no-refresh-tokens', '--redirect-uri', 'http://localhost:5173/cb'));
  assert.equal(again.client_id, 'spa-app');
});

test('a server on the same database authenticates the clients the command added, rotated and removed', async () => {
  const logs: string[] = [];
  const database: Database = openSqlite(file);
  await migrateToLatest(database.db); // as the server does at start; a no-op after the command's own
  let app: FastifyInstance | undefined;
  try {
    const config = loadConfig({ GATEHOUSE_ADMIN_KEY: ADMIN_KEY, DATABASE_URL: env.DATABASE_URL!, GATEHOUSE_AUTH_RATE_LIMIT: '0', GATEHOUSE_LOG_LEVEL: 'info' });
    app = await buildApp(config, { database, hasher: testHasher, logStream: { write: (line: string) => void logs.push(line) } as unknown as NodeJS.WritableStream });
    const server = app;
    /** invalid_grant (a code that does not exist) means the client authenticated; invalid_client that it did not. */
    const authAs = async (clientId: string, secret?: string) => {
      const form = new URLSearchParams({ grant_type: 'authorization_code', code: 'no-such-code', redirect_uri: REDIRECT, ...(secret === undefined ? { client_id: clientId } : {}) });
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
      if (secret !== undefined) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
      const res = await server.inject({ method: 'POST', url: '/auth/token', headers, payload: form.toString() });
      return json(res).error as string;
    };

    // The refused `add` above left nothing behind; the API sees what the command wrote.
    const listed = json(await app.inject({ method: 'GET', url: '/auth/clients', headers: ADMIN }));
    assert.deepEqual(listed.map((c: { client_id: string }) => c.client_id).sort(), [added.client_id, 'spa-app'].sort());
    assert.equal(await authAs(added.client_id, rotatedSecret), 'invalid_grant');
    assert.equal(await authAs(added.client_id, added.client_secret), 'invalid_client', 'the secret before rotate-secret is dead');
    assert.equal(await authAs(added.client_id, 'gcs_wrong'), 'invalid_client');
    assert.equal(await authAs(spaId), 'invalid_grant', 'a public client names itself');

    // Changes made by the command while the server runs take effect at once: nothing is cached per client.
    const kc = ok(await clients('add', '--client-id', 'legacy-portal', '--client-secret', KEYCLOAK_SECRET, '--redirect-uri', REDIRECT));
    assert.equal(kc.client_secret, KEYCLOAK_SECRET, 'the imported secret is kept');
    assert.equal(await authAs('legacy-portal', KEYCLOAK_SECRET), 'invalid_grant');
    const again = ok(await clients('rotate-secret', 'legacy-portal'));
    assert.equal(await authAs('legacy-portal', KEYCLOAK_SECRET), 'invalid_client');
    assert.equal(await authAs('legacy-portal', again.client_secret), 'invalid_grant');
    const removed = await clients('remove', 'legacy-portal');
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /legacy-portal removed/);
    assert.equal(await authAs('legacy-portal', again.client_secret), 'invalid_client');
    assert.equal((await app.inject({ method: 'GET', url: '/auth/clients/legacy-portal', headers: ADMIN })).statusCode, 404);

    for (const line of logs) for (const secret of [added.client_secret, rotatedSecret, KEYCLOAK_SECRET, again.client_secret]) assert.ok(!line.includes(secret), `a secret was logged: ${line}`);
  } finally {
    await app?.close();
    await database.close();
  }
});
