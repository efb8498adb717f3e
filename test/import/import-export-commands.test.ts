import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { Command, CommanderError } from 'commander';
import { importExportCommands, type ImportExportDeps } from '../../src/cli/import-export-commands.ts';
import { CliError } from '../../src/cli/exit-codes.ts';
import { openSqlite } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { testHasher } from '../helpers/app.ts';
import { credential, kcUser, realm, writeJson } from './keycloak-fixtures.ts';

// The import and export verbs, driven through commander in this process (the `gatehouse` program wires them in;
// its own tests run them as a real process). Each database is a real SQLite file.

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-import-'));
after(() => rmSync(dir, { recursive: true, force: true }));

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    this.text += chunk.toString();
    done();
  }
}

function harness() {
  const stdout = new Capture();
  const stderr = new Capture();
  const deps: ImportExportDeps = {
    async openDatabase(o) {
      const database = openSqlite(o.databaseUrl!.slice('sqlite:'.length));
      await migrateToLatest(database.db);
      return { database, close: () => database.close() };
    },
    hasher: testHasher,
    stdout,
    stderr,
  };
  const run = (...args: string[]) => {
    const program = new Command('gatehouse').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    for (const c of importExportCommands(deps)) program.addCommand(c);
    for (const c of program.commands) c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    for (const c of program.commands.flatMap((c) => c.commands)) c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    return program.parseAsync(args, { from: 'user' });
  };
  return { run, stdout, stderr };
}

const db = (name: string) => `sqlite:${join(dir, name)}`;
const known = (username: string) => kcUser({ username, email: `${username}@cli.example`, credentials: [credential(`pw-${username}`, 'pbkdf2-sha256')], realmRoles: ['admin'] });

describe('gatehouse import / export commands', () => {
  it('import keycloak --json prints exactly one JSON document, the report', async () => {
    const file = await writeJson(join(dir, 'acme-realm.json'), realm('acme', [known('ann'), known('bob'), kcUser({ username: 'svc', serviceAccountClientId: 'x' })]));
    const h = harness();
    await h.run('import', 'keycloak', file, '--role-map', 'admin=ORG-ADMIN', '--json', '--database-url', db('one.db'));
    const report = JSON.parse(h.stdout.text);
    assert.equal(report.totals.imported, 2);
    assert.deepEqual(report.skipped.map((s: { reason: string }) => s.reason), ['service_account']);
    assert.equal(h.stderr.text, '', 'no progress line when stderr is not a terminal');
  });

  it('human output: counts, skipped users, then a re-run that skips everyone; --dry-run says so', async () => {
    const file = join(dir, 'acme-realm.json');
    const h = harness();
    await h.run('import', 'keycloak', file, '--database-url', db('one.db'));
    assert.match(h.stdout.text, /Total: 3 read, 0 imported, 0 updated, 3 skipped/);
    assert.match(h.stdout.text, /ann ann@cli\.example: already_imported/);
    const dry = harness();
    await dry.run('import', 'keycloak', file, '--dry-run', '--database-url', db('fresh.db'));
    assert.match(dry.stdout.text, /^DRY RUN \(nothing written\)/);
  });

  it('a bad --role-map is a usage error (2); a malformed file a failure (1) naming the file', async () => {
    const h = harness();
    await assert.rejects(h.run('import', 'keycloak', join(dir, 'acme-realm.json'), '--role-map', 'admin=ROOT', '--database-url', db('one.db')), (err: unknown) => err instanceof CliError && err.exitCode === 2 && /ROOT is not a Gatehouse role/.test(err.message));
    writeFileSync(join(dir, 'broken.json'), '{"realm": "x", "users": [ {"id": ');
    await assert.rejects(h.run('import', 'keycloak', join(dir, 'broken.json'), '--database-url', db('one.db')), (err: unknown) => err instanceof CliError && err.exitCode === 1 && /broken\.json/.test(err.message) && /nothing was imported/.test(err.message));
    await assert.rejects(h.run('import', 'csv', join(dir, 'missing.csv'), '--database-url', db('one.db')), (err: unknown) => err instanceof CliError && err.exitCode === 1);
    await assert.rejects(h.run('import', 'keycloak'), (err: unknown) => err instanceof CommanderError && err.code === 'commander.missingArgument');
  });

  it('import csv with --column', async () => {
    const file = join(dir, 'people.csv');
    writeFileSync(file, 'Mail Address,first_name,password\ncsv@cli.example,Cee,Csv-Password-123\n');
    const h = harness();
    await h.run('import', 'csv', file, '--column', 'Mail Address=email', '--json', '--database-url', db('one.db'));
    assert.equal(JSON.parse(h.stdout.text).totals.imported, 1);
  });

  it('export --include-hashes --output warns on stderr, writes an owner-only file, and import jsonl takes it', async () => {
    const out = join(dir, 'export.jsonl');
    const h = harness();
    await h.run('export', '--include-hashes', '--output', out, '--json', '--database-url', db('one.db'));
    assert.match(h.stderr.text, /WARNING: the export holds password hashes/);
    assert.deepEqual(JSON.parse(h.stdout.text), { users: 3, groups: 0, includeHashes: true });
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines.length, 4);
    const into = harness();
    await into.run('import', 'jsonl', out, '--json', '--database-url', db('two.db'));
    assert.equal(JSON.parse(into.stdout.text).totals.imported, 3);
  });

  it('export to standard output: pure JSON Lines there, the summary on stderr, no hashes', async () => {
    const h = harness();
    await h.run('export', '--database-url', db('one.db'));
    const lines = h.stdout.text.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines[0].type, 'gatehouse-export');
    assert.equal(lines.filter((l) => l.type === 'user').length, 3);
    assert.doesNotMatch(h.stdout.text, /password_hash/);
    assert.match(h.stderr.text, /exported 3 users and 0 groups \(no password hashes\)/);
  });
});
