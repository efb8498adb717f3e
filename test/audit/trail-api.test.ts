import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { verifyChain, type AuditEvent } from '../../src/domain/audit.ts';
import { createAuditReader } from '../../src/store/audit-store.ts';
import type { LightMyRequestResponse } from 'fastify';
import { ADMIN, GOOD_PASSWORD, createUser, json, mintKey, testApp, type TestApp } from '../helpers/app.ts';

/**
 * The audit trail through the API: each action of the user lifecycle and of signing in writes exactly the events
 * it should, with the right actor and target, and nothing else; refused requests write nothing; the trail reads
 * back through GET /audit with its filters and paging, and the chain verifies.
 */
interface Event {
  seq: number;
  actor: { kind: string; id: string | null };
  action: string;
  target: { type: string; id: string | null } | null;
  outcome: string;
  request_id: string | null;
  user_agent: string | null;
  details: Record<string, unknown>;
}

// One app for the file (closed, with a scan of its logs for secrets, by testApp): events accumulate in order.
const t: TestApp = await testApp({ GATEHOUSE_LOCKOUT_THRESHOLD: '3' });
let seen = 0;
const secrets: string[] = [GOOD_PASSWORD];

async function allEvents(): Promise<Event[]> {
  const out: Event[] = [];
  let cursor: string | null = null;
  do {
    const res: LightMyRequestResponse = await t.app.inject({ method: 'GET', url: `/audit?page_size=1000${cursor ? `&cursor=${cursor}` : ''}`, headers: ADMIN });
    assert.equal(res.statusCode, 200, res.body);
    const page = json<{ items: Event[]; next_cursor: string | null }>(res);
    out.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return out.reverse();
}

/** The events written since the last call, oldest first. */
async function newEvents(): Promise<Event[]> {
  const all = await allEvents();
  const fresh = all.filter((e) => e.seq > seen);
  seen = all.at(-1)?.seq ?? seen;
  return fresh;
}

const pick = (e: Event) => ({ action: e.action, actor: e.actor.kind, target: e.target?.id ?? null, outcome: e.outcome });

const token = async (username: string, password: string) =>
  t.app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username, password } });

