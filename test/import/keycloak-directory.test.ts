import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { importKeycloak } from '../../src/import/keycloak-import.ts';
import { ADMIN, json, testApp, testHasher } from '../helpers/app.ts';
import { ALGORITHMS, credential, kcUser, writeDirectoryExport } from './keycloak-fixtures.ts';

// Issue 14: a 100k-user `kc.sh export --dir` export (a realm file and users files of 500), generated and streamed to
// disk here, imported in one run; a sample of users signs in with their known passwords.

const COUNT = 100_000;
const PER_FILE = 500;
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-kc-dir-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const t = await testApp();
const PASSWORD = 'Directory-Export-Password-9';
// One credential per algorithm and format, shared: hashing 100k passwords would test the hashing, not the import.
const kinds = ALGORITHMS.flatMap((a) => [credential(PASSWORD, a, 'modern'), credential(PASSWORD, a, 'legacy')]);
const ids: string[] = [];
const userAt = (i: number) => {
  const user = kcUser({
    username: `user${i}`,
    email: `user${i}@dir.example`,
    firstName: `Given${i}`,
    lastName: `Family${i % 977}`,
    credentials: [kinds[i % kinds.length]],
    realmRoles: i % 1000 === 0 ? ['admin'] : ['default-roles-big'],
    groups: i % 10 === 0 ? ['/Support'] : [],
    ...(i % 25_000 === 1 ? { serviceAccountClientId: `client-${i}` } : {}),
  });
  ids[i] = user.id as string;
  return user;
};

describe('a 100k-user directory export', () => {
  it('is imported in one run: every user, file by file, with roles, groups and passwords', async () => {
    await writeDirectoryExport(dir, 'big', COUNT, PER_FILE, userAt, [{ name: 'Support', path: '/Support', realmRoles: [] }]);
    writeFileSync(join(dir, 'big-federated-users-0.json'), JSON.stringify({ realm: 'big', federatedUsers: [] }));
    const report = await importKeycloak({ path: dir, database: t.database, hasher: testHasher, roleMap: ['admin=ORG-ADMIN'] });
    const serviceAccounts = Math.ceil((COUNT - 1) / 25_000);
    assert.equal(report.totals.read, COUNT);
    assert.equal(report.totals.imported, COUNT - serviceAccounts);
    assert.deepEqual(report.skippedByReason, { service_account: serviceAccounts });
    assert.equal(report.files.length, COUNT / PER_FILE, 'counts per users file (the realm file holds none)');
    assert.ok(report.files.every((f) => f.read === PER_FILE));
    assert.deepEqual(report.ignoredFiles, ['big-federated-users-0.json']);
    assert.deepEqual(report.groupsCreated, ['Support']);
    const { n } = await t.database.db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    assert.equal(Number(n), COUNT - serviceAccounts);
  });

  it('users from the first, middle and last files sign in, each algorithm and format among them', async () => {
    for (const i of [0, 3, 4, 7, 8, 11, 50_002, 50_005, 50_006, 50_009, COUNT - 2, COUNT - 1]) {
      const res = await t.app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: `user${i}@dir.example`, password: PASSWORD } });
      assert.equal(res.statusCode, 200, `user${i}: ${res.body}`);
    }
  });

  it('the imported users are searchable and filterable like any', async () => {
    const found = json(await t.app.inject({ method: 'GET', url: '/users?search_string=given77777', headers: ADMIN }));
    assert.deepEqual(found.map((u: { id: string }) => u.id), [ids[77_777]]);
    const admins = json(await t.app.inject({ method: 'GET', url: '/users?role=ORG-ADMIN&page_size=200', headers: ADMIN }));
    assert.equal(admins.length, COUNT / 1000);
  });
});
