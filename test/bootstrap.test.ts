import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { buildApp } from '../src/app.ts';
import { bootstrapAdminKey, noWayInMessage } from '../src/bootstrap.ts';
import { loadConfig } from '../src/config.ts';
import { ADMIN_ROLE } from '../src/domain/access.ts';
import { openSqlite, type Database } from '../src/store/database.ts';
import { migrateToLatest } from '../src/store/migrate.ts';
import { ADMIN, ADMIN_KEY, json, newUserBody, testHasher } from './helpers/app.ts';

// CONTRACT.md §5: on a fresh database (no users, no API keys) with no admin key configured, the server mints one
// ORG-ADMIN API key and prints it once to standard error. A database in use never gets one: when nobody can
// administer it (no active, unexpired ORG-ADMIN key), the server says how to get in instead.

async function freshDatabase(): Promise<Database> {
  const database = openSqlite(':memory:');
  await migrateToLatest(database.db);
  return database;
}

async function appOn(database: Database, env: Record<string, string> = {}) {
  const app = await buildApp(loadConfig({ GATEHOUSE_LOG_LEVEL: 'silent', ...env }), { database, hasher: testHasher });
  return app;
}

/** A fresh database and an app on it that an admin key can drive (so the database gets used), closed after the test. */
async function adminKeyApp() {
  const database = await freshDatabase();
  const app = await appOn(database, { GATEHOUSE_ADMIN_KEY: ADMIN_KEY });
  after(async () => {
    await app.close();
    await database.close();
  });
  return { database, app };
}

async function keyCount(database: Database): Promise<number> {
  return (await database.db.selectFrom('api_keys').select('id').execute()).length;
}

const UUID = /^\(?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\)?$/i;

