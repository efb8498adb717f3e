import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { credential, kcUser, realm, writeJson } from '../import/keycloak-fixtures.ts';
import { freePort } from '../helpers/server-process.ts';
import { cleanEnv, cliFor, failed, okJson, serveCli } from './helpers/run-cli.ts';

// Moving in and moving on, as an operator does it: `gatehouse import keycloak` on a realm export, the server started,
// people signing in with their Keycloak passwords; then `gatehouse export --include-hashes` and `gatehouse import
// jsonl` into an empty instance, where the same people sign in with the same passwords. Real processes throughout.

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-import-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const first = cliFor(cleanEnv({ DATABASE_URL: `sqlite:${join(dir, 'first.db')}` }));
const second = cliFor(cleanEnv({ DATABASE_URL: `sqlite:${join(dir, 'second.db')}` }));

const PASSWORDS = { ada: 'Keycloak-Pbkdf2-Sha256-1', grace: 'Keycloak-Bcrypt-Password-2', linus: 'Keycloak-Argon2-Password-3' };
const ada = kcUser({ username: 'ada', email: 'ada@example.com', credentials: [credential(PASSWORDS.ada, 'pbkdf2-sha256')], realmRoles: ['admin'], groups: ['/engineering'] });
const grace = kcUser({ username: 'grace', email: 'grace@example.com', credentials: [credential(PASSWORDS.grace, 'bcrypt', 'legacy')] });
const linus = kcUser({ username: 'linus', email: 'linus@example.com', credentials: [credential(PASSWORDS.linus, 'argon2')], requiredActions: ['UPDATE_PASSWORD'] });
const robot = kcUser({ username: 'service-account-robot', serviceAccountClientId: 'robot' });

async function signIn(base: string, email: string, password: string): Promise<number> {
  const res = await fetch(`${base}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'password', username: email, password }) });
  await res.arrayBuffer();
  return res.status;
}

describe('gatehouse import and export through the command', () => {
  it('import keycloak --dry-run reports and writes nothing; a bad --role-map is a usage error', async () => {
    assert.equal((await first('migrate')).code, 0, 'a new instance: its database made first');
    const file = await writeJson(join(dir, 'acme-realm.json'), realm('acme', [ada, grace, linus, robot], [{ name: 'engineering', path: '/engineering', subGroups: [] }]));
    failed(await first('import', 'keycloak', file, '--role-map', 'admin=NO-SUCH-ROLE'), 2, /NO-SUCH-ROLE/);
    const dry = okJson(await first('import', 'keycloak', file, '--dry-run', '--json', '--role-map', 'admin=ORG-ADMIN'));
    assert.equal(dry.dryRun, true);
    assert.equal(dry.totals.imported, 3, JSON.stringify(dry));
    const list = okJson(await first('users', 'list', '--json'));
    assert.equal(list.length, 0, 'a dry run writes nothing');
  });

  it('import keycloak keeps ids, maps roles and skips service accounts; a re-run skips what is there', async () => {
    const file = join(dir, 'acme-realm.json');
    const report = okJson(await first('import', 'keycloak', file, '--json', '--role-map', 'admin=ORG-ADMIN'));
    assert.equal(report.totals.imported, 3, JSON.stringify(report));
    assert.deepEqual(report.skippedByReason, { service_account: 1 }, JSON.stringify(report.skipped));
    const got = okJson(await first('users', 'get', String(ada.id), '--json'));
    assert.equal(got.email, 'ada@example.com');
    assert.deepEqual(got.roles.map((r: { name: string }) => r.name), ['ORG-ADMIN']);
    const again = okJson(await first('import', 'keycloak', file, '--json', '--role-map', 'admin=ORG-ADMIN'));
    assert.equal(again.totals.imported, 0, JSON.stringify(again));
    assert.equal(again.totals.skipped, 4, JSON.stringify(again.skippedByReason));
  });

  it('a malformed export fails with the place in it, exit 1, nothing imported', async () => {
    const broken = join(dir, 'broken-realm.json');
    await writeJson(broken, realm('broken', [kcUser({ username: 'x', email: 'x@example.com' })]));
    const text = readFileSync(broken, 'utf8');
    const cut = join(dir, 'cut-realm.json');
    await writeJson(cut, {});
    const { writeFileSync } = await import('node:fs');
    writeFileSync(cut, text.slice(0, Math.floor(text.length / 2)));
    failed(await first('import', 'keycloak', cut), 1, /cut-realm\.json/);
  });

  it('people sign in with their Keycloak passwords; export --include-hashes then import jsonl moves them with their passwords', async () => {
    const port = await freePort();
    let server = await serveCli(['--port', String(port), '--database-url', `sqlite:${join(dir, 'first.db')}`, '--log-level', 'silent'], cleanEnv(), port);
    try {
      assert.equal(await signIn(server.base, 'ada@example.com', PASSWORDS.ada), 200);
      assert.equal(await signIn(server.base, 'grace@example.com', PASSWORDS.grace), 200);
      assert.equal(await signIn(server.base, 'grace@example.com', 'Not-Her-Password-9'), 400, 'invalid_grant');
      // UPDATE_PASSWORD: a temporary password, which signs in only to change it (the grant says so, not "wrong").
      const linus = await fetch(`${server.base}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'password', username: 'linus@example.com', password: PASSWORDS.linus }) });
      const body = (await linus.json()) as Record<string, unknown>;
      assert.deepEqual([linus.status, body.error, body.error_description], [400, 'invalid_grant', 'Password change required']);
    } finally {
      await server.stop();
    }

    const out = join(dir, 'export.jsonl');
    const exported = await first('export', '--include-hashes', '--output', out, '--json');
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stderr, /WARNING/, 'the sensitive flag is called out');
    assert.equal(statSync(out).mode & 0o777, 0o600, 'the file is owner-only');
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.ok(lines.length >= 4, lines.join('\n'));

    assert.equal((await second('migrate')).code, 0);
    const moved = okJson(await second('import', 'jsonl', out, '--json'));
    assert.equal(moved.totals.imported, 3, JSON.stringify(moved));
    server = await serveCli(['--port', String(port), '--database-url', `sqlite:${join(dir, 'second.db')}`, '--log-level', 'silent'], cleanEnv(), port);
    try {
      // Ada signed in before the move, so her hash was already Gatehouse's argon2id; Grace's too. Both still work.
      assert.equal(await signIn(server.base, 'ada@example.com', PASSWORDS.ada), 200);
      assert.equal(await signIn(server.base, 'grace@example.com', PASSWORDS.grace), 200);
      assert.equal(await signIn(server.base, 'ada@example.com', PASSWORDS.grace), 400, 'invalid_grant');
    } finally {
      await server.stop();
    }
    const got = okJson(await second('users', 'get', 'ada@example.com', '--json'));
    assert.equal(got.id, ada.id, 'the id (the sub applications stored) survives both moves');
    assert.deepEqual(got.roles.map((r: { name: string }) => r.name), ['ORG-ADMIN']);
    assert.deepEqual(got.groups.map((g: { name: string }) => g.name), ['engineering']);
  });

  it('an export without --include-hashes holds no hash', async () => {
    const plain = await first('export');
    assert.equal(plain.code, 0, plain.stderr);
    assert.doesNotMatch(plain.stdout, /\$argon2id\$|\$legacy-/);
    assert.match(plain.stderr, /no password hashes/);
  });
});
