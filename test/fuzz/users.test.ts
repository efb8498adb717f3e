/**
 * Property-based fuzzing of the seed's endpoints (CONTRACT.md §3): POST /users, DELETE /users/{id},
 * POST /users/{id}/reset_password, GET /users, GET /users/permissions/check, GET /users/me — valid requests mutated
 * field by field, random query strings, path ids and credentials. Invariants: test/fuzz/harness.ts.
 *
 * Default: 5,700 generated requests. Longer: FUZZ_RUNS=<multiplier>, e.g.
 *   FUZZ_RUNS=20 node scripts/run-tests.mjs test/fuzz/users.test.ts
 * FUZZ_SEED=<seed> replays a failure; GATEHOUSE_TEST_DIALECT=postgres runs it on PostgreSQL.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import { testApp } from '../helpers/app.ts';
import { anyString, email, encodeBody, fuzzParams, jsonEncoding, mutatedBody, password, queryString, roleList } from './arbitraries.ts';
import { authChoice, authHeaders, Fixture, pathId, segmentOf, type AuthOutcome } from './fixture.ts';
import { Fuzzer } from './harness.ts';

const t = await testApp({ GATEHOUSE_AUTH_RATE_LIMIT: '0', GATEHOUSE_LOG_LEVEL: 'warn' });
const fx = await Fixture.create(t);
const fuzzer = new Fuzzer(t, fx);

const RUNS = { create: 1500, deleteReset: 1500, search: 1200, check: 1000, me: 500 };
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

const name = fc.oneof({ arbitrary: fc.string({ minLength: 1, maxLength: 20 }), weight: 3 }, { arbitrary: anyString, weight: 1 });
const createBody = mutatedBody({ email, password, temporary: fc.boolean(), roles: roleList, firstName: name, lastName: name });

test('POST /users: mutated bodies, content types and credentials', async () => {
  await fc.assert(
    fc.asyncProperty(authChoice(), createBody, jsonEncoding, async (auth, body, enc) => {
      const encoded = encodeBody(body, enc);
      await fuzzer.send({ method: 'POST', url: '/users', route: 'users.create', routed: true, headers: { ...authHeaders(auth, fx), ...encoded.headers }, payload: encoded.payload, bodyClass: encoded.bodyClass });
    }),
    fuzzParams(RUNS.create),
  );
});

test('DELETE /users/{id} and POST /users/{id}/reset_password: path ids, bodies and credentials', async () => {
  const resetBody = mutatedBody({ password });
  await fc.assert(
    fc.asyncProperty(
      authChoice(),
      pathId(['tokenUser', 'victimUser', 'orgAdminKey']),
      fc.constantFrom('delete', 'reset', 'reset'),
      resetBody,
      jsonEncoding,
      fc.constantFrom('', '/'),
      async (auth, id, op, body, enc, slash) => {
        const { segment, id: targetId, routed } = segmentOf(id, fx);
        const headers = authHeaders(auth, fx);
        if (op === 'delete') {
          await fuzzer.send({ method: 'DELETE', url: `/users/${segment}${slash}`, route: 'users.delete', routed, targetId, headers });
          return;
        }
        const encoded = encodeBody(body, enc);
        await fuzzer.send({
          method: 'POST', url: `/users/${segment}/reset_password${slash}`, route: 'users.reset', routed, targetId,
          headers: { ...headers, ...encoded.headers }, payload: encoded.payload, bodyClass: encoded.bodyClass,
        });
      },
    ),
    fuzzParams(RUNS.deleteReset),
  );
});

/** Query values that are not finite numbers (Infinity, 1e400) are not integers: CONTRACT.md §3.4 says 422. */
function nonFiniteInteger(query: string, param: string): boolean {
  const values = new URLSearchParams(query).getAll(param);
  if (values.length !== 1) return false;
  const n = Number(values[0]);
  return values[0]!.trim() !== '' && (n === Infinity || n === -Infinity);
}

