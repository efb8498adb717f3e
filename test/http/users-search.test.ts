import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { ADMIN, createUser, json, mintKey, testApp, USER_RESPONSE_KEYS } from '../helpers/app.ts';

// CONTRACT.md §3.4 — GET /users.

type Query = Record<string, string>;

function url(query: Query, path = '/users'): string {
  const qs = Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  return qs.length === 0 ? path : `${path}?${qs.join('&')}`;
}

async function search(app: FastifyInstance, query: Query = {}, headers: Record<string, string> = ADMIN) {
  return app.inject({ method: 'GET', url: url(query), headers });
}

async function ids(app: FastifyInstance, query: Query = {}): Promise<string[]> {
  const res = await search(app, query);
  assert.equal(res.statusCode, 200, res.body);
  return json<{ id: string }[]>(res).map((u) => u.id);
}

const sorted = (xs: string[]) => [...xs].sort();

/** Creates users one after another, so creation order is array order. */
async function seed(app: FastifyInstance, specs: Record<string, unknown>[]): Promise<string[]> {
  const out: string[] = [];
  for (const spec of specs) out.push((await createUser(app, spec)).id);
  return out;
}

function assertOnlyProblem(res: LightMyRequestResponse, loc: (string | number)[], type: string) {
  assert.equal(res.statusCode, 422, res.body);
  const { detail } = json(res);
  assert.equal(detail.length, 1, res.body);
  assert.deepEqual(detail[0].loc, loc, res.body);
  assert.equal(detail[0].type, type, res.body);
}

test('an empty or whitespace-only search_string returns every user', async () => {
  const { app } = await testApp();
  const all = await seed(app, [{}, {}, {}]);
  const queries: Query[] = [{}, { search_string: '' }, { search_string: '   ' }, { search_string: ' \t ' }];
  for (const query of queries) {
    assert.deepEqual(sorted(await ids(app, query)), sorted(all), JSON.stringify(query));
  }
  const res = await search(app);
  for (const user of json(res)) {
    assert.deepEqual(Object.keys(user).sort(), USER_RESPONSE_KEYS);
    for (const role of user.roles) assert.deepEqual(Object.keys(role).sort(), ['composite', 'description', 'id', 'name']);
  }
});

test('every term must match, each in any of email, first name or last name, ignoring case', async () => {
  const { app } = await testApp();
  const [a, b, c, d] = await seed(app, [
    { email: 'alice.zephyr@corp.example', firstName: 'Alice', lastName: 'Zephyr' },
    { email: 'alice.moon@home.example', firstName: 'Alice', lastName: 'Moon' },
    { email: 'bob.zephyr@home.example', firstName: 'Bob', lastName: 'Zephyr' },
    { email: 'e.m@home.example', firstName: 'ÉMILE', lastName: 'Kästner' },
  ]);
  const cases: [string, (string | undefined)[]][] = [
    ['alice', [a, b]],
    ['alice zephyr', [a]],
    ['zephyr ALICE', [a]],
    ['ALICE MoOn', [b]],
    ['zephyr home', [c]], // last name + email
    ['bob home zephyr', [c]], // first name + email + last name
    ['  alice   zephyr  ', [a]],
    ['alice\tzephyr', [a]],
    ['alice bob', []],
    ['alicezephyr', []], // a term never spans two fields
    ['alice moonx', []],
    ['ALICE.ZEPHYR@CORP.EXAMPLE', [a]],
    ['CORP.example', [a]],
    ['ice zep', [a]],
    ['émile', [d]],
    ['KÄSTNER', [d]],
  ];
  for (const [term, expected] of cases) {
    assert.deepEqual(sorted(await ids(app, { search_string: term })), sorted(expected as string[]), term);
  }
});

test('search characters are literal: %, _, *, quotes and backslash are no wildcards', async () => {
  const { app } = await testApp();
  const [pct, under, star, quote, dquote, back, plain] = await seed(app, [
    { email: 'one@lit.example', firstName: '100%', lastName: 'Sure' },
    { email: 'two@lit.example', firstName: 'snake_case', lastName: 'Coder' },
    { email: 'three@lit.example', firstName: 'Star*Man', lastName: 'Rocket' },
    { email: 'four@lit.example', firstName: 'Shaq', lastName: "O'Neil" },
    { email: 'five@lit.example', firstName: 'Say"Hi', lastName: 'Quote' },
    { email: 'six@lit.example', firstName: 'Back\\slash', lastName: 'Path' },
    { email: 'seven@lit.example', firstName: 'Plain', lastName: 'Jane' },
  ]);
  const cases: [string, (string | undefined)[]][] = [
    ['%', [pct]],
    ['100%', [pct]],
    ['0%', [pct]],
    ['s%e', []],
    ['%%', []],
    ['_', [under]],
    ['e_c', [under]],
    ['p_ain', []],
    ['__', []],
    ['*', [star]],
    ['r*m', [star]],
    ['s*n', []],
    ["'", [quote]],
    ["o'neil", [quote]],
    ["' OR '1'='1", []],
    ['"', [dquote]],
    ['y"h', [dquote]],
    ['\\', [back]],
    ['k\\s', [back]],
    ['\\%', []],
    ['plain', [plain]],
  ];
  for (const [term, expected] of cases) {
    assert.deepEqual(sorted(await ids(app, { search_string: term })), sorted(expected as string[]), `search ${term}`);
  }
});

