/**
 * RFC 7644 §3.4.2 (filtering, sorting, pagination, attribute projection) and §3.4.3 (POST /.search), over HTTP on a
 * small directory made through SCIM. Every expectation is computed from the directory as made here, not read back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  LIST_RESPONSE, SEARCH_REQUEST, USER_SCHEMA, assertListResponse, assertScimError, assertStatus, q, scimClient, show,
} from './rfc-helpers.ts';

const c = await scimClient();
const { req } = c;

// A directory of its own: a tag in every address keeps these users apart from any others.
const TAG = `q${Date.now().toString(36)}`;
const PEOPLE = [
  { userName: `alice.${TAG}@example.com`, givenName: 'Alice', familyName: 'Archer', externalId: `ext-a-${TAG}`, active: true },
  { userName: `Bob.${TAG}@Example.org`, givenName: 'Bob', familyName: 'Baker', externalId: `ext-b-${TAG}`, active: true },
  { userName: `carol.${TAG}@example.com`, givenName: 'Carol', familyName: 'Carter', externalId: `ext-c-${TAG}`, active: false },
  { userName: `dave.${TAG}@example.net`, givenName: 'Dave', familyName: 'Archer', externalId: undefined, active: true },
  { userName: `erin.${TAG}@example.com`, givenName: 'Erin', familyName: 'Evans', externalId: `ext-e-${TAG}`, active: true },
];
const ids = new Map<string, string>();
for (const p of PEOPLE) {
  const res = await req('POST', '/Users', {
    schemas: [USER_SCHEMA],
    userName: p.userName,
    name: { givenName: p.givenName, familyName: p.familyName },
    ...(p.externalId ? { externalId: p.externalId } : {}),
    active: p.active,
  });
  assertStatus(res, 201);
  ids.set(p.userName, res.body.id);
}
const mine = `userName co "${TAG}"`;
const lower = (s: string) => s.toLowerCase();
/** The userNames as stored: addresses are kept lower-cased (userName is caseExact false). */
const U = PEOPLE.map((p) => lower(p.userName));

async function find(filter: string, extra = ''): Promise<string[]> {
  const res = await req('GET', `/Users?filter=${q(filter)}&count=1000${extra}`);
  return assertListResponse(res).map((u) => lower(u.userName as string)).sort();
}
const names = (pred: (p: (typeof PEOPLE)[number]) => boolean) => PEOPLE.filter(pred).map((p) => lower(p.userName)).sort();

test('§3.4.2.2: eq on userName is case-insensitive (attribute names and operators too)', async () => {
  const bob = PEOPLE[1]!.userName;
  assert.deepEqual(await find(`userName eq "${bob}"`), [lower(bob)]);
  assert.deepEqual(await find(`userName eq "${bob.toUpperCase()}"`), [lower(bob)]);
  assert.deepEqual(await find(`USERNAME EQ "${lower(bob)}"`), [lower(bob)]);
  assert.deepEqual(await find(`userName Eq "nobody.${TAG}@example.com"`), []);
});

