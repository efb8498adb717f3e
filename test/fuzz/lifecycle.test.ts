/**
 * Property-based fuzzing of the lifecycle endpoints (CONTRACT.md §4b): PATCH /users/{id}, POST /users/{id}/unlock,
 * GET /users/count, GET /roles, and every /groups endpoint — mutated bodies, random path ids, query strings,
 * content types and credentials. Invariants: test/fuzz/harness.ts (never a 5xx; `{"detail"}` or FastAPI-shaped 422
 * errors; a rejected request changes no table: users, user_roles, groups, group_roles, group_members and the rest),
 * plus: 401/403 from the credential before anything else, 415/413 for PATCH bodies, the documented 2xx shapes.
 *
 * Default: 4,000 generated requests. Longer: FUZZ_RUNS=<multiplier>, e.g.
 *   FUZZ_RUNS=10 node scripts/run-tests.mjs test/fuzz/lifecycle.test.ts
 * FUZZ_SEED=<seed> replays a failure; GATEHOUSE_TEST_DIALECT=postgres runs it on PostgreSQL.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { KyselyPlugin, QueryResult, UnknownRow } from 'kysely';
import { ADMIN, json, testApp, USER_RESPONSE_KEYS, type TestApp } from '../helpers/app.ts';
import { ROLES } from '../../src/domain/access.ts';
import { anyString, email, encodeBody, fuzzParams, jsonEncoding, mutatedBody, queryString, roleList, type Encoding } from './arbitraries.ts';
import { authChoice, authHeaders, expectedAuth, Fixture, FIXTURE_PASSWORD, pathId, segmentOf, type AuthChoice, type PathId } from './fixture.ts';
import { BODY_LIMIT, Fuzzer } from './harness.ts';

const t = await testApp({ GATEHOUSE_AUTH_RATE_LIMIT: '0', GATEHOUSE_LOG_LEVEL: 'warn', GATEHOUSE_LOCKOUT_THRESHOLD: '2' });
const fx = await Fixture.create(t);
const db = t.database.db;
const READERS = ['ORG-ADMIN', 'ORG-AUDITOR'];
const WRITERS = ['ORG-ADMIN'];
const GROUP_KEYS = 'created_at,description,id,member_count,name,roles,updated_at';
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const keysOf = (v: unknown) => (isObject(v) ? Object.keys(v).sort().join() : '');

/** api-keys.test.ts's reason: a key's last_used_at records a use, not a change, so snapshots compare without it. */
const withoutLastUse: KyselyPlugin = {
  transformQuery: (args) => args.node,
  transformResult: async (args): Promise<QueryResult<UnknownRow>> => ({
    ...args.result,
    rows: args.result.rows.map((row) => {
      if (!('secret_hash' in row) || !('last_used_at' in row)) return row;
      const { last_used_at: _, ...rest } = row;
      return rest;
    }),
  }),
};

/**
 * The harness parses every non-redirect body as JSON, but a 204 rightly has no body (DELETE of a group or member):
 * this wrapper checks that it is empty and shows the harness JSON `null` instead. (harness.ts should learn 204.)
 */
let noContentProblem: string | undefined;
const realInject = t.app.inject.bind(t.app) as (opts: object) => Promise<LightMyRequestResponse>;
const app = {
  inject: async (opts: object) => {
    const res = await realInject(opts);
    if (res.statusCode !== 204) return res;
    if (res.body !== '') noContentProblem = `a 204 with a body: ${res.body.slice(0, 100)}`;
    return { ...res, body: 'null', payload: 'null' };
  },
} as unknown as FastifyInstance;
const fuzzer = new Fuzzer({ ...t, app, database: { ...t.database, db: db.withPlugin(withoutLastUse) } } as TestApp, fx);

// ---- A pool of users and groups to aim at, re-made when a fuzzed request (or the harness's prune) removed them ----

const pool = { users: ['', '', ''], groups: ['', ''] };
let serial = 0;

async function asAdmin(method: 'POST' | 'GET', url: string, payload?: object) {
  const res = await t.app.inject({ method, url, headers: ADMIN, ...(payload ? { payload } : {}) });
  if (res.statusCode >= 300) throw new Error(`pool ${method} ${url}: ${res.statusCode} ${res.body}`);
  return json(res);
}