/** The credential-looking words of a printed banner: long, not a ruler of `=` or `-`, not a (key) id. */
function credentialsIn(text: string): string[] {
  return text.split(/\s+/).filter((w) => w.length >= 32 && !/^[=\-_*#]+$/.test(w) && !UUID.test(w));
}

describe('bootstrapAdminKey', () => {
  test('on a fresh database it prints one ORG-ADMIN key that authenticates, exactly once', async () => {
    const database = await freshDatabase();
    const app = await appOn(database);
    after(async () => {
      await app.close();
      await database.close();
    });

    const printed: string[] = [];
    const returned = await bootstrapAdminKey(database, { adminKeyConfigured: false, maxApiKeys: 1000, print: (t) => printed.push(t) });
    assert.equal(printed.length, 1, 'printed once');
    const found = credentialsIn(printed[0]!);
    assert.equal(found.length, 1, `one key in the banner: ${printed[0]}`);
    const key = found[0]!;
    assert.equal(returned, key);

    const auth = { authorization: `Bearer ${key}` };
    const me = await app.inject({ method: 'GET', url: '/users/me', headers: auth });
    assert.equal(me.statusCode, 200);
    assert.equal(json(me).kind, 'api_key');
    assert.deepEqual(json(me).roles, [ADMIN_ROLE]);

    // it can do what an ORG-ADMIN does
    const created = await app.inject({ method: 'POST', url: '/users', headers: auth, payload: newUserBody() });
    assert.equal(created.statusCode, 200);
    const minted = await app.inject({ method: 'POST', url: '/auth/api_keys', headers: auth, payload: { roles: ['CHAT-USER'] } });
    assert.equal(minted.statusCode, 200);

    // a second start prints nothing and mints nothing
    const again = await bootstrapAdminKey(database, { adminKeyConfigured: false, maxApiKeys: 1000, print: (t) => printed.push(t) });
    assert.equal(again, null);
    assert.equal(printed.length, 1);
    const list = await app.inject({ method: 'GET', url: '/auth/api_keys', headers: auth });
    assert.equal(json(list).length, 2, 'the bootstrap key and the one minted with it');
  });

  test('nothing is printed again once the bootstrap key is replaced and deactivated', async () => {
    const database = await freshDatabase();
    const app = await appOn(database);
    after(async () => {
      await app.close();
      await database.close();
    });
    const printed: string[] = [];
    const print = (t: string) => void printed.push(t);
    const key = await bootstrapAdminKey(database, { adminKeyConfigured: false, maxApiKeys: 1000, print });
    assert.ok(key);
    const auth = { authorization: `Bearer ${key}` };
    const me = json(await app.inject({ method: 'GET', url: '/users/me', headers: auth }));
    // as the README does: mint an ORG-ADMIN key of your own, then retire the bootstrap key
    const own = await app.inject({ method: 'POST', url: '/auth/api_keys', headers: auth, payload: { roles: [ADMIN_ROLE] } });
    assert.equal(own.statusCode, 200);
    const off = await app.inject({ method: 'DELETE', url: `/auth/api_keys/deactivate/${me.user_id}`, headers: auth });
    assert.equal(off.statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/users/me', headers: auth })).statusCode, 401);

    assert.equal(await bootstrapAdminKey(database, { adminKeyConfigured: false, maxApiKeys: 1000, print }), null);
    assert.equal(printed.length, 1);
  });

  test('once every ORG-ADMIN key is gone, a restart mints nothing and says how to get in', async () => {
    const database = await freshDatabase();
    const printed: string[] = [];
    const print = (t: string) => void printed.push(t);
    after(() => database.close());
    assert.ok(await bootstrapAdminKey(database, { adminKeyConfigured: false, maxApiKeys: 1000, print }));
    // every key deactivated behind the API's back (the API refuses to retire the last one)
    await database.db.updateTable('api_keys').set({ is_active: 0, deactivated_at: Date.now() }).execute();

    for (let start = 0; start < 2; start++) {
      assert.equal(await bootstrapAdminKey(database, { adminKeyConfigured: false, maxApiKeys: 1000, print }), null);
    }
    assert.equal(printed.length, 3, 'the banner once, then the way in at each start');
    assert.deepEqual(printed.slice(1), [noWayInMessage(false), noWayInMessage(false)]);
    assert.equal(await keyCount(database), 1, 'no second key');
  });

  test('an enabled ORG-ADMIN user is a way in: nothing is minted and nothing printed; disabled, they are not', async () => {
    const { database, app } = await adminKeyApp();
    const created = await app.inject({ method: 'POST', url: '/users', headers: ADMIN, payload: newUserBody({ roles: [ADMIN_ROLE] }) });
    assert.equal(created.statusCode, 200, created.body);
    const printed: string[] = [];
    const run = () => bootstrapAdminKey(database, { adminKeyConfigured: false, maxApiKeys: 1000, print: (t) => printed.push(t) });
    assert.equal(await run(), null);
    assert.deepEqual(printed, [], 'an administrator can sign in and mint keys');
    const disabled = await app.inject({ method: 'PATCH', url: `/users/${created.json().id}`, headers: ADMIN, payload: { enabled: false } });
    assert.equal(disabled.statusCode, 200, disabled.body);
    assert.equal(await run(), null);
    assert.deepEqual(printed, [noWayInMessage(true)]);
    assert.equal(await keyCount(database), 0, 'nothing minted either way');
  });

  test('a database with users but no API keys gets no key: the way in is printed instead', async () => {
    // Users made with GATEHOUSE_ADMIN_KEY, which is then unset: the database is in use, not fresh.
    const { database, app } = await adminKeyApp();
    assert.equal((await app.inject({ method: 'POST', url: '/users', headers: ADMIN, payload: newUserBody() })).statusCode, 200);

    const printed: string[] = [];
    const result = await bootstrapAdminKey(database, { adminKeyConfigured: false, maxApiKeys: 1000, print: (t) => printed.push(t) });
    assert.equal(result, null);
    assert.equal(await keyCount(database), 0, 'nothing minted');
    assert.deepEqual(printed, [noWayInMessage(true)]);
    const line = printed[0]!;
    assert.equal(line.trimEnd().split('\n').length, 1, `one line: ${JSON.stringify(line)}`);
    assert.match(line, /no way in/);
    assert.match(line, /has users/);
    assert.match(line, /GATEHOUSE_ADMIN_KEY/);
    assert.match(line, /POST \/auth\/api_keys/);
    assert.ok(!line.includes('fresh'), 'a used database is never called fresh');
    assert.deepEqual(credentialsIn(line), [], 'no credential in it');
    assert.equal(
      line,
      `Gatehouse: no way in: this database has users but no active, unexpired ${ADMIN_ROLE} API key or enabled ${ADMIN_ROLE} user, and GATEHOUSE_ADMIN_KEY is not set. ` +
        `Mint one with \`gatehouse keys mint --role ${ADMIN_ROLE}\` on this database (the server may keep running), or set GATEHOUSE_ADMIN_KEY (32+ characters) and restart, then mint a key with POST /auth/api_keys.\n`,
    );

    // with the admin key configured there is a way in, so nothing is said
    const quiet: string[] = [];
    assert.equal(await bootstrapAdminKey(database, { adminKeyConfigured: true, maxApiKeys: 1000, print: (t) => quiet.push(t) }), null);
    assert.deepEqual(quiet, []);
  });

  test('a used database with an active, unexpired ORG-ADMIN key is left alone, whatever other roles the key holds', async () => {
    const { database, app } = await adminKeyApp();
    assert.equal((await app.inject({ method: 'POST', url: '/users', headers: ADMIN, payload: newUserBody() })).statusCode, 200);
    const minted = await app.inject({ method: 'POST', url: '/auth/api_keys', headers: ADMIN, payload: { roles: ['CHAT-USER', ADMIN_ROLE] } });
    assert.equal(minted.statusCode, 200);
    const printed: string[] = [];
    assert.equal(await bootstrapAdminKey(database, { adminKeyConfigured: false, maxApiKeys: 1000, print: (t) => printed.push(t) }), null);
    assert.equal(printed.length, 0, 'nothing printed');

    // An expiry in the future still lets it in; one in the past does not.
    await database.db.updateTable('api_keys').set({ expires_at: Date.now() + 3_600_000 }).execute();
    assert.equal(await bootstrapAdminKey(database, { adminKeyConfigured: false, maxApiKeys: 1000, print: (t) => printed.push(t) }), null);
    assert.equal(printed.length, 0, 'nothing printed');
    await database.db.updateTable('api_keys').set({ expires_at: Date.now() - 1_000 }).execute();
    assert.equal(await bootstrapAdminKey(database, { adminKeyConfigured: false, maxApiKeys: 1000, print: (t) => printed.push(t) }), null);
    assert.deepEqual(printed, [noWayInMessage(true)]);
    assert.equal(await keyCount(database), 1);
  });

  test('nothing is minted or printed when an admin key is configured', async () => {
    const { database, app } = await adminKeyApp();
    const printed: string[] = [];
    const result = await bootstrapAdminKey(database, { adminKeyConfigured: true, maxApiKeys: 1000, print: (t) => printed.push(t) });
    assert.equal(result, null);
    assert.deepEqual(printed, []);
    const list = await app.inject({ method: 'GET', url: '/auth/api_keys', headers: ADMIN });
    assert.equal(list.statusCode, 200);
    assert.deepEqual(json(list), []);
  });

  test('a database that already has keys is not fresh', async () => {
    const { database, app } = await adminKeyApp();
    const mintedRes = await app.inject({ method: 'POST', url: '/auth/api_keys', headers: ADMIN, payload: { roles: ['CHAT-USER'] } });
    assert.equal(mintedRes.statusCode, 200);
    const printed: string[] = [];
    assert.equal(await bootstrapAdminKey(database, { adminKeyConfigured: false, maxApiKeys: 1000, print: (t) => printed.push(t) }), null);
    // keys, but none that administers: no key is minted, and the way in is printed
    assert.deepEqual(printed, [noWayInMessage(false)]);
    assert.equal(await keyCount(database), 1);
  });
});