test('§3.4.2.2: every comparison operator', async () => {
  assert.deepEqual(await find(`${mine} and userName ne "${PEOPLE[0]!.userName}"`), names((p) => p !== PEOPLE[0]));
  assert.deepEqual(await find(`userName sw "alice.${TAG}"`), [U[0]]);
  assert.deepEqual(await find(`userName ew "${TAG}@example.com"`), names((p) => p.userName.endsWith(`${TAG}@example.com`)));
  assert.deepEqual(await find(`${mine} and name.familyName eq "Archer"`), names((p) => p.familyName === 'Archer'));
  assert.deepEqual(await find(`${mine} and name.givenName co "a"`), names((p) => /a/i.test(p.givenName)));
  assert.deepEqual(await find(`${mine} and externalId pr`), names((p) => p.externalId !== undefined));
  assert.deepEqual(await find(`externalId eq "ext-c-${TAG}"`), [U[2]]);
  assert.deepEqual(await find(`id eq "${ids.get(PEOPLE[3]!.userName)}"`), [U[3]]);
  assert.deepEqual(await find(`${mine} and active eq false`), names((p) => !p.active));
  assert.deepEqual(await find(`${mine} and userName gt "c"`), names((p) => lower(p.userName) > 'c'));
  assert.deepEqual(await find(`${mine} and userName ge "carol.${TAG}@example.com"`), names((p) => lower(p.userName) >= `carol.${TAG}@example.com`));
  assert.deepEqual(await find(`${mine} and userName lt "c"`), names((p) => lower(p.userName) < 'c'));
  assert.deepEqual(await find(`${mine} and userName le "carol.${TAG}@example.com"`), names((p) => lower(p.userName) <= `carol.${TAG}@example.com`));
  assert.deepEqual(await find(`${mine} and meta.created gt "2000-01-01T00:00:00Z"`), names(() => true));
  assert.deepEqual(await find(`${mine} and meta.lastModified lt "2000-01-01T00:00:00Z"`), []);
});

test('§3.4.2.2: and, or, not, parentheses and precedence', async () => {
  assert.deepEqual(
    await find(`${mine} and (name.familyName eq "Archer" or name.givenName eq "Erin")`),
    names((p) => p.familyName === 'Archer' || p.givenName === 'Erin'),
  );
  assert.deepEqual(await find(`${mine} and not (name.familyName eq "Archer")`), names((p) => p.familyName !== 'Archer'));
  // `and` binds tighter than `or`: a or (b and c).
  assert.deepEqual(
    await find(`userName eq "${PEOPLE[4]!.userName}" or ${mine} and name.familyName eq "Baker"`),
    [U[1]!, U[4]!].sort(),
  );
  assert.deepEqual(await find(`${mine} and not (active eq true) and name.givenName sw "C"`), [U[2]]);
});

test('§3.4.2.2: value paths and multi-valued attributes — emails[type eq "work" and value co ...], emails.value, emails co', async () => {
  const alice = PEOPLE[0]!.userName;
  assert.deepEqual(await find(`emails[type eq "work" and value eq "${alice}"]`), [lower(alice)]);
  assert.deepEqual(await find(`emails[value co "${TAG}@example.org"]`), [U[1]]);
  assert.deepEqual(await find(`emails.value eq "${alice.toUpperCase()}"`), [lower(alice)]);
  assert.deepEqual(await find(`${mine} and emails co "example.net"`), [U[3]]);
  assert.deepEqual(await find(`${mine} and emails[type eq "work"]`), names(() => true));
});

test('§3.4.2.2: a malformed or untranslatable filter is 400 invalidFilter, never a 500', async () => {
  const bad = [
    'userName', 'userName eq', 'userName eq "unterminated', 'userName xx "a"', '(userName eq "a"', 'userName eq "a")',
    'userName eq "a" and', 'and userName eq "a"', 'not', 'not ()', 'emails[type eq "work"', 'emails[]', '"a" eq userName',
    'userName eq a', 'password eq "x"', 'noSuchAttribute eq "x"', 'name.middleName eq "x"', 'userName eq "a" or', ')', '[',
    'meta.created gt "not a date"', 'active eq "perhaps"', 'userName pr "x"', 'emails[type eq "work"].value eq "x" and',
  ];
  for (const f of bad) {
    const res = await req('GET', `/Users?filter=${q(f)}`);
    assertScimError(res, 400, 'invalidFilter');
  }
  // Valid, but large: answered correctly or refused as invalidFilter (a limit on complexity), never a 5xx.
  const alice = PEOPLE[0]!.userName;
  const long = `userName eq "${alice}"` + ` and ${mine}`.repeat(300);
  const deep = '('.repeat(300) + `userName eq "${alice}"` + ')'.repeat(300);
  for (const f of [long, deep]) {
    const res = await req('GET', `/Users?filter=${q(f)}`);
    if (res.status === 200) assert.deepEqual(assertListResponse(res).map((u) => u.userName), [lower(alice)]);
    else assertScimError(res, 400, 'invalidFilter');
  }
});