async function ensurePool(): Promise<void> {
  let changed = false;
  const users = new Set((await db.selectFrom('users').select('id').where('id', 'in', pool.users).execute()).map((r) => r.id));
  for (const [i, id] of pool.users.entries()) {
    if (users.has(id)) continue;
    const address = `pool${i}.${++serial}.${process.pid}@example.com`;
    pool.users[i] = (await asAdmin('POST', '/users', { email: address, password: FIXTURE_PASSWORD, temporary: false, roles: ['CHAT-USER'], firstName: 'Pool', lastName: `User${i}` })).id;
    // The third pool user is locked out (threshold 2), so unlock has a lock to lift.
    if (i === 2) for (let k = 0; k < 2; k++) await t.app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: address, password: 'Wrong-Pool-Password-1!' } });
    changed = true;
  }
  const groups = new Set((await db.selectFrom('groups').select('id').where('id', 'in', pool.groups).execute()).map((r) => r.id));
  for (const [i, id] of pool.groups.entries()) {
    if (groups.has(id)) continue;
    pool.groups[i] = (await asAdmin('POST', '/groups', { name: `pool-${i}-${++serial}`, roles: i === 0 ? ['CHAT-USER'] : [] })).id;
    await asAdmin('POST', `/groups/${pool.groups[i]}/members`, { user_ids: i === 0 ? pool.users.slice(0, 2) : pool.users.slice(1) });
    changed = true;
  }
  const { n } = await db.selectFrom('groups').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  if (Number(n) > 30) {
    await db.deleteFrom('groups').where('id', 'not in', pool.groups).execute();
    changed = true;
  }
  if (changed) fx.dirty = true; // the harness takes a fresh snapshot before the next request
}

/** Placeholders in generated values ('@u0', '@email1', '@g0name', ...), resolved against the pool when sent. */
async function placeholders(): Promise<Map<string, string>> {
  const ids = [...pool.users, fx.victimUser.id];
  const emails = new Map((await db.selectFrom('users').select(['id', 'email']).where('id', 'in', ids).execute()).map((r) => [r.id, r.email]));
  const names = new Map((await db.selectFrom('groups').select(['id', 'name']).where('id', 'in', pool.groups).execute()).map((r) => [r.id, r.name]));
  const map = new Map<string, string>([['@victim', fx.victimUser.id], ['@victimEmail', emails.get(fx.victimUser.id) ?? 'gone@example.com']]);
  pool.users.forEach((id, i) => map.set(`@u${i}`, id).set(`@email${i}`, emails.get(id) ?? 'gone@example.com'));
  pool.groups.forEach((id, i) => map.set(`@g${i}`, id).set(`@g${i}name`, names.get(id) ?? 'gone'));
  return map;
}

function substitute(v: unknown, map: Map<string, string>): unknown {
  if (typeof v === 'string') return v.replace(/@\w+/g, (m) => map.get(m) ?? m);
  if (Array.isArray(v)) return v.map((x) => substitute(x, map));
  if (!isObject(v)) return v;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return v; // RawJson, Huge: as they are (fc.record may give null-prototype objects)
  const out = {};
  for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k, { value: substitute(x, map), enumerable: true, configurable: true, writable: true });
  return out;
}

/** A path segment: a pool placeholder (surely routed) or one of the fixture's ids and hostile literals. */
type Target = string | PathId;
const target = (refs: string[]) => fc.oneof({ arbitrary: fc.constantFrom<Target>(...refs), weight: 5 }, { arbitrary: pathId(['victimUser', 'orgAdminKey']) as fc.Arbitrary<Target>, weight: 3 });
function segment(p: Target, map: Map<string, string>): { segment: string; routed: boolean } {
  if (typeof p === 'string') return { segment: map.get(p)!, routed: true };
  const s = segmentOf(p, fx);
  return { segment: s.segment, routed: s.routed };
}

// ---- Sending, with the credential and shape oracles ----------------------------------------------------------

const wellFormed = (s: unknown) => typeof s === 'string' && Buffer.from(s, 'utf8').toString('utf8') === s;
const sameSet = (a: unknown[], b: unknown[]) => JSON.stringify([...new Set(a)].sort()) === JSON.stringify([...new Set(b)].sort());

interface Call {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  routed: boolean;
  access: string[];
  headers: Record<string, string>;
  body?: { value: unknown; enc: Encoding };
  /** Checks of a 2xx answer, given the body that was sent (placeholders resolved). */
  ok?: (status: number, parsed: unknown, sent: unknown) => string[];
}

