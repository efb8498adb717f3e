/**
 * Property-based fuzzing of request bodies as bytes, on every route that reads one (POST /users,
 * POST /users/{id}/reset_password, DELETE /users/{id}, POST /auth/api_keys, DELETE /auth/api_keys/deactivate/{id},
 * POST /auth/token, /auth/password, /auth/logout): random bytes and invalid UTF-8, truncated and almost-JSON text,
 * JSON nested thousands deep, bodies at and over the 64 KiB limit, many keys, huge numbers — under random, missing
 * and wrong content types. Invariants: test/fuzz/harness.ts, plus: malformed JSON is 422 `json_invalid` at ["body"]
 * (RFC 6749 400 `invalid_request` on /auth/token), and a body over 64 KiB is 413.
 *
 * Default: 3,600 generated requests. Longer: FUZZ_RUNS=<multiplier>, e.g.
 *   FUZZ_RUNS=20 node scripts/run-tests.mjs test/fuzz/raw-bodies.test.ts
 * FUZZ_SEED=<seed> replays a failure; GATEHOUSE_TEST_DIALECT=postgres runs it on PostgreSQL.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import { testApp } from '../helpers/app.ts';
import { deepJson, FORM_TYPES, fuzzParams, OTHER_TYPES, type BodyClassName } from './arbitraries.ts';
import { authChoice, authHeaders, Fixture, type AuthChoice, type IdName } from './fixture.ts';
import { BODY_LIMIT, Fuzzer, type RouteName } from './harness.ts';

const t = await testApp({ GATEHOUSE_AUTH_RATE_LIMIT: '0', GATEHOUSE_LOG_LEVEL: 'warn' });
const fx = await Fixture.create(t);
const fuzzer = new Fuzzer(t, fx);

const RUNS = { bytes: 2000, sizes: 600, deep: 1000 };
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

interface Target {
  route: RouteName;
  method: 'POST' | 'DELETE';
  path: (f: Fixture) => string;
  target?: IdName;
}
const TARGETS: Target[] = [
  { route: 'users.create', method: 'POST', path: () => '/users' },
  { route: 'users.reset', method: 'POST', path: (f) => `/users/${f.victimUser.id}/reset_password`, target: 'victimUser' },
  { route: 'users.reset', method: 'POST', path: (f) => `/users/${f.tokenUser.id}/reset_password`, target: 'tokenUser' },
  { route: 'users.delete', method: 'DELETE', path: () => '/users/00000000-0000-7000-8000-000000000000' },
  { route: 'keys.create', method: 'POST', path: () => '/auth/api_keys' },
  { route: 'keys.deactivate', method: 'DELETE', path: () => '/auth/api_keys/deactivate/nope' },
  { route: 'auth.token', method: 'POST', path: () => '/auth/token' },
  { route: 'auth.password', method: 'POST', path: () => '/auth/password' },
  { route: 'auth.logout', method: 'POST', path: () => '/auth/logout' },
];
const target = fc.constantFrom(...TARGETS).map((x) => Object.assign(x, { [fc.toStringMethod]: () => `${x.method} ${x.route}` }));

/** Mostly the admin key (so the body is what decides), sometimes anything. */
const credential: fc.Arbitrary<AuthChoice> = fc.oneof(
  { arbitrary: fc.constant<AuthChoice>({ header: { kind: 'cred', cred: 'admin', scheme: 'Bearer', before: '', between: ' ', after: '' }, cookie: { kind: 'absent' } }), weight: 6 },
  { arbitrary: authChoice(), weight: 1 },
);

const contentType = fc.oneof(
  { arbitrary: fc.constant<[string | undefined, BodyClassName]>(['application/json', 'json']), weight: 8 },
  { arbitrary: fc.constantFrom('application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json; charset=utf-16').map((c): [string, BodyClassName] => [c, 'json']), weight: 1 },
  { arbitrary: fc.constantFrom(...OTHER_TYPES).map((c): [string, BodyClassName] => [c, 'other']), weight: 2 },
  { arbitrary: fc.constantFrom(...FORM_TYPES).map((c): [string, BodyClassName] => [c, 'form']), weight: 1 },
  { arbitrary: fc.constant<[string | undefined, BodyClassName]>([undefined, 'other']), weight: 1 },
);

const b = (...bytes: number[]) => Buffer.from(bytes);
const RAW_TEXTS = [
  '{', '}', '[', '{"email":', '{"email":"a@b.co"', '{"a":1}}', '{"a":1} {"b":2}', '{a:1}', "{'a':1}", '{"a":1,}', '[1,]', '// c\n{}', '/* c */{}',
  'NaN', 'Infinity', '-', '01', '1e', '.5', '"unterminated', '"\\x41"', '"\\ud800"', '"\\u12"', 'true', 'false', 'null', '0', '""', '[]', '{}',
  '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}', '{"email":"a","email":"b"}', '\ufeff{}', '\u0000', '{"a":"\u0000"}', ' \t\r\n ',
  '{"roles":' + '['.repeat(30) + ']'.repeat(30) + '}', '1'.repeat(60_000), `[${'1,'.repeat(20_000)}1]`, `{${Array.from({ length: 4000 }, (_, i) => `"k${i}":${i}`).join(',')}}`,
];
const RAW_BYTES = [
  b(0xff), b(0xfe, 0xff, 0, 0x7b, 0, 0x7d), b(0xc3), b(0xed, 0xa0, 0x80), b(0xf4, 0x90, 0x80, 0x80), b(0xc0, 0xaf), b(0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d),
  b(0x7b, 0x00, 0x7d), Buffer.from('{"password":"\xff\xfe"}', 'latin1'), Buffer.from('{"refresh_token":"é"}', 'utf16le'),
];

