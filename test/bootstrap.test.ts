import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { buildApp } from '../src/app.ts';
import { bootstrapAdminKey } from '../src/bootstrap.ts';
import { loadConfig } from '../src/config.ts';
import { openSqlite, type Database } from '../src/store/database.ts';
import { migrateToLatest } from '../src/store/migrate.ts';
import { ADMIN, ADMIN_KEY, json, newUserBody, testHasher } from './helpers/app.ts';

// CONTRACT.md §5: on a fresh database with no admin key configured, the server mints one ORG-ADMIN API key and
// prints it once to standard error.

async function freshDatabase(): Promise<Database> {
  const database = openSqlite(':memory:');
  await migrateToLatest(database.db);
  return database;
}

async function appOn(database: Database, env: Record<string, string> = {}) {
  const app = await buildApp(loadConfig({ GATEHOUSE_LOG_LEVEL: 'silent', ...env }), { database, hasher: testHasher });
  return app;
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
    assert.deepEqual(json(me).roles, ['ORG-ADMIN']);

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

  test('nothing is printed again even after the bootstrap key is deactivated', async () => {
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
    const off = await app.inject({ method: 'DELETE', url: `/auth/api_keys/deactivate/${me.user_id}`, headers: auth });
    assert.equal(off.statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/users/me', headers: auth })).statusCode, 401);

    assert.equal(await bootstrapAdminKey(database, { adminKeyConfigured: false, maxApiKeys: 1000, print }), null);
    assert.equal(printed.length, 1);
  });

  test('nothing is minted or printed when an admin key is configured', async () => {
    const database = await freshDatabase();
    const app = await appOn(database, { GATEHOUSE_ADMIN_KEY: ADMIN_KEY });
    after(async () => {
      await app.close();
      await database.close();
    });
    const printed: string[] = [];
    const result = await bootstrapAdminKey(database, { adminKeyConfigured: true, maxApiKeys: 1000, print: (t) => printed.push(t) });
    assert.equal(result, null);
    assert.deepEqual(printed, []);
    const list = await app.inject({ method: 'GET', url: '/auth/api_keys', headers: ADMIN });
    assert.equal(list.statusCode, 200);
    assert.deepEqual(json(list), []);
  });

  test('a database that already has keys is not fresh', async () => {
    const database = await freshDatabase();
    const app = await appOn(database, { GATEHOUSE_ADMIN_KEY: ADMIN_KEY });
    after(async () => {
      await app.close();
      await database.close();
    });
    const mintedRes = await app.inject({ method: 'POST', url: '/auth/api_keys', headers: ADMIN, payload: { roles: ['CHAT-USER'] } });
    assert.equal(mintedRes.statusCode, 200);
    const printed: string[] = [];
    assert.equal(await bootstrapAdminKey(database, { adminKeyConfigured: false, maxApiKeys: 1000, print: (t) => printed.push(t) }), null);
    assert.deepEqual(printed, []);
    assert.equal(json(await app.inject({ method: 'GET', url: '/auth/api_keys', headers: ADMIN })).length, 1);
  });
});