async function fire(c: Call, map: Map<string, string>): Promise<void> {
  const sent = c.body ? substitute(c.body.value, map) : undefined;
  const encoded = c.body ? encodeBody(sent, c.body.enc) : undefined;
  const auth = expectedAuth(c.headers, fx);
  const allowed = auth.kind === 'ok' && auth.principal.roles.some((r) => c.access.includes(r));
  // The harness's content-type rule (POST/DELETE) assumes the credential passed: tell it the body's class only then.
  const bodyClass = allowed && c.method !== 'PATCH' ? encoded?.bodyClass : 'unknown';
  noContentProblem = undefined;
  await fuzzer.send(
    { method: c.method, url: c.url, route: 'unknown', routed: c.routed, headers: { ...c.headers, ...encoded?.headers }, payload: encoded?.payload, bodyClass },
    (res, parsed) => {
      const problems = noContentProblem ? [noContentProblem] : [];
      const status = res.statusCode;
      if (c.routed) {
        const detail = isObject(parsed) ? parsed.detail : undefined;
        const want = auth.kind === 'missing' ? [401, 'Requires authentication'] : auth.kind === 'bad' ? [401, 'Bad credentials'] : allowed ? undefined : [403, 'Forbidden'];
        if (want && (status !== want[0] || detail !== want[1])) problems.push(`expected ${want[0]} ${want[1]} from the credential (${auth.kind}), got ${status}`);
        if (!want && (status === 401 || status === 403)) problems.push(`an authorized caller got ${status}`);
      }
      const size = encoded?.payload?.length ?? 0;
      if (c.routed && allowed && c.method === 'PATCH' && size > 0) {
        const cls = encoded!.bodyClass;
        if ((cls === 'other' || cls === 'form') && status !== 415 && !(status === 413 && size > BODY_LIMIT)) problems.push(`a PATCH body of another type got ${status}, not 415`);
        if (cls === 'json' && size > BODY_LIMIT && status !== 413) problems.push(`a ${size}-byte PATCH body got ${status}, not 413`);
      }
      // What was sent is what the server read only when the JSON text went out as UTF-8.
      if (status < 300 && c.ok && c.routed) problems.push(...c.ok(status, parsed, c.body?.enc.bytes === 'utf8' ? sent : undefined));
      return problems;
    },
  );
  // PATCHing the fixture's victim user may change its email: the fixture looks for it again before the next request.
  if (c.method === 'PATCH' && c.url.includes(fx.victimUser.id)) fx.dirty = true;
}

function userView(parsed: unknown, sent: unknown): string[] {
  if (keysOf(parsed) !== USER_RESPONSE_KEYS.join()) return [`a user view with keys ${keysOf(parsed)}`];
  const u = parsed as Record<string, unknown>;
  const problems: string[] = [];
  if (isObject(sent)) {
    for (const [field, key] of [['firstName', 'first_name'], ['lastName', 'last_name']] as const) {
      if (field in sent && (sent[field] === null || wellFormed(sent[field])) && u[key] !== sent[field]) problems.push(`${field} ${JSON.stringify(sent[field])} answered as ${JSON.stringify(u[key])}`);
    }
    if (Array.isArray(sent.roles) && !sameSet(sent.roles, (u.roles as { name: string }[]).map((r) => r.name))) problems.push(`roles ${JSON.stringify(sent.roles)} answered as ${JSON.stringify(u.roles)}`);
    if (typeof sent.enabled === 'boolean' && u.enabled !== sent.enabled) problems.push(`enabled ${sent.enabled} answered as ${u.enabled}`);
  }
  return problems;
}

function groupView(parsed: unknown, sent: unknown): string[] {
  if (keysOf(parsed) !== GROUP_KEYS) return [`a group view with keys ${keysOf(parsed)}`];
  const g = parsed as Record<string, unknown>;
  const problems: string[] = [];
  if (isObject(sent) && wellFormed(sent.name) && g.name !== (sent.name as string).trim()) problems.push(`name ${JSON.stringify(sent.name)} answered as ${JSON.stringify(g.name)}`);
  if (isObject(sent) && Array.isArray(sent.roles) && !sameSet(sent.roles, g.roles as unknown[])) problems.push(`roles ${JSON.stringify(sent.roles)} answered as ${JSON.stringify(g.roles)}`);
  if (!Number.isInteger(g.member_count) || (g.member_count as number) < 0) problems.push(`member_count ${g.member_count}`);
  return problems;
}

