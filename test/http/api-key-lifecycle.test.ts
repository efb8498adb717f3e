import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createAuthenticator, LAST_USED_WRITE_INTERVAL_MS } from '../../src/domain/authenticator.ts';
import { createPrincipalCache } from '../../src/domain/principal-cache.ts';
import type { ApiKey, ApiKeyStore } from '../../src/domain/ports.ts';
import { bootstrapAdminKey } from '../../src/bootstrap.ts';
import { ADMIN, json, mintKey, testApp, type TestApp } from '../helpers/app.ts';

// API key lifecycle: expiry, last use, paging of the list, and the rule that keeps the last ORG-ADMIN key.

const MINUTE = 60_000;
const LAST_ADMIN_DETAIL =
  'This is the last active ORG-ADMIN key and no admin key is configured: mint another ORG-ADMIN key first, or set GATEHOUSE_ADMIN_KEY.';

/** A clock the test moves by hand; it starts at the real time so minted ids and timestamps look ordinary. */
function manualClock() {
  let now = Date.now();
  return { now: () => now, advance: (ms: number) => void (now += ms), iso: (offsetMs = 0) => new Date(now + offsetMs).toISOString() };
}

function mint(app: FastifyInstance, payload: unknown, headers: Record<string, string> = ADMIN) {
  return app.inject({ method: 'POST', url: '/auth/api_keys', headers, payload: payload as object });
}

const me = (app: FastifyInstance, auth: Record<string, string>) => app.inject({ method: 'GET', url: '/users/me', headers: auth });
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function lastUsedInDb(t: TestApp, id: string): Promise<number | null> {
  const row = await t.database.db.selectFrom('api_keys').select('last_used_at').where('id', '=', id).executeTakeFirstOrThrow();
  return row.last_used_at === null ? null : Number(row.last_used_at);
}