const rawBody = fc.oneof(
  { arbitrary: fc.constantFrom(...RAW_TEXTS).map((s) => Buffer.from(s, 'utf8')), weight: 4 },
  { arbitrary: fc.constantFrom(...RAW_BYTES), weight: 3 },
  { arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 100 }).map((s) => Buffer.from(JSON.stringify({ email: s, password: `${s}§pw`, refresh_token: `${s}§rt`, roles: [s] }))), weight: 2 },
).map((buf) => Object.assign(buf, { [fc.toStringMethod]: () => `bytes(${buf.length > 80 ? `${buf.subarray(0, 40).toString('hex')}… ${buf.length} bytes` : buf.toString('hex')})` }));

/** Malformed JSON (not a blank body, which counts as none) is json_invalid; /auth/token answers it RFC 6749's way. */
function jsonOracle(route: RouteName, payload: Buffer, cls: BodyClassName) {
  return (res: { statusCode: number }, body: unknown, auth: unknown): string[] => {
    if (cls !== 'json' || payload.length > BODY_LIMIT || res.statusCode === 401 || res.statusCode === 403) return [];
    if (auth !== undefined && (auth as { kind: string }).kind !== 'ok') return [];
    const text = payload.toString('utf8').replace(/^\ufeff/, '');
    if (text.trim() === '') return [];
    try {
      JSON.parse(text);
      return [];
    } catch {
      if (route === 'auth.token') {
        return res.statusCode === 400 && isObject(body) && body.error === 'invalid_request' ? [] : [`malformed JSON on /auth/token got ${res.statusCode}, not 400 invalid_request`];
      }
      const first = isObject(body) && Array.isArray(body.detail) ? (body.detail[0] as Record<string, unknown>) : undefined;
      const ok = res.statusCode === 422 && first?.type === 'json_invalid' && JSON.stringify(first?.loc) === '["body"]';
      return ok ? [] : [`malformed JSON got ${res.statusCode} ${JSON.stringify(first?.type)}, not 422 json_invalid at ["body"]`];
    }
  };
}

async function sendBody(x: Target, auth: AuthChoice, ct: [string | undefined, BodyClassName], payload: Buffer) {
  const headers = { ...authHeaders(auth, fx), ...(ct[0] === undefined ? {} : { 'content-type': ct[0] }) };
  const cls: BodyClassName = payload.length === 0 ? 'none' : ct[1];
  const targetId = x.target ? fx.idOf(x.target) : undefined;
  await fuzzer.send({ method: x.method, url: x.path(fx), route: x.route, routed: true, targetId, headers, payload, bodyClass: cls }, jsonOracle(x.route, payload, cls));
}

test('raw bodies: random bytes, invalid UTF-8, almost-JSON, under every content type', async () => {
  await fc.assert(
    fc.asyncProperty(target, credential, contentType, rawBody, async (x, auth, ct, payload) => sendBody(x, auth, ct, payload)),
    fuzzParams(RUNS.bytes),
  );
});

test('raw bodies: sizes around the 64 KiB limit', async () => {
  const sized = fc.constantFrom(1, 100, BODY_LIMIT - 1, BODY_LIMIT, BODY_LIMIT + 1, 100_000, 1_000_000).map((n) => {
    const filler = Math.max(0, n - '{"description":""}'.length);
    return Object.assign(Buffer.from(`{"description":"${'d'.repeat(filler)}"}`), { [fc.toStringMethod]: () => `a ${n}-byte JSON object` });
  });
  await fc.assert(
    fc.asyncProperty(target, credential, contentType, sized, async (x, auth, ct, payload) => sendBody(x, auth, ct, payload)),
    fuzzParams(RUNS.sizes),
  );
});

test('raw bodies: JSON nested up to 20,000 deep, at the top and inside fields', async () => {
  const placement = fc.constantFrom('top', 'email', 'password', 'roles', 'refresh_token', 'description');
  await fc.assert(
    fc.asyncProperty(target, credential, deepJson(20_000), placement, async (x, auth, deep, where) => {
      const text = where === 'top' ? deep.text : `{"${where}":${deep.text}}`;
      await sendBody(x, auth, ['application/json', 'json'], Buffer.from(text));
    }),
    fuzzParams(RUNS.deep),
  );
});

test('raw-bodies fuzz: request count', (ctx) => {
  fuzzer.report(ctx, 'raw-bodies.test.ts', fuzzParams(Object.values(RUNS).reduce((a, b) => a + b, 0)).numRuns!);
});