test('GET /users: random query strings and credentials', async () => {
  const query = queryString({
    search_string: ['ada', 'fixture', 'FIX TURE', 'example.com', '%', '_', '"', "'", '*', 'a b c d e f', 'a b c d e f g h i j k', ' ', 'ab\u0000c', 'x'.repeat(200), 'x'.repeat(201)],
    sort: ['asc', 'desc', 'ASC', 'Desc', 'random', ''],
    page_size: ['1', '10', '5000', '5001', '0', '-1', '2.5', '1e3'],
    page: ['0', '1', '99999999999', '9007199254740993', '-1', '1e308'],
  });
  await fc.assert(
    fc.asyncProperty(authChoice(), query, fc.constantFrom('/users', '/users/'), async (auth, qs, path) => {
      await fuzzer.send({ method: 'GET', url: `${path}${qs}`, route: 'users.search', routed: true, headers: authHeaders(auth, fx) }, (res, body) => {
        const problems: string[] = [];
        for (const p of ['page', 'page_size']) {
          if (res.statusCode === 200 && nonFiniteInteger(qs.slice(1), p)) problems.push(`${p} that is not a finite integer was accepted (200), expected 422 at ["query","${p}"]`);
        }
        if (res.statusCode === 200 && !Array.isArray(body)) problems.push('200 body is not an array');
        return problems;
      });
    }),
    fuzzParams(RUNS.search),
  );
});

/** CONTRACT.md §2: the permissions each role grants. */
const GRANTS: Record<string, string[]> = {
  'ORG-ADMIN': ['create', 'read'].flatMap((a) => ['prompts', 'responses', 'rules', 'tasks'].map((r) => `${a}:${r}`)),
  'ORG-AUDITOR': ['read:prompts', 'read:responses', 'read:rules', 'read:tasks'],
  'CHAT-USER': ['create:prompts', 'create:responses'],
  'VALIDATION-USER': ['create:prompts', 'create:responses'],
};

function permissionOracle(qs: string, status: number, body: unknown, auth: AuthOutcome | undefined): string[] {
  if (auth?.kind !== 'ok') return [];
  const params = new URLSearchParams(qs);
  const action = params.getAll('action');
  const resource = params.getAll('resource');
  const validAction = action.length === 1 && ['create', 'read'].includes(action[0]!);
  const validResource = resource.length === 1 && ['prompts', 'responses', 'rules', 'tasks'].includes(resource[0]!);
  if (validAction && validResource) {
    const granted = auth.principal.roles.some((r) => GRANTS[r]?.includes(`${action[0]}:${resource[0]}`));
    if (status !== (granted ? 200 : 403)) return [`${auth.principal.roles.join('+')} asking ${action[0]} ${resource[0]}: expected ${granted ? 200 : 403}, got ${status}`];
    if (granted && !(isObject(body) && body.allowed === true && Array.isArray(body.granted_by) && body.granted_by.length > 0)) return ['200 body is not {"allowed": true, ..., "granted_by": [roles]}'];
    if (!granted && !(isObject(body) && body.action === action[0] && body.resource === resource[0])) return ['403 does not echo action and resource'];
  }
  const oneMissing = (action.length === 0 && (resource.length === 0 || validResource)) || (resource.length === 0 && validAction);
  if (oneMissing && !(status === 400 && isObject(body) && body.detail === 'Both Action and Resource must be supplied.')) {
    return [`action or resource missing: expected 400 "Both Action and Resource must be supplied.", got ${status}`];
  }
  return [];
}

test('GET /users/permissions/check: random queries, every credential kind, the permission table', async () => {
  const query = queryString({
    action: ['create', 'read', 'CREATE', 'delete', ' read', ''],
    resource: ['prompts', 'responses', 'rules', 'tasks', 'Tasks', 'users', ''],
  });
  await fc.assert(
    fc.asyncProperty(authChoice(), query, async (auth, qs) => {
      await fuzzer.send({ method: 'GET', url: `/users/permissions/check${qs}`, route: 'users.check', routed: true, headers: authHeaders(auth, fx) }, (res, body, expected) =>
        permissionOracle(qs.slice(1), res.statusCode, body, expected),
      );
    }),
    fuzzParams(RUNS.check),
  );
});

test('GET /users/me: every credential kind', async () => {
  await fc.assert(
    fc.asyncProperty(authChoice(), queryString({ user_id: ['admin-key', 'x'] }), async (auth, qs) => {
      await fuzzer.send({ method: 'GET', url: `/users/me${qs}`, route: 'users.me', routed: true, headers: authHeaders(auth, fx) }, (res, body, expected) => {
        if (res.statusCode !== 200 || expected?.kind !== 'ok') return [];
        const p = expected.principal;
        const ok = isObject(body) && body.user_id === p.id && body.kind === p.kind && JSON.stringify(body.roles) === JSON.stringify(p.roles);
        return ok ? [] : [`/users/me answered ${JSON.stringify(body)} for ${p.kind} ${p.id}`];
      });
    }),
    fuzzParams(RUNS.me),
  );
});

test('users fuzz: request count', (ctx) => {
  fuzzer.report(ctx, 'users.test.ts', fuzzParams(Object.values(RUNS).reduce((a, b) => a + b, 0)).numRuns!);
});
