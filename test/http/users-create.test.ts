import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ADMIN, createUser, GOOD_PASSWORD, json, newUserBody, testApp, USER_RESPONSE_KEYS } from '../helpers/app.ts';

// CONTRACT.md §3.1 — POST /users, with the validation shape of §1.2.

const { app } = await testApp();

const post = (payload: unknown, url = '/users') =>
  app.inject({ method: 'POST', url, headers: ADMIN, payload: payload as Record<string, unknown> });
const postRaw = (payload: string | undefined, contentType?: string) =>
  app.inject({
    method: 'POST',
    url: '/users',
    headers: contentType ? { ...ADMIN, 'content-type': contentType } : ADMIN,
    ...(payload === undefined ? {} : { payload }),
  });

async function allUsers(): Promise<{ id: string; email: string; first_name: string | null; last_name: string | null }[]> {
  const res = await app.inject({ method: 'GET', url: '/users?page_size=5000', headers: ADMIN });
  assert.equal(res.statusCode, 200);
  return json(res);
}

/** Runs a request that must be rejected and checks the user table did not change. */
async function rejected(send: () => Promise<LightMyRequestResponse>): Promise<LightMyRequestResponse> {
  const before = (await allUsers()).map((u) => u.id);
  const res = await send();
  assert.deepEqual((await allUsers()).map((u) => u.id), before, 'a rejected request stored something');
  return res;
}

/** A 422 whose only problem is at `loc` with `type`, in FastAPI's shape. */
function assertOnlyProblem(res: LightMyRequestResponse, loc: (string | number)[], type: string) {
  assert.equal(res.statusCode, 422, res.body);
  const { detail } = json(res);
  assert.ok(Array.isArray(detail), res.body);
  assert.equal(detail.length, 1, res.body);
  assert.deepEqual(detail[0].loc, loc, res.body);
  assert.equal(detail[0].type, type, res.body);
  assert.equal(typeof detail[0].msg, 'string');
  assert.ok('input' in detail[0], res.body);
  return detail[0] as { msg: string; input: unknown };
}

function assertRole(role: unknown, name: string) {
  const r = role as Record<string, unknown>;
  assert.deepEqual(Object.keys(r).sort(), ['composite', 'description', 'id', 'name']);
  assert.equal(r.id, name);
  assert.equal(r.name, name);
  assert.equal(r.composite, false);
  assert.equal(typeof r.description, 'string');
  assert.ok((r.description as string).length > 0 && !(r.description as string).includes('\n'));
}

test('success is 200 with a UserResponse whose roles are AuthUserRole objects; the user is then searchable', async () => {
  const body = newUserBody({ roles: ['TASK-ADMIN', 'CHAT-USER'], firstName: 'Ada', lastName: 'Lovelace' });
  const res = await post(body);
  assert.equal(res.statusCode, 200, res.body);
  const user = json(res);
  assert.deepEqual(Object.keys(user).sort(), USER_RESPONSE_KEYS);
  assert.equal(typeof user.id, 'string');
  assert.ok(user.id.length > 0);
  assert.equal(user.email, body.email);
  assert.equal(user.first_name, 'Ada');
  assert.equal(user.last_name, 'Lovelace');
  const roles = [...user.roles].sort((a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name));
  assert.equal(roles.length, 2);
  assertRole(roles[0], 'CHAT-USER');
  assertRole(roles[1], 'TASK-ADMIN');
  assert.deepEqual((await allUsers()).find((u) => u.id === user.id), user);
});

test('every assignable role can be given, and roles may be empty', async () => {
  const all = ['ORG-ADMIN', 'ORG-AUDITOR', 'TASK-ADMIN', 'CHAT-USER', 'DEFAULT-RULE-ADMIN', 'VALIDATION-USER'];
  const res = await post(newUserBody({ roles: all }));
  assert.equal(res.statusCode, 200, res.body);
  const names = json(res).roles.map((r: { name: string }) => r.name);
  assert.deepEqual([...names].sort(), [...all].sort());
  for (const r of json(res).roles) assertRole(r, r.name);

  const none = await post(newUserBody({ roles: [] }));
  assert.equal(none.statusCode, 200, none.body);
  assert.deepEqual(json(none).roles, []);

  const twice = await post(newUserBody({ roles: ['CHAT-USER', 'CHAT-USER'] }));
  assert.equal(twice.statusCode, 200, twice.body);
  assert.deepEqual(json(twice).roles.map((r: { name: string }) => r.name), ['CHAT-USER']);
});

test('email is trimmed and lower-cased', async () => {
  const res = await post(newUserBody({ email: '  Mixed.Case@Example.COM \t' }));
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(json(res).email, 'mixed.case@example.com');
});

