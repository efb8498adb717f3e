import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { PasswordHasher } from '../../src/domain/ports.ts';
import { createArgon2Hasher } from '../../src/security/argon2-hasher.ts';
import type { Database } from '../../src/store/database.ts';
import { ADMIN, ADMIN_KEY, createUser, GOOD_PASSWORD, json, testApp, testDatabase, testHasher } from '../helpers/app.ts';

// Issue items 2 and 6: no user enumeration (same body, same time), per-account lockout kept in the database,
// per-client-IP rate limit on the login endpoints. CONTRACT.md §4.

const WRONG = 'Wrong-Guess-Password-1';
const NO_LIMIT = { GATEHOUSE_AUTH_RATE_LIMIT: '0' };

interface Built {
  app: FastifyInstance;
  database: Database;
  clock: { now(): number };
  advance(ms: number): void;
}

/** An app with a movable clock; pass `on` to build a second replica on the same database and clock. */
async function clockedApp(env: Record<string, string>, on?: Built, hasher: PasswordHasher = testHasher): Promise<Built> {
  let now = Date.now();
  const database = on?.database ?? (await testDatabase());
  const clock = on?.clock ?? { now: () => now };
  const config = loadConfig({ GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_LOG_LEVEL: 'silent', ...env });
  const app = await buildApp(config, { database, hasher, clock });
  after(async () => {
    await app.close();
    if (!on) await database.close();
  });
  return { app, database, clock, advance: on?.advance ?? ((ms) => void (now += ms)) };
}

const login = (app: FastifyInstance, username: string, password: string, remoteAddress?: string) =>
  app.inject({
    method: 'POST',
    url: '/auth/token',
    payload: { grant_type: 'password', username, password },
    ...(remoteAddress ? { remoteAddress } : {}),
  });
const changePassword = (app: FastifyInstance, username: string, current_password: string) =>
  app.inject({ method: 'POST', url: '/auth/password', payload: { username, current_password, new_password: 'Brand-New-Pass-2024!' } });

function assertRefused(res: LightMyRequestResponse, expected: unknown, what: string) {
  assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
  assert.deepEqual(json(res), expected, what);
}

const assertOk = (res: LightMyRequestResponse, what: string) => assert.equal(res.statusCode, 200, `${what}: ${res.body}`);

test('after the threshold the account is locked: even the right password fails, with the wrong-password answer', async () => {
  const first = await clockedApp({ ...NO_LIMIT, GATEHOUSE_LOCKOUT_THRESHOLD: '3' });
  const { app, database } = first;
  const user = await createUser(app);
  const unknown = await login(app, 'no.such.person@example.com', WRONG);
  assert.equal(unknown.statusCode, 400);
  const refusal = json(unknown);
  assert.equal(refusal.error, 'invalid_grant');

  for (let i = 0; i < 3; i++) assertRefused(await login(app, user.email, WRONG), refusal, `wrong password #${i + 1}`);
  const locked = await login(app, user.email, GOOD_PASSWORD);
  assertRefused(locked, refusal, 'right password while locked');
  assert.deepEqual(locked.headers['content-type'], unknown.headers['content-type']);
  assertRefused(await login(app, user.email, WRONG), refusal, 'wrong password while locked');
  assertRefused(await changePassword(app, user.email, GOOD_PASSWORD), refusal, '/auth/password while locked');

  // the lock lives in the database, so another replica on the same database refuses too
  const row = await database.db.selectFrom('login_failures').selectAll().where('username', '=', user.email).executeTakeFirst();
  assert.ok(row, 'failures are stored in login_failures');
  assert.ok(Number(row.failures) >= 3);
  assert.ok(row.locked_until !== null && Number(row.locked_until) > first.clock.now());
  const replica = await clockedApp({ ...NO_LIMIT, GATEHOUSE_LOCKOUT_THRESHOLD: '3' }, first);
  assertRefused(await login(replica.app, user.email, GOOD_PASSWORD), refusal, 'right password on another replica');

  // GATEHOUSE_LOCKOUT_DURATION defaults to 900 s
  first.advance(890_000);
  assertRefused(await login(app, user.email, GOOD_PASSWORD), refusal, 'still locked at 890 s');
  first.advance(11_000);
  assertOk(await login(replica.app, user.email, GOOD_PASSWORD), 'lock over after 900 s');
  assertOk(await login(app, user.email, GOOD_PASSWORD), 'and on the first replica');
});

