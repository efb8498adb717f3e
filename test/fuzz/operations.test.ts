/**
 * Property-based fuzzing of everything around the API (CONTRACT.md §5, README "Choices where the contract is
 * silent"): /healthz, /readyz, /metrics, /openapi.json, /docs, /.well-known/jwks.json and
 * /.well-known/openid-configuration with random query strings and headers; every HTTP method on every route and on
 * unknown, traversing, re-encoded and over-long paths; request ids. Invariants: test/fuzz/harness.ts, plus: an
 * unknown route is 404 `{"detail": "Not Found"}` (or 400/414 for a malformed or over-long path), and
 * `x-request-id` is echoed only when it is an id (up to 128 word characters), so no text reaches log lines.
 *
 * Default: 3,200 generated requests. Longer: FUZZ_RUNS=<multiplier>, e.g.
 *   FUZZ_RUNS=20 node scripts/run-tests.mjs test/fuzz/operations.test.ts
 * FUZZ_SEED=<seed> replays a failure; GATEHOUSE_TEST_DIALECT=postgres runs it on PostgreSQL.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { testApp } from '../helpers/app.ts';
import { anyString, fuzzParams, pct, plain, queryString } from './arbitraries.ts';
import { authChoice, authHeaders, Fixture, pathId, segmentOf } from './fixture.ts';
import { Fuzzer, type RouteName } from './harness.ts';

const t = await testApp({ GATEHOUSE_AUTH_RATE_LIMIT: '0', GATEHOUSE_LOG_LEVEL: 'warn' });
const fx = await Fixture.create(t);
const fuzzer = new Fuzzer(t, fx);

const RUNS = { public: 1000, methods: 1400, unknown: 800 };
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

const requestId = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 3 },
  { arbitrary: fc.stringMatching(/^\w{1,128}$/), weight: 2 },
  { arbitrary: fc.constantFrom('a'.repeat(129), 'id\nforged log line', 'a b', '"quoted"', 'é', '../x', '', ' ', '<script>', 'x'.repeat(5000)), weight: 2 },
  { arbitrary: fc.string({ maxLength: 40 }), weight: 1 },
);
const extraHeaders = fc.record({
  'x-request-id': requestId,
  accept: fc.constantFrom(undefined, 'text/html', '*/*', 'application/xml', 'application/json;q=0', 'garbage;;;'),
  'accept-encoding': fc.constantFrom(undefined, 'gzip', 'br', 'identity;q=0', 'x'),
  'x-forwarded-for': fc.constantFrom(undefined, '1.2.3.4', 'not-an-ip', '::1, 10.0.0.1'),
  'if-none-match': fc.constantFrom(undefined, '*', '"x"'),
  origin: fc.constantFrom(undefined, 'https://evil.example', 'null'),
});
const defined = (h: Record<string, string | undefined>) => Object.fromEntries(Object.entries(h).filter((e): e is [string, string] => e[1] !== undefined));

/** README: a request id of up to 128 word characters is reused; anything else is replaced by a generated one. */
function requestIdOracle(sent: string | undefined) {
  return (res: LightMyRequestResponse): string[] => {
    const got = res.headers['x-request-id'];
    if (typeof got !== 'string' || got === '') return ['response without x-request-id'];
    if (sent !== undefined && /^\w{1,128}$/.test(sent) && got !== sent) return [`x-request-id ${JSON.stringify(sent)} was not reused`];
    if (sent !== undefined && !/^[\w.:-]{1,128}$/.test(sent) && got === sent) return [`x-request-id ${JSON.stringify(sent.slice(0, 40))} was echoed although it is not an id`];
    return [];
  };
}

const PUBLIC: [string, RouteName][] = [
  ['/healthz', 'public'], ['/readyz', 'public'], ['/metrics', 'metrics'], ['/openapi.json', 'public'], ['/docs', 'docs'], ['/docs/', 'docs'],
  ['/.well-known/jwks.json', 'public'], ['/.well-known/openid-configuration', 'public'], ['/healthz/', 'public'],
];

