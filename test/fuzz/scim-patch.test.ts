/**
 * Fuzzing of SCIM PATCH bodies (RFC 7644 §3.5.2), as identity providers send them and worse: ops in any case and
 * unknown ones, paths with and without filters (valid, broken, naming readOnly or unknown attributes), operations
 * without a path (dotted keys, extension URNs), values of every JSON kind, booleans as strings, member lists with
 * known and unknown ids — on Users and on Groups. Then POST and PUT bodies, mutated.
 *
 * Invariants: never a 5xx; every error is a SCIM error (`schemas` [Error], `status` the code as a string, a 400
 * with an RFC 7644 `scimType`); a refused request changes nothing (the resource reads back byte for byte the
 * same, version included); an accepted one leaves a well-formed resource (userName an address, active a boolean,
 * members that exist, never a password).
 *
 * Default: 1,400 generated requests. Longer: FUZZ_RUNS=<multiplier>; FUZZ_SEED=<seed> replays a failure.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import { ERROR_SCHEMA, ENTERPRISE_SCHEMA, GROUP_SCHEMA, PATCH_OP, SCIM_TYPES, USER_SCHEMA, minimalUser, scimClient, uniqueEmail, type ScimResponse } from '../scim/rfc-helpers.ts';
import { anyString, fuzzParams, nastyString, plain, toJsonText, weirdValue } from './arbitraries.ts';
import { countingSender } from './scim-outcomes.ts';

const c = await scimClient({ GATEHOUSE_LOG_LEVEL: 'warn' });
const { send, summary } = countingSender(c);

async function must(res: Promise<ScimResponse>, status: number): Promise<any> {
  const r = await res;
  if (r.status !== status) throw new Error(`fixture: expected ${status}, got ${r.status} ${r.raw.body}`);
  return r.body;
}
const users: string[] = [];
for (let i = 0; i < 6; i += 1) users.push((await must(send('POST', '/Users', minimalUser(uniqueEmail('fz'), { externalId: `ext-${i}` })), 201)).id);
const groups: string[] = [];
for (let i = 0; i < 3; i += 1) {
  groups.push((await must(send('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: `Fuzz group ${i} ${Date.now()}`, members: [{ value: users[i] }] }), 201)).id);
}
const UNKNOWN_ID = '2819c223-7f76-453a-919d-413861904646';

// ---- Generators ----------------------------------------------------------------------------------------------

const opName = fc.oneof(
  { arbitrary: fc.constantFrom('add', 'replace', 'remove', 'Add', 'Replace', 'Remove', 'ADD', 'REPLACE', 'REMOVE', 'rEpLaCe'), weight: 8 },
  { arbitrary: fc.constantFrom('move', 'copy', 'test', '', ' add', 'add ', 'delete', 'update'), weight: 1 },
  { arbitrary: weirdValue, weight: 1 },
);
const USER_PATHS = [
  'userName', 'active', 'externalId', 'name', 'name.givenName', 'name.familyName', 'name.formatted', 'emails', 'emails.value',
  'emails[type eq "work"].value', 'emails[type eq "work"]', 'emails[type eq "home"].value', 'emails[primary eq true].value', 'emails[value co "@"].type',
  `${USER_SCHEMA}:userName`, `${USER_SCHEMA}:name.givenName`, `${ENTERPRISE_SCHEMA}:department`, `${ENTERPRISE_SCHEMA}:manager.value`,
  'password', 'groups', 'id', 'meta', 'meta.version', 'meta.created', 'schemas', 'displayName', 'nickName', 'phoneNumbers[type eq "work"].value',
];
const GROUP_PATHS = [
  'members', 'displayName', 'externalId', 'members[value eq "VALUE"]', 'members[value eq "VALUE"].display', 'members[display co "a"]',
  'members.value', 'members[value ne "VALUE"]', 'id', 'meta.lastModified', 'schemas',
];
const BROKEN_PATHS = ['', ' ', '.', 'name.', '.name', 'name..givenName', 'emails[', 'emails]', 'emails[type eq "work"', 'emails[type xx "work"].value',
  'emails[type eq "work"]]', 'members[value eq]', 'members[]', 'a b', 'urn:', 'urn:ietf:params:scim:schemas:core:2.0:User:', '[type eq "work"]', '"userName"'];
const path = (kind: 'user' | 'group') => fc.oneof(
  { arbitrary: fc.tuple(fc.constantFrom(...(kind === 'user' ? USER_PATHS : GROUP_PATHS)), fc.constantFrom(...users, UNKNOWN_ID, '"')).map(([p, v]) => p.replace('VALUE', v)), weight: 6 },
  { arbitrary: fc.constantFrom(...BROKEN_PATHS), weight: 2 },
  { arbitrary: anyString.map(plain).filter((s) => s.length < 300), weight: 1 },
);
const member = fc.oneof(
  fc.record({ value: fc.constantFrom(...users, ...users, UNKNOWN_ID) }),
  fc.record({ value: fc.constantFrom(...users), display: fc.string({ maxLength: 10 }), $ref: fc.constantFrom(null, 'https://example.com/v2/Users/x') }, { requiredKeys: ['value'] }),
  fc.record({ value: weirdValue }),
  weirdValue,
);
const email = fc.oneof(fc.constant(undefined).map(() => uniqueEmail('fzv')), fc.constantFrom('not-an-email', 'A@B.CO', '', ' x@example.com'), nastyString);
const value = (kind: 'user' | 'group') => fc.oneof(
  { arbitrary: fc.constantFrom(true, false, 'True', 'False', 'true', 'TRUE', 'yes', 0, 1, null), weight: 3 },
  { arbitrary: email, weight: 2 },
  { arbitrary: fc.string({ maxLength: 30 }), weight: 2 },
  { arbitrary: fc.array(member, { maxLength: 5 }), weight: kind === 'group' ? 4 : 1 },
  { arbitrary: fc.record({ givenName: fc.string({ maxLength: 8 }), familyName: weirdValue }, { requiredKeys: [] }), weight: 1 },
  { arbitrary: fc.array(fc.record({ value: email, type: fc.constantFrom('work', 'home', 7), primary: fc.constantFrom(true, false, 'True') }, { requiredKeys: [] }), { maxLength: 3 }), weight: 1 },
  // Without a path: an object of attributes, dotted keys and extension URNs among them (Entra, Okta).
  {
    arbitrary: fc.dictionary(
      fc.constantFrom('active', 'userName', 'externalId', 'name.givenName', 'name.familyName', 'displayName', 'members', 'name', 'emails', 'id', 'meta', 'password',
        `${ENTERPRISE_SCHEMA}:department`, 'emails[type eq "work"].value', 'groups', 'nickName', '__proto__', 'constructor'),
      fc.oneof(fc.constantFrom(true, 'False', 'True', 'Fuzzed', null), email, weirdValue, fc.array(member, { maxLength: 3 })),
      { maxKeys: 4 },
    ),
    weight: 3,
  },
  { arbitrary: weirdValue, weight: 2 },
);
const anyCase = (op: string) => fc.constantFrom(op, op[0]!.toUpperCase() + op.slice(1), op.toUpperCase());
const bool = fc.constantFrom(true, false, 'True', 'False');
const shortText = fc.stringMatching(/^[A-Za-z][A-Za-z' -]{0,15}$/);
const someUsers = fc.subarray(users, { minLength: 1, maxLength: 4 }).map((ids) => ids.map((value) => ({ value })));
/** Operations an identity provider would plausibly send (most of them valid), so that many PATCHes succeed. */
const plausible = (kind: 'user' | 'group'): fc.Arbitrary<Record<string, unknown>> => kind === 'user'
  ? fc.oneof(
    fc.record({ op: anyCase('replace'), path: fc.constantFrom('active', 'ACTIVE'), value: bool }),
    fc.record({ op: anyCase('replace'), path: fc.constantFrom('name.givenName', 'name.familyName', 'externalId'), value: shortText }),
    fc.record({ op: anyCase('add'), path: fc.constantFrom('name.givenName', 'externalId'), value: shortText }),
    fc.record({ op: anyCase('remove'), path: fc.constantFrom('externalId', 'name.givenName', 'name.familyName') }),
    fc.record({ op: anyCase('replace'), path: fc.constantFrom('userName', 'emails[type eq "work"].value'), value: email }),
    fc.record({ op: anyCase('replace'), value: fc.record({ active: bool, 'name.givenName': shortText, 'name.familyName': shortText, externalId: shortText, name: fc.record({ givenName: shortText }) }, { requiredKeys: [] }) }),
  )
  : fc.oneof(
    fc.record({ op: anyCase('add'), path: fc.constant('members'), value: someUsers }),
    fc.record({ op: anyCase('remove'), path: fc.constant('members'), value: someUsers }),
    fc.record({ op: anyCase('replace'), path: fc.constant('members'), value: someUsers }),
    fc.constantFrom(...users).map((id) => ({ op: 'remove', path: `members[value eq "${id}"]` })),
    fc.record({ op: anyCase('replace'), path: fc.constant('displayName'), value: shortText.map((t) => `${t} ${Math.random().toString(36).slice(2, 8)}`) }),
    fc.record({ op: anyCase('replace'), value: fc.record({ displayName: shortText.map((t) => `${t} ${Math.random().toString(36).slice(2, 8)}`), externalId: shortText }, { requiredKeys: [] }) }),
  );