test('§3.4.2.3: sortBy and sortOrder (ascending by default)', async () => {
  const res = await req('GET', `/Users?filter=${q(mine)}&sortBy=userName`);
  const asc = assertListResponse(res, PEOPLE.length).map((u) => u.userName);
  assert.deepEqual(asc, [...asc].sort((a, b) => lower(a).localeCompare(lower(b))));
  const desc = assertListResponse(await req('GET', `/Users?filter=${q(mine)}&sortBy=userName&sortOrder=descending`)).map((u) => u.userName);
  assert.deepEqual(desc, [...asc].reverse());
  const byFamily = assertListResponse(await req('GET', `/Users?filter=${q(mine)}&sortBy=name.familyName&sortOrder=ascending`)).map((u) => u.name.familyName);
  assert.deepEqual(byFamily, [...byFamily].sort());
  assertScimError(await req('GET', `/Users?filter=${q(mine)}&sortBy=userName&sortOrder=sideways`), 400, ['invalidValue', 'invalidSyntax']);
});

test('§3.4.2.4: startIndex (1-based) and count page through the results; count=0 gives only the total', async () => {
  const all = assertListResponse(await req('GET', `/Users?filter=${q(mine)}&sortBy=userName`), PEOPLE.length).map((u) => u.id);
  const seen: string[] = [];
  for (let start = 1; start <= PEOPLE.length; start += 2) {
    const res = await req('GET', `/Users?filter=${q(mine)}&sortBy=userName&startIndex=${start}&count=2`);
    const page = assertListResponse(res, PEOPLE.length);
    assert.equal(res.body.startIndex, start);
    assert.equal(res.body.itemsPerPage, page.length);
    assert.ok(page.length <= 2);
    seen.push(...page.map((u) => u.id));
  }
  assert.deepEqual(seen, all, 'pages cover every result once, in order');

  const zero = await req('GET', `/Users?filter=${q(mine)}&count=0`);
  assert.deepEqual(assertListResponse(zero, PEOPLE.length), [], 'count=0: no resources');
  // RFC 7644 §3.4.2.4: startIndex < 1 is taken as 1; a negative count as 0.
  const low = await req('GET', `/Users?filter=${q(mine)}&sortBy=userName&startIndex=0&count=1`);
  assert.deepEqual(assertListResponse(low).map((u) => u.id), all.slice(0, 1));
  assert.equal(low.body.startIndex, 1);
  assert.deepEqual(assertListResponse(await req('GET', `/Users?filter=${q(mine)}&count=-5`), PEOPLE.length), []);
  const past = await req('GET', `/Users?filter=${q(mine)}&startIndex=1000`);
  assert.deepEqual(assertListResponse(past, PEOPLE.length), []);
  assertScimError(await req('GET', `/Users?filter=${q(mine)}&count=many`), 400, ['invalidValue', 'invalidSyntax']);
  // A count above the service provider's maxResults is answered with at most maxResults (RFC 7644 §3.4.2.4).
  const max = (await req('GET', '/ServiceProviderConfig')).body.filter.maxResults as number;
  const big = await req('GET', `/Users?count=${max + 5000}`);
  assert.ok(assertListResponse(big).length <= max);
});