function publicOracle(path: string, res: LightMyRequestResponse, body: unknown): string[] {
  if (res.statusCode !== 200) return path.startsWith('/docs') && res.statusCode < 400 ? [] : [`${path} answered ${res.statusCode}, not 200`];
  const base = path.replace(/\/$/, '');
  if (base === '/healthz' && !(isObject(body) && body.status === 'ok')) return ['/healthz is not {"status":"ok"}'];
  if (base === '/metrics' && !String(res.headers['content-type']).startsWith('text/plain')) return ['/metrics is not text/plain'];
  if (base === '/.well-known/jwks.json' && !(isObject(body) && Array.isArray(body.keys) && body.keys.length > 0)) return ['JWKS without keys'];
  if (base === '/openapi.json' && !(isObject(body) && isObject(body.paths) && ['/users', '/auth/token', '/users/{user_id}'].every((p) => p in (body.paths as object)))) {
    return ['/openapi.json does not describe the API'];
  }
  return [];
}

test('public routes: random query strings and headers', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...PUBLIC), queryString({ format: ['json', 'text'], x: ['1'] }), extraHeaders, authChoice(), fc.constantFrom('GET', 'GET', 'HEAD'), async ([path, route], qs, extra, auth, method) => {
      const headers = { ...defined(extra), ...authHeaders(auth, fx) };
      await fuzzer.send({ method, url: `${path}${qs}`, route, routed: true, headers }, (res, body) => [
        ...requestIdOracle(extra['x-request-id'])(res),
        ...(method === 'GET' ? publicOracle(path, res, body) : []),
      ]);
    }),
    fuzzParams(RUNS.public),
  );
});

/** Every route of the API, with the route name that applies when the method matches. */
const ROUTES: { method: string; path: (id: string) => string; route: RouteName; id?: boolean }[] = [
  { method: 'POST', path: () => '/users', route: 'users.create' },
  { method: 'GET', path: () => '/users', route: 'users.search' },
  { method: 'DELETE', path: (id) => `/users/${id}`, route: 'users.delete', id: true },
  { method: 'POST', path: (id) => `/users/${id}/reset_password`, route: 'users.reset', id: true },
  { method: 'GET', path: () => '/users/permissions/check', route: 'users.check' },
  { method: 'GET', path: () => '/users/me', route: 'users.me' },
  { method: 'POST', path: () => '/auth/api_keys', route: 'keys.create' },
  { method: 'GET', path: () => '/auth/api_keys', route: 'keys.list' },
  { method: 'GET', path: (id) => `/auth/api_keys/${id}`, route: 'keys.get', id: true },
  { method: 'DELETE', path: (id) => `/auth/api_keys/deactivate/${id}`, route: 'keys.deactivate', id: true },
  { method: 'POST', path: () => '/auth/token', route: 'auth.token' },
  { method: 'POST', path: () => '/auth/password', route: 'auth.password' },
  { method: 'POST', path: () => '/auth/logout', route: 'auth.logout' },
  { method: 'GET', path: () => '/healthz', route: 'public' },
];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

test('every method on every route, with random ids, credentials and small bodies', async () => {
  const routeArb = fc.constantFrom(...ROUTES.keys()).map((i) => Object.assign({ i }, { [fc.toStringMethod]: () => `${ROUTES[i]!.method} ${ROUTES[i]!.path(':id')}` }));
  const body = fc.constantFrom(undefined, '{}', '{"email":1}', 'null', '[]');
  await fc.assert(
    fc.asyncProperty(routeArb, fc.constantFrom(...METHODS), pathId(['tokenUser', 'victimUser', 'lowKey', 'victimKey']), authChoice(), body, requestId, async ({ i }, method, id, auth, payload, rid) => {
      const r = ROUTES[i]!;
      const { segment, id: targetId, routed } = segmentOf(id, fx);
      const headers = { ...authHeaders(auth, fx), ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...(rid !== undefined ? { 'x-request-id': rid } : {}) };
      const sameMethod = method === r.method;
      await fuzzer.send(
        {
          method, url: r.path(segment), headers, targetId,
          route: sameMethod ? r.route : method === 'HEAD' && r.method === 'GET' ? r.route : 'unknown',
          routed: (sameMethod || (method === 'HEAD' && r.method === 'GET')) && (!r.id || routed),
          ...(payload !== undefined && method !== 'GET' && method !== 'HEAD' ? { payload, bodyClass: 'json' as const } : {}),
        },
        requestIdOracle(rid),
      );
    }),
    fuzzParams(RUNS.methods),
  );
});

