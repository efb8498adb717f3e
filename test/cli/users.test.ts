import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verify } from '@node-rs/argon2';
import type { Kysely } from 'kysely';
import { openSqlite } from '../../src/store/database.ts';
import { cleanEnv, cliFor, failed, okJson, runCli } from './helpers/run-cli.ts';

// `gatehouse users …` in real processes on a SQLite file: the same rules as the API, the exit codes docs/cli.md
// promises, --json shapes with the API's field names, and a password printed only when the command made it.

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-users-'));
const file = join(dir, 'gatehouse.db');
const env = cleanEnv({ DATABASE_URL: `sqlite:${file}` });
const cli = cliFor(env);
after(() => rmSync(dir, { recursive: true, force: true }));

const USER_FIELDS = ['created_at', 'email', 'enabled', 'first_name', 'groups', 'id', 'last_name', 'locked_until', 'roles', 'updated_at'];

/** The stored password hash and whether it is temporary, read straight from the database. */
async function storedPassword(id: string): Promise<{ hash: string; temporary: boolean }> {
  const database = openSqlite(file);
  try {
    const row = await database.db.selectFrom('users').select(['password_hash', 'password_temporary']).where('id', '=', id).executeTakeFirstOrThrow();
    return { hash: row.password_hash, temporary: row.password_temporary === 1 };
  } finally {
    await database.close();
  }
}

async function auditEvents(): Promise<{ actor_kind: string; actor_id: string | null; action: string; details: string }[]> {
  const database = openSqlite(file);
  try {
    return (await (database.db as unknown as Kysely<any>).selectFrom('audit_events').select(['actor_kind', 'actor_id', 'action', 'details']).orderBy('seq').execute()) as never;
  } finally {
    await database.close();
  }
}

