import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ADMIN_CREATED, bootstrapAdminUser } from '../src/bootstrap-admin.ts';
import { bootstrapAdminKey } from '../src/bootstrap.ts';
import { ADMIN_ROLE } from '../src/domain/access.ts';
import { verifyChain, type AuditEvent } from '../src/domain/audit.ts';
import { createAuditReader } from '../src/store/audit-store.ts';
import { openPostgres, openSqlite, type Database } from '../src/store/database.ts';
import { migrateToLatest } from '../src/store/migrate.ts';
import { createMetaStore } from '../src/store/meta-store.ts';
import { GOOD_PASSWORD, testHasher } from './helpers/app.ts';
import { freshSchema } from './helpers/postgres.ts';
import { freePort, spawnServer } from './helpers/server-process.ts';
import { forEachDialect, pgSkip, type DialectHandle } from './store/dialects.ts';

// GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL/_PASSWORD: on a database with no users, the first start makes that user an
// ORG-ADMIN with a temporary password, audited as the bootstrap; once per database, whatever restarts or replicas do.

const ADMIN = { email: 'first.admin@example.com', password: 'Amber-Falcon-93-Meadow' };
const SYSTEM = { kind: 'system', id: null };

async function events(h: { db: DialectHandle['db'] }): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of createAuditReader(h.db).inOrder()) out.push(e);
  return out;
}

async function usersOf(database: Database) {
  return database.db.selectFrom('users').select(['id', 'email', 'password_hash', 'password_temporary']).execute();
}

async function rolesOf(database: Database, userId: string): Promise<string[]> {
  return (await database.db.selectFrom('user_roles').select('role').where('user_id', '=', userId).execute()).map((r) => r.role);
}

forEachDialect('the bootstrap administrator', (h) => {
  test('a database with no users: the user is created, ORG-ADMIN, temporary password, audited by the system', async () => {
    const printed: string[] = [];
    const outcome = await bootstrapAdminUser(h.database, { admin: ADMIN, hasher: testHasher, print: (t) => printed.push(t) });
    assert.equal(outcome, 'created');

    const [user, ...others] = await usersOf(h.database);
    assert.equal(others.length, 0);
    assert.equal(user!.email, ADMIN.email);
    assert.equal(Number(user!.password_temporary), 1, 'the first sign-in must set a new password');
    assert.ok(await testHasher.verify(user!.password_hash, ADMIN.password), 'the configured password signs in');
    assert.deepEqual(await rolesOf(h.database, user!.id), [ADMIN_ROLE]);
    assert.ok(await createMetaStore(h.db).get(ADMIN_CREATED));

    const all = await events(h);
    assert.deepEqual(all.map((e) => [e.action, e.targetType, e.targetId]), [
      ['user.created', 'user', user!.id],
      ['bootstrap', 'user', user!.id],
    ]);
    assert.deepEqual(all.map((e) => e.actor), [SYSTEM, SYSTEM]);
    assert.deepEqual(all[0]!.details, { email: ADMIN.email, roles: [ADMIN_ROLE], temporary_password: true });
    assert.equal(all[1]!.details.done, 'created the first administrator user on a database with no users');
    assert.equal(all[1]!.details.user_id, user!.id);
    assert.ok((await verifyChain(createAuditReader(h.db).inOrder(), {})).ok);

    const said = printed.join('');
    assert.match(said, /created the bootstrap administrator first\.admin@example\.com \(ORG-ADMIN\)/);
    for (const text of [said, JSON.stringify(all)]) {
      assert.ok(!text.includes(ADMIN.password), 'the password is never printed nor recorded');
      assert.ok(!text.includes(user!.password_hash), 'nor its hash');
    }

    // With an ORG-ADMIN user there, the bootstrap key is not needed: nothing minted, nothing printed.
    const keyPrinted: string[] = [];
    assert.equal(await bootstrapAdminKey(h.database, { adminKeyConfigured: false, maxApiKeys: 1000, print: (t) => keyPrinted.push(t) }), null);
    assert.deepEqual(keyPrinted, []);
    assert.deepEqual(await h.db.selectFrom('api_keys').select('id').execute(), []);
  });

  test('a restart with the variables still set changes nothing: no new user, no password reset, no event', async () => {
    const [before] = await usersOf(h.database);
    // The operator has meanwhile chosen a permanent password of their own.
    const own = await testHasher.hash(GOOD_PASSWORD);
    await h.db.updateTable('users').set({ password_hash: own, password_temporary: 0 }).where('id', '=', before!.id).execute();
    const trail = (await events(h)).length;

    const printed: string[] = [];
    assert.equal(await bootstrapAdminUser(h.database, { admin: ADMIN, hasher: testHasher, print: (t) => printed.push(t) }), 'already_created');
    const [after, ...others] = await usersOf(h.database);
    assert.equal(others.length, 0);
    assert.equal(after!.password_hash, own, 'the password is not reset');
    assert.equal(Number(after!.password_temporary), 0);
    assert.equal((await events(h)).length, trail);
    assert.match(printed.join(''), /already created .*can be unset/);

    // Even when every user is deleted later, the bootstrap does not come back: it happens once per database.
    await h.db.deleteFrom('user_roles').execute();
    await h.db.deleteFrom('users').execute();
    assert.equal(await bootstrapAdminUser(h.database, { admin: ADMIN, hasher: testHasher, print: () => {} }), 'already_created');
    assert.deepEqual(await usersOf(h.database), []);
  });
});