const UNKNOWN_PATHS = [
  '/', '/user', '/USERS', '/Users/me', '/users/me/extra', '/users/x/reset_password/x', '/users/x/y', '/auth', '/auth/', '/auth/api_keys/deactivate',
  '/auth/tokens', '/.well-known', '/.well-known/', '/.well-known/jwks', '/.env', '/admin', '/api/users', '/%75sers', '/users%2F', '/users/%2e%2e/healthz',
  '/./healthz', '/healthz/..', '/../../etc/passwd', '//', '///users', '/users;x', '/users%00', '/%00', '/%FF', '/%', '/%ZZ', '/😀', '/é', '/a b',
  '/docs/../openapi.json', '/metrics/x', '/readyz/x', `/${'a'.repeat(2000)}`, `/users/${'a'.repeat(1025)}/reset_password`, '/auth/api_keys/a/b',
];

/** A path that, once dot segments are resolved (as URL parsing in app.inject does) and unreserved characters decoded, names a real route. */
function isRoute(path: string): boolean {
  let pathname: string;
  try {
    // %-encoded unreserved characters are the characters themselves (RFC 3986 §6.2.2.2): /%75sers is /users.
    pathname = new URL(path, 'http://localhost').pathname.replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => {
      const c = String.fromCharCode(parseInt(hex, 16));
      return /[A-Za-z0-9._~-]/.test(c) ? c : m;
    });
  } catch {
    return false;
  }
  return [
    /^\/users\/?$/, /^\/users\/[^/]*\/?$/, /^\/users\/[^/]*\/reset_password\/?$/, /^\/auth\/api_keys(\/[^/]*)?\/?$/, /^\/auth\/api_keys\/deactivate\/[^/]*\/?$/,
    /^\/auth\/(token|password|logout)\/?$/, /^\/(healthz|readyz|metrics|openapi\.json)\/?$/, /^\/docs/, /^\/\.well-known\/(jwks\.json|openid-configuration)\/?$/,
  ].some((re) => re.test(pathname));
}

test('unknown, traversing, re-encoded and over-long paths: 404, 400 or 414 with {"detail"}', async () => {
  const path = fc.oneof(
    { arbitrary: fc.constantFrom(...UNKNOWN_PATHS), weight: 3 },
    { arbitrary: anyString.map((s) => `/zz/${pct(plain(s).slice(0, 3000))}`), weight: 2 },
    { arbitrary: fc.array(fc.constantFrom('users', 'auth', 'me', '..', '.', '%2e', 'x', '', 'api_keys', 'deactivate', 'check'), { minLength: 3, maxLength: 6 }).map((p) => `/${p.join('/')}/zz`), weight: 2 },
  );
  await fc.assert(
    fc.asyncProperty(path, fc.constantFrom(...METHODS), authChoice(), queryString({ q: ['1'] }), async (p, method, auth, qs) => {
      await fuzzer.send({ method, url: `${p}${qs}`, route: 'unknown', routed: false, headers: authHeaders(auth, fx) }, (res, body) => {
        if (isRoute(p) || method === 'HEAD') return [];
        const ok = (res.statusCode === 404 && isObject(body) && body.detail === 'Not Found') || res.statusCode === 400 || res.statusCode === 414;
        return ok ? [] : [`unknown path answered ${res.statusCode}, not 404 Not Found`];
      });
    }),
    fuzzParams(RUNS.unknown),
  );
});

test('operations fuzz: request count', (ctx) => {
  fuzzer.report(ctx, 'operations.test.ts', fuzzParams(Object.values(RUNS).reduce((a, b) => a + b, 0)).numRuns!);
});
