import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort } from '../helpers/server-process.ts';
import { cleanEnv, cliFor, failed, okJson, serveCli, type CliServer } from './helpers/run-cli.ts';

// The way back in after a lost bootstrap key: `gatehouse keys mint --role ORG-ADMIN` on the database of a server
// that `gatehouse serve` runs — started with flags that override its environment — and the key works at once.

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-keys-'));
const url = `sqlite:${join(dir, 'gatehouse.db')}`;
// The environment names another port and database: the flags must win.
const serveEnv = cleanEnv({ PORT: '1', DATABASE_URL: `sqlite:${join(dir, 'not-this-one.db')}`, GATEHOUSE_LOG_LEVEL: 'silent' });
const cli = cliFor(cleanEnv({ DATABASE_URL: url }));
after(() => rmSync(dir, { recursive: true, force: true }));

const KEY_FIELDS = ['created_at', 'deactivated_at', 'description', 'expires_at', 'id', 'is_active', 'last_used_at', 'prefix', 'roles'];

describe('gatehouse serve flags and gatehouse keys', () => {
  let server: CliServer;
  const secrets: string[] = [];
  let minted: { id: string; key: string; prefix: string; roles: string[] };

  after(async () => {
    await server?.stop();
    for (const secret of secrets) assert.ok(!server.output().includes(secret), 'a key minted by the command never reaches the server log');
  });

  it('serve listens where --port and --host say and uses --database-url, over the environment', async () => {
    const port = await freePort();
    server = await serveCli(['--port', String(port), '--host', '127.0.0.1', '--database-url', url, '--log-level', 'info', '--log-format', 'json', '--issuer', 'https://id.example.test'], serveEnv, port);
    const discovery = (await (await fetch(`${server.base}/.well-known/openid-configuration`)).json()) as { issuer: string };
    assert.equal(discovery.issuer, 'https://id.example.test', '--issuer is the issuer');
    // --log-level info over GATEHOUSE_LOG_LEVEL=silent: the server logs JSON lines.
    assert.match(server.output(), /^\{"level":30,/m);
  });

  it('keys mint --role ORG-ADMIN prints a secret once that the running server accepts at once', async () => {
    minted = okJson(await cli('keys', 'mint', '--role', 'ORG-ADMIN', '--description', 'lost the bootstrap key', '--json'));
    assert.deepEqual(Object.keys(minted).sort(), [...KEY_FIELDS, 'key'].sort());
    assert.match(minted.key, /^gk_/);
    assert.equal(minted.prefix, minted.key.slice(0, minted.prefix.length));
    assert.deepEqual(minted.roles, ['ORG-ADMIN']);
    secrets.push(minted.key);

    const auth = { authorization: `Bearer ${minted.key}` };
    const me = await fetch(`${server.base}/users/me`, { headers: auth });
    assert.equal(me.status, 200);
    assert.deepEqual(((await me.json()) as { roles: string[] }).roles, ['ORG-ADMIN']);

    // A person's output: the secret on a line of its own, with what it is for.
    const plain = await cli('keys', 'mint', '--role', 'ORG-AUDITOR');
    assert.equal(plain.code, 0, plain.stderr);
    const secret = /^ {2}(gk_\S+)$/m.exec(plain.stdout)![1]!;
    secrets.push(secret);
    assert.match(plain.stdout, /shown this once/);
    assert.equal((await fetch(`${server.base}/users`, { headers: { authorization: `Bearer ${secret}` } })).status, 200);

    // A user the command creates is the API's user at once.
    const user = okJson(await cli('users', 'create', '--email', 'ops@example.com', '--role', 'ORG-AUDITOR', '--json'));
    const seen = await fetch(`${server.base}/users/${user.id}`, { headers: auth });
    assert.equal(seen.status, 200);
    assert.equal(((await seen.json()) as { email: string }).email, 'ops@example.com');

    const listed = await cli('keys', 'list', '--json');
    const keys = okJson(listed);
    for (const k of keys) assert.deepEqual(Object.keys(k).sort(), KEY_FIELDS);
    for (const s of secrets) assert.ok(!listed.stdout.includes(s), 'list never shows a secret');
    assert.ok(keys.some((k: { id: string }) => k.id === minted.id));
  });

  it('deactivate ends a key on the running server; the last ORG-ADMIN key is refused (4); unknown ids are 3', async () => {
    const keys = okJson(await cli('keys', 'list', '--json')) as { id: string; roles: string[]; description: string | null; is_active: boolean }[];
    const admins = keys.filter((k) => k.is_active && k.roles.includes('ORG-ADMIN'));
    // The server minted its bootstrap key on the fresh database, and the command one more.
    assert.equal(admins.length, 2, JSON.stringify(keys));
    const last = admins.find((k) => k.id !== minted.id)!;
    assert.equal(last.description, 'bootstrap key (minted at first start)');

    const done = okJson(await cli('keys', 'deactivate', minted.id, '--json'));
    assert.equal(done.is_active, false);
    assert.ok(done.deactivated_at);
    // The server remembers a verified key for at most GATEHOUSE_AUTH_CACHE_TTL_MS (500 ms): then it is refused.
    let status = 0;
    for (let tries = 0; tries < 100 && status !== 401; tries += 1) {
      status = (await fetch(`${server.base}/users/me`, { headers: { authorization: `Bearer ${minted.key}` } })).status;
      if (status !== 401) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 401, 'the deactivated key no longer works on the running server');

    const [lastOne, unknown, badRole, past, noId] = await Promise.all([
      cli('keys', 'deactivate', last.id),
      cli('keys', 'deactivate', 'no-such-key'),
      cli('keys', 'mint', '--role', 'EMPEROR'),
      cli('keys', 'mint', '--role', 'ORG-ADMIN', '--expires-at', '2001-01-01T00:00:00Z'),
      cli('keys', 'deactivate'),
    ]);
    assert.equal(failed(lastOne, 4, /last active ORG-ADMIN key/).length, 1);
    assert.equal(failed(unknown, 3, /API Key not found/).length, 1);
    assert.equal(failed(badRole, 2, /Role EMPEROR does not exist/).length, 1);
    assert.equal(failed(past, 2, /expires_at must be in the future/).length, 1);
    failed(noId, 2, /missing required argument 'key-id'/);
    const still = okJson(await cli('keys', 'list', '--json')) as { id: string; is_active: boolean }[];
    assert.equal(still.find((k) => k.id === last.id)!.is_active, true, 'the refused deactivation changed nothing');
  });
});