describe('every action writes its events', () => {
  let user: { id: string; email: string };

  test('create, edit, roles, disable, enable', async () => {
    await newEvents();
    user = await createUser(t.app, { roles: ['CHAT-USER'] });
    assert.deepEqual((await newEvents()).map(pick), [{ action: 'user.created', actor: 'admin_key', target: user.id, outcome: 'success' }]);

    const patch = (payload: Record<string, unknown>) => t.app.inject({ method: 'PATCH', url: `/users/${user.id}`, headers: ADMIN, payload });
    assert.equal((await patch({ firstName: 'Renamed' })).statusCode, 200);
    const [updated] = await newEvents();
    assert.deepEqual(pick(updated!), { action: 'user.updated', actor: 'admin_key', target: user.id, outcome: 'success' });
    assert.deepEqual(updated!.details, { fields: ['firstName'] });

    assert.equal((await patch({ roles: ['TASK-ADMIN'] })).statusCode, 200);
    const [roles] = await newEvents();
    assert.deepEqual(roles!.details, { before: ['CHAT-USER'], after: ['TASK-ADMIN'] });

    assert.equal((await patch({ enabled: false })).statusCode, 200);
    assert.deepEqual((await newEvents()).map((e) => e.action), ['user.disabled']);
    assert.equal((await patch({ enabled: true })).statusCode, 200);
    assert.deepEqual((await newEvents()).map((e) => e.action), ['user.enabled']);

    // Sending what is already there changes nothing, so it records nothing.
    assert.equal((await patch({ firstName: 'Renamed', enabled: true })).statusCode, 200);
    assert.deepEqual(await newEvents(), []);
  });

  test('refused requests write nothing', async () => {
    const other = await createUser(t.app);
    await newEvents();
    const taken = await t.app.inject({ method: 'PATCH', url: `/users/${other.id}`, headers: ADMIN, payload: { email: user.email } });
    assert.equal(taken.statusCode, 409);
    const invalid = await t.app.inject({ method: 'POST', url: '/users', headers: ADMIN, payload: { email: 'not-an-email', password: GOOD_PASSWORD } });
    assert.equal(invalid.statusCode, 422);
    const missing = await t.app.inject({ method: 'DELETE', url: '/users/no-such-user', headers: ADMIN });
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(await newEvents(), []);
  });

  test('sign-in: failures with a reason, the lock, success by the user, with request id and user agent', async () => {
    await token(user.email, 'Wrong-Password-1234');
    const [failed] = await newEvents();
    assert.deepEqual(pick(failed!), { action: 'sign_in', actor: 'anonymous', target: user.id, outcome: 'failure' });
    assert.deepEqual(failed!.details, { username: user.email, reason: 'wrong_password' });

    await token('nobody@example.com', 'Wrong-Password-1234');
    const [unknown] = await newEvents();
    assert.deepEqual({ target: unknown!.target, reason: unknown!.details.reason }, { target: null, reason: 'unknown_user' });

    await token(user.email, 'Wrong-Password-1234');
    await token(user.email, 'Wrong-Password-1234'); // the third within the window: locked
    assert.deepEqual((await newEvents()).map((e) => e.action), ['sign_in', 'sign_in', 'user.locked']);

    const unlock = await t.app.inject({ method: 'POST', url: `/users/${user.id}/unlock`, headers: ADMIN });
    assert.equal(unlock.statusCode, 200);
    assert.deepEqual((await newEvents()).map(pick), [{ action: 'user.unlocked', actor: 'admin_key', target: user.id, outcome: 'success' }]);

    const ok = await t.app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'x-request-id': 'audit-test-request-1', 'user-agent': 'AuditTest/1.0' },
      payload: { grant_type: 'password', username: user.email, password: GOOD_PASSWORD },
    });
    assert.equal(ok.statusCode, 200, ok.body);
    secrets.push(json(ok).access_token, json(ok).refresh_token);
    const [signedIn] = await newEvents();
    assert.deepEqual(pick(signedIn!), { action: 'sign_in', actor: 'user', target: user.id, outcome: 'success' });
    assert.equal(signedIn!.actor.id, user.id);
    assert.equal(signedIn!.request_id, 'audit-test-request-1');
    assert.equal(signedIn!.user_agent, 'AuditTest/1.0');
    assert.equal(signedIn!.details.method, 'password_grant');
  });

  test('refresh-token reuse, logout and ending sessions', async () => {
    const login = json(await token(user.email, GOOD_PASSWORD));
    const rotated = await t.app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'refresh_token', refresh_token: login.refresh_token } });
    assert.equal(rotated.statusCode, 200);
    secrets.push(login.refresh_token, json(rotated).refresh_token);
    await newEvents();
    const replay = await t.app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'refresh_token', refresh_token: login.refresh_token } });
    assert.equal(replay.statusCode, 400);
    assert.deepEqual((await newEvents()).map(pick), [{ action: 'refresh_token.reused', actor: 'anonymous', target: user.id, outcome: 'failure' }]);

    const again = json(await token(user.email, GOOD_PASSWORD));
    secrets.push(again.refresh_token);
    await newEvents();
    assert.equal((await t.app.inject({ method: 'POST', url: '/auth/logout', payload: { refresh_token: again.refresh_token } })).statusCode, 200);
    const [loggedOut] = await newEvents();
    assert.deepEqual({ action: loggedOut!.action, reason: loggedOut!.details.reason }, { action: 'session.ended', reason: 'logout' });

    await token(user.email, GOOD_PASSWORD);
    await newEvents();
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/users/${user.id}/sessions`, headers: ADMIN })).statusCode, 204);
    assert.deepEqual((await newEvents()).map((e) => [e.action, e.details.reason]), [['session.ended', 'all_ended_by_admin']]);
  });

  test('password reset by an admin, then deletion', async () => {
    const reset = await t.app.inject({ method: 'POST', url: `/users/${user.id}/reset_password`, headers: ADMIN, payload: { password: 'Other-Harbor-42-Lantern' } });
    assert.equal(reset.statusCode, 200, reset.body);
    secrets.push('Other-Harbor-42-Lantern');
    assert.deepEqual((await newEvents()).map(pick), [{ action: 'user.password_reset', actor: 'admin_key', target: user.id, outcome: 'success' }]);
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/users/${user.id}`, headers: ADMIN })).statusCode, 200);
    assert.deepEqual((await newEvents()).map(pick), [{ action: 'user.deleted', actor: 'admin_key', target: user.id, outcome: 'success' }]);
  });

  test("a deleted user's trail is still there, by actor and by target", async () => {
    const res = await t.app.inject({ method: 'GET', url: `/users/${user.id}/audit?page_size=1000`, headers: ADMIN });
    assert.equal(res.statusCode, 200);
    const actions = json<{ items: Event[] }>(res).items.map((e) => e.action);
    assert.ok(actions.includes('user.created') && actions.includes('user.deleted') && actions.includes('sign_in'));
    const strangers = json<{ items: Event[] }>(res).items.filter((e) => e.target?.id !== user.id && e.actor.id !== user.id);
    assert.deepEqual(strangers, []);
  });
});

