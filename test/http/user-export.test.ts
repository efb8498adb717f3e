import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { createUserExport } from '../../src/domain/user-export.ts';
import { createUserExportSource } from '../../src/store/user-export.ts';
import { ADMIN, createUser, json, mintKey, testApp } from '../helpers/app.ts';

// GET /users/export: the users a search finds, as a CSV file streamed in keyset batches. Runs on SQLite and, with
// GATEHOUSE_TEST_DIALECT=postgres, on PostgreSQL.

const { app, database } = await testApp({ GATEHOUSE_LOCKOUT_THRESHOLD: '2' });

/** RFC 4180, strictly: quoted cells may hold commas, quotes (doubled), CR and LF; every record ends with CRLF. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  while (i < text.length) {
    let cell = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        assert.ok(q >= 0, 'an unterminated quoted cell');
        cell += text.slice(i, q);
        i = q + 1;
        if (text[i] === '"') {
          cell += '"';
          i++;
        } else break;
      }
    } else {
      const end = text.slice(i).search(/,|\r\n/);
      assert.ok(end >= 0, 'the last record ends with CRLF');
      cell = text.slice(i, i + end);
      assert.doesNotMatch(cell, /["\r\n]/, `an unquoted cell holds a quote or line break: ${JSON.stringify(cell)}`);
      i += end;
    }
    row.push(cell);
    if (text.startsWith(',', i)) i += 1;
    else if (text.startsWith('\r\n', i)) {
      i += 2;
      rows.push(row);
      row = [];
    } else assert.fail(`unexpected text after a cell at ${i}: ${JSON.stringify(text.slice(i, i + 20))}`);
  }
  return rows;
}

const HEADER = ['id', 'email', 'first_name', 'last_name', 'roles', 'groups', 'enabled', 'locked_until', 'created_at', 'updated_at'];

const exportCsv = (query: Record<string, string> = {}, headers: Record<string, string> = ADMIN) =>
  app.inject({ method: 'GET', url: `/users/export?${new URLSearchParams(query)}`, headers });

/** The records of a 200 export as objects by column name, after checking the header line. */
function records(res: LightMyRequestResponse): Record<string, string>[] {
  assert.equal(res.statusCode, 200, res.body);
  const [header, ...rows] = parseCsv(res.body);
  assert.deepEqual(header, HEADER);
  return rows.map((r) => {
    assert.equal(r.length, HEADER.length, `a record of ${r.length} cells: ${JSON.stringify(r)}`);
    return Object.fromEntries(HEADER.map((h, i) => [h, r[i]!]));
  });
}

async function searchIds(query: Record<string, string>): Promise<string[]> {
  const res = await app.inject({ method: 'GET', url: `/users?${new URLSearchParams({ page_size: '5000', ...query })}`, headers: ADMIN });
  assert.equal(res.statusCode, 200, res.body);
  return json<{ id: string }[]>(res).map((u) => u.id);
}

// People whose names are awkward for CSV: quotes, commas, line breaks, and would-be spreadsheet formulas.
const quoted = await createUser(app, { email: 'quote@export.example', firstName: 'Ann "The Quote"', lastName: 'Smith, Jr.', roles: ['CHAT-USER', 'TASK-ADMIN'] });
const multiline = await createUser(app, { email: 'lines@export.example', firstName: 'Two\r\nLines', lastName: 'Newline\nOnly', roles: [] });
const formulas = await createUser(app, { email: 'formula@export.example', firstName: '=HYPERLINK("http://evil.example","x")', lastName: '+1+2', roles: ['CHAT-USER'] });
const more = await createUser(app, { email: 'more@export.example', firstName: '-3', lastName: '@SUM(A1)', roles: [] });
const tabs = await createUser(app, { email: 'tab@export.example', firstName: '\tTabbed', lastName: '\rReturn', roles: [] });
const plain = await createUser(app, { email: 'plain@export.example', firstName: 'Plain', lastName: 'Person', roles: ['VALIDATION-USER'] });
const disabled = await createUser(app, { email: 'off@export.example', firstName: 'Dora', lastName: 'Disabled', roles: ['CHAT-USER'] });
assert.equal((await app.inject({ method: 'PATCH', url: `/users/${disabled.id}`, headers: ADMIN, payload: { enabled: false } })).statusCode, 200);
const groupRes = await app.inject({ method: 'POST', url: '/groups', headers: ADMIN, payload: { name: 'Auditors, "inner"', roles: ['ORG-AUDITOR'] } });
const group = json<{ id: string }>(groupRes).id;
await app.inject({ method: 'POST', url: `/groups/${group}/members`, headers: ADMIN, payload: { user_ids: [plain.id, quoted.id] } });
// Two failed sign-ins lock the account (threshold 2 in this app).
for (let i = 0; i < 2; i++) {
  await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: 'more@export.example', password: 'Wrong-Password-1!' } });
}