const page = (parsed: unknown) =>
  keysOf(parsed) === 'items,next_cursor' && Array.isArray((parsed as { items: unknown }).items) ? [] : [`not a page: ${JSON.stringify(parsed).slice(0, 100)}`];

// ---- Generators ---------------------------------------------------------------------------------------------

const USERS = ['@u0', '@u1', '@u2', '@victim'];
const GROUPS = ['@g0', '@g1'];
const name = fc.oneof({ arbitrary: fc.string({ maxLength: 20 }), weight: 3 }, { arbitrary: anyString, weight: 2 }, { arbitrary: fc.constant(null), weight: 1 });
const userEmail = fc.oneof({ arbitrary: email, weight: 4 }, { arbitrary: fc.constantFrom('@email0', '@email1', '@victimEmail'), weight: 2 });
const userFields = { firstName: name, lastName: name, email: userEmail, roles: roleList, enabled: fc.boolean() };
const partial = (fields: Record<string, fc.Arbitrary<unknown>>) => fc.oneof(mutatedBody(fields), fc.record(fields, { requiredKeys: [] }));
const groupName = fc.oneof(
  { arbitrary: fc.string({ minLength: 1, maxLength: 12 }).map((s) => `fuzz ${s}`), weight: 4 },
  { arbitrary: fc.constantFrom('@g0name', '@g1name', ' @g0name'), weight: 2 },
  { arbitrary: anyString, weight: 2 },
);
const groupFields = { name: groupName, description: fc.oneof(anyString, fc.constant(null)), roles: roleList };
const memberIds = fc.oneof(
  { arbitrary: fc.array(fc.oneof({ arbitrary: fc.constantFrom(...USERS), weight: 4 }, { arbitrary: fc.uuid(), weight: 1 }, { arbitrary: anyString, weight: 1 }), { maxLength: 6 }), weight: 9 },
  { arbitrary: fc.constantFrom(1000, 1001).map((n) => Array.from({ length: n }, (_, i) => USERS[i % 3])), weight: 1 },
);
const pageQuery = queryString({ page_size: ['1', '2', '50', '1000', '1001', '0'], cursor: ['@gcursor', '@mcursor', 'garbage', 'MTIzLmFiYw'] });
/** Half the requests carry an administrator's credential, so that most of those reach validation and the handler. */
const auth = fc.oneof(
  authChoice(),
  fc.constantFrom('admin' as const, 'orgAdminKey' as const).map((cred): AuthChoice => ({ header: { kind: 'cred', cred, scheme: 'Bearer', before: '', between: ' ', after: '' }, cookie: { kind: 'absent' } })),
);

/** Real cursors of each list (they may go stale, which is fine: a stale position still pages). */
await ensurePool();
const cursors = {
  '%40gcursor': String(json(await t.app.inject({ method: 'GET', url: '/groups?page_size=1', headers: ADMIN })).next_cursor),
  '%40mcursor': String(json(await t.app.inject({ method: 'GET', url: `/groups/${pool.groups[0]}/members?page_size=1`, headers: ADMIN })).next_cursor),
};
const withCursors = (qs: string) => Object.entries(cursors).reduce((q, [k, v]) => q.replaceAll(k, v), qs);

const RUNS = { users: 1100, read: 700, groups: 1200, members: 1000 };

test('PATCH /users/{id} and POST /users/{id}/unlock: partial and mutated bodies, path ids, credentials', async () => {
  await fc.assert(
    fc.asyncProperty(auth, target(USERS), fc.constantFrom('patch', 'patch', 'patch', 'unlock'), partial(userFields), jsonEncoding, async (a, id, op, body, enc) => {
      await ensurePool();
      const map = await placeholders();
      const { segment: s, routed } = segment(id, map);
      const headers = authHeaders(a, fx);
      if (op === 'unlock') {
        await fire({ method: 'POST', url: `/users/${s}/unlock`, routed, access: WRITERS, headers, ok: (_, p) => [...userView(p, undefined), ...((p as { locked_until?: unknown }).locked_until === null ? [] : ['unlocked, yet locked_until is set'])] }, map);
      } else {
        await fire({ method: 'PATCH', url: `/users/${s}`, routed, access: WRITERS, headers, body: { value: body, enc }, ok: (_, p, sent) => userView(p, sent) }, map);
      }
    }),
    fuzzParams(RUNS.users),
  );
});

