/**
 * Property-based fuzzing of the API-key endpoints (CONTRACT.md §4): POST /auth/api_keys (mutated bodies, no body),
 * GET /auth/api_keys (bare and paged), GET /auth/api_keys/{id}, DELETE /auth/api_keys/deactivate/{id} — with random
 * credentials, path ids, query strings (page_size, cursor) and content types, and random expiries. Invariants:
 * test/fuzz/harness.ts; plus: no response ever shows a key's secret or hash except the mint response, a 200 on a key
 * id is that key, and the list is an array without paging parameters and a page object with them.
 *
 * Default: 3,600 generated requests. Longer: FUZZ_RUNS=<multiplier>, e.g.
 *   FUZZ_RUNS=20 node scripts/run-tests.mjs test/fuzz/api-keys.test.ts
 * FUZZ_SEED=<seed> replays a failure; GATEHOUSE_TEST_DIALECT=postgres runs it on PostgreSQL.
 */
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { ADMIN, json, testApp, type TestApp } from '../helpers/app.ts';
import { anyString, encodeBody, fuzzParams, jsonEncoding, mutatedBody, queryString, roleList } from './arbitraries.ts';
import { authChoice, authHeaders, Fixture, pathId, segmentOf } from './fixture.ts';
import { Fuzzer } from './harness.ts';

// A low ceiling on active keys so "Maximum number of active keys reached" (400) is reached too; the harness prunes
// the keys fuzzed requests mint, so the fixture's keys always fit.
const t = await testApp({ GATEHOUSE_AUTH_RATE_LIMIT: '0', GATEHOUSE_LOG_LEVEL: 'warn', GATEHOUSE_MAX_API_KEYS: '40' });
const fx = await Fixture.create(t);

const fuzzer = new Fuzzer(t, fx);

// A real cursor (the fixture has five keys), so paging is fuzzed past the first page too.
const realCursor: string = json(await t.app.inject({ method: 'GET', url: '/auth/api_keys?page_size=2', headers: ADMIN })).next_cursor;
const b64 = (s: string) => Buffer.from(s).toString('base64url');
const DAY = 86_400_000;

/** Expiries: future and past instants in several spellings, almost-dates, and anything else. */
const expiresAt = fc.oneof(
  { arbitrary: fc.constant(null), weight: 2 },
  { arbitrary: fc.integer({ min: -3650, max: 3650 }).map((days) => new Date(Date.now() + days * DAY).toISOString()), weight: 4 },
  {
    arbitrary: fc.constantFrom(
      '2099-01-01T00:00:00Z', '2099-01-01T00:00:00+14:00', '2099-01-01t00:00:00.123456789z', '2000-01-01T00:00:00Z', '2099-01-01',
      '2099-01-01T00:00:00', '2099-02-29T00:00:00Z', '2096-02-29T00:00:00Z', '2099-01-01T24:00:00Z', '9999-12-31T23:59:59Z',
      '0000-01-01T00:00:00Z', '+275760-09-13T00:00:00Z', 'tomorrow', 'now', '', '1', '1e3',
    ),
    weight: 3,
  },
  { arbitrary: anyString, weight: 2 },
);

const isPage = (v: unknown): boolean =>
  isObject(v) && Object.keys(v).sort().join() === 'items,next_cursor' && Array.isArray(v.items) && (v.next_cursor === null || typeof v.next_cursor === 'string');

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
  const listed = Array.isArray(body) ? body : isObject(body) && Array.isArray(body.items) ? body.items : [];
  if (listed.some((k) => isObject(k) && 'key' in k)) problems.push('the key list shows "key"');
  return problems;
}

test('POST /auth/api_keys: mutated bodies, no body, content types and credentials', async () => {
  const body = fc.oneof(
    { arbitrary: mutatedBody({ description: fc.oneof(anyString, fc.constant(null)), roles: roleList, expires_at: expiresAt }), weight: 9 },
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
          if (res.statusCode === 200 && isObject(parsed)) {
            if (parsed.last_used_at !== null) problems.push('a new key shows a last use');
            const exp = parsed.expires_at;
            if (!(exp === null || (typeof exp === 'string' && Date.parse(exp) > Date.now() - 60_000))) problems.push(`a key minted with expires_at ${JSON.stringify(exp)}`);
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
    fc.asyncProperty(
      authChoice(),
      queryString({
        page: ['0', '-1', 'NaN'],
        is_active: ['true', 'x'],
        page_size: ['1', '2', '3', '50', '1000', '0', '1001', '-1'],
        cursor: [realCursor, `${realCursor}=`, realCursor.slice(1), b64('[0,"a"]'), b64('[1,2]'), b64('"x"'), b64('[9007199254740992,"a"]'), 'x'],
      }),
      async (auth, qs) => {
        await fuzzer.send({ method: 'GET', url: `/auth/api_keys${qs}`, route: 'keys.list', routed: true, headers: authHeaders(auth, fx) }, (res, parsed) => {
          const problems = noSecrets(res, parsed, false);
          if (res.statusCode === 200) {
            const query = new URLSearchParams(qs);
            const paged = query.has('page_size') || query.has('cursor');
            if (paged && !isPage(parsed)) problems.push('200 with page_size or cursor is not {"items", "next_cursor"}');
            if (!paged && !Array.isArray(parsed)) problems.push('200 list without paging parameters is not an array');
            const size = Number(query.get('page_size'));
            if (isPage(parsed) && Number.isInteger(size) && size > 0 && (parsed as { items: unknown[] }).items.length > size) problems.push('a page longer than page_size');
          }
          return problems;
        });
      },
    ),
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