test('the export is a CSV attachment named after the day, streamed with a header line', async () => {
  const res = await exportCsv();
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['content-type'], 'text/csv; charset=utf-8');
  assert.match(String(res.headers['content-disposition']), /^attachment; filename="users-\d{4}-\d{2}-\d{2}\.csv"$/);
  assert.equal(/users-([\d-]+)\.csv/.exec(String(res.headers['content-disposition']))?.[1], new Date().toISOString().slice(0, 10));
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal(res.headers['content-length'], undefined, 'streamed, not buffered');
  assert.equal(records(res).length, 7);
});

test('quotes, commas and line breaks survive a round trip through an RFC 4180 parser', async () => {
  const rows = records(await exportCsv());
  const byId = new Map(rows.map((r) => [r.id, r]));
  const q = byId.get(quoted.id)!;
  assert.equal(q.first_name, 'Ann "The Quote"');
  assert.equal(q.last_name, 'Smith, Jr.');
  assert.deepEqual(q.roles!.split(' ').sort(), ['CHAT-USER', 'TASK-ADMIN']);
  assert.equal(q.groups, 'Auditors, "inner"');
  const m = byId.get(multiline.id)!;
  assert.equal(m.first_name, 'Two\r\nLines');
  assert.equal(m.last_name, 'Newline\nOnly');
  assert.equal(m.roles, '');
  const res = await exportCsv();
  assert.ok(res.body.includes('"Ann ""The Quote"""'), 'quotes are doubled inside a quoted cell');
});

test("cells that a spreadsheet would run as a formula get a leading '", async () => {
  const byId = new Map(records(await exportCsv()).map((r) => [r.id, r]));
  assert.equal(byId.get(formulas.id)!.first_name, `'=HYPERLINK("http://evil.example","x")`);
  assert.equal(byId.get(formulas.id)!.last_name, "'+1+2");
  assert.equal(byId.get(more.id)!.first_name, "'-3");
  assert.equal(byId.get(more.id)!.last_name, "'@SUM(A1)");
  assert.equal(byId.get(tabs.id)!.first_name, "'\tTabbed");
  assert.equal(byId.get(tabs.id)!.last_name, "'\rReturn");
  assert.equal(byId.get(plain.id)!.first_name, 'Plain', 'ordinary cells are left alone');
});

test('every column: enabled, the lock, the dates, the groups', async () => {
  const byId = new Map(records(await exportCsv()).map((r) => [r.id, r]));
  const user = json(await app.inject({ method: 'GET', url: `/users/${plain.id}`, headers: ADMIN }));
  assert.deepEqual(byId.get(plain.id), {
    id: plain.id,
    email: 'plain@export.example',
    first_name: 'Plain',
    last_name: 'Person',
    roles: 'VALIDATION-USER',
    groups: 'Auditors, "inner"',
    enabled: 'true',
    locked_until: '',
    created_at: user.created_at,
    updated_at: user.updated_at,
  });
  assert.equal(byId.get(disabled.id)!.enabled, 'false');
  const locked = json(await app.inject({ method: 'GET', url: `/users/${more.id}`, headers: ADMIN }));
  assert.ok(locked.locked_until, 'the account is locked');
  assert.equal(byId.get(more.id)!.locked_until, locked.locked_until);
});

