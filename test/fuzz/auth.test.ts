/**
 * Property-based fuzzing of the login endpoints (CONTRACT.md §4): POST /auth/token (password and refresh_token
 * grants, JSON and form-encoded, repeated parameters), POST /auth/password, POST /auth/logout, and the per-IP rate
 * limit's 429. Real fixture credentials (the token user's email, password and live refresh token) are mixed into
 * mutated bodies so both the success and the failure paths run. Invariants: test/fuzz/harness.ts, plus RFC 6749
 * bodies (token responses with `Cache-Control: no-store`; invalid_grant texts that never tell which emails exist).
 *
 * Default: 4,500 generated requests. Longer: FUZZ_RUNS=<multiplier>, e.g.
 *   FUZZ_RUNS=20 node scripts/run-tests.mjs test/fuzz/auth.test.ts
 * FUZZ_SEED=<seed> replays a failure; GATEHOUSE_TEST_DIALECT=postgres runs it on PostgreSQL.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { testApp } from '../helpers/app.ts';
import {
  anyString, email, encodeBody, FORM_TYPES, fuzzParams, Huge, jsonEncoding, markSecret, mutatedBody, password, pct, plain, RawJson, toJsonText,
} from './arbitraries.ts';
import { Fixture, FIXTURE_PASSWORD } from './fixture.ts';
import { Fuzzer, type FuzzRequest, type RouteName } from './harness.ts';

const t = await testApp({ GATEHOUSE_AUTH_RATE_LIMIT: '0', GATEHOUSE_LOG_LEVEL: 'warn' });
const fx = await Fixture.create(t);
const fuzzer = new Fuzzer(t, fx);

const RUNS = { tokenJson: 1600, tokenForm: 800, password: 1100, logout: 700, rateLimited: 300 };
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

// Stand-ins for the fixture's live values, replaced when the request is built (the fixture may have been replaced).
const TOKEN_EMAIL = '<token-user-email>';
const VICTIM_EMAIL = '<victim-email>';
const LIVE_REFRESH = '<live-refresh-token>';

function resolve(value: unknown, f: Fixture): unknown {
  if (typeof value === 'string') {
    return value.replaceAll(TOKEN_EMAIL, f.tokenUser.email).replaceAll(VICTIM_EMAIL, f.victimUser.email).replaceAll(LIVE_REFRESH, f.tokenUser.refresh);
  }
  if (Array.isArray(value)) return value.map((v) => resolve(v, f));
  if (isObject(value) && !(value instanceof RawJson) && !(value instanceof Huge)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, f)]));
  }
  return value;
}

const username = fc.oneof(
  { arbitrary: fc.constantFrom(TOKEN_EMAIL, TOKEN_EMAIL, ` ${TOKEN_EMAIL} `, VICTIM_EMAIL), weight: 4 },
  { arbitrary: email, weight: 3 },
);
const currentPassword = fc.oneof({ arbitrary: fc.constant(FIXTURE_PASSWORD), weight: 3 }, { arbitrary: password, weight: 2 });
const refreshToken = fc.oneof(
  { arbitrary: fc.constant(LIVE_REFRESH), weight: 2 },
  { arbitrary: fc.base64String({ minLength: 40, maxLength: 48 }).map((s) => `grt_${s}`), weight: 2 },
  { arbitrary: anyString.map(markSecret), weight: 2 },
);
const tokenBody = mutatedBody({
  grant_type: fc.constantFrom('password', 'password', 'refresh_token', 'refresh_token', 'client_credentials', 'PASSWORD', '', 'authorization_code'),
  username,
  password: currentPassword,
  refresh_token: refreshToken,
  scope: fc.constantFrom('openid', '', 'x'.repeat(1001)),
  client_id: fc.constantFrom('gatehouse-cli', ''),
});

/** A form body from a generated value: fields percent-encoded, sometimes one repeated (RFC 6749 §3.2 forbids it). */
function formText(value: unknown, repeat: boolean): string {
  if (!isObject(value) || value instanceof RawJson || value instanceof Huge) return plain(value instanceof RawJson || value instanceof Huge ? value : toJsonText(value));
  const pairs = Object.entries(value).map(([k, v]) => `${pct(k)}=${pct(typeof v === 'string' || v instanceof Huge || v instanceof RawJson ? plain(v) : toJsonText(v))}`);
  if (repeat && pairs.length > 0) pairs.push(pairs[0]!);
  return pairs.join('&');
}

const INVALID_GRANT_TEXTS = ['Invalid username or password', 'Password change required', 'Temporary password has expired; ask an administrator to reset it', 'Invalid refresh token', 'Invalid authorization code'];

