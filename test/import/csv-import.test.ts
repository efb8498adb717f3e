import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import bcryptjs from 'bcryptjs';
import { CSV_TEMPLATE, importCsv } from '../../src/import/csv-import.ts';
import { ImportInputError } from '../../src/import/import-types.ts';
import { encodePbkdf2 } from '../../src/security/legacy-password.ts';
import { ADMIN, json, testApp, testHasher } from '../helpers/app.ts';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-csv-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const t = await testApp();
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const token = (username: string, password: string) => t.app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username, password } });
const userByEmail = async (email: string) => json(await t.app.inject({ method: 'GET', url: `/users?search_string=${encodeURIComponent(email)}`, headers: ADMIN }))[0];

describe('import csv', () => {
  it('the template in docs/import-export.md is the one the code knows, and it imports as documented', async () => {
    const doc = readFileSync(new URL('../../docs/import-export.md', import.meta.url), 'utf8');
    assert.ok(doc.includes('```csv\n' + CSV_TEMPLATE + '```'), 'the documented template is CSV_TEMPLATE');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    assert.ok(readme.includes('```csv\n' + CSV_TEMPLATE + '```'), "the README's template is CSV_TEMPLATE");
    const report = await importCsv({ path: file('template.csv', CSV_TEMPLATE), database: t.database, hasher: testHasher });
    assert.equal(report.totals.imported, 4);
    assert.deepEqual(report.needReset.map((u) => u.email), ['grace@example.com', 'bob@example.com'], 'a row without a password needs a reset');
    assert.equal((await token('ada@example.com', 'Correct-Horse-Battery-42')).statusCode, 200);
    const alan = await token('alan@example.com', 'Initial-Password-Change-Me-7');
    assert.equal(json(alan).error_description, 'Password change required');
    const grace = await userByEmail('grace@example.com');
    assert.deepEqual(grace.roles.map((r: { name: string }) => r.name).sort(), ['CHAT-USER', 'TASK-ADMIN']);
    assert.deepEqual(grace.groups.map((g: { name: string }) => g.name), ['Engineering', 'Navy']);
    assert.equal((await userByEmail('bob@example.com')).enabled, false);
  });

  it('maps headers by name in any case and order, with --column for other names; quoted fields, CRLF and a BOM', async () => {
    const salt = randomBytes(16);
    const pbkdf2 = encodePbkdf2('pbkdf2-sha256', 1000, salt, pbkdf2Sync('Hashed-Elsewhere-1', salt, 1000, 32, 'sha256'));
    const bcrypt = bcryptjs.hashSync('Bcrypt-Elsewhere-2', bcryptjs.genSaltSync(4));
    const csv =
      '\ufeffE-Mail,Last Name,FIRSTNAME,Password_Hash,Id\r\n' +
      `"quoted@example.com","O""Brien, Jr.","Zoë",${pbkdf2},kc-1\r\n` +
      `multi@example.com,"Two\r\nLines",Ann,,kc-3\r\n` +
      `bcrypt@example.com,Smith,Ann,${bcrypt},kc-2\r\n`;
    const report = await importCsv({ path: file('mapped.csv', csv), database: t.database, hasher: testHasher, columns: ['E-Mail=email'] });
    assert.equal(report.totals.imported, 2, JSON.stringify(report.skipped));
    // A quoted field may span lines; a name may not hold a line break, so that row is skipped, and the next row's
    // line number counts both lines.
    assert.deepEqual(report.skipped.map((s) => [s.position, s.reason, s.detail]), [[3, 'invalid', 'last_name: at most 100 characters, no control characters']]);
    const quoted = json(await t.app.inject({ method: 'GET', url: '/users/kc-1', headers: ADMIN }));
    assert.equal(quoted.last_name, 'O"Brien, Jr.');
    assert.equal(quoted.first_name, 'Zoë');
    assert.equal((await token('quoted@example.com', 'Hashed-Elsewhere-1')).statusCode, 200);
    assert.equal((await token('bcrypt@example.com', 'Bcrypt-Elsewhere-2')).statusCode, 200);
  });

  it('rows that cannot be imported are skipped with the line and reason; the rest are imported', async () => {
    const csv = [
      'email,first_name,roles,enabled,password_hash',
      'fine@example.com,Fine,CHAT-USER,true,',
      'not-an-email,Bad,,,',
      ',NoEmail,,,',
      'role@example.com,Role,SUPERUSER,,',
      'flag@example.com,Flag,,maybe,',
      'hash@example.com,Hash,,,md5:abc',
      'short@example.com,Short',
      'fine@example.com,Again,,,',
    ].join('\n');
    const report = await importCsv({ path: file('bad-rows.csv', csv), database: t.database, hasher: testHasher });
    assert.equal(report.totals.imported, 1);
    assert.deepEqual(
      report.skipped.map((s) => [s.position, s.reason]),
      [[3, 'invalid'], [4, 'no_email'], [5, 'invalid'], [6, 'invalid'], [7, 'invalid'], [8, 'invalid'], [9, 'duplicate_email']],
    );
    assert.match(report.skipped[2]!.detail!, /SUPERUSER is not a Gatehouse role/);
  });

  it('a header with an unknown column, an unclosed quote or an empty file stops the import before anything is written', async () => {
    const before = (await t.database.db.selectFrom('users').select('id').execute()).length;
    await assert.rejects(importCsv({ path: file('typo.csv', 'emial,first_name\na@example.com,A\n'), database: t.database, hasher: testHasher }), (err: unknown) => {
      assert.ok(err instanceof ImportInputError);
      assert.match(err.message, /typo\.csv: line 1: unknown column "emial"/);
      return true;
    });
    await assert.rejects(importCsv({ path: file('open.csv', 'email,first_name\nb@example.com,B\n"c@example.com,C\n'), database: t.database, hasher: testHasher }), /open\.csv: line 3: a quoted field is never closed/);
    await assert.rejects(importCsv({ path: file('empty.csv', ''), database: t.database, hasher: testHasher }), ImportInputError);
    assert.equal((await t.database.db.selectFrom('users').select('id').execute()).length, before, 'b@example.com (before the bad line) was not written either');
  });
});

describe('CSV records', () => {
  it('fields with doubled quotes, commas and line breaks survive every chunk boundary of a large file', async () => {
    const { csvRecords } = await import('../../src/import/csv-records.ts');
    // 20,000 rows of varying length: the read stream's 64 KiB chunks end at every kind of place in them.
    const value = (i: number) => `say ""hi"" ${'x'.repeat(i % 7)},\nnext ""${i}""`;
    const rows = Array.from({ length: 20_000 }, (_, i) => `${i},"${value(i)}",plain${i}`);
    const records = [];
    for await (const r of csvRecords(file('large.csv', rows.join('\r\n') + '\r\n'))) records.push(r);
    assert.equal(records.length, 20_000);
    records.forEach((r, i) => assert.deepEqual(r.fields, [String(i), value(i).replaceAll('""', '"'), `plain${i}`], `row ${i}`));
    assert.equal(records[1]!.line, 3, 'a quoted line break counts as a line');
  });
});