test('failures count per account whatever the email case, and only within the window', async () => {
  const { app, advance } = await clockedApp({ ...NO_LIMIT, GATEHOUSE_LOCKOUT_THRESHOLD: '3', GATEHOUSE_LOCKOUT_WINDOW: '60' });
  const spread = await createUser(app);
  for (let i = 0; i < 2; i++) assert.equal((await login(app, spread.email, WRONG)).statusCode, 400);
  advance(61_000);
  for (let i = 0; i < 2; i++) assert.equal((await login(app, spread.email, WRONG)).statusCode, 400);
  assertOk(await login(app, spread.email, GOOD_PASSWORD), 'two failures in each of two windows do not lock');

  const cased = await createUser(app);
  for (const variant of [cased.email.toUpperCase(), ` ${cased.email} `, cased.email]) {
    assert.equal((await login(app, variant, WRONG)).statusCode, 400);
  }
  assert.equal((await login(app, cased.email, GOOD_PASSWORD)).statusCode, 400, 'three failures in any case lock the account');
  assert.equal(json(await login(app, cased.email.toUpperCase(), GOOD_PASSWORD)).error, 'invalid_grant');
});

test('by default ten failures lock the account and a success before that clears the count', async () => {
  const { app } = await testApp(NO_LIMIT);
  const user = await createUser(app);
  for (let i = 0; i < 9; i++) assert.equal((await login(app, user.email, WRONG)).statusCode, 400);
  assertOk(await login(app, user.email, GOOD_PASSWORD), 'nine failures do not lock');
  for (let i = 0; i < 9; i++) assert.equal((await login(app, user.email, WRONG)).statusCode, 400);
  assertOk(await login(app, user.email, GOOD_PASSWORD), 'the success cleared the earlier nine');
  for (let i = 0; i < 10; i++) assert.equal((await login(app, user.email, WRONG)).statusCode, 400);
  assert.equal((await login(app, user.email, GOOD_PASSWORD)).statusCode, 400, 'ten failures lock');
});

test('per-IP rate limit on /auth/token, /auth/password and /auth/logout: 429 with Retry-After', async () => {
  const { app, advance } = await clockedApp({ GATEHOUSE_AUTH_RATE_LIMIT: '5' });
  const user = await createUser(app);
  const from = (remoteAddress: string) => ({
    token: () => app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password' }, remoteAddress }),
    password: () => app.inject({ method: 'POST', url: '/auth/password', payload: {}, remoteAddress }),
    logout: () => app.inject({ method: 'POST', url: '/auth/logout', payload: { refresh_token: 'grt_x' }, remoteAddress }),
  });
  const client = from('203.0.113.7');
  for (const call of [client.token, client.password, client.logout, client.token, client.logout]) {
    assert.notEqual((await call()).statusCode, 429, 'within the limit');
  }
  for (const call of [client.token, client.password, client.logout]) {
    const res = await call();
    assert.equal(res.statusCode, 429, res.body);
    const retryAfter = String(res.headers['retry-after']);
    assert.match(retryAfter, /^\d+$/);
    assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60, `Retry-After ${retryAfter}`);
  }
  // even a correct login is refused while over the limit
  const good = await login(app, user.email, GOOD_PASSWORD, '203.0.113.7');
  assert.equal(good.statusCode, 429);

  // another client is unaffected, and so are the other routes
  assertOk(await login(app, user.email, GOOD_PASSWORD, '198.51.100.20'), 'another IP');
  const health = await app.inject({ method: 'GET', url: '/healthz', remoteAddress: '203.0.113.7' });
  assert.equal(health.statusCode, 200);
  const admin = await app.inject({ method: 'GET', url: '/users/me', headers: ADMIN, remoteAddress: '203.0.113.7' });
  assert.equal(admin.statusCode, 200);

  advance(61_000);
  assertOk(await login(app, user.email, GOOD_PASSWORD, '203.0.113.7'), 'a minute later');
});

