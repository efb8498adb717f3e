import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { importKeycloak } from '../../src/import/keycloak-import.ts';
import { ImportInputError } from '../../src/import/import-types.ts';
import { RoleMapError } from '../../src/import/role-map.ts';
import type { Database } from '../../src/store/database.ts';
import { ADMIN, json, testHasher } from '../helpers/app.ts';
import { CookieBrowser, listeningApp, registerClient, signInThroughPage, type ListeningApp } from '../helpers/oidc.ts';
import { ALGORITHMS, credential, kcUser, realm, writeJson, type Algorithm, type CredentialFormat } from './keycloak-fixtures.ts';

// Issue 14, item 1: a Keycloak realm export with users whose passwords are known, in each credential format and
// algorithm, imported; every user then signs in through the API and the login page, and their hash becomes argon2id.

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-kc-import-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const passwordOf = (username: string) => `Known-Password-of-${username}!`;

interface Person {
  username: string;
  email: string;
  id: string;
}

function person(username: string, algorithm: Algorithm | string, format: CredentialFormat, extra: Record<string, unknown> = {}) {
  const user = kcUser({ username, email: `${username}@acme.example`, credentials: [credential(passwordOf(username), algorithm, format)], ...extra });
  return user as Record<string, unknown> & Person;
}

const token = (app: FastifyInstance, username: string, password: string) =>
  app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username, password } });

/** The answer to a wrong password (or a user who may not sign in): RFC 6749 invalid_grant. */
const refused = (res: { statusCode: number; body: string }) => {
  assert.equal(res.statusCode, 400, res.body);
  assert.equal(JSON.parse(res.body).error, 'invalid_grant');
};

const storedHash = async (database: Database, id: string) =>
  (await database.db.selectFrom('users').select('password_hash').where('id', '=', id).executeTakeFirstOrThrow()).password_hash;

// Apps are made at the top level: their clean-up (`after`) then belongs to the file, not to a hook.
const main: ListeningApp = await listeningApp();
const other: ListeningApp = await listeningApp();