const operation = (kind: 'user' | 'group') => fc.oneof(
  { arbitrary: plausible(kind), weight: 3 },
  { arbitrary: fc.record({ op: opName, path: path(kind), value: value(kind) }, { requiredKeys: ['op'] }), weight: 2 },
);
const patchBody = (kind: 'user' | 'group') => fc.oneof(
  { arbitrary: fc.array(plausible(kind), { minLength: 1, maxLength: 3 }).map((Operations) => ({ schemas: [PATCH_OP], Operations })), weight: 4 },
  { arbitrary: fc.array(operation(kind), { minLength: 1, maxLength: 4 }).map((Operations) => ({ schemas: [PATCH_OP], Operations })), weight: 6 },
  { arbitrary: fc.array(operation(kind), { maxLength: 3 }).map((Operations) => ({ Operations })), weight: 1 },
  { arbitrary: fc.record({ schemas: weirdValue, Operations: fc.oneof(weirdValue, fc.array(operation(kind), { maxLength: 2 })) }, { requiredKeys: [] }), weight: 1 },
  { arbitrary: weirdValue, weight: 1 },
);

// ---- Checks ----------------------------------------------------------------------------------------------------

const isObject = (v: unknown): v is Record<string, any> => v !== null && typeof v === 'object' && !Array.isArray(v);
function errorProblems(res: ScimResponse): string[] {
  const out: string[] = [];
  if (res.status >= 500) out.push(`status ${res.status} (never a 5xx)`);
  if (res.status >= 400) {
    const b = res.body;
    if (!/^application\/scim\+json\b/.test(String(res.headers['content-type'] ?? ''))) out.push(`error content type ${String(res.headers['content-type'])}`);
    if (!isObject(b) || JSON.stringify(b.schemas) !== JSON.stringify([ERROR_SCHEMA]) || b.status !== String(res.status)) out.push('error is not a SCIM error');
    if (isObject(b) && b.scimType !== undefined && !SCIM_TYPES.includes(b.scimType)) out.push(`unknown scimType ${b.scimType}`);
    if (res.status === 400 && isObject(b) && b.scimType === undefined) out.push('a 400 without a scimType');
  }
  return out;
}
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
function resourceProblems(kind: 'user' | 'group', r: any, expectId: string): string[] {
  const out: string[] = [];
  if (!isObject(r)) return ['the resource is not an object'];
  if (r.id !== expectId) out.push(`id ${r.id} is not ${expectId}`);
  if (JSON.stringify(r).includes('"password"')) out.push('shows a password');
  if (!isObject(r.meta) || typeof r.meta.version !== 'string') out.push('no meta.version');
  if (kind === 'user') {
    if (!Array.isArray(r.schemas) || !r.schemas.includes(USER_SCHEMA)) out.push('schemas lacks the User schema');
    // The userName is the address, or one set apart from it: either way stored trimmed, lower-cased, without controls.
    if (typeof r.userName !== 'string' || r.userName === '' || r.userName !== r.userName.trim().toLowerCase() || /[\u0000-\u001f\u007f]/.test(r.userName)) {
      out.push(`userName ${JSON.stringify(r.userName)} is not as stored`);
    }
    const emails = r.emails;
    if (!Array.isArray(emails) || emails.length !== 1 || !isObject(emails[0]) || !EMAIL.test(String(emails[0].value)) || emails[0].primary !== true) {
      out.push(`emails ${JSON.stringify(emails)} is not the one primary address`);
    }
    if (typeof r.active !== 'boolean') out.push(`active ${JSON.stringify(r.active)} is not a boolean`);
    if (r.name !== undefined && !isObject(r.name)) out.push('name is not an object');
    for (const k of ['givenName', 'familyName']) if (isObject(r.name) && r.name[k] !== undefined && typeof r.name[k] !== 'string') out.push(`name.${k} is not a string`);
    if (r.externalId !== undefined && typeof r.externalId !== 'string') out.push('externalId is not a string');
  } else {
    if (!Array.isArray(r.schemas) || !r.schemas.includes(GROUP_SCHEMA)) out.push('schemas lacks the Group schema');
    if (typeof r.displayName !== 'string' || r.displayName.trim() === '') out.push(`displayName ${JSON.stringify(r.displayName)}`);
    for (const m of r.members ?? []) if (!isObject(m) || !users.includes(m.value)) out.push(`member ${JSON.stringify(m)} is not a user`);
  }
  return out;
}
const endpoint = (kind: 'user' | 'group') => (kind === 'user' ? 'Users' : 'Groups');
const live = new Set([...users, ...groups]);

