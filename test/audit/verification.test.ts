import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { auditVerificationFor, chainReader } from '../../src/audit-verification.ts';
import type { AuditEvent } from '../../src/domain/audit.ts';
import { createChainVerification, type ChainReader } from '../../src/domain/audit-verification.ts';
import { createAuditReader, createAuditWriter, pruneAudit } from '../../src/store/audit-store.ts';
import { ADMIN, createUser, json, mintKey, testApp } from '../helpers/app.ts';
import { forEachDialect } from '../store/dialects.ts';

/**
 * The background verification behind GET /audit/verification: the whole chain first, then only new events,
 * the whole chain again when a day has passed; edits found with the first bad event; retention cuts are no alarm.
 */

const DAY = 86_400_000;

forEachDialect('audit chain verification', (h) => {
  let now = 1_800_000_000_000;
  const clock = { now: () => now };
  const writer = () => createAuditWriter(h.dialect, { clock: () => now });
  const append = async (count: number, from = 0) => {
    const w = writer();
    const drafts = Array.from({ length: count }, (_, i) => ({ action: 'user.created' as const, target: { type: 'user', id: `u${from + i}` }, details: { n: from + i } }));
    // In transactions of 50: SQLite bounds the variables of one statement.
    for (let i = 0; i < drafts.length; i += 50) await h.db.transaction().execute((trx) => w.append(trx, drafts.slice(i, i + 50)));
  };
  /** The chain reader, counting the events each pass reads. */
  let read = 0;
  const counting = (): ChainReader => {
    const inner = chainReader(h.db);
    return {
      head: () => inner.head(),
      async *events(after, through): AsyncGenerator<AuditEvent> {
        for await (const e of inner.events(after, through)) {
          read += 1;
          yield e;
        }
      },
    };
  };
  let v: ReturnType<typeof createChainVerification>;

  test('pending before the first pass; an empty chain verifies as ok with nothing checked', async () => {
    v = createChainVerification({ reader: counting(), clock, fullEveryMs: DAY });
    assert.deepEqual(v.state(), { status: 'pending' });
    const s = await v.run();
    assert.equal(s.status, 'ok');
    assert.deepEqual({ ...s, verifiedAt: 0, fullVerifiedAt: 0 }, { status: 'ok', checked: 0, firstSeq: null, lastSeq: null, verifiedAt: 0, fullVerifiedAt: 0 });
  });

  test('a clean chain (more events than one batch) is ok, every event checked', async () => {
    await append(2500);
    now += 1000;
    read = 0;
    const s = await v.run();
    assert.ok(s.status === 'ok');
    assert.equal(s.checked, 2500);
    assert.equal(s.firstSeq, 1);
    assert.equal(s.lastSeq, 2500);
    assert.equal(s.verifiedAt, now);
    assert.equal(read, 2500);
  });

  test('the next pass reads only the events appended since: incremental, from the last verified seq and hash', async () => {
    const before = v.state();
    assert.ok(before.status === 'ok');
    await append(7, 2500);
    now += 60_000;
    read = 0;
    const s = await v.run();
    assert.equal(read, 7, 'only the new events were read');
    assert.ok(s.status === 'ok');
    assert.equal(s.checked, 2507);
    assert.equal(s.lastSeq, 2507);
    assert.equal(s.fullVerifiedAt, before.fullVerifiedAt, 'no full pass yet');
    assert.equal(s.verifiedAt, now);
    // Nothing new: nothing read, still ok.
    read = 0;
    assert.equal((await v.run()).status, 'ok');
    assert.equal(read, 0);
  });

  test('an edited new event is caught by the incremental pass, naming the first bad seq', async () => {
    await append(5, 2507);
    await sql`update audit_events set target_id = 'someone-else' where seq = 2510`.execute(h.db);
    now += 60_000;
    const s = await v.run();
    assert.ok(s.status === 'broken');
    assert.deepEqual({ seq: s.problem?.seq, kind: s.problem?.kind }, { seq: 2510, kind: 'modified' });
    assert.match(s.problem!.detail, /event 2510 was modified/);
    assert.equal(s.lastSeq, 2509, 'the events before it did verify');
    // Broken stays broken (no walk every minute) until the daily full pass.
    read = 0;
    now += 60_000;
    assert.equal((await v.run()).status, 'broken');
    assert.equal(read, 0);
  });

  test('an edit to an old, already verified row is caught by the daily full pass', async () => {
    const fresh = createChainVerification({ reader: counting(), clock, fullEveryMs: DAY });
    await sql`update audit_events set target_id = ${'u2509'} where seq = 2510`.execute(h.db); // undo the previous edit
    assert.equal((await fresh.run()).status, 'ok');
    await sql`update audit_events set details = ${'{"n":41,"fields":["email"]}'} where seq = 42`.execute(h.db);
    now += 60_000;
    read = 0;
    assert.equal((await fresh.run()).status, 'ok', 'an incremental pass does not re-read old rows');
    assert.equal(read, 0);
    now += DAY;
    const s = await fresh.run();
    assert.ok(s.status === 'broken');
    assert.equal(s.problem?.seq, 42);
    assert.equal(s.problem?.kind, 'modified');
    assert.equal(s.fullVerifiedAt, now);
    // The shared verification of this database (the one the endpoint reports) sees the same break.
    const shared = await auditVerificationFor(h.db, clock).run();
    assert.ok(shared.status === 'broken');
    assert.equal(shared.problem?.seq, 42);
    await sql`update audit_events set details = ${'{"n":41}'} where seq = 42`.execute(h.db);
  });

  test('a head moved back (the newest events removed) is caught at once', async () => {
    const fresh = createChainVerification({ reader: counting(), clock, fullEveryMs: DAY });
    assert.equal((await fresh.run()).status, 'ok');
    const db = h.db as Kysely<any>;
    const head = await createAuditReader(h.db).head();
    const keep = (await db.selectFrom('audit_events').select(['seq', 'hash']).where('seq', '=', head.seq - 3).executeTakeFirstOrThrow()) as { seq: number; hash: string };
    const removed = await db.selectFrom('audit_events').selectAll().where('seq', '>', Number(keep.seq)).execute();
    await db.deleteFrom('audit_events').where('seq', '>', Number(keep.seq)).execute();
    await db.updateTable('audit_head').set({ seq: keep.seq, hash: keep.hash }).where('id', '=', 1).execute();
    now += 60_000;
    const s = await fresh.run();
    assert.ok(s.status === 'broken');
    assert.equal(s.problem?.kind, 'truncated');
    assert.equal(s.problem?.seq, Number(keep.seq) + 1);
    // Put them back for the next test.
    await db.insertInto('audit_events').values(removed).execute();
    await db.updateTable('audit_head').set({ seq: head.seq, hash: head.hash }).where('id', '=', 1).execute();
  });

  test('a retention cut is no alarm: the verified run starts after the anchor', async () => {
    const fresh = createChainVerification({ reader: counting(), clock, fullEveryMs: DAY });
    assert.equal((await fresh.run()).status, 'ok');
    const w = writer();
    // Every event so far has at <= now; cut the ones before `now`, then add some after.
    now += 1;
    const last = (await createAuditReader(h.db).head()).seq;
    const removed = await pruneAudit(h.db, h.dialect, w, now);
    assert.equal(removed, last);
    await append(3, 9000);
    now += 60_000;
    const s = await fresh.run();
    assert.ok(s.status === 'ok', JSON.stringify(s));
    assert.equal(s.firstSeq, last + 1);
    assert.equal(s.lastSeq, last + 4, 'the audit.pruned event and the three after it');
    assert.equal(s.checked, 4);
  });
});