test('GET /users/count and GET /roles: random filters, search strings and credentials', async () => {
  const countQuery = queryString({ search_string: ['pool', 'user1', 'a b', 'x'.repeat(201)], role: ['CHAT-USER', 'TASK-ADMIN', 'NOPE', 'org-admin'], group: ['@g0', '@g1', 'nope'], enabled: ['true', 'false', '1'] });
  await fc.assert(
    fc.asyncProperty(auth, fc.constantFrom('count', 'count', 'count', 'roles'), countQuery, fc.constantFrom('', '/'), async (a, op, qs, slash) => {
      await ensurePool();
      const map = await placeholders();
      const q = qs.replaceAll('%40g0', map.get('@g0')!).replaceAll('%40g1', map.get('@g1')!);
      const headers = authHeaders(a, fx);
      if (op === 'roles') {
        await fire({ method: 'GET', url: `/roles${slash}${q}`, routed: true, access: READERS, headers, ok: (_, p) => (Array.isArray(p) && p.length === Object.keys(ROLES).length ? [] : ['GET /roles is not every role']) }, map);
        return;
      }
      await fire({ method: 'GET', url: `/users/count${slash}${q}`, routed: true, access: READERS, headers, ok: (_, p) => (keysOf(p) === 'count' && Number.isInteger((p as { count: number }).count) ? [] : [`not a count: ${JSON.stringify(p)}`]) }, map);
    }),
    fuzzParams(RUNS.read),
  );
});

test('/groups: create, list, get, update and delete with mutated bodies, queries, path ids and credentials', async () => {
  await fc.assert(
    fc.asyncProperty(auth, fc.constantFrom('create', 'create', 'list', 'get', 'patch', 'patch', 'delete'), target(GROUPS), partial(groupFields), pageQuery, jsonEncoding, async (a, op, id, body, qs, enc) => {
      await ensurePool();
      const map = await placeholders();
      const { segment: s, routed } = segment(id, map);
      const headers = authHeaders(a, fx);
      const value = { value: body, enc };
      if (op === 'create') await fire({ method: 'POST', url: '/groups', routed: true, access: WRITERS, headers, body: value, ok: (_, p, sent) => groupView(p, sent) }, map);
      if (op === 'list') await fire({ method: 'GET', url: `/groups${withCursors(qs)}`, routed: true, access: READERS, headers, ok: (_, p) => page(p) }, map);
      if (op === 'get') await fire({ method: 'GET', url: `/groups/${s}`, routed, access: READERS, headers, ok: (_, p) => groupView(p, undefined) }, map);
      if (op === 'patch') await fire({ method: 'PATCH', url: `/groups/${s}`, routed, access: WRITERS, headers, body: value, ok: (_, p, sent) => groupView(p, sent) }, map);
      if (op === 'delete') await fire({ method: 'DELETE', url: `/groups/${s}`, routed, access: WRITERS, headers, ok: (status) => (status === 204 ? [] : [`DELETE answered ${status}`]) }, map);
    }),
    fuzzParams(RUNS.groups),
  );
});

test('/groups/{id}/members: list, add and remove with mutated bodies, queries, path ids and credentials', async () => {
  await fc.assert(
    fc.asyncProperty(auth, fc.constantFrom('list', 'add', 'add', 'remove'), target(GROUPS), target(USERS), mutatedBody({ user_ids: memberIds }), pageQuery, jsonEncoding, async (a, op, gid, uid, body, qs, enc) => {
      await ensurePool();
      const map = await placeholders();
      const g = segment(gid, map);
      const u = segment(uid, map);
      const headers = authHeaders(a, fx);
      const base = `/groups/${g.segment}/members`;
      if (op === 'list') await fire({ method: 'GET', url: `${base}${withCursors(qs)}`, routed: g.routed, access: READERS, headers, ok: (_, p) => page(p) }, map);
      if (op === 'add') await fire({ method: 'POST', url: base, routed: g.routed, access: WRITERS, headers, body: { value: body, enc }, ok: (_, p) => groupView(p, undefined) }, map);
      if (op === 'remove') await fire({ method: 'DELETE', url: `${base}/${u.segment}`, routed: g.routed && u.routed, access: WRITERS, headers, ok: (status) => (status === 204 ? [] : [`DELETE answered ${status}`]) }, map);
    }),
    fuzzParams(RUNS.members),
  );
});

test('lifecycle fuzz: request count', (ctx) => {
  fuzzer.report(ctx, 'lifecycle.test.ts', fuzzParams(Object.values(RUNS).reduce((x, y) => x + y, 0)).numRuns!);
});