async function check(what: string, kind: 'user' | 'group', target: string, send1: () => Promise<ScimResponse>): Promise<void> {
  const before = live.has(target) ? await c.req('GET', `/${endpoint(kind)}/${target}`) : undefined;
  const res = await send1();
  const problems = errorProblems(res);
  if (res.status >= 300 && res.status < 400) problems.push(`unexpected ${res.status}`);
  const after = live.has(target) ? await c.req('GET', `/${endpoint(kind)}/${target}`) : undefined;
  if (res.status >= 400 && before && after && before.raw.body !== after.raw.body) {
    problems.push(`a refused request changed the resource:\n  before ${before.raw.body.slice(0, 400)}\n  after  ${after.raw.body.slice(0, 400)}`);
  }
  if (res.status < 300) {
    if (res.status === 200) problems.push(...resourceProblems(kind, res.body, target).map((p) => `response: ${p}`));
    if (res.status === 204 && res.raw.body !== '') problems.push('a 204 with a body');
    if (after) problems.push(...resourceProblems(kind, after.body, target).map((p) => `read back: ${p}`));
    if (res.status === 200 && after && JSON.stringify(res.body) !== after.raw.body && JSON.stringify(res.body.meta?.version) !== JSON.stringify(after.body.meta?.version)) {
      problems.push('the response is not what reads back');
    }
  }
  if (problems.length) throw new Error(`${what}\n→ ${res.status} ${res.raw.body.slice(0, 600)}\nproblems:\n- ${problems.join('\n- ')}`);
}

