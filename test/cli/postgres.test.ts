import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freshSchema, postgresSkipReason, type TestSchema } from '../helpers/postgres.ts';
import { cleanEnv, cliFor, failed, okJson } from './helpers/run-cli.ts';

// The same command on PostgreSQL (a schema of its own): a representative set of verbs, the audit trail they leave,
// and the failures that only a network database has.

const skip = await postgresSkipReason();

describe('gatehouse on PostgreSQL', { skip }, () => {
  let schema: TestSchema;
  let cli: ReturnType<typeof cliFor>;
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-pg-'));

  before(async () => {
    schema = await freshSchema();
    cli = cliFor(cleanEnv({ DATABASE_URL: schema.url }));
  });
  after(async () => {
    await schema?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('migrate, users, keys and audit work on the database directly', async () => {
    const migrated = okJson(await cli('migrate', '--json'));
    assert.ok(migrated.applied.length > 0 && migrated.applied.every((m: { status: string }) => m.status === 'Success'));
    assert.deepEqual(okJson(await cli('migrate', '--json')), { applied: [] }, 'a second run has nothing to do');

    const [ann, key] = await Promise.all([
      cli('users', 'create', '--email', 'ann@example.com', '--first-name', 'Ann', '--role', 'ORG-ADMIN', '--json'),
      cli('keys', 'mint', '--role', 'ORG-ADMIN', '--description', 'ops', '--json'),
    ]);
    const user = okJson(ann);
    assert.equal(typeof user.temporary_password, 'string');
    const minted = okJson(key);
    const [duplicate, listed, got, keys] = await Promise.all([
      cli('users', 'create', '--email', 'ANN@example.com'),
      cli('users', 'list', '--json', '--search', 'ann'),
      cli('users', 'get', 'ann@example.com', '--json'),
      cli('keys', 'list', '--json'),
    ]);
    failed(duplicate, 4, /already exists/);
    assert.deepEqual(okJson(listed).map((u: { id: string }) => u.id), [user.id]);
    assert.equal(okJson(got).first_name, 'Ann');
    assert.deepEqual(okJson(keys).map((k: { id: string }) => k.id), [minted.id]);
    // The only ORG-ADMIN key, and no GATEHOUSE_ADMIN_KEY: deactivating it would lock the operators out.
    failed(await cli('keys', 'deactivate', minted.id), 4, /last active ORG-ADMIN key/);
    assert.equal(okJson(await cli('users', 'disable', user.id, '--json')).enabled, false);

    const verified = okJson(await cli('audit', 'verify', '--json'));
    assert.deepEqual(verified, { ok: true, checked: 3, first: 1, last: 3, problem: null, warning: null });
    const checkpoint = okJson(await cli('audit', 'checkpoint', '--json'));
    assert.deepEqual(Object.keys(checkpoint).sort(), ['at', 'checkpoint', 'hash', 'seq']);
    assert.equal(checkpoint.seq, 3);
    const file = join(dir, 'checkpoint.jws');
    writeFileSync(file, checkpoint.checkpoint);
    const [againstIt, exported] = await Promise.all([cli('audit', 'verify', '--checkpoint', file), cli('audit', 'export')]);
    assert.deepEqual(againstIt, { code: 0, stdout: 'audit chain OK: events 1..3 (3 checked)\n', stderr: '' });
    const events = exported.stdout.trim().split('\n').map((l) => JSON.parse(l) as { action: string; actor: { kind: string; id: string } });
    // The first two ran side by side, in either order.
    assert.deepEqual(events.map((e) => e.action).sort(), ['api_key.minted', 'user.created', 'user.disabled']);
    for (const e of events) assert.deepEqual(e.actor, { kind: 'cli', id: userInfo().username });
    for (const secret of [user.temporary_password, minted.key]) assert.ok(!exported.stdout.includes(secret));
  });

  it('an unreachable database is exit 1 with one line that never shows its password; a malformed URL is exit 2', async () => {
    const down = 'postgres://gatehouse:s3cret-Pa55word@127.0.0.1:1/gatehouse';
    const [viaEnv, viaFlag, malformed] = await Promise.all([
      cliFor(cleanEnv({ DATABASE_URL: down }))('users', 'list'),
      cli('keys', 'list', '--database-url', down),
      cli('users', 'list', '--database-url', 'mysql://localhost/x'),
    ]);
    for (const run of [viaEnv, viaFlag]) {
      assert.equal(failed(run, 1, /DATABASE_URL: cannot reach the database at 127\.0\.0\.1:1 \(connection refused\)/).length, 1);
      assert.ok(!run.stderr.includes('s3cret-Pa55word'));
    }
    assert.equal(failed(malformed, 2, /--database-url \(DATABASE_URL\): must start with sqlite: or postgres:\/\//).length, 1);
  });
});