test('a taken email is 409 "User <email> already exists.", compared case-insensitively', async () => {
  await createUser(app, { email: 'dup@example.com' });
  const same = await rejected(() => post(newUserBody({ email: 'dup@example.com' })));
  assert.equal(same.statusCode, 409, same.body);
  assert.deepEqual(json(same), { detail: 'User dup@example.com already exists.' });
  const other = await rejected(() => post(newUserBody({ email: '  DUP@Example.Com ' })));
  assert.equal(other.statusCode, 409, other.body);
  assert.deepEqual(json(other), { detail: 'User dup@example.com already exists.' });
});

test('an unknown role is 400 naming the first unknown one in request order; nothing stored', async () => {
  const cases: [string[], string][] = [
    [['NO-SUCH-ROLE'], 'NO-SUCH-ROLE'],
    [['CHAT-USER', 'Zeta-Role', 'Alpha-Role'], 'Zeta-Role'],
    [['Zeta-Role', 'CHAT-USER', 'Alpha-Role'], 'Zeta-Role'],
    [['chat-user'], 'chat-user'], // names are case-sensitive
    [['ADMIN-KEY'], 'ADMIN-KEY'], // held only by the admin key, never assigned
    [['ORG-ADMIN', 'ADMIN-KEY'], 'ADMIN-KEY'],
  ];
  for (const [roles, first] of cases) {
    const body = newUserBody({ roles });
    const res = await rejected(() => post(body));
    assert.equal(res.statusCode, 400, `${roles.join(',')}: ${res.body}`);
    assert.deepEqual(json(res), { detail: `Role ${first} does not exist.` });
  }
});

test('each missing required field is 422 missing at ["body", field]', async () => {
  for (const field of ['email', 'password', 'roles', 'firstName', 'lastName']) {
    const body: Record<string, unknown> = newUserBody();
    delete body[field];
    const problem = assertOnlyProblem(await rejected(() => post(body)), ['body', field], 'missing');
    // The input is echoed as FastAPI does, except secrets: a password never comes back in an error body.
    const expected = field === 'password' ? '[redacted]' : { ...body, password: '[redacted]' };
    assert.deepEqual(problem.input, expected);
  }
  const empty = await rejected(() => post({}));
  assert.equal(empty.statusCode, 422, empty.body);
  const locs = json(empty).detail.map((p: { loc: string[]; type: string }) => `${p.loc.join('.')}:${p.type}`);
  const expected = ['email', 'password', 'roles', 'firstName', 'lastName'].map((f) => `body.${f}:missing`);
  assert.deepEqual([...locs].sort(), expected.sort());
});

test('wrong JSON types are 422 string_type / bool_type / list_type at the field', async () => {
  const cases: [Record<string, unknown>, (string | number)[], string][] = [
    [{ email: 123 }, ['body', 'email'], 'string_type'],
    [{ password: 123456789012 }, ['body', 'password'], 'string_type'],
    [{ firstName: 5 }, ['body', 'firstName'], 'string_type'],
    [{ firstName: null }, ['body', 'firstName'], 'string_type'],
    [{ lastName: ['Smith'] }, ['body', 'lastName'], 'string_type'],
    [{ temporary: null }, ['body', 'temporary'], 'bool_type'],
    [{ temporary: [] }, ['body', 'temporary'], 'bool_type'],
    [{ temporary: {} }, ['body', 'temporary'], 'bool_type'],
    [{ roles: 'CHAT-USER' }, ['body', 'roles'], 'list_type'],
    [{ roles: { role: 'CHAT-USER' } }, ['body', 'roles'], 'list_type'],
    [{ roles: ['CHAT-USER', 7] }, ['body', 'roles', 1], 'string_type'],
  ];
  for (const [override, loc, type] of cases) assertOnlyProblem(await rejected(() => post(newUserBody(override))), loc, type);
});

test('firstName and lastName longer than 100 characters are 422 string_too_long; 100 is fine', async () => {
  for (const field of ['firstName', 'lastName']) {
    assertOnlyProblem(await rejected(() => post(newUserBody({ [field]: 'x'.repeat(101) }))), ['body', field], 'string_too_long');
    const ok = await post(newUserBody({ [field]: 'y'.repeat(100) }));
    assert.equal(ok.statusCode, 200, ok.body);
  }
});

test('invalid email addresses are 422 value_error at ["body","email"]', async () => {
  const label63 = (c: string) => c.repeat(63);
  const tooLong = `${'a'.repeat(64)}@${label63('b')}.${label63('c')}.${label63('d')}`; // 256 characters
  const invalid = ['', '   ', 'not-an-email', 'user@', '@example.com', 'a@@example.com', 'a@b@example.com', 'user name@example.com', 'user@localhost', 'user@exa mple.com', tooLong];
  for (const email of invalid) assertOnlyProblem(await rejected(() => post(newUserBody({ email }))), ['body', 'email'], 'value_error');

  const longest = `${'a'.repeat(64)}@${label63('b')}.${label63('c')}.${'d'.repeat(61)}`;
  assert.equal(longest.length, 254);
  const ok = await post(newUserBody({ email: longest }));
  assert.equal(ok.statusCode, 200, ok.body);
});