forEachDialect('the bootstrap administrator on a database in use', (h) => {
  test('a database that already has users gets no bootstrap administrator, and is told so', async () => {
    // A user made some other way (the API, with the bootstrap key) before the variables were set.
    const other = { email: 'someone@example.com', password: GOOD_PASSWORD };
    assert.equal(await bootstrapAdminUser(h.database, { admin: other, hasher: testHasher, print: () => {} }), 'created');
    await h.db.deleteFrom('gatehouse_meta').where('key', '=', ADMIN_CREATED).execute();

    const printed: string[] = [];
    assert.equal(await bootstrapAdminUser(h.database, { admin: ADMIN, hasher: testHasher, print: (t) => printed.push(t) }), 'has_users');
    assert.deepEqual((await usersOf(h.database)).map((u) => u.email), [other.email]);
    assert.match(printed.join(''), /already has users, so no bootstrap administrator was created/);
  });

  test('without the variables nothing happens', async () => {
    const printed: string[] = [];
    assert.equal(await bootstrapAdminUser(h.database, { admin: null, hasher: testHasher, print: (t) => printed.push(t) }), 'not_configured');
    assert.deepEqual(printed, []);
  });
});

/** Replicas starting together: each its own connection pool on one database, all bootstrapping at once. */
async function raceReplicas(open: () => Database, replicas: number) {
  const databases = Array.from({ length: replicas }, open);
  try {
    const outcomes = await Promise.all(databases.map((database) => bootstrapAdminUser(database, { admin: ADMIN, hasher: testHasher, print: () => {} })));
    const users = await usersOf(databases[0]!);
    const trail = await events(databases[0]!);
    return { outcomes, users, trail };
  } finally {
    await Promise.all(databases.map((d) => d.close()));
  }
}

test('replicas starting at once on PostgreSQL create the administrator once', { skip: pgSkip }, async (t) => {
  const schema = await freshSchema();
  t.after(() => schema.drop());
  const setup = openPostgres(schema.url, { poolSize: 2 });
  await migrateToLatest(setup.db, setup.dialect, setup.schema);
  await setup.close();

  const { outcomes, users, trail } = await raceReplicas(() => openPostgres(schema.url, { poolSize: 2 }), 6);
  assert.equal(outcomes.filter((o) => o === 'created').length, 1, `one replica creates: ${outcomes.join(', ')}`);
  assert.ok(outcomes.every((o) => ['created', 'created_elsewhere', 'has_users', 'already_created'].includes(o)));
  assert.equal(users.length, 1);
  assert.deepEqual(trail.map((e) => e.action), ['user.created', 'bootstrap']);
});

test('replicas starting at once on one SQLite file create the administrator once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bootstrap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'gatehouse.db');
  const setup = openSqlite(file);
  await migrateToLatest(setup.db);
  await setup.close();

  const { outcomes, users, trail } = await raceReplicas(() => openSqlite(file), 4);
  assert.equal(outcomes.filter((o) => o === 'created').length, 1, `one replica creates: ${outcomes.join(', ')}`);
  assert.equal(users.length, 1);
  assert.deepEqual(trail.map((e) => e.action), ['user.created', 'bootstrap']);
});

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100)); // polling interval, not a synchronisation sleep
  }
}

function tempDatabaseUrl(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bootstrap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return `sqlite:${join(dir, 'gatehouse.db')}`;
}

test('npm start with the variables: the administrator signs in with the temporary password; it is never logged', { timeout: 120_000 }, async (t) => {
  const port = await freePort();
  const env = { DATABASE_URL: tempDatabaseUrl(t), GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password, GATEHOUSE_LOG_LEVEL: 'debug' };
  const server = spawnServer('A', port, env);
  t.after(() => server.stop());
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined), 60_000, `the server: ${server.logTail()}`);
  assert.match(server.stderr(), /created the bootstrap administrator first\.admin@example\.com/);
  assert.doesNotMatch(server.stderr(), /API key/, 'no bootstrap key: an ORG-ADMIN user exists');

  // The temporary password must be changed before it gives tokens; changing it signs the administrator in.
  const changed = await fetch(`${base}/auth/password`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: ADMIN.email, current_password: ADMIN.password, new_password: GOOD_PASSWORD }),
  });
  assert.equal(changed.status, 200, await changed.clone().text());
  const { access_token } = (await changed.json()) as { access_token: string };
  const me = (await (await fetch(`${base}/users/me`, { headers: { authorization: `Bearer ${access_token}` } })).json()) as { email: string; roles: string[] };
  assert.equal(me.email, ADMIN.email);
  assert.deepEqual(me.roles, [ADMIN_ROLE]);

  await server.stop();
  const logs = server.stdout() + server.stderr();
  assert.ok(!logs.includes(ADMIN.password), 'the bootstrap password is in no log line');
  assert.ok(!logs.includes(GOOD_PASSWORD), 'nor the new one');
  assert.doesNotMatch(logs, /\$argon2id\$/);
});

test('npm start with a password the policy refuses: one line naming the variable, without the password', { timeout: 60_000 }, async (t) => {
  const weak = 'password1234';
  const server = spawnServer('B', await freePort(), {
    DATABASE_URL: tempDatabaseUrl(t),
    GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
    GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: weak,
  });
  t.after(() => server.stop());
  const status = await server.exited;
  assert.notEqual(status.code, 0);
  const line = server.stderr().split('\n').find((l) => l.startsWith('gatehouse: '));
  assert.ok(line, server.logTail());
  assert.match(line, /^gatehouse: GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD does not pass the password policy: Password must have an upper-case letter/);
  assert.ok(!(server.stdout() + server.stderr()).includes(weak), 'the refused password is not shown');
});