test('GATEHOUSE_AUTH_RATE_LIMIT=0 disables the rate limit', async () => {
  const { app } = await testApp(NO_LIMIT);
  const statuses = new Set<number>();
  for (let i = 0; i < 150; i++) {
    statuses.add((await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password' } })).statusCode);
  }
  assert.deepEqual([...statuses], [400]);
});

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/**
 * How many times slower `a` is than `b`: the median over rounds of the ratio of the two samples taken in the same
 * round. They are moments apart, so under the same load; a burst that slows one sample alone moves the median of
 * many ratios very little. This is what keeps the verdict the same on a busy machine as on an idle one.
 */
const pairedRatio = (a: number[], b: number[]) => median(a.map((x, i) => x / b[i]!));

/** Accepted band for "take the same time": wide, because what it must catch (hashing skipped) is tens of times faster. */
const SAME_TIME = { low: 0.5, high: 2 } as const;

test('unknown email, wrong password and locked account answer alike and take the same time', async (t) => {
  const slowHasher = createArgon2Hasher({ memoryCost: 8192, timeCost: 2, parallelism: 1 });
  const { app } = await clockedApp({ ...NO_LIMIT, GATEHOUSE_LOCKOUT_THRESHOLD: '3' }, undefined, slowHasher);
  // Rounds of one request of each kind, in a fresh random order each round; compared by paired ratios (above).
  const SAMPLES = 60;
  const lockedUser = await createUser(app);
  for (let i = 0; i < 3; i++) await login(app, lockedUser.email, WRONG);
  // one account per wrong-password sample, so none of them reaches the lockout threshold
  const victims: string[] = [];
  for (let i = 0; i < SAMPLES; i++) victims.push((await createUser(app)).email);

  const kinds = {
    unknown: (i: number) => login(app, `nobody.${i}.${Date.now()}@example.com`, WRONG),
    wrong: (i: number) => login(app, victims[i]!, WRONG),
    locked: () => login(app, lockedUser.email, GOOD_PASSWORD),
    // Refused before any account is looked up or any hash computed: what "skipping the argon2 work" looks like.
    noHash: () => app.inject({ method: 'POST', url: '/auth/token', payload: { username: 'x@example.com', password: WRONG } }),
  };
  type Kind = keyof typeof kinds;
  const times: Record<Kind, number[]> = { unknown: [], wrong: [], locked: [], noHash: [] };
  const bodies: Record<Kind, Set<string>> = { unknown: new Set(), wrong: new Set(), locked: new Set(), noHash: new Set() };
  for (const kind of Object.keys(kinds) as Kind[]) await kinds[kind](SAMPLES + 1); // warm-up, unmeasured

  for (let i = 0; i < SAMPLES; i++) {
    const order = (Object.keys(kinds) as Kind[]).sort(() => Math.random() - 0.5); // interleaved, shuffled per round
    for (const kind of order) {
      const start = process.hrtime.bigint();
      const res = await kinds[kind](i);
      times[kind].push(Number(process.hrtime.bigint() - start) / 1e6);
      assert.equal(res.statusCode, 400, `${kind}: ${res.body}`);
      bodies[kind].add(res.body);
    }
  }

  const [unknownBody] = bodies.unknown;
  for (const kind of ['unknown', 'wrong', 'locked'] as const) {
    assert.deepEqual([...bodies[kind]], [unknownBody], `${kind} answers with the one refusal body`);
  }
  const m = { unknown: median(times.unknown), wrong: median(times.wrong), locked: median(times.locked), noHash: median(times.noHash) };
  const pairs = [['unknown', 'wrong'], ['unknown', 'locked'], ['wrong', 'locked'], ['noHash', 'wrong']] as const;
  const ratios = Object.fromEntries(pairs.map(([a, b]) => [`${a}/${b}`, pairedRatio(times[a], times[b])]));
  const report = JSON.stringify({
    medianMs: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Number(v.toFixed(2))])),
    pairedRatios: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, Number(v.toFixed(3))])),
  });
  t.diagnostic(`request times: ${report}`);
  const inBand = (ratio: number) => ratio >= SAME_TIME.low && ratio <= SAME_TIME.high;
  // The measurement is meaningful: a request that skips the hashing falls outside the band, so an unknown email
  // (or a locked account) answered without hashing would fail the checks below.
  assert.ok(!inBand(ratios['noHash/wrong']!), `skipping the hash must stand out: ${report}`);
  for (const [a, b] of pairs.slice(0, 3)) {
    const ratio = ratios[`${a}/${b}`]!;
    assert.ok(inBand(ratio), `${a}/${b} = ${ratio.toFixed(3)}, outside ${SAME_TIME.low}–${SAME_TIME.high} (${report})`);
  }
});