describe('gatehouse users', () => {
  before(async () => {
    // Nothing works on a database that does not exist: the operator is pointed at the wrong file, not given an empty one.
    failed(await cli('users', 'list'), 1, /the SQLite database .*gatehouse\.db does not exist/);
    const migrated = await cli('migrate', '--json');
    assert.ok(okJson(migrated).applied.length > 0);
  });

  let alice: { id: string; temporary_password: string };
  const BOB_PASSWORD = 'Bob-chose-this-1!';

  it('create prints the user, and a generated temporary password once; the user signs in with it', async () => {
    const [created, given, piped] = await Promise.all([
      cli('users', 'create', '--email', ' Alice@Example.COM ', '--first-name', 'Alice', '--last-name', 'Liddell', '--role', 'ORG-ADMIN', '--role', 'TASK-ADMIN', '--json'),
      cli('users', 'create', '--email', 'bob@example.com', '--temporary-password', BOB_PASSWORD, '--json'),
      runCli(['users', 'create', '--email', 'carol@example.com', '--password-stdin', '--role', 'CHAT-USER'], env, 'Carol-typed-this-2?\n'),
    ]);
    alice = okJson(created);
    assert.deepEqual(Object.keys(alice).sort(), [...USER_FIELDS, 'temporary_password'].sort());
    const a = alice as unknown as Record<string, any>;
    assert.equal(a.email, 'alice@example.com', 'trimmed and lower-cased, as the API stores it');
    assert.deepEqual(a.roles.map((r: { name: string }) => r.name), ['ORG-ADMIN', 'TASK-ADMIN']);
    assert.equal(a.enabled, true);
    const stored = await storedPassword(alice.id);
    assert.equal(stored.temporary, true);
    assert.ok(await verify(stored.hash, alice.temporary_password), 'the printed password is the one stored (argon2id)');
    assert.match(stored.hash, /^\$argon2id\$/);

    const bob = okJson(given);
    assert.ok(!('temporary_password' in bob), 'a password the operator chose is never printed back');
    assert.ok(!given.stdout.includes(BOB_PASSWORD));
    assert.ok(await verify((await storedPassword(bob.id)).hash, BOB_PASSWORD));

    // Without --json a person reads fields; a password from standard input is not echoed either.
    assert.equal(piped.code, 0, piped.stderr);
    assert.match(piped.stdout, /^email: +carol@example\.com$/m);
    assert.doesNotMatch(piped.stdout, /Carol-typed-this|temporary password/);
    const carolId = /^id: +(\S+)$/m.exec(piped.stdout)![1]!;
    assert.ok(await verify((await storedPassword(carolId)).hash, 'Carol-typed-this-2?'));
  });

  it('refuses what the API refuses, with the documented exit codes and one line', async () => {
    const [duplicate, weak, badEmail, badRole, missingEmail, longName, bothPasswords] = await Promise.all([
      cli('users', 'create', '--email', 'ALICE@example.com'),
      cli('users', 'create', '--email', 'dave@example.com', '--temporary-password', 'password123'),
      cli('users', 'create', '--email', 'not-an-address'),
      cli('users', 'create', '--email', 'erin@example.com', '--role', 'SUPREME-LEADER'),
      cli('users', 'create', '--first-name', 'Nobody'),
      cli('users', 'create', '--email', 'frank@example.com', '--first-name', 'F'.repeat(101)),
      cli('users', 'create', '--email', 'gina@example.com', '--temporary-password', BOB_PASSWORD, '--password-stdin'),
    ]);
    assert.equal(failed(duplicate, 4, /User alice@example\.com already exists/).length, 1);
    assert.equal(failed(weak, 4, /password: Password must have .*an upper-case letter/).length, 1);
    assert.ok(!weak.stderr.includes('password123'), 'the refused password is not repeated');
    assert.equal(failed(badEmail, 2, /email: .*not a valid email address/).length, 1);
    assert.equal(failed(badRole, 2, /Role SUPREME-LEADER does not exist/).length, 1);
    const usage = failed(missingEmail, 2, /required option '--email <email>' not specified/);
    assert.match(usage.join('\n'), /Usage: gatehouse users create \[options\]/, 'a usage error shows the usage');
    assert.equal(failed(longName, 2, /--first-name must be at most 100 characters/).length, 1);
    assert.equal(failed(bothPasswords, 2, /--temporary-password or --password-stdin, not both/).length, 1);
    // Nothing of the refused ones was written.
    const list = okJson(await cli('users', 'list', '--json', '--limit', '100'));
    assert.deepEqual(list.map((u: { email: string }) => u.email).sort(), ['alice@example.com', 'bob@example.com', 'carol@example.com']);
  });

  it('list pages and filters like GET /users; get finds a user by id or email', async () => {
    const [page0, page1, desc, admins, search, table, byEmail, byId, missing, badLimit] = await Promise.all([
      cli('users', 'list', '--json', '--limit', '2', '--sort', 'asc'),
      cli('users', 'list', '--json', '--limit', '2', '--page', '1', '--sort', 'asc'),
      cli('users', 'list', '--json'),
      cli('users', 'list', '--json', '--role', 'ORG-ADMIN'),
      cli('users', 'list', '--json', '--search', 'LIDDELL alice'),
      cli('users', 'list', '--sort', 'asc'),
      cli('users', 'get', 'alice@example.com', '--json'),
      cli('users', 'get', alice.id, '--json'),
      cli('users', 'get', 'nobody@example.com'),
      cli('users', 'list', '--limit', '5001'),
    ]);
    // The three were created side by side, so their order is the database's to tell: pages of it, then the reverse.
    const ascending = [...okJson(page0), ...okJson(page1)].map((u: { email: string }) => u.email);
    assert.equal(okJson(page0).length, 2);
    assert.deepEqual([...ascending].sort(), ['alice@example.com', 'bob@example.com', 'carol@example.com']);
    assert.deepEqual(okJson(desc).map((u: { email: string }) => u.email), [...ascending].reverse());
    for (const u of okJson(page0)) assert.deepEqual(Object.keys(u).sort(), USER_FIELDS);
    assert.deepEqual(okJson(admins).map((u: { id: string }) => u.id), [alice.id]);
    assert.deepEqual(okJson(search).map((u: { id: string }) => u.id), [alice.id]);
    assert.equal(table.code, 0, table.stderr);
    const rows = table.stdout.trimEnd().split('\n');
    assert.match(rows[0]!, /^ID +EMAIL +NAME +ROLES +ENABLED$/);
    assert.match(table.stdout, new RegExp(`^${alice.id} +alice@example\\.com +Alice Liddell +ORG-ADMIN,TASK-ADMIN +true$`, 'm'));
    assert.deepEqual(rows.slice(1).map((r) => r.split(/ +/)[1]), ascending);
    const got = okJson(byEmail);
    assert.deepEqual(got, okJson(byId));
    assert.equal(got.id, alice.id);
    assert.ok(!('temporary_password' in got));
    assert.ok(!byEmail.stdout.includes(alice.temporary_password) && !table.stdout.includes(alice.temporary_password), 'the password was shown once only');
    assert.equal(failed(missing, 3, /User nobody@example\.com not found/).length, 1);
    failed(badLimit, 2, /--limit <n>.*must be a whole number from 1 to 5000/);
  });

  it('disable, enable, reset-password and delete change the user as the API does, and the trail names the CLI', async () => {
    const disabled = okJson(await cli('users', 'disable', 'bob@example.com', '--json'));
    assert.equal(disabled.enabled, false);
    assert.deepEqual(okJson(await cli('users', 'list', '--json', '--disabled')).map((u: { email: string }) => u.email), ['bob@example.com']);
    const enabled = await cli('users', 'enable', 'bob@example.com');
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.match(enabled.stdout, /^gatehouse: user bob@example\.com \(.+\) enabled$/m);

    const bob = okJson(await cli('users', 'get', 'bob@example.com', '--json'));
    const before = await storedPassword(bob.id);
    const reset = okJson(await cli('users', 'reset-password', 'bob@example.com', '--json'));
    assert.deepEqual(Object.keys(reset).sort(), ['email', 'id', 'temporary', 'temporary_password']);
    assert.equal(reset.temporary, true);
    const after = await storedPassword(bob.id);
    assert.notEqual(after.hash, before.hash);
    assert.equal(after.temporary, true);
    assert.ok(await verify(after.hash, reset.temporary_password));
    const weakReset = await cli('users', 'reset-password', bob.id, '--temporary-password', 'short');
    failed(weakReset, 4, /Password must have at least 12 characters/);
    assert.equal((await storedPassword(bob.id)).hash, after.hash, 'a refused reset changes nothing');

    const deleted = await cli('users', 'delete', 'bob@example.com');
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /deleted/);
    failed(await cli('users', 'delete', bob.id), 3, /not found/);

    const events = await auditEvents();
    const ours = events.filter((e) => e.action.startsWith('user.'));
    assert.deepEqual(
      ours.map((e) => e.action),
      ['user.created', 'user.created', 'user.created', 'user.disabled', 'user.enabled', 'user.password_reset', 'user.deleted'],
    );
    for (const e of ours) assert.deepEqual([e.actor_kind, e.actor_id], ['cli', userInfo().username]);
    for (const secret of [alice.temporary_password, reset.temporary_password, BOB_PASSWORD]) assert.ok(!events.some((e) => e.details.includes(secret)), 'no password in the trail');
  });
});