describe('GET /audit/verification', () => {
  test('answers the latest result at once: ok on a clean chain, then broken naming the first bad event after an edit', async () => {
    let now = Date.now();
    const t = await testApp({}, { clock: { now: () => now } });
    await createUser(t.app, { email: 'ada@example.com' });
    const verification = auditVerificationFor(t.database.db);
    const first = await t.app.inject({ method: 'GET', url: '/audit/verification', headers: ADMIN });
    assert.equal(first.statusCode, 200, first.body);
    // The first request starts a pass (no background job runs in a test app); the answer does not wait for it.
    assert.ok(['pending', 'ok'].includes(json(first).status));
    await verification.run();
    const ok = json(await t.app.inject({ method: 'GET', url: '/audit/verification', headers: ADMIN }));
    const head = await createAuditReader(t.database.db).head();
    assert.equal(ok.status, 'ok');
    assert.equal(ok.first_seq, 1);
    assert.equal(ok.last_seq, head.seq);
    assert.equal(ok.checked, head.seq);
    assert.ok(!Number.isNaN(Date.parse(ok.verified_at)));
    assert.ok(!Number.isNaN(Date.parse(ok.full_verified_at)));
    assert.equal(ok.problem, undefined);

    await sql`update audit_events set outcome = 'failure' where seq = 1`.execute(t.database.db);
    now += 86_400_000;
    await verification.run();
    const res = await t.app.inject({ method: 'GET', url: '/audit/verification', headers: ADMIN });
    const broken = json(res);
    assert.equal(broken.status, 'broken');
    assert.deepEqual(broken.problem, { seq: 1, kind: 'modified', detail: 'event 1 was modified (its content no longer matches its hash)' });
    assert.equal(broken.checked, 0);
    // No hash (nor anything else from the events) in the answer.
    const [event] = await createAuditReader(t.database.db).page({}, 1);
    assert.ok(!res.body.includes(event!.hash.slice(0, 16)));
    assert.ok(!res.body.includes('ada@example.com'));
  });

  test('needs audit:read: 401 without a credential, 403 for a key without it, 200 for ORG-AUDITOR; documented', async () => {
    const t = await testApp();
    assert.equal((await t.app.inject({ method: 'GET', url: '/audit/verification' })).statusCode, 401);
    const chat = await mintKey(t.app, ['CHAT-USER']);
    const refused = await t.app.inject({ method: 'GET', url: '/audit/verification', headers: chat.auth });
    assert.equal(refused.statusCode, 403);
    assert.ok(!refused.body.includes(chat.key));
    const auditor = await mintKey(t.app, ['ORG-AUDITOR']);
    const res = await t.app.inject({ method: 'GET', url: '/audit/verification', headers: auditor.auth });
    assert.equal(res.statusCode, 200, res.body);
    assert.ok(!res.body.includes(auditor.key));
    const spec = json(await t.app.inject({ method: 'GET', url: '/openapi.json' }));
    const op = spec.paths['/audit/verification']?.get;
    assert.ok(op, 'the endpoint is in the OpenAPI document');
    assert.deepEqual(op.responses['200'].content['application/json'].schema.properties.status.enum, ['ok', 'broken', 'pending']);
  });
});
