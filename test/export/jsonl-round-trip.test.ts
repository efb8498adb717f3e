import assert from 'node:assert/strict';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { exportJsonl } from '../../src/export/jsonl-export.ts';
import { ImportInputError } from '../../src/import/import-types.ts';
import { importJsonl } from '../../src/import/jsonl-import.ts';
import { importKeycloak } from '../../src/import/keycloak-import.ts';
import { ADMIN, createUser, GOOD_PASSWORD, json, TEST_DIALECT, testApp, testHasher } from '../helpers/app.ts';
import { credential, kcUser, realm, writeJson } from '../import/keycloak-fixtures.ts';

// Issue 14, item 2: export, then import into an empty instance (a fresh database of the dialect under test:
// GATEHOUSE_TEST_DIALECT=postgres for PostgreSQL), brings users, groups, roles and password hashes: the same
// people sign in with the same passwords.

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-jsonl-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const source = await testApp();
const target = await testApp();

const token = (app: FastifyInstance, username: string, password: string) =>
  app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username, password } });

async function exportTo(name: string, includeHashes: boolean) {
  const path = join(dir, name);
  const out = createWriteStream(path);
  const summary = await exportJsonl({ database: source.database, output: out, includeHashes });
  out.end();
  await once(out, 'finish');
  return { path, summary, lines: readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) };
}

const view = async (app: FastifyInstance, id: string) => {
  const u = json(await app.inject({ method: 'GET', url: `/users/${id}`, headers: ADMIN }));
  return { id: u.id, email: u.email, first_name: u.first_name, last_name: u.last_name, enabled: u.enabled, created_at: u.created_at, roles: u.roles, groups: u.groups };
};