describe('reading the trail', () => {
  test('filters by action, outcome, actor and target, and pages with a cursor', async () => {
    const byAction = json<{ items: Event[] }>(await t.app.inject({ method: 'GET', url: '/audit?action=sign_in&outcome=failure', headers: ADMIN }));
    assert.ok(byAction.items.length >= 4);
    assert.ok(byAction.items.every((e) => e.action === 'sign_in' && e.outcome === 'failure'));
    const byActor = json<{ items: Event[] }>(await t.app.inject({ method: 'GET', url: '/audit?actor=admin-key', headers: ADMIN }));
    assert.ok(byActor.items.length > 0 && byActor.items.every((e) => e.actor.kind === 'admin_key'));

    const all = await allEvents();
    const pages: number[][] = [];
    let cursor: string | null = null;
    do {
      const res: LightMyRequestResponse = await t.app.inject({ method: 'GET', url: `/audit?page_size=3${cursor ? `&cursor=${cursor}` : ''}`, headers: ADMIN });
      const page: { items: Event[]; next_cursor: string | null } = json<{ items: Event[]; next_cursor: string | null }>(res);
      pages.push(page.items.map((e) => e.seq));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(pages.flat(), all.map((e) => e.seq).reverse(), 'pages cover every event once, newest first');
    assert.ok(pages.slice(0, -1).every((p) => p.length === 3));
  });

  test('time range', async () => {
    const all = await allEvents();
    const res = await t.app.inject({ method: 'GET', url: `/audit?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z`, headers: ADMIN });
    assert.deepEqual(json(res).items, []);
    const now = await t.app.inject({ method: 'GET', url: `/audit?from=2000-01-01T00:00:00Z&page_size=1000`, headers: ADMIN });
    assert.equal(json(now).items.length, all.length);
  });

  test('JSON Lines export: every event oldest first, recomputable, pulled incrementally with `after`', async () => {
    const all = await allEvents();
    const res = await t.app.inject({ method: 'GET', url: '/audit/export', headers: ADMIN });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/x-ndjson/);
    assert.ok(res.body.endsWith('\n'));
    const exported = res.body.trimEnd().split('\n').map((l) => JSON.parse(l) as AuditEvent & { time: string });
    assert.deepEqual(exported.map((e) => e.seq), all.map((e) => e.seq));
    for (const e of exported) assert.equal(e.time, new Date(e.at).toISOString());
    // A SIEM holding the export can check the chain itself: the lines are the events as hashed.
    const result = await verifyChain((async function* () { yield* exported; })());
    assert.equal(result.ok, true, JSON.stringify(result.problem));

    const middle = all[Math.floor(all.length / 2)]!.seq;
    const rest = await t.app.inject({ method: 'GET', url: `/audit/export?after=${middle}`, headers: ADMIN });
    assert.deepEqual(rest.body.trimEnd().split('\n').map((l) => JSON.parse(l).seq), all.filter((e) => e.seq > middle).map((e) => e.seq));
    const past = await t.app.inject({ method: 'GET', url: '/audit/export?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z', headers: ADMIN });
    assert.equal(past.statusCode, 200);
    assert.equal(past.body, '');

    for (const [query, loc] of [['from=yesterday', 'from'], ['from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', 'to'], ['after=-1', 'after'], ['after=x', 'after']] as const) {
      const bad = await t.app.inject({ method: 'GET', url: `/audit/export?${query}`, headers: ADMIN });
      assert.equal(bad.statusCode, 422, query);
      assert.deepEqual(json(bad).detail[0].loc, ['query', loc], query);
    }
    const chat = await mintKey(t.app, ['CHAT-USER']);
    secrets.push(chat.key);
    assert.equal((await t.app.inject({ method: 'GET', url: '/audit/export', headers: chat.auth })).statusCode, 403);
    assert.equal((await t.app.inject({ method: 'GET', url: '/audit/export' })).statusCode, 401);
  });

  test('bad filters are 422 naming the parameter', async () => {
    for (const [query, loc] of [
      ['action=user.exploded', 'action'],
      ['outcome=maybe', 'outcome'],
      ['from=yesterday', 'from'],
      ['from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', 'to'],
      ['cursor=!!!', 'cursor'],
      ['page_size=0', 'page_size'],
    ] as const) {
      const res = await t.app.inject({ method: 'GET', url: `/audit?${query}`, headers: ADMIN });
      assert.equal(res.statusCode, 422, query);
      assert.deepEqual(json(res).detail[0].loc, ['query', loc], query);
    }
  });

  test('ORG-AUDITOR may read it; other roles may not', async () => {
    const auditor = await mintKey(t.app, ['ORG-AUDITOR']);
    const chat = await mintKey(t.app, ['CHAT-USER']);
    secrets.push(auditor.key, chat.key);
    assert.equal((await t.app.inject({ method: 'GET', url: '/audit', headers: auditor.auth })).statusCode, 200);
    assert.equal((await t.app.inject({ method: 'GET', url: '/audit', headers: chat.auth })).statusCode, 403);
    assert.equal((await t.app.inject({ method: 'GET', url: '/audit' })).statusCode, 401);
  });

  test('security events are counted in /metrics, and each is one log line', async () => {
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(metrics)?.[1]);
    const events = await allEvents();
    const count = (action: string, outcome?: string) => events.filter((e) => e.action === action && (outcome === undefined || e.outcome === outcome)).length;
    assert.equal(value('gatehouse_sign_ins_total{outcome="failure"}'), count('sign_in', 'failure'));
    assert.equal(value('gatehouse_sign_ins_total{outcome="success"}'), count('sign_in', 'success'));
    assert.equal(value('gatehouse_lockouts_total'), count('user.locked'));
    assert.equal(value('gatehouse_refresh_token_reuse_total'), count('refresh_token.reused'));
    assert.ok(value('gatehouse_tokens_issued_total{kind="access"}') >= count('sign_in', 'success'));
    const lines = t.logs.filter((l) => l.includes('"audit":')).map((l) => JSON.parse(l).audit);
    assert.deepEqual(lines.map((a: { seq: number }) => a.seq), events.map((e) => e.seq), 'one log line per event, in order');
    assert.ok(!t.logs.some((l) => l.includes('"audit":') && l.includes('@example.com')), 'log lines name no email');
  });

  test('no secret appears in any event, and the chain verifies', async () => {
    const text = JSON.stringify(await allEvents());
    for (const s of secrets) assert.ok(!text.includes(s), 'a secret is in the trail');
    const result = await verifyChain(createAuditReader(t.database.db).inOrder());
    assert.equal(result.ok, true, JSON.stringify(result.problem));
    assert.equal(result.first, 1);
  });
});