test('the order and filters are those of GET /users', async () => {
  const ids = async (q: Record<string, string>) => records(await exportCsv(q)).map((r) => r.id);
  assert.deepEqual(await ids({}), await searchIds({}), 'newest first by default');
  assert.deepEqual(await ids({ sort: 'asc' }), await searchIds({ sort: 'asc' }));
  assert.deepEqual((await ids({ sort: 'asc' })).reverse(), await ids({ sort: 'desc' }));
  for (const q of [
    { search_string: 'export.example plain' },
    { search_string: 'SMITH' },
    { search_string: 'nobody-has-this' },
    { role: 'CHAT-USER' },
    { role: 'ORG-AUDITOR' }, // through the group only
    { group },
    { enabled: 'false' },
    { enabled: 'true', role: 'CHAT-USER', sort: 'asc' },
  ] as Record<string, string>[]) {
    assert.deepEqual(await ids(q), await searchIds(q), JSON.stringify(q));
  }
  assert.deepEqual(await ids({ role: 'ORG-AUDITOR' }), await searchIds({ group }), 'group roles count');
  assert.deepEqual(await ids({ enabled: 'false' }), [disabled.id]);
  assert.deepEqual(records(await exportCsv({ search_string: 'nobody-has-this' })), [], 'no match: the header line alone');
});

test('ORG-AUDITOR may export; CHAT-USER may not; nobody without credentials', async () => {
  const auditor = await mintKey(app, ['ORG-AUDITOR']);
  assert.equal(records(await exportCsv({}, auditor.auth)).length, 7);
  const chat = await mintKey(app, ['CHAT-USER']);
  const refused = await exportCsv({}, chat.auth);
  assert.equal(refused.statusCode, 403);
  assert.deepEqual(json(refused), { detail: 'Forbidden' });
  assert.equal((await exportCsv({}, {})).statusCode, 401);
});

test('bad input is refused in words before anything is sent', async () => {
  for (const [query, field] of [
    [{ sort: 'sideways' }, 'sort'],
    [{ enabled: 'maybe' }, 'enabled'],
    [{ search_string: 'a b c d e f g h i j k' }, 'search_string'],
    [{ search_string: 'x'.repeat(201) }, 'search_string'],
  ] as const) {
    const res = await exportCsv(query);
    assert.equal(res.statusCode, 422, `${JSON.stringify(query)}: ${res.body}`);
    assert.match(res.headers['content-type'] as string, /^application\/json/);
    assert.deepEqual(json(res).detail[0].loc, ['query', field]);
  }
  const role = await exportCsv({ role: 'NO-SUCH-ROLE' });
  assert.equal(role.statusCode, 400, 'as GET /users answers an unknown role');
  assert.deepEqual(json(role), { detail: 'Role NO-SUCH-ROLE does not exist.' });
});

test('the OpenAPI document describes the export as text/csv', async () => {
  const doc = json(await app.inject({ method: 'GET', url: '/openapi.json' }));
  const op = doc.paths['/users/export'].get;
  assert.ok(op.responses['200'].content['text/csv'], JSON.stringify(op.responses['200']));
  assert.deepEqual(
    op.parameters.map((p: { name: string }) => p.name).sort(),
    ['enabled', 'group', 'role', 'search_string', 'sort'],
  );
});

test('keyset batches: small batches give exactly the users of one query, in order, ties on created_at included', async () => {
  // Users created within the same millisecond share created_at: the id breaks the tie, in both directions.
  const source = createUserExportSource(database.db, database.dialect);
  const now = Date.now();
  await database.db
    .updateTable('users')
    .set({ created_at: now - 1000 })
    .where('id', 'in', [quoted.id, multiline.id, formulas.id])
    .execute();
  for (const sort of ['asc', 'desc'] as const) {
    for (const batchSize of [1, 2, 3, 50]) {
      const exporter = createUserExport({ source, clock: { now: () => Date.now() }, batchSize });
      const seen: string[] = [];
      let batches = 0;
      for await (const batch of exporter.prepare({ searchString: undefined, sort })) {
        assert.ok(batch.length <= batchSize);
        batches += 1;
        seen.push(...batch.map((r) => r.user.id));
      }
      assert.deepEqual(seen, await searchIds({ sort }), `${sort}, batches of ${batchSize}`);
      assert.equal(batches, Math.ceil(seen.length / batchSize) || 0);
    }
    const exporter = createUserExport({ source, clock: { now: () => Date.now() }, batchSize: 2 });
    const chat: string[] = [];
    for await (const batch of exporter.prepare({ searchString: 'example', sort, filters: { role: 'CHAT-USER', enabled: true } })) chat.push(...batch.map((r) => r.user.id));
    assert.deepEqual(chat, await searchIds({ sort, search_string: 'example', role: 'CHAT-USER', enabled: 'true' }));
  }
});