test('PATCH /Users/{id}: generated operations', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...users, ...users, ...users, UNKNOWN_ID), patchBody('user'), async (target, body) => {
      const text = toJsonText(body);
      await check(`PATCH /Users/${target} ${text.slice(0, 600)}`, 'user', target, () => send('PATCH', `/Users/${target}`, text));
    }),
    fuzzParams(600),
  );
});

test('PATCH /Groups/{id}: generated operations', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...groups, ...groups, UNKNOWN_ID), patchBody('group'), async (target, body) => {
      const text = toJsonText(body);
      await check(`PATCH /Groups/${target} ${text.slice(0, 600)}`, 'group', target, () => send('PATCH', `/Groups/${target}`, text));
    }),
    fuzzParams(500),
  );
});

const userBody = fc.record(
  {
    schemas: fc.oneof(fc.constant([USER_SCHEMA]), fc.constant([USER_SCHEMA, ENTERPRISE_SCHEMA]), weirdValue),
    userName: email,
    name: fc.oneof(fc.record({ givenName: fc.string({ maxLength: 10 }), familyName: fc.oneof(fc.string({ maxLength: 10 }), weirdValue) }, { requiredKeys: [] }), weirdValue),
    emails: fc.oneof(fc.array(fc.record({ value: email, type: fc.constantFrom('work', 'home'), primary: fc.boolean() }, { requiredKeys: [] }), { maxLength: 2 }), weirdValue),
    active: fc.oneof(fc.boolean(), fc.constantFrom('True', 'False', 'maybe', null, 1)),
    externalId: fc.oneof(fc.string({ maxLength: 20 }), weirdValue),
    groups: fc.oneof(fc.constant([]), fc.array(fc.record({ value: fc.constantFrom(...groups, UNKNOWN_ID) }), { maxLength: 2 })),
    id: fc.oneof(fc.uuid(), weirdValue),
    meta: weirdValue,
    [ENTERPRISE_SCHEMA]: fc.oneof(fc.record({ department: fc.string({ maxLength: 10 }) }), weirdValue),
  },
  { requiredKeys: [] },
);