test('results are ordered by creation: desc (newest first) by default, asc on request', async () => {
  const { app } = await testApp();
  const created = await seed(app, [{}, {}, {}, {}, {}]);
  const newestFirst = [...created].reverse();
  assert.deepEqual(await ids(app), newestFirst);
  assert.deepEqual(await ids(app, { sort: 'desc' }), newestFirst);
  assert.deepEqual(await ids(app, { sort: 'asc' }), created);
});

test('pages of page_size 2 over 5 users neither overlap nor skip; past the end is []', async () => {
  const { app } = await testApp();
  const created = await seed(app, [{}, {}, {}, {}, {}]);
  for (const sort of ['asc', 'desc']) {
    const expected = sort === 'asc' ? created : [...created].reverse();
    const pages: string[][] = [];
    for (const page of [0, 1, 2, 3, 4]) pages.push(await ids(app, { sort, page_size: '2', page: String(page) }));
    assert.deepEqual(pages, [expected.slice(0, 2), expected.slice(2, 4), expected.slice(4, 5), [], []], sort);
    const ones: string[] = [];
    for (const page of [0, 1, 2, 3, 4, 5]) ones.push(...(await ids(app, { sort, page_size: '1', page: String(page) })));
    assert.deepEqual(ones, expected, `${sort} page_size 1`);
    assert.deepEqual(await ids(app, { sort, page_size: '5000' }), expected);
  }
  const filtered = await ids(app, { search_string: 'example.com', page_size: '3', page: '1' });
  assert.deepEqual(filtered, [...created].reverse().slice(3, 5));
});

test('page_size defaults to 10 and page to 0', async () => {
  const { app } = await testApp();
  const created = await seed(app, Array.from({ length: 12 }, () => ({})));
  const newestFirst = [...created].reverse();
  assert.deepEqual(await ids(app), newestFirst.slice(0, 10));
  assert.deepEqual(await ids(app, { page: '1' }), newestFirst.slice(10));
  assert.deepEqual(await ids(app, { page_size: '10' }), newestFirst.slice(0, 10));
});

test('a huge page number is 200 []', async () => {
  const { app } = await testApp();
  await seed(app, [{}, {}]);
  const queries: Query[] = [
    { page: '99999999999999' },
    { page: '99999999999999', page_size: '5000' },
    { page: '99999999999999999999', page_size: '5000' },
  ];
  for (const query of queries) {
    const res = await search(app, query);
    assert.equal(res.statusCode, 200, `${JSON.stringify(query)}: ${res.body}`);
    assert.deepEqual(json(res), []);
  }
});

test('out-of-range and non-integer page_size / page are 422 at ["query", name]', async () => {
  const { app } = await testApp();
  const cases: [Query, string, string][] = [
    [{ page_size: '0' }, 'page_size', 'greater_than_equal'],
    [{ page_size: '-1' }, 'page_size', 'greater_than_equal'],
    [{ page_size: '5001' }, 'page_size', 'less_than_equal'],
    [{ page_size: 'abc' }, 'page_size', 'int_parsing'],
    [{ page_size: '1.5' }, 'page_size', 'int_parsing'],
    [{ page_size: '10abc' }, 'page_size', 'int_parsing'],
    [{ page: '-1' }, 'page', 'greater_than_equal'],
    [{ page: 'abc' }, 'page', 'int_parsing'],
    [{ page: '0.5' }, 'page', 'int_parsing'],
  ];
  for (const [query, name, type] of cases) assertOnlyProblem(await search(app, query), ['query', name], type);
  for (const page_size of ['1', '5000']) assert.equal((await search(app, { page_size })).statusCode, 200);
});

test('every bad query parameter is reported', async () => {
  const { app } = await testApp();
  const res = await search(app, { page_size: '0', page: '-1', sort: 'sideways' });
  assert.equal(res.statusCode, 422, res.body);
  const locs = json(res).detail.map((p: { loc: string[] }) => p.loc.join('.'));
  assert.deepEqual(sorted(locs), ['query.page', 'query.page_size', 'query.sort']);
});

test('a bad sort is 422 enum at ["query","sort"]', async () => {
  const { app } = await testApp();
  for (const sort of ['sideways', 'ascending', 'ASC', '']) assertOnlyProblem(await search(app, { sort }), ['query', 'sort'], 'enum');
});

test('search_string longer than 200 characters is 422 string_too_long; 200 is fine', async () => {
  const { app } = await testApp();
  assertOnlyProblem(await search(app, { search_string: 'a'.repeat(201) }), ['query', 'search_string'], 'string_too_long');
  const ok = await search(app, { search_string: 'a'.repeat(200) });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.deepEqual(json(ok), []);
});

test('ORG-AUDITOR may search and sees what an admin sees; a trailing slash works', async () => {
  const { app } = await testApp();
  const created = await seed(app, [{}, {}, {}]);
  const auditor = await mintKey(app, ['ORG-AUDITOR']);
  const res = await search(app, { sort: 'asc' }, auditor.auth);
  assert.equal(res.statusCode, 200, res.body);
  const admin = await search(app, { sort: 'asc' });
  assert.deepEqual(json(res), json(admin));
  assert.deepEqual(json<{ id: string }[]>(res).map((u) => u.id), created);
  const slash = await app.inject({ method: 'GET', url: '/users/?sort=asc', headers: auditor.auth });
  assert.equal(slash.statusCode, 200, slash.body);
  assert.deepEqual(json(slash), json(admin));
});
