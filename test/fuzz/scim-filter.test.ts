/**
 * Fuzzing of SCIM queries (RFC 7644 §3.4.2, §3.4.3) against a small directory made through SCIM:
 *
 * 1. Differential: random filter trees over the attributes Gatehouse stores (eq ne co sw ew pr gt ge lt le, and, or,
 *    not, parentheses, value paths), in random letter case, are sent to GET /Users; the ids answered must be exactly
 *    the ones a model of the directory computes (userName, names and emails compare case-insensitively, externalId
 *    exactly — RFC 7643 §4.1 caseExact; '%' and '_' in values are characters, never wildcards).
 * 2. Garbage: token soup and nasty strings as `filter` answer 200 with a ListResponse or 400 `invalidFilter`.
 * 3. The other query parameters and POST /.search bodies: never a 5xx, every error a SCIM error.
 *
 * Default: 1,500 generated requests. Longer: FUZZ_RUNS=<multiplier>; FUZZ_SEED=<seed> replays a failure.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ERROR_SCHEMA, LIST_RESPONSE, SCIM_TYPES, SEARCH_REQUEST, USER_SCHEMA, scimClient, type ScimResponse } from '../scim/rfc-helpers.ts';
import { anyString, fuzzParams, nastyString, NUMERIC_STRINGS, pct, plain, toJsonText, weirdValue } from './arbitraries.ts';
import { countingSender } from './scim-outcomes.ts';

const c = await scimClient({ GATEHOUSE_LOG_LEVEL: 'warn' });
const { send, summary } = countingSender(c);

// ---- The directory and its model ------------------------------------------------------------------------------

interface Person { id: string; userName: string; givenName: string; familyName: string; externalId: string; active: boolean }
const GIVEN = ['ada', 'Ada', 'bob', 'BOB', 'carol', 'dave', 'eve', 'Eve', 'adam', 'bo'];
const FAMILY = ['lovelace', 'Lovelace', 'babbage', 'hopper', 'Hop', 'turing', 'love', 'ba'];
const EXTERNAL = ['x_1', 'x%2', 'X_1', 'ab', 'abc', 'ABC', 'a_b', 'a%b', 'axb', '100%', 'x1'];
const LOCAL = ['ada', 'ada.l', 'bob', 'b.ob', 'carol', 'eve_x', 'Zoë.Ünal', 'dave'];
const DOMAIN = ['example.com', 'Example.org', 'ex.net'];
const people: Person[] = [];
for (let i = 0; i < 18; i += 1) {
  const p = {
    userName: `${LOCAL[i % LOCAL.length]}${i}@${DOMAIN[i % DOMAIN.length]}`,
    givenName: GIVEN[(i * 3) % GIVEN.length]!,
    familyName: FAMILY[(i * 5) % FAMILY.length]!,
    externalId: `${EXTERNAL[i % EXTERNAL.length]}${i % 4 === 0 ? '' : String.fromCharCode(97 + (i % 3))}`,
    active: i % 3 !== 0,
  };
  const res = await c.req('POST', '/Users', {
    schemas: [USER_SCHEMA], userName: p.userName, name: { givenName: p.givenName, familyName: p.familyName }, externalId: p.externalId, active: p.active,
  });
  assert.equal(res.status, 201, res.raw.body);
  people.push({ ...p, id: res.body.id });
}

type Attr = 'userName' | 'name.givenName' | 'name.familyName' | 'externalId' | 'active' | 'emails.value' | 'emails.type';
type StrOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
type Filter =
  | { k: 'cmp'; attr: Attr; op: StrOp; value: string | boolean }
  | { k: 'pr'; attr: Attr }
  | { k: 'and' | 'or'; a: Filter; b: Filter }
  | { k: 'not'; a: Filter }
  | { k: 'emails'; inner: Filter };

const CASE_EXACT: Partial<Record<Attr, boolean>> = { externalId: true };
function valuesOf(p: Person, attr: Attr): (string | boolean)[] {
  switch (attr) {
    case 'userName': case 'emails.value': return [p.userName];
    case 'name.givenName': return [p.givenName];
    case 'name.familyName': return [p.familyName];
    case 'externalId': return [p.externalId];
    case 'active': return [p.active];
    case 'emails.type': return ['work'];
  }
}
function compare(actual: string | boolean, op: StrOp, wanted: string | boolean, exact: boolean): boolean {
  if (typeof actual === 'boolean') return op === 'eq' ? actual === wanted : op === 'ne' ? actual !== wanted : false;
  const a = exact ? actual : actual.toLowerCase();
  const b = exact ? String(wanted) : String(wanted).toLowerCase();
  switch (op) {
    case 'eq': return a === b;
    case 'ne': return a !== b;
    case 'co': return a.includes(b);
    case 'sw': return a.startsWith(b);
    case 'ew': return a.endsWith(b);
    case 'gt': return a > b;
    case 'ge': return a >= b;
    case 'lt': return a < b;
    case 'le': return a <= b;
  }
}
function matches(p: Person, f: Filter): boolean {
  switch (f.k) {
    case 'cmp': return valuesOf(p, f.attr).some((v) => compare(v, f.op, f.value, CASE_EXACT[f.attr] === true));
    case 'pr': return valuesOf(p, f.attr).length > 0;
    case 'and': return matches(p, f.a) && matches(p, f.b);
    case 'or': return matches(p, f.a) || matches(p, f.b);
    case 'not': return !matches(p, f.a);
    case 'emails': return matches(p, f.inner);
  }
}

const recase = (s: string, mask: number) => [...s].map((ch, i) => ((mask >> (i % 16)) & 1 ? ch.toUpperCase() : ch.toLowerCase())).join('');
function render(f: Filter, mask: number, inValuePath = false): string {
  const attr = (a: Attr) => recase(inValuePath ? a.replace(/^emails\./, '') : a, mask);
  const op = (o: string) => recase(o, mask >> 3);
  const wrap = (g: Filter) => (g.k === 'and' || g.k === 'or' ? `(${render(g, mask, inValuePath)})` : render(g, mask, inValuePath));
  switch (f.k) {
    case 'cmp': return `${attr(f.attr)} ${op(f.op)} ${typeof f.value === 'boolean' ? String(f.value) : JSON.stringify(f.value)}`;
    case 'pr': return `${attr(f.attr)} ${op('pr')}`;
    case 'and': case 'or': return `${wrap(f.a)} ${op(f.k)} ${wrap(f.b)}`;
    case 'not': return `${op('not')} (${render(f.a, mask, inValuePath)})`;
    case 'emails': return `${recase('emails', mask)}[${render(f.inner, mask, true)}]`;
  }
}

// Values: pieces of the directory's own values in any case (so they match often), and a few other strings.
const pieces = [...new Set(people.flatMap((p) => [p.userName, p.givenName, p.familyName, p.externalId]).flatMap((v) => [v, v.slice(0, 2), v.slice(-3), v.slice(1, 4)]))];
const textValue = fc.oneof(
  { arbitrary: fc.constantFrom(...pieces), weight: 6 },
  { arbitrary: fc.tuple(fc.constantFrom(...pieces), fc.integer({ min: 0, max: 0xffff })).map(([v, m]) => recase(v, m)), weight: 3 },
  { arbitrary: fc.constantFrom('%', '_', 'a%', '_1', 'x_', '@', '.', 'zzz', 'work', ''), weight: 2 },
);
const letters = fc.oneof(fc.constantFrom(...GIVEN, ...FAMILY), fc.stringMatching(/^[a-zA-Z]{1,6}$/));
const cmp: fc.Arbitrary<Filter> = fc.oneof(
  fc.record({ k: fc.constant('cmp' as const), attr: fc.constantFrom<Attr>('userName', 'emails.value', 'externalId'), op: fc.constantFrom<StrOp>('eq', 'ne', 'co', 'sw', 'ew'), value: textValue }),
  // Order comparisons only on letters (collations agree on those).
  fc.record({ k: fc.constant('cmp' as const), attr: fc.constantFrom<Attr>('name.givenName', 'name.familyName'), op: fc.constantFrom<StrOp>('eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'), value: letters }),
  fc.record({ k: fc.constant('cmp' as const), attr: fc.constant<Attr>('active'), op: fc.constantFrom<StrOp>('eq', 'ne'), value: fc.boolean() }),
  fc.record({ k: fc.constant('pr' as const), attr: fc.constantFrom<Attr>('userName', 'name.givenName', 'externalId', 'active', 'emails.value') }),
);
const emailsInner: fc.Arbitrary<Filter> = fc.oneof(
  fc.record({ k: fc.constant('cmp' as const), attr: fc.constant<Attr>('emails.value'), op: fc.constantFrom<StrOp>('eq', 'co', 'sw', 'ew'), value: textValue }),
  fc.record({ k: fc.constant('cmp' as const), attr: fc.constant<Attr>('emails.type'), op: fc.constant<StrOp>('eq'), value: fc.constantFrom('work', 'home') }),
);
const emailsPath: fc.Arbitrary<Filter> = fc.oneof(
  emailsInner.map((inner) => ({ k: 'emails' as const, inner })),
  fc.tuple(emailsInner, emailsInner).map(([a, b]) => ({ k: 'emails' as const, inner: { k: 'and' as const, a, b } })),
);
const { filter: filterTree } = fc.letrec<{ filter: Filter }>((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { arbitrary: cmp, weight: 5 },
    { arbitrary: emailsPath, weight: 1 },
    { arbitrary: fc.record({ k: fc.constantFrom('and' as const, 'or' as const), a: tie('filter'), b: tie('filter') }), weight: 2 },
    { arbitrary: fc.record({ k: fc.constant('not' as const), a: tie('filter') }), weight: 1 },
  ) as fc.Arbitrary<Filter>,
}));

// ---- Checks ----------------------------------------------------------------------------------------------------

const isObject = (v: unknown): v is Record<string, any> => v !== null && typeof v === 'object' && !Array.isArray(v);
function problemsOf(res: ScimResponse): string[] {
  const out: string[] = [];
  if (res.status >= 500) out.push(`status ${res.status} (never a 5xx)`);
  if (!/^application\/scim\+json\b/.test(String(res.headers['content-type'] ?? ''))) out.push(`content type ${String(res.headers['content-type'])}`);
  const b = res.body;
  if (res.status >= 400) {
    if (!isObject(b) || JSON.stringify(b.schemas) !== JSON.stringify([ERROR_SCHEMA]) || b.status !== String(res.status)) out.push('error is not a SCIM error');
    if (isObject(b) && b.scimType !== undefined && !SCIM_TYPES.includes(b.scimType)) out.push(`unknown scimType ${b.scimType}`);
    if (res.status === 400 && isObject(b) && b.scimType === undefined) out.push('a 400 without a scimType');
  } else if (res.status === 200) {
    if (!isObject(b) || JSON.stringify(b.schemas) !== JSON.stringify([LIST_RESPONSE]) || !Number.isInteger(b.totalResults)) out.push('not a ListResponse');
    else if (JSON.stringify(b).includes('"password"')) out.push('a resource shows a password');
  } else out.push(`unexpected status ${res.status}`);
  return out;
}
function fail(what: string, res: ScimResponse, problems: string[]): never {
  throw new Error(`${what}\n→ ${res.status} ${res.raw.body.slice(0, 500)}\nproblems: ${problems.join('; ')}`);
}

test('differential: generated filters answer exactly the users the model matches', async () => {
  let some = 0;
  await fc.assert(
    fc.asyncProperty(filterTree, fc.integer({ min: 0, max: 0xffff }), async (f, mask) => {
      const text = render(f, mask);
      const res = await send('GET', `/Users?filter=${encodeURIComponent(text)}&count=1000`);
      const problems = problemsOf(res);
      if (res.status !== 200) problems.push(`a valid filter was refused`);
      if (problems.length) fail(`filter=${text}`, res, problems);
      const got = (res.body.Resources ?? []).map((r: any) => r.id).sort();
      const want = people.filter((p) => matches(p, f)).map((p) => p.id).sort();
      if (want.length > 0 && want.length < people.length) some += 1;
      if (JSON.stringify(got) !== JSON.stringify(want) || res.body.totalResults !== want.length) {
        const name = (id: string) => people.find((p) => p.id === id)?.userName ?? id;
        throw new Error(`filter=${text}\nexpected ${want.length} ${JSON.stringify(want.map(name))}\ngot ${res.body.totalResults} ${JSON.stringify(got.map(name))}`);
      }
    }),
    fuzzParams(500),
  );
  process.stdout.write(`# fuzz: differential filters matching some but not all users: ${some}\n`);
});

const TOKENS = [
  'userName', 'USERNAME', 'name.givenName', 'name', '.', 'emails', 'emails.value', 'externalId', 'active', 'meta.created', 'id', 'password',
  'urn:ietf:params:scim:schemas:core:2.0:User:userName', 'eq', 'ne', 'co', 'sw', 'ew', 'pr', 'gt', 'ge', 'lt', 'le', 'EQ', 'xx', 'and', 'or', 'not',
  'AND', '(', ')', '[', ']', '"a"', '"ada0@example.com"', '"', '\\"', '"\\u0000"', '"%"', '"_"', 'true', 'false', 'null', '1', '-1.5e300', '""',
  '"\\ud800"', "'a'", ' ', '  ', ',', '\u0000', 'é', '😀',
];
const soup = fc.array(fc.constantFrom(...TOKENS), { minLength: 1, maxLength: 14 }).chain((tokens) => fc.constantFrom(' ', '', ' ').map((sep) => tokens.join(sep)));
const mutatedValid = fc.tuple(filterTree, fc.integer({ min: 0, max: 0xffff }), fc.nat(), fc.constantFrom('drop', 'dup', 'insert'), fc.constantFrom(...TOKENS)).map(([f, mask, at, how, tok]) => {
  const text = render(f, mask);
  const i = at % (text.length + 1);
  return how === 'drop' ? text.slice(0, i) + text.slice(i + 1) : how === 'dup' ? text.slice(0, i) + text.slice(i - 1 < 0 ? 0 : i - 1) : `${text.slice(0, i)}${tok}${text.slice(i)}`;
});
const garbage = fc.oneof(soup, mutatedValid, nastyString, anyString.map(plain).filter((s) => s.length <= 4000));

test('garbage filters: 200 with a ListResponse or 400 invalidFilter, never anything else', async () => {
  await fc.assert(
    fc.asyncProperty(garbage, async (text) => {
      const res = await send('GET', `/Users?filter=${pct(text)}`);
      const problems = problemsOf(res);
      if (res.status !== 200 && !(res.status === 400 && res.body?.scimType === 'invalidFilter')) problems.push('neither a result nor invalidFilter');
      if (problems.length) fail(`filter=${JSON.stringify(text)}`, res, problems);
    }),
    fuzzParams(500),
  );
});

const param = (meaningful: string[]) => fc.oneof(
  { arbitrary: fc.constantFrom(...meaningful), weight: 4 },
  { arbitrary: fc.constantFrom(...NUMERIC_STRINGS), weight: 2 },
  { arbitrary: nastyString, weight: 1 },
);
const ATTRS = ['userName', 'name.givenName', 'name', 'emails', 'emails.value', 'meta', 'meta.version', 'id', 'active', 'groups', 'externalId', 'password',
  'urn:ietf:params:scim:schemas:core:2.0:User:name.familyName', 'nope', 'userName,name', ',', 'a..b', 'emails[type eq "work"]'];
const queryParams = fc.record(
  {
    filter: fc.oneof(filterTree.map((f) => render(f, 0)), garbage),
    sortBy: param(['userName', 'name.familyName', 'name.givenName', 'externalId', 'meta.created', 'meta.lastModified', 'id', 'emails', 'emails.value', 'nope', 'password']),
    sortOrder: param(['ascending', 'descending', 'ASCENDING', 'up']),
    startIndex: param(['1', '2', '0', '-1', '18', '19', '1000000', '9007199254740993']),
    count: param(['0', '1', '5', '1000', '-1', '100000', '1.5']),
    attributes: param(ATTRS),
    excludedAttributes: param(ATTRS),
  },
  { requiredKeys: [] },
);

test('every other query parameter, and POST /.search bodies: never a 5xx, every error a SCIM error', async () => {
  await fc.assert(
    fc.asyncProperty(queryParams, fc.boolean(), async (params, asSearch) => {
      let res: ScimResponse;
      if (asSearch) {
        const body: Record<string, unknown> = { schemas: [SEARCH_REQUEST] };
        for (const [k, v] of Object.entries(params)) body[k] = k === 'startIndex' || k === 'count' ? (Number.isFinite(Number(v)) && v !== '' ? Number(v) : v) : k.endsWith('ttributes') ? String(v).split(',') : v;
        res = await send('POST', '/.search', body);
      } else {
        const qs = Object.entries(params).map(([k, v]) => `${k}=${pct(String(v))}`).join('&');
        res = await send('GET', `/Users?${qs}`);
      }
      const problems = problemsOf(res);
      if (problems.length) fail(`${asSearch ? 'POST /.search' : 'GET /Users'} ${JSON.stringify(params)}`, res, problems);
    }),
    fuzzParams(300),
  );
  const raw = fc.oneof(
    weirdValue.map((v) => toJsonText(v)),
    fc.record({ schemas: fc.oneof(fc.constant([SEARCH_REQUEST]), weirdValue), filter: weirdValue, count: weirdValue, startIndex: weirdValue, attributes: weirdValue, sortBy: weirdValue }, { requiredKeys: [] }).map((v) => toJsonText(v)),
  );
  await fc.assert(
    fc.asyncProperty(raw, async (text) => {
      const res = await send('POST', '/.search', text);
      const problems = problemsOf(res);
      if (res.status !== 200 && (res.status < 400 || res.status >= 500)) problems.push('not 200 nor 4xx');
      if (problems.length) fail(`POST /.search ${text.slice(0, 300)}`, res, problems);
    }),
    fuzzParams(200),
  );
  const groups = await send('GET', `/Groups?filter=${encodeURIComponent('displayName co "x" or members[value eq "y"]')}`);
  assert.deepEqual(problemsOf(groups), []);
  process.stdout.write(summary('SCIM query'));
});