test('§3.4.2.5: attributes and excludedAttributes; id and schemas are always returned', async () => {
  const res = await req('GET', `/Users?filter=${q(mine)}&attributes=userName`);
  for (const u of assertListResponse(res, PEOPLE.length)) {
    assert.ok(typeof u.id === 'string' && typeof u.userName === 'string', JSON.stringify(u));
    assert.equal(u.name, undefined, `only userName (and id, schemas) asked for: ${JSON.stringify(u)}`);
    assert.equal(u.active, undefined);
    assert.equal(u.emails, undefined);
  }
  const sub = assertListResponse(await req('GET', `/Users?filter=${q(mine)}&attributes=name.givenName,userName`));
  for (const u of sub) {
    assert.equal(typeof u.name.givenName, 'string');
    assert.equal(u.name.familyName, undefined);
  }
  const ex = assertListResponse(await req('GET', `/Users?filter=${q(mine)}&excludedAttributes=emails,name`));
  for (const u of ex) {
    assert.equal(u.emails, undefined);
    assert.equal(u.name, undefined);
    assert.equal(typeof u.userName, 'string');
    assert.ok(u.id);
  }
  // RFC 7643 §2.4: `returned: always` (id) survives excludedAttributes; `returned: never` (password) is never shown.
  for (const u of assertListResponse(await req('GET', `/Users?filter=${q(mine)}&excludedAttributes=id,userName`))) {
    assert.ok(typeof u.id === 'string', `id is always returned: ${JSON.stringify(u)}`);
    assert.equal(u.userName, undefined);
  }
  for (const u of assertListResponse(await req('GET', `/Users?filter=${q(mine)}&attributes=password`))) assert.equal(u.password, undefined);
  const one = await req('GET', `/Users/${ids.get(PEOPLE[0]!.userName)}?attributes=${q(`${USER_SCHEMA}:name.familyName`)}`);
  assertStatus(one, 200);
  assert.equal(one.body.name.familyName, 'Archer');
  assert.equal(one.body.userName, undefined);
  assert.ok(one.body.id);
});

test('§3.4.3: POST /.search with a SearchRequest answers a ListResponse', async () => {
  const res = await req('POST', '/.search', {
    schemas: [SEARCH_REQUEST],
    attributes: ['userName', 'name.familyName'],
    filter: `${mine} and name.familyName eq "Archer"`,
    sortBy: 'userName',
    sortOrder: 'descending',
    startIndex: 1,
    count: 10,
  });
  const found = assertListResponse(res, 2);
  assert.deepEqual(res.body.schemas, [LIST_RESPONSE]);
  assert.deepEqual(found.map((u) => lower(u.userName)), names((p) => p.familyName === 'Archer').sort((a, b) => lower(b).localeCompare(lower(a))));
  for (const u of found) assert.equal(u.active, undefined, 'attributes honoured');
  assertScimError(await req('POST', '/.search', { schemas: [SEARCH_REQUEST], filter: 'userName eq' }), 400, 'invalidFilter');
  assertScimError(await req('POST', '/.search', { schemas: [SEARCH_REQUEST], count: 'ten' }), 400, ['invalidValue', 'invalidSyntax']);
});

test('lists without a filter count every user; the list is application/scim+json', async () => {
  const res = await req('GET', '/Users?count=1');
  const page = assertListResponse(res);
  assert.ok(res.body.totalResults >= PEOPLE.length, show(res));
  assert.equal(page.length, 1);
});

test('case-insensitive means for every letter, not only ASCII: userName and names with accents', async () => {
  const userName = `Zoë.Ünal.${TAG}@example.com`;
  const created = await req('POST', '/Users', { schemas: [USER_SCHEMA], userName, name: { givenName: 'Émile', familyName: 'Øster' } });
  assertStatus(created, 201);
  const id = created.body.id;
  const ids = async (filter: string) => assertListResponse(await req('GET', `/Users?filter=${q(filter)}`)).map((u) => u.id);
  assert.deepEqual(await ids(`userName eq "${userName.toUpperCase()}"`), [id]);
  assert.deepEqual(await ids(`userName co "ÜNAL.${TAG.toUpperCase()}"`), [id]);
  assert.deepEqual(await ids(`name.givenName eq "émile" and ${mine}`), [id]);
  assert.deepEqual(await ids(`name.givenName eq "ÉMILE" and ${mine}`), [id]);
  assert.deepEqual(await ids(`name.familyName sw "øs" and ${mine}`), [id]);
  assertStatus(await req('DELETE', `/Users/${id}`), 204);
});