describe('importing a Keycloak realm export', () => {
  const t = main;
  const everyone: (Record<string, unknown> & Person)[] = [];
  for (const format of ['modern', 'legacy'] as const) for (const algorithm of ALGORITHMS) everyone.push(person(`${algorithm}-${format}`, algorithm, format));
  const admin = person('alice-admin', 'pbkdf2-sha256', 'modern', { realmRoles: ['default-roles-acme', 'admin', 'billing'], groups: ['/Engineering/Backend'] });
  const mustChange = person('temp-tom', 'pbkdf2-sha512', 'modern', { requiredActions: ['UPDATE_PASSWORD'] });
  const unknown = person('md5-mary', 'md5', 'modern');
  const disabled = person('disabled-dan', 'pbkdf2-sha256', 'modern', { enabled: false });
  const service = kcUser({ username: 'service-account-billing', serviceAccountClientId: 'billing' });
  const federated = person('ldap-lou', 'pbkdf2-sha256', 'modern', { federationLink: '3c6a7f7e-ldap' });
  const noEmail = kcUser({ username: 'no-email-ned', email: undefined });
  const duplicate = person('dup', 'pbkdf2-sha256', 'modern', { email: everyone[0]!.email });
  const users = [...everyone, admin, mustChange, unknown, disabled, service, federated, noEmail, duplicate];
  const groups = [{ id: 'g1', name: 'Engineering', path: '/Engineering', realmRoles: ['staff'], subGroups: [{ id: 'g2', name: 'Backend', path: '/Engineering/Backend', realmRoles: ['admin'], subGroups: [] }] }];
  let file: string;
  let report: Awaited<ReturnType<typeof importKeycloak>>;

  before(async () => {
    file = await writeJson(join(dir, 'acme-realm.json'), realm('acme', users, groups));
    report = await importKeycloak({ path: file, database: t.database, hasher: testHasher, roleMap: ['admin=ORG-ADMIN', 'staff=CHAT-USER,staff=TASK-ADMIN'] });
  });

  it('reports counts, every skipped user with the reason, users needing a reset and unmapped roles', () => {
    assert.equal(report.totals.read, users.length);
    assert.equal(report.totals.imported, everyone.length + 4);
    assert.deepEqual(report.skippedByReason, { service_account: 1, federated: 1, no_email: 1, duplicate_email: 1 });
    assert.deepEqual(
      report.skipped.map((s) => [s.username, s.reason]),
      [['service-account-billing', 'service_account'], ['ldap-lou', 'federated'], ['no-email-ned', 'no_email'], ['dup', 'duplicate_email']],
    );
    assert.deepEqual(report.files, [{ file: 'acme-realm.json', read: users.length, imported: everyone.length + 4, updated: 0, skipped: 4 }]);
    assert.deepEqual(report.needReset, [{ id: unknown.id, email: unknown.email, reason: 'unsupported_algorithm: md5' }]);
    assert.deepEqual(report.unmappedRoles, [{ role: 'billing', holders: 1 }]);
    assert.equal(report.totals.temporaryPasswords, 1);
    assert.deepEqual(report.groupsCreated, ['Engineering/Backend']);
  });

  for (const format of ['modern', 'legacy'] as const) {
    for (const algorithm of ALGORITHMS) {
      it(`${algorithm} (${format} credential): signs in with the known password, then holds an argon2id hash`, async () => {
        const user = everyone.find((u) => u.username === `${algorithm}-${format}`)!;
        assert.match(await storedHash(t.database, user.id), /^\$legacy-/);
        refused(await token(t.app, user.email, 'not-the-password'));
        assert.match(await storedHash(t.database, user.id), /^\$legacy-/, 'a wrong password re-hashes nothing');
        const res = await token(t.app, user.email, passwordOf(user.username));
        assert.equal(res.statusCode, 200, res.body);
        assert.match(await storedHash(t.database, user.id), /^\$argon2id\$/);
        const again = await token(t.app, user.email, passwordOf(user.username));
        assert.equal(again.statusCode, 200, 'the re-hashed password still works');
        // The sub applications stored in Keycloak is the sub Gatehouse issues.
        const me = await t.app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${json(again).access_token}` } });
        assert.equal(json(me).user_id, user.id);
      });
    }
  }

  it('keeps Keycloak ids, names, enabled and created time; maps roles and groups by path', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/users/${admin.id}`, headers: ADMIN });
    assert.equal(res.statusCode, 200, res.body);
    const body = json(res);
    assert.equal(body.email, admin.email);
    assert.equal(body.first_name, 'First');
    assert.equal(body.created_at !== undefined, true);
    assert.deepEqual(body.roles.map((r: { name: string }) => r.name), ['ORG-ADMIN']);
    assert.deepEqual(body.groups.map((g: { name: string }) => g.name), ['Engineering/Backend']);
    const group = await t.database.db.selectFrom('groups').innerJoin('group_roles', 'group_roles.group_id', 'groups.id').select('role').where('name', '=', 'Engineering/Backend').execute();
    assert.deepEqual(group.map((g) => g.role), ['ORG-ADMIN'], "the group carries its Keycloak realm roles, mapped");
    const off = json(await t.app.inject({ method: 'GET', url: `/users/${disabled.id}`, headers: ADMIN }));
    assert.equal(off.enabled, false);
    refused(await token(t.app, disabled.email, passwordOf(disabled.username)));
  });

  it('UPDATE_PASSWORD makes the imported password temporary: it must be changed, and the change accepts it', async () => {
    const res = await token(t.app, mustChange.email, passwordOf(mustChange.username));
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(json(res).error_description, 'Password change required');
    const changed = await t.app.inject({
      method: 'POST',
      url: '/auth/password',
      payload: { username: mustChange.email, current_password: passwordOf(mustChange.username), new_password: 'Brand-New-Password-2026' },
    });
    assert.equal(changed.statusCode, 200, changed.body);
    assert.equal((await token(t.app, mustChange.email, 'Brand-New-Password-2026')).statusCode, 200);
  });

  it('an unknown algorithm imports the user without a usable password until an operator resets it', async () => {
    refused(await token(t.app, unknown.email, passwordOf(unknown.username)));
    const reset = await t.app.inject({ method: 'POST', url: `/users/${unknown.id}/reset_password`, headers: ADMIN, payload: { password: 'Operator-Set-Password-77' } });
    assert.ok(reset.statusCode < 300, reset.body);
    // An administrator's reset is temporary: the user signs in with it and must choose their own.
    const next = await token(t.app, unknown.email, 'Operator-Set-Password-77');
    assert.equal(json(next).error_description, 'Password change required');
  });

  it('imported users sign in through the login page too', async () => {
    const client = await registerClient(t.app);
    const user = everyone.find((u) => u.username === 'pbkdf2-legacy')!;
    const fresh = person('page-paula', 'bcrypt', 'modern');
    const pageFile = await writeJson(join(dir, 'page-realm.json'), realm('acme', [fresh]));
    await importKeycloak({ path: pageFile, database: t.database, hasher: testHasher });
    for (const [u, password] of [[fresh, passwordOf(fresh.username)], [user, passwordOf(user.username)]] as const) {
      const auth = `${t.issuer}/protocol/openid-connect/auth?${new URLSearchParams({ client_id: client.client_id, redirect_uri: client.redirect_uris[0]!, response_type: 'code', scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })}`;
      const back = await signInThroughPage(new CookieBrowser(t.origin), auth, u.email, password);
      assert.ok(back.searchParams.get('code'), `a code for ${u.username}: ${back}`);
    }
    assert.match(await storedHash(t.database, fresh.id), /^\$argon2id\$/);
  });

  it('a re-run skips everyone already imported; --update updates them instead', async () => {
    const again = await importKeycloak({ path: file, database: t.database, hasher: testHasher, roleMap: ['admin=ORG-ADMIN'] });
    assert.equal(again.totals.imported, 0);
    assert.equal(again.skippedByReason.already_imported, everyone.length + 4);
    const before = await storedHash(t.database, everyone[0]!.id);
    const changed = realm('acme', users.map((u) => (u === admin ? { ...u, lastName: 'Renamed', realmRoles: [] } : u)), groups);
    const updated = await importKeycloak({ path: await writeJson(join(dir, 'acme-changed.json'), changed), database: t.database, hasher: testHasher, update: true });
    assert.equal(updated.totals.updated, everyone.length + 4);
    assert.equal(json(await t.app.inject({ method: 'GET', url: `/users/${admin.id}`, headers: ADMIN })).last_name, 'Renamed');
    assert.equal(await storedHash(t.database, everyone[0]!.id), before, 'a password Gatehouse already re-hashed is not replaced');
    const search = json(await t.app.inject({ method: 'GET', url: '/users?search_string=renamed', headers: ADMIN }));
    assert.deepEqual(search.map((u: { id: string }) => u.id), [admin.id], 'the search index follows the update');
  });
});