/** The last-use write is fire-and-forget: wait (briefly) for it to land. */
async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(value)}`);
    await sleep(10);
  }
}

describe('expiry', () => {
  test('a key works until expires_at and is 401 "Bad credentials" from that instant on, even right after a cached success', async () => {
    const clock = manualClock();
    // The longest cache TTL allowed, so only the key's own expiry can end the cached entry in time.
    const { app } = await testApp({ GATEHOUSE_AUTH_CACHE_TTL_MS: '1000' }, { clock });
    const res = await mint(app, { roles: ['ORG-AUDITOR'], expires_at: clock.iso(500) });
    assert.equal(res.statusCode, 200, res.body);
    const body = json(res);
    assert.equal(body.expires_at, clock.iso(500));
    assert.equal(body.last_used_at, null);
    const auth = bearer(body.key);

    assert.equal((await me(app, auth)).statusCode, 200); // fills the cache
    clock.advance(499);
    assert.equal((await me(app, auth)).statusCode, 200, 'valid one millisecond before expiry');
    clock.advance(1);
    const refused = await me(app, auth);
    assert.equal(refused.statusCode, 401, 'refused at the expiry instant, though cached 1 ms earlier');
    assert.deepEqual(json(refused), { detail: 'Bad credentials' });
    assert.match(String(refused.headers['www-authenticate']), /^Bearer/);
    clock.advance(MINUTE);
    assert.equal((await me(app, auth)).statusCode, 401, 'and stays refused');

    // It is still listed, with its expiry; it was never deactivated.
    const got = json(await app.inject({ method: 'GET', url: `/auth/api_keys/${body.id}`, headers: ADMIN }));
    assert.equal(got.expires_at, body.expires_at);
    assert.equal(got.is_active, true);
    assert.equal(got.deactivated_at, null);
  });

  test('expires_at is optional: absent or null means never, and an offset is normalised to UTC', async () => {
    const { app } = await testApp();
    for (const payload of [{}, { expires_at: null }, { roles: ['CHAT-USER'], expires_at: null }]) {
      const res = await mint(app, payload);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(json(res).expires_at, null);
      assert.equal(json(res).last_used_at, null);
      assert.ok(!('deactivated_at' in json(res)), 'the mint response keeps its shape');
    }
    const withOffset = await mint(app, { expires_at: '2099-06-30T14:00:00.123456+02:00' });
    assert.equal(withOffset.statusCode, 200, withOffset.body);
    assert.equal(json(withOffset).expires_at, '2099-06-30T12:00:00.123Z');
    const listed = json(await app.inject({ method: 'GET', url: `/auth/api_keys/${json(withOffset).id}`, headers: ADMIN }));
    assert.equal(listed.expires_at, '2099-06-30T12:00:00.123Z');
    assert.equal((await me(app, bearer(json(withOffset).key))).statusCode, 200);
  });

  test('a past, present or malformed expires_at → 422 value_error at ["body","expires_at"], and nothing is minted', async () => {
    const clock = manualClock();
    const { app } = await testApp({}, { clock });
    const bad = [
      '2000-01-01T00:00:00Z',
      clock.iso(-1),
      clock.iso(0), // "now" is not in the future
      'tomorrow',
      '',
      '2099-01-01',
      '2099-01-01T00:00:00', // no offset: no instant
      '2099-02-30T00:00:00Z',
      '2099-13-01T00:00:00Z',
      '2099-01-01T24:00:00Z',
      '2099-01-01T00:60:00Z',
      '2099-01-01T00:00:00+24:00',
      '2099-01-01 00:00:00Z',
      ' 2099-01-01T00:00:00Z',
      '2099-01-01T00:00:00Z ',
    ];
    for (const expires_at of bad) {
      const res = await mint(app, { roles: ['CHAT-USER'], expires_at });
      assert.equal(res.statusCode, 422, `${JSON.stringify(expires_at)} → ${res.body}`);
      const detail = json(res).detail;
      assert.equal(detail.length, 1, res.body);
      assert.equal(detail[0].type, 'value_error', res.body);
      assert.deepEqual(detail[0].loc, ['body', 'expires_at']);
      assert.equal(detail[0].input, expires_at);
      assert.match(detail[0].msg, /^Value error, /);
    }
    // Not a string at all: the schema's type error, at the same place.
    for (const expires_at of [1_900_000_000_000, true, ['2099-01-01T00:00:00Z'], { at: 1 }]) {
      const res = await mint(app, { expires_at });
      assert.equal(res.statusCode, 422, `${JSON.stringify(expires_at)} → ${res.body}`);
      assert.deepEqual(json(res).detail[0].loc, ['body', 'expires_at']);
    }
    // Validation comes before the role check, as for every other body field.
    const both = await mint(app, { roles: ['NOPE'], expires_at: 'never' });
    assert.equal(both.statusCode, 422);
    assert.deepEqual(json(await app.inject({ method: 'GET', url: '/auth/api_keys', headers: ADMIN })), []);
  });

  test('an expired key takes no slot under GATEHOUSE_MAX_API_KEYS', async () => {
    const clock = manualClock();
    const { app } = await testApp({ GATEHOUSE_MAX_API_KEYS: '1' }, { clock });
    assert.equal((await mint(app, { expires_at: clock.iso(MINUTE) })).statusCode, 200);
    assert.equal((await mint(app, {})).statusCode, 400, 'the first key still counts');
    clock.advance(MINUTE);
    assert.equal((await mint(app, {})).statusCode, 200, 'once expired it no longer does');
  });
});

describe('last_used_at', () => {
  test('set when the key authenticates, written at most once a minute, shown in list and get', async () => {
    const clock = manualClock();
    const t = await testApp({}, { clock });
    const { app } = t;
    const key = await mintKey(app, ['ORG-AUDITOR']);
    assert.equal(await lastUsedInDb(t, key.id), null);
    assert.equal(json(await app.inject({ method: 'GET', url: `/auth/api_keys/${key.id}`, headers: ADMIN })).last_used_at, null);

    const firstUse = clock.now();
    assert.equal((await me(app, key.auth)).statusCode, 200);
    await eventually(() => lastUsedInDb(t, key.id), (v) => v === firstUse, 'last_used_at after the first use');

    // Within the minute (cached or not), no further write.
    assert.equal((await me(app, key.auth)).statusCode, 200);
    clock.advance(30_000);
    assert.equal((await me(app, key.auth)).statusCode, 200);
    clock.advance(LAST_USED_WRITE_INTERVAL_MS - 30_000 - 1);
    assert.equal((await me(app, key.auth)).statusCode, 200);
    await sleep(100);
    assert.equal(await lastUsedInDb(t, key.id), firstUse, 'not rewritten within a minute');

    // A minute after the last write, the next use is written.
    clock.advance(1);
    const secondUse = clock.now();
    const listRes = await app.inject({ method: 'GET', url: '/auth/api_keys', headers: key.auth });
    assert.equal(listRes.statusCode, 200);
    await eventually(() => lastUsedInDb(t, key.id), (v) => v === secondUse, 'last_used_at a minute later');

    const listed = json(await app.inject({ method: 'GET', url: '/auth/api_keys', headers: ADMIN })).find((k: { id: string }) => k.id === key.id);
    assert.equal(listed.last_used_at, new Date(secondUse).toISOString());
    const got = json(await app.inject({ method: 'GET', url: `/auth/api_keys/${key.id}`, headers: ADMIN }));
    assert.equal(got.last_used_at, new Date(secondUse).toISOString());
    const paged = json(await app.inject({ method: 'GET', url: '/auth/api_keys?page_size=10', headers: ADMIN }));
    assert.equal(paged.items.find((k: { id: string }) => k.id === key.id).last_used_at, new Date(secondUse).toISOString());
  });

  test('a use refused by the key’s roles (403) still counts as a use; an unused key stays null', async () => {
    const t = await testApp();
    const used = await mintKey(t.app, ['VALIDATION-USER']);
    const unused = await mintKey(t.app, ['VALIDATION-USER']);
    assert.equal((await t.app.inject({ method: 'GET', url: '/auth/api_keys', headers: used.auth })).statusCode, 403);
    await eventually(() => lastUsedInDb(t, used.id), (v) => v !== null, 'last_used_at after a 403');
    assert.equal(await lastUsedInDb(t, unused.id), null);
    // The admin key is not an API key: using it records nothing anywhere.
    assert.equal(json(await t.app.inject({ method: 'GET', url: `/auth/api_keys/${unused.id}`, headers: ADMIN })).last_used_at, null);
  });

  test('the write never blocks or fails the request', async () => {
    const key: ApiKey = { id: 'k1', prefix: 'gk_x', description: null, roles: ['CHAT-USER'], isActive: true, createdAt: 0, deactivatedAt: null };
    const failures: unknown[] = [];
    let writes = 0;
    const stalled = {
      findActiveBySecretHash: async () => key,
      recordUse: () => {
        writes += 1;
        return writes === 1 ? new Promise<void>(() => {}) : Promise.reject(new Error('database down'));
      },
    } as unknown as ApiKeyStore;
    let now = 1_000_000;
    const clock = { now: () => now };
    const authenticate = createAuthenticator({
      apiKeys: stalled,
      adminKey: null,
      digest: (s) => `d:${s}`,
      digestMatcher: () => () => false,
      cache: createPrincipalCache({ ttlMs: 0, maxEntries: 10, clock }),
      clock,
      onBackgroundError: (err) => failures.push(err),
    });
    // The first write never finishes; the request does not wait for it.
    assert.equal((await authenticate('gk_secret'))?.id, 'k1');
    now += LAST_USED_WRITE_INTERVAL_MS;
    // The second write fails; the request succeeds and the failure is reported aside.
    assert.equal((await authenticate('gk_secret'))?.id, 'k1');
    await sleep(10);
    assert.equal(writes, 2);
    assert.equal(failures.length, 1);
    assert.match(String(failures[0]), /database down/);
  });
});

describe('paging GET /auth/api_keys', () => {
  test('pages of page_size in creation order, next_cursor null on the last page, the same keys as the bare list', async () => {
    // A frozen clock: every key has the same created_at, so the id must break the tie.
    const clock = manualClock();
    const { app } = await testApp({}, { clock });
    const minted: string[] = [];
    for (let i = 0; i < 7; i++) minted.push((await mintKey(app, ['CHAT-USER'])).id);
    clock.advance(1);
    for (let i = 0; i < 3; i++) minted.push((await mintKey(app, ['CHAT-USER'])).id);

    const bare = await app.inject({ method: 'GET', url: '/auth/api_keys', headers: ADMIN });
    assert.equal(bare.statusCode, 200);
    assert.ok(Array.isArray(json(bare)), 'no paging parameter: the bare array, as before');
    assert.deepEqual(json(bare).map((k: { id: string }) => k.id), minted);

    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/auth/api_keys?page_size=3${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const res = await app.inject({ method: 'GET', url, headers: ADMIN });
      assert.equal(res.statusCode, 200, res.body);
      const page = json(res);
      assert.deepEqual(Object.keys(page).sort(), ['items', 'next_cursor']);
      pages.push(page.items.map((k: { id: string }) => k.id));
      for (const item of page.items) assert.deepEqual(Object.keys(item).sort(), Object.keys(json(bare)[0]).sort());
      cursor = page.next_cursor;
      assert.ok(pages.length <= 4, 'terminates');
    } while (cursor !== null);
    assert.deepEqual(pages.map((p) => p.length), [3, 3, 3, 1]);
    assert.deepEqual(pages.flat(), minted);

    // A page that ends exactly at the last key says so: no empty page to fetch afterwards.
    const exact = json(await app.inject({ method: 'GET', url: '/auth/api_keys?page_size=10', headers: ADMIN }));
    assert.equal(exact.items.length, 10);
    assert.equal(exact.next_cursor, null);
    const first5 = json(await app.inject({ method: 'GET', url: '/auth/api_keys?page_size=5', headers: ADMIN }));
    const again = json(await app.inject({ method: 'GET', url: '/auth/api_keys?page_size=5', headers: ADMIN }));
    assert.deepEqual(again, first5, 'stable');
    const rest = json(await app.inject({ method: 'GET', url: `/auth/api_keys?page_size=5&cursor=${first5.next_cursor}`, headers: ADMIN }));
    assert.deepEqual(rest.items.map((k: { id: string }) => k.id), minted.slice(5));
    assert.equal(rest.next_cursor, null);

    // A key minted after a cursor was handed out shows up on a later page, not twice and not never.
    const late = await mintKey(app, ['CHAT-USER']);
    const tail = json(await app.inject({ method: 'GET', url: `/auth/api_keys?cursor=${first5.next_cursor}`, headers: ADMIN }));
    assert.deepEqual(tail.items.map((k: { id: string }) => k.id), [...minted.slice(5), late.id]);
  });

  test('cursor alone uses the default page size of 50; page_size alone starts at the beginning', async () => {
    const { app } = await testApp();
    for (let i = 0; i < 52; i++) await mintKey(app, ['CHAT-USER']);
    const first = json(await app.inject({ method: 'GET', url: '/auth/api_keys?page_size=1', headers: ADMIN }));
    assert.equal(first.items.length, 1);
    const next = json(await app.inject({ method: 'GET', url: `/auth/api_keys?cursor=${first.next_cursor}`, headers: ADMIN }));
    assert.equal(next.items.length, 50);
    assert.notEqual(next.next_cursor, null);
    const last = json(await app.inject({ method: 'GET', url: `/auth/api_keys?cursor=${next.next_cursor}`, headers: ADMIN }));
    assert.equal(last.items.length, 1);
    assert.equal(last.next_cursor, null);
    assert.equal(json(await app.inject({ method: 'GET', url: '/auth/api_keys?page_size=1000', headers: ADMIN })).items.length, 52);
  });

  test('an empty list pages as one empty page', async () => {
    const { app } = await testApp();
    assert.deepEqual(json(await app.inject({ method: 'GET', url: '/auth/api_keys?page_size=5', headers: ADMIN })), { items: [], next_cursor: null });
    assert.deepEqual(json(await app.inject({ method: 'GET', url: '/auth/api_keys', headers: ADMIN })), []);
  });

  test('a malformed cursor → 422 at ["query","cursor"]; page_size outside 1..1000 → 422 at ["query","page_size"]', async () => {
    const { app } = await testApp();
    await mintKey(app, ['CHAT-USER']);
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    const badCursors = ['', 'not a cursor', '!!!', 'abc', b64('[1,2]'), b64('{"a":1}'), b64('[-1,"x"]'), b64('[1.5,"x"]'), b64('[1,""]'), `${b64('[1,"x"]')}=`, 'x'.repeat(600)];
    for (const cursor of badCursors) {
      const res = await app.inject({ method: 'GET', url: `/auth/api_keys?cursor=${encodeURIComponent(cursor)}`, headers: ADMIN });
      assert.equal(res.statusCode, 422, `${JSON.stringify(cursor.slice(0, 40))} → ${res.body}`);
      assert.deepEqual(json(res).detail[0].loc, ['query', 'cursor'], res.body);
    }
    for (const size of ['0', '-1', '1001', '2.5', 'ten', '']) {
      const res = await app.inject({ method: 'GET', url: `/auth/api_keys?page_size=${size}`, headers: ADMIN });
      assert.equal(res.statusCode, 422, `page_size=${size} → ${res.body}`);
      assert.deepEqual(json(res).detail[0].loc, ['query', 'page_size'], res.body);
    }
    for (const size of ['1', '1000']) {
      assert.equal((await app.inject({ method: 'GET', url: `/auth/api_keys?page_size=${size}`, headers: ADMIN })).statusCode, 200);
    }
  });
});

describe('the last ORG-ADMIN key', () => {
  /** An app without an admin key, whose only way in is the bootstrap ORG-ADMIN key. */
  async function adminlessApp(clock?: { now: () => number }) {
    const t = await testApp({ GATEHOUSE_ADMIN_KEY: '' }, clock ? { clock } : {});
    assert.equal(t.config.adminKey, null);
    const secret = await bootstrapAdminKey(t.database, { adminKeyConfigured: false, maxApiKeys: 1000, print: () => {} });
    assert.ok(secret);
    const auth = bearer(secret);
    const bootId: string = json(await me(t.app, auth)).user_id;
    return { ...t, auth, bootId };
  }

  const deactivate = (app: FastifyInstance, id: string, auth: Record<string, string>) =>
    app.inject({ method: 'DELETE', url: `/auth/api_keys/deactivate/${id}`, headers: auth });

  test('with no admin key configured, deactivating the last active ORG-ADMIN key → 409 and nothing changes', async () => {
    const { app, auth, bootId } = await adminlessApp();
    const res = await deactivate(app, bootId, auth);
    assert.equal(res.statusCode, 409);
    assert.deepEqual(json(res), { detail: LAST_ADMIN_DETAIL });
    const got = json(await app.inject({ method: 'GET', url: `/auth/api_keys/${bootId}`, headers: auth }));
    assert.equal(got.is_active, true);
    assert.equal(got.deactivated_at, null);
    assert.equal((await me(app, auth)).statusCode, 200, 'the key still works');

    // Other keys can go; an inactive ORG-ADMIN key is returned unchanged as before.
    const low = json(await mint(app, { roles: ['CHAT-USER'] }, auth));
    assert.equal((await deactivate(app, low.id, auth)).statusCode, 200);
  });

  test('allowed once another active ORG-ADMIN key exists; then that one is the last', async () => {
    const { app, auth, bootId } = await adminlessApp();
    const second = json(await mint(app, { description: 'ops laptop', roles: ['ORG-ADMIN', 'CHAT-USER'] }, auth));
    const secondAuth = bearer(second.key);
    const off = await deactivate(app, bootId, secondAuth);
    assert.equal(off.statusCode, 200, off.body);
    assert.equal(json(off).is_active, false);
    assert.equal((await me(app, auth)).statusCode, 401);
    // Deactivating the already-inactive bootstrap key again is still fine (nothing changes).
    assert.equal((await deactivate(app, bootId, secondAuth)).statusCode, 200);

    const last = await deactivate(app, second.id, secondAuth);
    assert.equal(last.statusCode, 409);
    assert.deepEqual(json(last), { detail: LAST_ADMIN_DETAIL });
  });

  test('expired and deactivated ORG-ADMIN keys do not count as another one; an expired one may be deactivated', async () => {
    const clock = manualClock();
    const { app, auth, bootId } = await adminlessApp(clock);
    const expiring = json(await mint(app, { roles: ['ORG-ADMIN'], expires_at: clock.iso(MINUTE) }, auth));
    const retired = json(await mint(app, { roles: ['ORG-ADMIN'] }, auth));
    assert.equal((await deactivate(app, retired.id, auth)).statusCode, 200, 'the expiring key is still another ORG-ADMIN key');
    clock.advance(MINUTE);
    assert.equal((await deactivate(app, bootId, auth)).statusCode, 409, 'an expired key is no way in');
    assert.equal((await deactivate(app, expiring.id, auth)).statusCode, 200, 'an expired key can always be deactivated');
  });

  test('two concurrent deactivations of the last two ORG-ADMIN keys: one succeeds, one is refused', async () => {
    const { app, auth, bootId } = await adminlessApp();
    const second = json(await mint(app, { roles: ['ORG-ADMIN'] }, auth));
    const results = await Promise.all([deactivate(app, bootId, auth), deactivate(app, second.id, auth)]);
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 409], results.map((r) => r.body).join('\n'));
    const keys = json(await app.inject({ method: 'GET', url: '/auth/api_keys', headers: results[0]!.statusCode === 200 ? bearer(second.key) : auth }));
    assert.equal(keys.filter((k: { is_active: boolean }) => k.is_active).length, 1);
  });

  test('with an admin key configured, the last ORG-ADMIN key may be deactivated', async () => {
    const { app } = await testApp();
    const only = await mintKey(app, ['ORG-ADMIN']);
    const res = await deactivate(app, only.id, only.auth);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(json(res).is_active, false);
  });
});

describe('who may use the new parts', () => {
  test('an auditor can list (paged or not) but not mint, not even with an expiry', async () => {
    const { app } = await testApp();
    const auditor = await mintKey(app, ['ORG-AUDITOR']);
    const list = await app.inject({ method: 'GET', url: '/auth/api_keys', headers: auditor.auth });
    assert.equal(list.statusCode, 200);
    const paged = await app.inject({ method: 'GET', url: '/auth/api_keys?page_size=1', headers: auditor.auth });
    assert.equal(paged.statusCode, 200);
    assert.equal(json(paged).items.length, 1);
    const minting = await mint(app, { roles: ['CHAT-USER'], expires_at: '2099-01-01T00:00:00Z' }, auditor.auth);
    assert.equal(minting.statusCode, 403);
    assert.deepEqual(json(minting), { detail: 'Forbidden' });
    // Authorization comes before validation: a bad expiry from an auditor is still 403.
    assert.equal((await mint(app, { expires_at: 'yesterday' }, auditor.auth)).statusCode, 403);
    assert.equal((await app.inject({ method: 'GET', url: '/auth/api_keys?cursor=bad', headers: { authorization: 'Bearer gk_nope' } })).statusCode, 401);
  });
});
