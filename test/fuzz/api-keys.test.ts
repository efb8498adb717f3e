/**
 * Property-based fuzzing of the API-key endpoints (CONTRACT.md §4): POST /auth/api_keys (mutated bodies, no body),
 * GET /auth/api_keys, GET /auth/api_keys/{id}, DELETE /auth/api_keys/deactivate/{id} — with random credentials,
 * path ids, query strings and content types. Invariants: test/fuzz/harness.ts; plus: no response ever shows a key's
 * secret or hash except the mint response, and a 200 on a key id is that key.
 *
 * Default: 3,600 generated requests. Longer: FUZZ_RUNS=<multiplier>, e.g.
 *   FUZZ_RUNS=20 node scripts/run-tests.mjs test/fuzz/api-keys.test.ts
 * FUZZ_SEED=<seed> replays a failure; GATEHOUSE_TEST_DIALECT=postgres runs it on PostgreSQL.
 */
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { testApp } from '../helpers/app.ts';
import { anyString, encodeBody, fuzzParams, jsonEncoding, mutatedBody, queryString, roleList } from './arbitraries.ts';
import { authChoice, authHeaders, Fixture, pathId, segmentOf } from './fixture.ts';
import { Fuzzer } from './harness.ts';

// A low ceiling on active keys so "Maximum number of active keys reached" (400) is reached too; the harness prunes
// the keys fuzzed requests mint, so the fixture's keys always fit.
const t = await testApp({ GATEHOUSE_AUTH_RATE_LIMIT: '0', GATEHOUSE_LOG_LEVEL: 'warn', GATEHOUSE_MAX_API_KEYS: '40' });
const fx = await Fixture.create(t);
const fuzzer = new Fuzzer(t, fx);

const RUNS = { create: 1400, list: 600, getDeactivate: 1600 };
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Secrets and hashes never leave the server, except the new key in its own mint response. */
function noSecrets(res: LightMyRequestResponse, body: unknown, minting: boolean): string[] {
  const problems: string[] = [];
  for (const { key } of Object.values(fx.keys)) {
    if (res.body.includes(key)) problems.push('a response shows a fixture key');
    if (res.body.includes(createHash('sha256').update(key).digest('hex'))) problems.push('a response shows a key hash');
  }
  if (res.body.includes('secret_hash')) problems.push('a response shows secret_hash');
  if (!minting && isObject(body) && 'key' in body) problems.push('a response other than the mint shows "key"');
  if (Array.isArray(body) && body.some((k) => isObject(k) && 'key' in k)) problems.push('the key list shows "key"');
  return problems;
}

test('POST /auth/api_keys: mutated bodies, no body, content types and credentials', async () => {
  const body = fc.oneof(
    { arbitrary: mutatedBody({ description: fc.oneof(anyString, fc.constant(null)), roles: roleList }), weight: 9 },
    { arbitrary: fc.constant(undefined), weight: 1 },
  );
  await fc.assert(
    fc.asyncProperty(authChoice(), body, jsonEncoding, fc.constantFrom('/auth/api_keys', '/auth/api_keys/'), async (auth, value, enc, path) => {
      const encoded = value === undefined ? { headers: {}, payload: undefined, bodyClass: 'none' as const } : encodeBody(value, enc);
      await fuzzer.send(
        { method: 'POST', url: path, route: 'keys.create', routed: true, headers: { ...authHeaders(auth, fx), ...encoded.headers }, payload: encoded.payload, bodyClass: encoded.bodyClass },
        (res, parsed) => {
          const problems = noSecrets(res, parsed, true);
          if (res.statusCode === 200 && !(isObject(parsed) && typeof parsed.key === 'string' && /^gk_[\w-]{43}$/.test(parsed.key) && parsed.is_active === true)) {
            problems.push('a 200 mint response without a gk_ key');
          }
          return problems;
        },
      );
    }),
    fuzzParams(RUNS.create),
  );
});

test('GET /auth/api_keys: credentials and random query strings', async () => {
  await fc.assert(
    fc.asyncProperty(authChoice(), queryString({ page: ['0', '-1', 'NaN'], is_active: ['true', 'x'] }), async (auth, qs) => {
      await fuzzer.send({ method: 'GET', url: `/auth/api_keys${qs}`, route: 'keys.list', routed: true, headers: authHeaders(auth, fx) }, (res, parsed) => {
        const problems = noSecrets(res, parsed, false);
        if (res.statusCode === 200 && !Array.isArray(parsed)) problems.push('200 list is not an array');
        return problems;
      });
    }),
    fuzzParams(RUNS.list),
  );
});

test('GET /auth/api_keys/{id} and DELETE /auth/api_keys/deactivate/{id}: path ids and credentials', async () => {
  await fc.assert(
    fc.asyncProperty(
      authChoice(),
      pathId(['orgAdminKey', 'auditorKey', 'lowKey', 'deactivatedKey', 'victimKey', 'victimKey', 'tokenUser']),
      fc.constantFrom('get', 'get', 'deactivate'),
      fc.constantFrom('', '/'),
      fc.constantFrom(undefined, '{}', '{"id":"x"}', 'null'),
      async (auth, id, op, slash, payload) => {
        const { segment, id: targetId, routed } = segmentOf(id, fx);
        const deactivate = op === 'deactivate';
        const headers = { ...authHeaders(auth, fx), ...(deactivate && payload !== undefined ? { 'content-type': 'application/json' } : {}) };
        await fuzzer.send(
          {
            method: deactivate ? 'DELETE' : 'GET',
            url: deactivate ? `/auth/api_keys/deactivate/${segment}${slash}` : `/auth/api_keys/${segment}${slash}`,
            route: deactivate ? 'keys.deactivate' : 'keys.get',
            routed, targetId, headers,
            ...(deactivate && payload !== undefined ? { payload, bodyClass: 'json' as const } : {}),
          },
          (res, parsed) => {
            const problems = noSecrets(res, parsed, false);
            if (routed && res.statusCode === 200 && !(isObject(parsed) && parsed.id === targetId)) problems.push(`200 for id ${JSON.stringify(targetId)} shows another key`);
            if (res.statusCode === 200 && deactivate && isObject(parsed) && parsed.is_active !== false) problems.push('a deactivated key is shown active');
            if (res.statusCode === 404 && isObject(parsed) && routed && parsed.detail !== 'API Key not found') problems.push(`404 says ${JSON.stringify(parsed.detail)}`);
            return problems;
          },
        );
      },
    ),
    fuzzParams(RUNS.getDeactivate),
  );
});

test('api-keys fuzz: request count', (ctx) => {
  fuzzer.report(ctx, 'api-keys.test.ts', fuzzParams(Object.values(RUNS).reduce((a, b) => a + b, 0)).numRuns!);
});