describe('Keycloak export shapes and bad input', () => {
  const t = other;
  const count = async () => Number((await t.database.db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  it('a JSON array of realms imports every realm; --realm picks one', async () => {
    const a = person('array-a', 'pbkdf2', 'modern');
    const b = person('array-b', 'pbkdf2-sha256', 'legacy');
    const file = await writeJson(join(dir, 'realms.json'), [realm('one', [a]), realm('two', [b])]);
    const only = await importKeycloak({ path: file, database: t.database, hasher: testHasher, realm: 'two', dryRun: true });
    assert.equal(only.totals.imported, 1);
    const all = await importKeycloak({ path: file, database: t.database, hasher: testHasher });
    assert.equal(all.totals.imported, 2);
    assert.equal((await token(t.app, b.email, passwordOf(b.username))).statusCode, 200);
  });

  it('--dry-run reports what would happen and writes nothing (not even an audit event)', async () => {
    const users = [person('dry-1', 'bcrypt', 'modern'), person('dry-2', 'argon2', 'modern')];
    const before = await count();
    const events = async () => (await t.database.db.selectFrom('audit_events' as never).selectAll().execute()).length;
    const eventsBefore = await events();
    const report = await importKeycloak({ path: await writeJson(join(dir, 'dry.json'), realm('acme', users, [{ name: 'G', path: '/G' }])), database: t.database, hasher: testHasher, dryRun: true });
    assert.equal(report.dryRun, true);
    assert.equal(report.totals.imported, 2);
    assert.equal(await count(), before);
    assert.equal(await events(), eventsBefore);
    assert.equal((await t.database.db.selectFrom('groups').selectAll().where('name', '=', 'G').execute()).length, 0);
  });

  it('a run that writes records one users.imported audit event', async () => {
    await importKeycloak({ path: await writeJson(join(dir, 'audited.json'), realm('acme', [person('audited', 'pbkdf2', 'modern')])), database: t.database, hasher: testHasher });
    const events = await t.database.db.selectFrom('audit_events' as never).selectAll().where('action' as never, '=', 'users.imported' as never).execute();
    const last = events.at(-1) as unknown as { details: string };
    assert.equal(JSON.parse(last.details).imported, 1);
  });

  it('a malformed file fails with the file and position, and nothing of it is written', async () => {
    const good = JSON.stringify(realm('acme', [person('before-break', 'pbkdf2', 'modern')]), null, 2);
    const path = join(dir, 'broken-realm.json');
    writeFileSync(path, good.slice(0, good.length - 40)); // cut off in the middle of the users
    const before = await count();
    await assert.rejects(importKeycloak({ path, database: t.database, hasher: testHasher }), (err: unknown) => {
      assert.ok(err instanceof ImportInputError);
      assert.match(err.message, /broken-realm\.json/);
      return true;
    });
    // The same through the streaming reader, which names the byte and the user it got to.
    await assert.rejects(importKeycloak({ path, database: t.database, hasher: testHasher, parseWholeBelow: 0 }), (err: unknown) => {
      assert.ok(err instanceof ImportInputError);
      assert.match(err.message, /broken-realm\.json: byte \d+, after user 1: malformed JSON/);
      return true;
    });
    assert.equal(await count(), before);
    for (const [name, content] of [['empty.json', ''], ['number.json', '42'], ['strings.json', '["a"]']] as const) {
      writeFileSync(join(dir, name), content);
      for (const parseWholeBelow of [0, undefined]) {
        await assert.rejects(importKeycloak({ path: join(dir, name), database: t.database, hasher: testHasher, ...(parseWholeBelow === 0 ? { parseWholeBelow } : {}) }), ImportInputError, name);
      }
    }
    await assert.rejects(importKeycloak({ path: join(dir, 'missing.json'), database: t.database, hasher: testHasher }), ImportInputError);
  });

  it('a --role-map naming no Gatehouse role is refused before anything is read', async () => {
    await assert.rejects(importKeycloak({ path: join(dir, 'missing.json'), database: t.database, hasher: testHasher, roleMap: ['admin=SUPERUSER'] }), RoleMapError);
    await assert.rejects(importKeycloak({ path: join(dir, 'missing.json'), database: t.database, hasher: testHasher, roleMap: ['nonsense'] }), RoleMapError);
  });

  it('the streaming reader reads a realm file exactly as the whole-file reader does', async () => {
    const users = [person('stream-1', 'pbkdf2-sha512', 'legacy'), person('stream-2', 'argon2-phc', 'modern'), kcUser({ username: 'svc', serviceAccountClientId: 'c' })];
    const file = await writeJson(join(dir, 'stream-realm.json'), realm('acme', users, [{ name: 'S', path: '/S', realmRoles: ['admin'] }]));
    const streamed = await importKeycloak({ path: file, database: t.database, hasher: testHasher, parseWholeBelow: 0, dryRun: true, roleMap: ['admin=ORG-ADMIN'] });
    const whole = await importKeycloak({ path: file, database: t.database, hasher: testHasher, dryRun: true, roleMap: ['admin=ORG-ADMIN'] });
    const strip = (r: typeof whole) => ({ ...r, durationMs: 0 });
    assert.deepEqual(strip(streamed), strip(whole));
    assert.equal(whole.totals.imported, 2);
  });
});