/** RFC 6749 success bodies, and the fixture's refresh token follows rotation and logout. */
function tokenOracle(f: Fixture, route: RouteName, sentLiveRefresh: boolean) {
  return (res: LightMyRequestResponse, body: unknown): string[] => {
    const problems: string[] = [];
    if (res.statusCode === 200 && route !== 'auth.logout') {
      const ok = isObject(body) && typeof body.access_token === 'string' && body.token_type === 'bearer' && Number.isInteger(body.expires_in) &&
        typeof body.refresh_token === 'string' && String(body.refresh_token).startsWith('grt_');
      if (!ok) problems.push(`200 is not an RFC 6749 token response: ${res.body.slice(0, 200)}`);
      if (res.headers['cache-control'] !== 'no-store') problems.push('token response without Cache-Control: no-store');
      if (sentLiveRefresh && route === 'auth.token' && isObject(body)) f.tokenUser.refresh = String(body.refresh_token);
    }
    if (res.statusCode === 200 && route === 'auth.logout' && sentLiveRefresh) f.tokenUser.refresh = '';
    if (res.statusCode === 400 && isObject(body) && body.error === 'invalid_grant' && !INVALID_GRANT_TEXTS.includes(String(body.error_description))) {
      problems.push(`invalid_grant with an unexpected description ${JSON.stringify(body.error_description)}`);
    }
    return problems;
  };
}

async function sendLogin(f: Fuzzer, route: RouteName, value: unknown, build: (resolved: unknown) => Pick<FuzzRequest, 'headers' | 'payload' | 'bodyClass'>) {
  const resolved = resolve(value, f.fx);
  const url = route === 'auth.token' ? '/auth/token' : route === 'auth.password' ? '/auth/password' : '/auth/logout';
  const sentLiveRefresh = f.fx.tokenUser.refresh !== '' && toJsonText(resolved).includes(f.fx.tokenUser.refresh);
  await f.send({ method: 'POST', url, route, routed: true, ...build(resolved) }, tokenOracle(f.fx, route, sentLiveRefresh));
}

test('POST /auth/token, JSON and other content types: mutated grants with real and fake credentials', async () => {
  await fc.assert(
    fc.asyncProperty(tokenBody, jsonEncoding, async (value, enc) => {
      await sendLogin(fuzzer, 'auth.token', value, (resolved) => encodeBody(resolved, enc));
    }),
    fuzzParams(RUNS.tokenJson),
  );
});

test('POST /auth/token, form-encoded: mutated grants, repeated parameters, broken escapes', async () => {
  const raw = fc.constantFrom('a=%ZZ', '&&&', '=x', 'grant_type', 'grant_type=password&username&password', '%FF%FE=%FF', 'grant_type=password;username=x');
  await fc.assert(
    fc.asyncProperty(fc.oneof({ arbitrary: tokenBody, weight: 6 }, { arbitrary: raw, weight: 1 }), fc.boolean(), fc.constantFrom(...FORM_TYPES), async (value, repeat, contentType) => {
      await sendLogin(fuzzer, 'auth.token', value, (resolved) => {
        const text = typeof resolved === 'string' ? resolved : formText(resolved, repeat);
        return { headers: { 'content-type': contentType }, payload: text, bodyClass: text === '' ? 'none' : 'form' };
      });
    }),
    fuzzParams(RUNS.tokenForm),
  );
});

test('POST /auth/password: mutated password changes for real and unknown users', async () => {
  const body = mutatedBody({ username, current_password: currentPassword, new_password: password });
  await fc.assert(
    fc.asyncProperty(body, jsonEncoding, async (value, enc) => {
      await sendLogin(fuzzer, 'auth.password', value, (resolved) => encodeBody(resolved, enc));
    }),
    fuzzParams(RUNS.password),
  );
});

test('POST /auth/logout: live, used, random and hostile refresh tokens', async () => {
  await fc.assert(
    fc.asyncProperty(mutatedBody({ refresh_token: refreshToken }), jsonEncoding, async (value, enc) => {
      await sendLogin(fuzzer, 'auth.logout', value, (resolved) => encodeBody(resolved, enc));
    }),
    fuzzParams(RUNS.logout),
  );
});

test('rate-limited login routes: 429 with Retry-After, and nothing changes', async () => {
  const limited = await testApp({ GATEHOUSE_AUTH_RATE_LIMIT: '5', GATEHOUSE_LOG_LEVEL: 'warn' });
  const limitedFuzzer = new Fuzzer(limited, await Fixture.create(limited));
  const routes: RouteName[] = ['auth.token', 'auth.password', 'auth.logout'];
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...routes), tokenBody, jsonEncoding, fc.constantFrom(undefined, '10.0.0.1', '::1, 1.2.3.4'), async (route, value, enc, xff) => {
      await sendLogin(limitedFuzzer, route, value, (resolved) => {
        const encoded = encodeBody(resolved, enc);
        return { ...encoded, headers: { ...encoded.headers, ...(xff ? { 'x-forwarded-for': xff } : {}) } };
      });
    }),
    fuzzParams(RUNS.rateLimited),
  );
  fuzzer.absorb(limitedFuzzer);
});

test('auth fuzz: request count', (ctx) => {
  fuzzer.report(ctx, 'auth.test.ts', fuzzParams(Object.values(RUNS).reduce((a, b) => a + b, 0)).numRuns!);
});