test('POST /Users and PUT /Users/{id}, PUT /Groups/{id}: mutated bodies', async () => {
  await fc.assert(
    fc.asyncProperty(userBody, fc.constantFrom('POST', 'PUT'), fc.constantFrom(...users, UNKNOWN_ID), async (body, method, target) => {
      const text = toJsonText(body);
      if (method === 'PUT') {
        await check(`PUT /Users/${target} ${text.slice(0, 600)}`, 'user', target, () => send('PUT', `/Users/${target}`, text));
        return;
      }
      const res = await send('POST', '/Users', text);
      const problems = errorProblems(res);
      if (res.status === 201) {
        problems.push(...resourceProblems('user', res.body, res.body?.id));
        const read = await c.req('GET', `/Users/${res.body?.id}`);
        if (read.status !== 200) problems.push(`the created user reads back ${read.status}`);
      } else if (res.status < 400) problems.push(`unexpected ${res.status}`);
      if (problems.length) throw new Error(`POST /Users ${text.slice(0, 600)}\n→ ${res.status} ${res.raw.body.slice(0, 600)}\nproblems: ${problems.join('; ')}`);
    }),
    fuzzParams(200),
  );
  const groupBody = fc.record(
    { schemas: fc.oneof(fc.constant([GROUP_SCHEMA]), weirdValue), displayName: fc.oneof(fc.string({ maxLength: 20 }), nastyString, weirdValue), members: fc.oneof(fc.array(member, { maxLength: 4 }), weirdValue), externalId: weirdValue },
    { requiredKeys: [] },
  );
  await fc.assert(
    fc.asyncProperty(groupBody, fc.constantFrom(...groups, UNKNOWN_ID), async (body, target) => {
      const text = toJsonText(body);
      await check(`PUT /Groups/${target} ${text.slice(0, 600)}`, 'group', target, () => send('PUT', `/Groups/${target}`, text));
    }),
    fuzzParams(100),
  );
  process.stdout.write(summary('SCIM write'));
});