describe(`JSON Lines export and import (${TEST_DIALECT})`, () => {
  const people: { id: string; email: string; password: string }[] = [];
  let kcId = '';

  it('round-trips users, groups, roles and password hashes into an empty instance', async () => {
    const admin = await createUser(source.app, { roles: ['ORG-ADMIN'] });
    const chat = await createUser(source.app, { roles: ['CHAT-USER'], firstName: 'Émile', lastName: "O'Neil" });
    const off = await createUser(source.app, { roles: [] });
    assert.equal((await source.app.inject({ method: 'PATCH', url: `/users/${off.id}`, headers: ADMIN, payload: { enabled: false } })).statusCode, 200);
    const group = json(await source.app.inject({ method: 'POST', url: '/groups', headers: ADMIN, payload: { name: 'Support', description: 'Front line', roles: ['TASK-ADMIN'] } }));
    await source.app.inject({ method: 'POST', url: '/groups', headers: ADMIN, payload: { name: 'Empty', roles: [] } });
    assert.equal((await source.app.inject({ method: 'POST', url: `/groups/${group.id}/members`, headers: ADMIN, payload: { user_ids: [chat.id] } })).statusCode < 300, true);
    // One user straight from Keycloak whose imported hash was never used: it travels as it is.
    const kc = kcUser({ username: 'kc', email: 'kc@round.example', credentials: [credential('Keycloak-Password-1', 'pbkdf2-sha512', 'modern')] });
    kcId = kc.id as string;
    await importKeycloak({ path: await writeJson(join(dir, 'kc.json'), realm('r', [kc])), database: source.database, hasher: testHasher });
    people.push({ id: admin.id, email: admin.email, password: GOOD_PASSWORD }, { id: chat.id, email: chat.email, password: GOOD_PASSWORD }, { id: kcId, email: 'kc@round.example', password: 'Keycloak-Password-1' });

    const { path, summary, lines } = await exportTo('with-hashes.jsonl', true);
    assert.deepEqual(summary, { users: 4, groups: 2, includeHashes: true });
    assert.equal(lines[0].type, 'gatehouse-export');
    assert.equal(lines[0].sensitive, true);
    assert.ok(lines.filter((l) => l.type === 'user').every((l) => typeof l.password_hash === 'string'));

    const report = await importJsonl({ path, database: target.database, hasher: testHasher });
    assert.equal(report.totals.imported, 4);
    assert.deepEqual(report.skipped, []);
    assert.deepEqual(report.groupsCreated.sort(), ['Empty', 'Support']);
    for (const id of [admin.id, chat.id, off.id, kcId]) assert.deepEqual(await view(target.app, id), await view(source.app, id));
    const groupsOf = async (app: FastifyInstance) => json(await app.inject({ method: 'GET', url: '/groups', headers: ADMIN }));
    const strip = (g: { groups?: unknown[] } | unknown[]) => JSON.stringify(g, (k, v) => (k === 'created_at' || k === 'updated_at' ? undefined : v));
    assert.equal(strip(await groupsOf(target.app)), strip(await groupsOf(source.app)), 'groups keep their ids, descriptions, roles and member counts');
  });

  it('the same people sign in to the new instance with the same passwords', async () => {
    for (const p of people) {
      const res = await token(target.app, p.email, p.password);
      assert.equal(res.statusCode, 200, `${p.email}: ${res.body}`);
      const me = json(await target.app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${json(res).access_token}` } }));
      assert.equal(me.user_id, p.id);
    }
    const hash = await target.database.db.selectFrom('users').select('password_hash').where('id', '=', kcId).executeTakeFirstOrThrow();
    assert.match(hash.password_hash, /^\$argon2id\$/, 'the imported Keycloak hash was re-hashed at its first sign-in on the new instance');
  });

  it('without --include-hashes no hash leaves the database; such an import lists every user for a reset', async () => {
    const { path, lines } = await exportTo('no-hashes.jsonl', false);
    const text = readFileSync(path, 'utf8');
    assert.equal(lines[0].include_hashes, false);
    assert.equal(lines[0].sensitive, undefined);
    assert.doesNotMatch(text, /password_hash|\$argon2|\$legacy-/);
    const third = await testApp();
    const report = await importJsonl({ path, database: third.database, hasher: testHasher });
    assert.equal(report.totals.needReset, 4);
    assert.equal((await token(third.app, people[0]!.email, people[0]!.password)).statusCode, 400);
  });

  it('importing the same file again skips everyone; --dry-run writes nothing', async () => {
    const { path } = await exportTo('again.jsonl', true);
    const again = await importJsonl({ path, database: target.database, hasher: testHasher });
    assert.equal(again.skippedByReason.already_imported, 4);
    const fourth = await testApp();
    const dry = await importJsonl({ path, database: fourth.database, hasher: testHasher, dryRun: true });
    assert.equal(dry.totals.imported, 4);
    assert.equal((await fourth.database.db.selectFrom('users').select('id').execute()).length, 0);
    assert.equal((await fourth.database.db.selectFrom('groups').select('id').execute()).length, 0);
  });

  it('a file that is not a Gatehouse export is refused with the line, and nothing is written', async () => {
    const bad = join(dir, 'bad.jsonl');
    const write = (text: string) => writeFileSync(bad, text);
    write('{"type":"gatehouse-export","version":1}\n{"type":"user","id":"a1","email":"a@example.com"}\nnot json\n');
    const fifth = await testApp();
    await assert.rejects(importJsonl({ path: bad, database: fifth.database, hasher: testHasher }), (err: unknown) => err instanceof ImportInputError && /bad\.jsonl: line 3: malformed JSON/.test(err.message));
    assert.equal((await fifth.database.db.selectFrom('users').select('id').execute()).length, 0);
    write('{"type":"something-else"}\n');
    await assert.rejects(importJsonl({ path: bad, database: fifth.database, hasher: testHasher }), /line 1: not a Gatehouse export/);
    write('{"type":"gatehouse-export","version":2}\n');
    await assert.rejects(importJsonl({ path: bad, database: fifth.database, hasher: testHasher }), /version 2 is not supported/);
  });
});