test('each password-policy failure is 422 value_error at ["body","password"] saying what is wrong', async () => {
  const cases: [string, RegExp][] = [
    ['Ab1!xyz', /12|short|length|characters/i],
    ['Abcdefg1!xy', /12|short|length|characters/i], // 11 characters
    [`Aa1!${'x'.repeat(253)}`, /256|long|length|characters/i], // 257 characters
    ['lowercase-only-42', /upper/i],
    ['UPPERCASE-ONLY-42', /lower/i],
    ['No-Digits-Here-Ever', /digit|number/i],
    ['NoSymbolsHere42x', /symbol|special|neither|character/i],
    ['Password123!', /common/i],
    ['Password1234!', /common/i],
  ];
  for (const [password, says] of cases) {
    const problem = assertOnlyProblem(await rejected(() => post(newUserBody({ password }))), ['body', 'password'], 'value_error');
    assert.match(problem.msg, says, `${password}: ${problem.msg}`);
  }
  for (const password of ['Vx9#kLm2$qRt', `Aa1!${'Zq7-'.repeat(63)}`]) {
    const ok = await post(newUserBody({ password }));
    assert.equal(ok.statusCode, 200, `${password.length} chars: ${ok.body}`);
  }
});

test('malformed JSON, a missing body and a non-object body are 422 at ["body"]', async () => {
  assertOnlyProblem(await rejected(() => postRaw('{"email": "a@b.co",', 'application/json')), ['body'], 'json_invalid');
  assertOnlyProblem(await rejected(() => postRaw(undefined)), ['body'], 'missing');
  assertOnlyProblem(await rejected(() => postRaw('', 'application/json')), ['body'], 'missing');
  assertOnlyProblem(await rejected(() => postRaw('[]', 'application/json')), ['body'], 'model_attributes_type');
  assertOnlyProblem(await rejected(() => postRaw(JSON.stringify([newUserBody()]), 'application/json')), ['body'], 'model_attributes_type');
  assertOnlyProblem(await rejected(() => postRaw('"text"', 'application/json')), ['body'], 'model_attributes_type');
});

test('422 comes before 400 and 409', async () => {
  const badPasswordUnknownRole = newUserBody({ password: 'short', roles: ['NO-SUCH-ROLE'] });
  assertOnlyProblem(await rejected(() => post(badPasswordUnknownRole)), ['body', 'password'], 'value_error');
  const longNameUnknownRole = newUserBody({ firstName: 'x'.repeat(101), roles: ['NO-SUCH-ROLE'] });
  assertOnlyProblem(await rejected(() => post(longNameUnknownRole)), ['body', 'firstName'], 'string_too_long');
  const badEmailUnknownRole = newUserBody({ email: 'nope', roles: ['NO-SUCH-ROLE'] });
  assertOnlyProblem(await rejected(() => post(badEmailUnknownRole)), ['body', 'email'], 'value_error');

  const taken = await createUser(app);
  const dupBadPassword = newUserBody({ email: taken.email, password: 'alllowercase' });
  assertOnlyProblem(await rejected(() => post(dupBadPassword)), ['body', 'password'], 'value_error');
});

test('unknown fields are ignored', async () => {
  const body = newUserBody({ id: 'chosen-id', isAdmin: true, roles: ['CHAT-USER'], password_hash: 'x', nested: { a: 1 } });
  const res = await post(body);
  assert.equal(res.statusCode, 200, res.body);
  const user = json(res);
  assert.notEqual(user.id, 'chosen-id');
  assert.deepEqual(Object.keys(user).sort(), USER_RESPONSE_KEYS);
  assert.deepEqual(user.roles.map((r: { name: string }) => r.name), ['CHAT-USER']);
});

test('a trailing slash is tolerated: POST /users/', async () => {
  const body = newUserBody();
  const res = await post(body, '/users/');
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(json(res).email, body.email);
});

test('temporary may be omitted (defaults to true)', async () => {
  const { temporary: _, ...body } = newUserBody();
  const res = await post(body);
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(json(res).email, body.email);
});

test('SQL-looking names and emails are stored and returned literally', async () => {
  const firstName = "Robert'); DROP TABLE users;--";
  const lastName = `" OR 1=1; -- \\ %_*`;
  const email = "o'brien+test@example.com";
  const res = await post(newUserBody({ email, firstName, lastName, password: GOOD_PASSWORD }));
  assert.equal(res.statusCode, 200, res.body);
  const user = json(res);
  assert.equal(user.first_name, firstName);
  assert.equal(user.last_name, lastName);
  assert.equal(user.email, email);
  const found = (await allUsers()).find((u) => u.id === user.id);
  assert.deepEqual(found, user);
  const again = await createUser(app);
  assert.ok((await allUsers()).some((u) => u.id === again.id), 'the users table still works');
});
