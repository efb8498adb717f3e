import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { Kysely } from 'kysely';
import { AUDIT_USAGE, auditCommand } from '../../src/audit-command.ts';
import { loadConfig } from '../../src/config.ts';
import { chainHash, NO_REQUEST, verifyChain, type AuditAction, type AuditDraft, type AuditEvent, type RequestMeta } from '../../src/domain/audit.ts';
import { createJwtSigner } from '../../src/security/jwt-signer.ts';
import { createAuditReader, createAuditWriter } from '../../src/store/audit-store.ts';
import { openDatabase, type Database, type Dialect } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { createSigningKeyStore } from '../../src/store/signing-key-store.ts';
import { freshSchema, type TestSchema } from '../helpers/postgres.ts';
import { forEachDialect, skipFor } from '../store/dialects.ts';

// The audit trail as stored, on SQLite and PostgreSQL: events appended in transactions read back exactly, and every
// kind of tampering by SQL is named, with the first bad event, by verifyChain and by `gatehouse audit verify`
// (run in-process on a real database file / schema, as an operator would run it). Checkpoints catch what the chain
// alone cannot (the newest events removed with the head row rewound, a chain rebuilt). Export streams every event.

const T0 = Date.parse('2026-11-30T00:00:00Z');
const MINUTE = 60_000;
const ACTIONS: AuditAction[] = ['user.created', 'user.updated', 'sign_in', 'group.member_added', 'api_key.minted', 'client.updated', 'user.roles_changed'];
const HTTP: RequestMeta = { actor: { kind: 'user', id: 'admin-user' }, requestId: 'req-abc', clientIp: '203.0.113.9', userAgent: 'Mozilla/5.0 (X11) "quoted"' };

function draft(k: number): AuditDraft {
  return {
    action: ACTIONS[k % ACTIONS.length]!,
    ...(k % 5 === 0 ? {} : { target: { type: 'user', id: `user-${k % 7}` } }),
    ...(k % 4 === 0 ? { outcome: 'failure' as const } : {}),
    ...(k % 6 === 0 ? { actor: { kind: 'api_key' as const, id: `key-${k}` } } : {}),
    details: { k, changed: ['email', 'firstName'], note: `évènement ${k} ✓ "q"\n`, nested: { z: 1, a: [k, null, true, 1.5] } },
  };
}

/** Transaction sizes 1, 2, 3, 4, 1, 2, … summing to `count`; each transaction one minute after the last. */
function sizes(count: number): number[] {
  const out: number[] = [];
  for (let left = count, i = 0; left > 0; i++) {
    const n = Math.min(left, (i % 4) + 1);
    out.push(n);
    left -= n;
  }
  return out;
}

/** Appends `count` events in transactions through the store's writer; returns them as the writer made them. */
async function writeEvents(database: Database, count: number, opts: { sizes?: number[]; startAt?: number } = {}): Promise<AuditEvent[]> {
  let at = opts.startAt ?? T0;
  let tx = 0;
  let meta: RequestMeta = NO_REQUEST;
  const writer = createAuditWriter(database.dialect, { clock: () => at, requestMeta: () => meta });
  const written: AuditEvent[] = [];
  let k = 0;
  for (const n of opts.sizes ?? sizes(count)) {
    meta = tx++ % 2 === 0 ? HTTP : NO_REQUEST;
    const drafts = Array.from({ length: n }, () => draft(++k));
    written.push(...(await (database.db as Kysely<any>).transaction().execute((trx) => writer.append(trx, n === 1 ? drafts[0]! : drafts))));
    at += MINUTE;
  }
  return written;
}

const any = (database: Database) => database.db as Kysely<any>;

async function readAll(database: Database): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of createAuditReader(any(database)).inOrder()) out.push(e);
  return out;
}

// --- Tampering by SQL, and putting things back ----------------------------------------------------------------------

interface Saved {
  rows: Record<string, unknown>[];
  head: Record<string, unknown>;
}

async function save(database: Database): Promise<Saved> {
  const db = any(database);
  return {
    rows: await db.selectFrom('audit_events').selectAll().orderBy('seq').execute(),
    head: (await db.selectFrom('audit_head').select(['seq', 'hash', 'anchor_seq', 'anchor_hash']).where('id', '=', 1).executeTakeFirstOrThrow()) as Record<string, unknown>,
  };
}

async function restore(database: Database, saved: Saved): Promise<void> {
  await any(database).transaction().execute(async (trx) => {
    await trx.deleteFrom('audit_events').execute();
    for (let i = 0; i < saved.rows.length; i += 500) await trx.insertInto('audit_events').values(saved.rows.slice(i, i + 500)).execute();
    await trx.updateTable('audit_head').set(saved.head).where('id', '=', 1).execute();
  });
}

const CONTENT = ['at', 'actor_kind', 'actor_id', 'action', 'target_type', 'target_id', 'outcome', 'request_id', 'client_ip', 'user_agent', 'details', 'prev_hash', 'hash'];

async function swapRows(database: Database, a: number, b: number): Promise<void> {
  const db = any(database);
  const row = (seq: number) => db.selectFrom('audit_events').select(CONTENT).where('seq', '=', seq).executeTakeFirstOrThrow();
  const [ra, rb] = [await row(a), await row(b)];
  await db.updateTable('audit_events').set(rb).where('seq', '=', a).execute();
  await db.updateTable('audit_events').set(ra).where('seq', '=', b).execute();
}

async function hashOf(database: Database, seq: number): Promise<string> {
  const r = await any(database).selectFrom('audit_events').select('hash').where('seq', '=', seq).executeTakeFirstOrThrow();
  return r.hash as string;
}

/** Removes the events after `seq` and sets the head row back to `seq`: the newest events vanish without a trace in the chain. */
async function cutNewest(database: Database, seq: number): Promise<void> {
  const hash = await hashOf(database, seq);
  await any(database).deleteFrom('audit_events').where('seq', '>', seq).execute();
  await any(database).updateTable('audit_head').set({ seq, hash }).where('id', '=', 1).execute();
}

/** What an attacker with write access and no checkpoint to fear does: change event `seq`, recompute every later hash and the head. */
async function rebuildFrom(database: Database, seq: number): Promise<void> {
  const events = await readAll(database);
  let prev = events[seq - 2]?.hash ?? '0'.repeat(64);
  for (const e of events.slice(seq - 1)) {
    const changed = e.seq === seq ? { ...e, details: { k: seq, note: 'nothing happened here' } } : e;
    const hash = chainHash(prev, changed);
    await any(database).updateTable('audit_events').set({ details: JSON.stringify(changed.details), prev_hash: prev, hash }).where('seq', '=', e.seq).execute();
    prev = hash;
  }
  await any(database).updateTable('audit_head').set({ hash: prev }).where('id', '=', 1).execute();
}

/** Simulates a retention cut: events up to `seq` removed, the anchor moved to the last one removed. */
async function pruneThrough(database: Database, seq: number): Promise<void> {
  const hash = await hashOf(database, seq);
  await any(database).deleteFrom('audit_events').where('seq', '<=', seq).execute();
  await any(database).updateTable('audit_head').set({ anchor_seq: seq, anchor_hash: hash }).where('id', '=', 1).execute();
}

/** Tamperings verifyChain finds on its own, from the stored chain: each with the first bad event. */
const CHAIN_TAMPERINGS: { name: string; apply: (d: Database) => Promise<unknown>; kind: 'modified' | 'missing'; seq: number; line: RegExp }[] = [
  {
    name: "an event's details edited",
    apply: (d) => any(d).updateTable('audit_events').set({ details: JSON.stringify({ ...draft(7).details, k: 70 }) }).where('seq', '=', 7).execute(),
    kind: 'modified',
    seq: 7,
    line: /^audit chain BROKEN at event 7 \(modified\): event 7 was modified/,
  },
  {
    name: "an event's actor edited",
    apply: (d) => any(d).updateTable('audit_events').set({ actor_id: 'someone-else' }).where('seq', '=', 12).execute(),
    kind: 'modified',
    seq: 12,
    line: /^audit chain BROKEN at event 12 \(modified\): /,
  },
  {
    name: "an event's stored hash edited",
    apply: (d) => any(d).updateTable('audit_events').set({ hash: 'f'.repeat(64) }).where('seq', '=', 3).execute(),
    kind: 'modified',
    seq: 3,
    line: /^audit chain BROKEN at event 3 \(modified\): /,
  },
  {
    name: 'a middle event deleted',
    apply: (d) => any(d).deleteFrom('audit_events').where('seq', '=', 15).execute(),
    kind: 'missing',
    seq: 15,
    line: /^audit chain BROKEN at event 15 \(missing or reordered\): event 15 is missing/,
  },
  {
    name: 'two events swapped (sequence numbers kept, everything else exchanged)',
    apply: (d) => swapRows(d, 10, 20),
    kind: 'missing',
    seq: 10,
    line: /^audit chain BROKEN at event 10 \(missing or reordered\): event 10 does not follow event 9/,
  },
  {
    name: 'the first event deleted',
    apply: (d) => any(d).deleteFrom('audit_events').where('seq', '=', 1).execute(),
    kind: 'missing',
    seq: 1,
    line: /^audit chain BROKEN at event 1 \(missing or reordered\): /,
  },
];

// --- The store -----------------------------------------------------------------------------------------------------

forEachDialect('audit trail in the store', (h) => {
  let written: AuditEvent[] = [];
  let saved: Saved;

  test('events appended in transactions read back exactly, chained, with the head on the newest', async () => {
    written = await writeEvents(h.database, 30);
    assert.deepEqual(written.map((e) => e.seq), Array.from({ length: 30 }, (_, i) => i + 1));
    const read = await readAll(h.database);
    assert.deepEqual(read, written, 'every field survives the database, details included');
    const reader = createAuditReader(any(h.database));
    assert.deepEqual(await reader.head(), { seq: 30, hash: written[29]!.hash, anchor: { seq: 0, hash: '0'.repeat(64) } });
    assert.deepEqual(await verifyChain(reader.inOrder()), { ok: true, checked: 30, first: 1, last: 30 });
    assert.equal(read[0]!.actor.kind, 'user');
    assert.equal(read[0]!.requestId, 'req-abc');
    assert.equal(read[1]!.requestId, null);
    saved = await save(h.database);
  });

  test('a rolled-back transaction leaves no event and no trace in the head; the chain carries on', async () => {
    const writer = createAuditWriter(h.database.dialect);
    await assert.rejects(
      any(h.database).transaction().execute(async (trx) => {
        await writer.append(trx, [draft(1), draft(2)]);
        throw new Error('the change failed');
      }),
      /the change failed/,
    );
    const reader = createAuditReader(any(h.database));
    assert.equal((await reader.head()).seq, 30);
    const [next] = await any(h.database).transaction().execute((trx) => writer.append(trx, draft(31)));
    assert.equal(next!.seq, 31);
    assert.equal(next!.prevHash, written[29]!.hash);
    assert.deepEqual(await verifyChain(reader.inOrder()), { ok: true, checked: 31, first: 1, last: 31 });
    await restore(h.database, saved);
  });

  for (const t of CHAIN_TAMPERINGS) {
    test(`verifyChain: ${t.name} is found at event ${t.seq}`, async () => {
      await t.apply(h.database);
      try {
        const r = await verifyChain(createAuditReader(any(h.database)).inOrder());
        assert.equal(r.ok, false);
        assert.equal(r.problem?.kind, t.kind, r.problem?.detail);
        assert.equal(r.problem?.seq, t.seq, r.problem?.detail);
      } finally {
        await restore(h.database, saved);
      }
    });
  }

  test('after a retention cut, the chain verifies from its anchor', async () => {
    await pruneThrough(h.database, 10);
    try {
      const reader = createAuditReader(any(h.database));
      const { anchor } = await reader.head();
      assert.deepEqual(anchor, { seq: 10, hash: written[9]!.hash });
      assert.deepEqual(await verifyChain(reader.inOrder(anchor.seq), { anchor }), { ok: true, checked: 20, first: 11, last: 30 });
      await any(h.database).updateTable('audit_events').set({ outcome: 'failure' }).where('seq', '=', 11).execute();
      const r = await verifyChain(reader.inOrder(anchor.seq), { anchor });
      assert.equal(r.problem?.seq, 11);
    } finally {
      await restore(h.database, saved);
    }
  });
});

// --- The command ---------------------------------------------------------------------------------------------------

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  warnings: string;
}

for (const dialect of ['sqlite', 'postgres'] as const satisfies readonly Dialect[]) {
  describe(`gatehouse audit [${dialect}]`, { skip: skipFor(dialect) }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-audit-'));
    let schema: TestSchema | undefined;
    let url = '';
    let database: Database;
    let written: AuditEvent[] = [];
    let saved: Saved;
    let checkpoint30 = '';

    before(async () => {
      if (dialect === 'sqlite') url = `sqlite:${join(dir, 'gatehouse.db')}`;
      else {
        schema = await freshSchema();
        url = schema.url;
      }
      database = openDatabase(url, { poolSize: 2 });
      await migrateToLatest(database.db, database.dialect, database.schema);
      written = await writeEvents(database, 30);
      saved = await save(database);
    });
    after(async () => {
      await database?.close();
      await schema?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    const config = () => loadConfig({ DATABASE_URL: url });
    async function audit(...args: string[]): Promise<Run> {
      let stdout = '';
      let warnings = '';
      const code = await auditCommand(config(), args, (text) => void (stdout += text), { warn: (text) => void (warnings += text) });
      return { code, stdout, warnings };
    }
    const file = (name: string, content: string) => {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    };
    const verifiesOk = async (range: string, checked: number, ...args: string[]) => {
      const run = await audit('verify', ...args);
      assert.deepEqual(run, { code: 0, stdout: `audit chain OK: events ${range} (${checked} checked)\n`, warnings: '' });
    };
    const broken = async (line: RegExp, ...args: string[]) => {
      const run = await audit('verify', ...args);
      assert.equal(run.code, 1, run.stdout);
      assert.equal(run.stdout.split('\n').length, 2, 'one line');
      assert.match(run.stdout, line);
    };

    test('verify: an intact chain is OK; checkpoint prints a signed statement of its head', async () => {
      await verifiesOk('1..30', 30);
      const cp = await audit('checkpoint');
      assert.equal(cp.code, 0);
      assert.match(cp.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      checkpoint30 = file('checkpoint-30.jws', cp.stdout);
      assert.equal(decodeProtectedHeader(cp.stdout.trim()).typ, 'gatehouse-audit-checkpoint+jwt');
      const claims = decodeJwt(cp.stdout.trim());
      assert.equal(claims.seq, 30);
      assert.equal(claims.hash, written[29]!.hash);
      assert.equal(claims.iss, config().issuer);
      await verifiesOk('1..30', 30, '--checkpoint', checkpoint30);
    });

    for (const t of CHAIN_TAMPERINGS) {
      test(`verify: ${t.name} → event ${t.seq}, with or without a checkpoint`, async () => {
        await t.apply(database);
        try {
          await broken(t.line);
          await broken(t.line, '--checkpoint', checkpoint30);
        } finally {
          await restore(database, saved);
        }
      });
    }

    test('verify: the chain must end where audit_head says', async () => {
      try {
        await any(database).deleteFrom('audit_events').where('seq', '>', 25).execute();
        await broken(/^audit chain BROKEN at event 26 \(truncated\): the chain ends at event 25 but audit_head says it reaches event 30/);
        await restore(database, saved);

        await any(database).updateTable('audit_head').set({ hash: 'e'.repeat(64) }).where('id', '=', 1).execute();
        await broken(/^audit chain BROKEN at event 30 \(modified\): audit_head's hash differs from event 30's/);
        await assert.rejects(audit('checkpoint'), /audit_head \(event 30\) does not match the newest event \(event 30\): no checkpoint made/, 'no checkpoint vouches for it');
        await restore(database, saved);

        await any(database).updateTable('audit_head').set({ seq: 25, hash: await hashOf(database, 25) }).where('id', '=', 1).execute();
        await broken(/^audit chain BROKEN at event 26 \(modified\): events 26\.\.30 lie past audit_head \(event 25\)/);
        await assert.rejects(audit('checkpoint'), /does not match the newest event/);
      } finally {
        await restore(database, saved);
      }
    });

    test('the newest events removed and the head rewound: only a checkpoint taken before finds it', async () => {
      await cutNewest(database, 25);
      try {
        await verifiesOk('1..25', 25);
        await broken(/^audit chain BROKEN at event 26 \(truncated\): events 26\.\.30 are gone: the chain ends at event 25 but the checkpoint vouches for events up to 30/, '--checkpoint', checkpoint30);
      } finally {
        await restore(database, saved);
      }
    });

    test('a chain rebuilt with every hash recomputed: only a checkpoint taken before finds it', async () => {
      await rebuildFrom(database, 5);
      try {
        await verifiesOk('1..30', 30);
        await broken(/^audit chain BROKEN at event 30 \(modified\): event 30 differs from the checkpoint's: the chain was rewritten at or before event 30/, '--checkpoint', checkpoint30);
      } finally {
        await restore(database, saved);
      }
      await verifiesOk('1..30', 30, '--checkpoint', checkpoint30);
    });

    test('a forged or altered checkpoint is refused before anything else', async () => {
      const jws = (await import('node:fs')).readFileSync(checkpoint30, 'utf8').trim();
      const [header, payload, signature] = jws.split('.') as [string, string, string];
      const claims = decodeJwt(jws);
      const forgedPayload = Buffer.from(JSON.stringify({ ...claims, seq: 20, hash: await hashOf(database, 20) })).toString('base64url');
      const sig = Buffer.from(signature, 'base64url');
      sig[5]! ^= 0x20;
      const cases = {
        'payload.jws': `${header}.${forgedPayload}.${signature}`,
        'signature.jws': `${header}.${payload}.${sig.toString('base64url')}`,
        'garbage.jws': 'hello',
      };
      for (const [name, content] of Object.entries(cases)) {
        await assert.rejects(audit('verify', '--checkpoint', file(name, content)), (err: Error) => {
          assert.match(err.message, new RegExp(`^checkpoint .*${name} is not valid: .*signature`));
          assert.doesNotMatch(err.message, /\n/);
          return true;
        });
      }
      await assert.rejects(audit('verify', '--checkpoint', join(dir, 'no-such-file.jws')), /^Error: cannot read checkpoint .*no-such-file\.jws: ENOENT/);
      // The same checkpoint under another issuer's configuration is not ours.
      await assert.rejects(auditCommand(loadConfig({ DATABASE_URL: url, GATEHOUSE_ISSUER: 'https://other.example.test' }), ['verify', '--checkpoint', checkpoint30], () => {}), /is not valid/);
    });

    test("a checkpoint outlives its signing key: verified years after the key's retirement", async () => {
      const kid = decodeProtectedHeader((await import('node:fs')).readFileSync(checkpoint30, 'utf8').trim()).kid!;
      const longAgo = Date.now() - 3 * 365 * 86_400_000;
      await any(database).updateTable('signing_keys').set({ retired_at: longAgo }).where('kid', '=', kid).execute();
      await verifiesOk('1..30', 30, '--checkpoint', checkpoint30); // the command made itself a new active key
      const fresh = (await audit('checkpoint')).stdout.trim();
      assert.notEqual(decodeProtectedHeader(fresh).kid, kid);
      await verifiesOk('1..30', 30, '--checkpoint', file('checkpoint-new.jws', fresh));
    });

    test('after a retention cut, verify starts from the anchor; a checkpoint older than the anchor confirms nothing, and says so', async () => {
      const signer = await createJwtSigner({
        keys: createSigningKeyStore(database.db, database.dialect),
        issuer: config().issuer,
        audience: 'gatehouse',
        accessTtlSeconds: 900,
        alg: 'RS256',
        clock: { now: () => Date.now() },
      });
      const at5 = file('checkpoint-5.jws', await signer.signCheckpoint({ seq: 5, hash: written[4]!.hash, at: T0 }));
      const at10 = file('checkpoint-10.jws', await signer.signCheckpoint({ seq: 10, hash: written[9]!.hash, at: T0 }));
      const wrong10 = file('checkpoint-10-wrong.jws', await signer.signCheckpoint({ seq: 10, hash: written[8]!.hash, at: T0 }));
      await pruneThrough(database, 10);
      try {
        await verifiesOk('11..30', 20);
        await verifiesOk('11..30', 20, '--checkpoint', checkpoint30);
        await verifiesOk('11..30', 20, '--checkpoint', at10);
        await broken(/^audit chain BROKEN at event 10 \(modified\): the anchor \(event 10\) differs from the checkpoint's/, '--checkpoint', wrong10);
        const old = await audit('verify', '--checkpoint', at5);
        assert.equal(old.code, 0);
        assert.equal(old.stdout, 'audit chain OK: events 11..30 (20 checked)\n');
        assert.match(old.warnings, /the checkpoint \(event 5\) is older than the retention anchor \(event 10\)/);
        await any(database).deleteFrom('audit_events').where('seq', '=', 11).execute();
        await broken(/^audit chain BROKEN at event 11 \(missing or reordered\)/);
      } finally {
        await restore(database, saved);
      }
    });

    test('export: every event, in order, one JSON object a line, details parsed; --from/--to select by time', async () => {
      const all = await audit('export');
      assert.equal(all.code, 0);
      const lines = all.stdout.split('\n');
      assert.equal(lines.pop(), '', 'ends with a newline');
      const exported = lines.map((l) => JSON.parse(l) as AuditEvent & { time: string });
      assert.deepEqual(
        exported.map(({ time, ...e }) => {
          assert.equal(time, new Date(e.at).toISOString());
          return e;
        }),
        written,
        'every field of every event, as written',
      );
      assert.equal(typeof exported[0]!.details, 'object');
      // The export is enough to check the chain again, elsewhere.
      async function* fromExport() {
        yield* exported;
      }
      assert.deepEqual(await verifyChain(fromExport()), { ok: true, checked: 30, first: 1, last: 30 });

      const from = new Date(T0 + 3 * MINUTE).toISOString();
      const to = new Date(T0 + 7 * MINUTE).toISOString();
      const some = await audit('export', '--from', from, '--to', to);
      const expected = written.filter((e) => e.at >= T0 + 3 * MINUTE && e.at < T0 + 7 * MINUTE).map((e) => e.seq);
      assert.ok(expected.length > 4 && expected.length < 30);
      assert.deepEqual(some.stdout.trim().split('\n').map((l) => (JSON.parse(l) as AuditEvent).seq), expected);
      assert.deepEqual((await audit('export', '--from', '2027-01-01')).stdout, '');
      const onlyTo = await audit('export', '--to', new Date(T0 + MINUTE).toISOString());
      assert.deepEqual(onlyTo.stdout.trim().split('\n').map((l) => (JSON.parse(l) as AuditEvent).seq), [1]);
      await assert.rejects(audit('export', '--from', 'yesterday'), /--from must be an ISO 8601 time/);
      await assert.rejects(audit('export', '--to', '2026-13-45'), /--to must be an ISO 8601 time/);
    });

    test('help, usage mistakes', async () => {
      for (const args of [['help'], ['verify', '--help'], ['-h']]) assert.deepEqual(await audit(...args), { code: 0, stdout: AUDIT_USAGE + '\n', warnings: '' });
      assert.equal((await audit()).code, 2);
      await assert.rejects(audit('frobnicate'), /unknown audit command "frobnicate"/);
      await assert.rejects(audit('verify', '--bogus'), /--bogus/);
      await assert.rejects(audit('verify', 'extra'), /takes no argument "extra"/);
      await assert.rejects(audit('export', '--checkpoint', 'x'), /--checkpoint goes with audit verify/);
      await assert.rejects(audit('verify', '--from', '2026-01-01'), /--from and --to go with audit export/);
    });

    test('a chain longer than the read batches verifies and exports whole', async () => {
      const more = await writeEvents(database, 5_500, { sizes: Array.from({ length: 55 }, () => 100), startAt: T0 + 60 * MINUTE });
      assert.equal(more[0]!.seq, 31);
      await verifiesOk('1..5530', 5530);
      const run = await audit('export');
      const seqs = run.stdout.trim().split('\n').map((l) => (JSON.parse(l) as AuditEvent).seq);
      assert.equal(seqs.length, 5530);
      assert.ok(seqs.every((s, i) => s === i + 1));
      await any(database).updateTable('audit_events').set({ client_ip: '192.0.2.1' }).where('seq', '=', 5001).execute();
      await broken(/^audit chain BROKEN at event 5001 \(modified\)/);
    });

    if (dialect === 'sqlite') {
      test('the real command: exit codes, one line on stdout, a refused checkpoint on stderr', async () => {
        const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_') && k !== 'DATABASE_URL'));
        env.DATABASE_URL = url;
        const run = async (...args: string[]) => {
          try {
            const { stdout, stderr } = await promisify(execFile)(process.execPath, ['bin/gatehouse.js', ...args], { cwd: ROOT, env, timeout: 60_000, maxBuffer: 64 << 20 });
            return { code: 0, stdout, stderr };
          } catch (err) {
            const e = err as { code?: unknown; stdout?: string; stderr?: string };
            return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
          }
        };
        const forged = file('forged.jws', 'a.b.c');
        await any(database).updateTable('audit_events').set({ action: 'user.deleted' }).where('seq', '=', 2).execute();
        // Three processes only: each starts tsx on the whole source (the usage texts are checked in-process).
        const [bad, refused, exported] = await Promise.all([
          run('audit', 'verify'),
          run('audit', 'verify', '--checkpoint', forged),
          run('audit', 'export', '--to', new Date(T0 + 2 * MINUTE).toISOString()),
        ]);
        assert.deepEqual(bad, { code: 1, stdout: 'audit chain BROKEN at event 2 (modified): event 2 was modified (its content no longer matches its hash)\n', stderr: '' });
        assert.equal(refused.code, 1);
        assert.equal(refused.stdout, '');
        assert.match(refused.stderr, /^gatehouse: checkpoint .*forged\.jws is not valid: [^\n]*\n$/);
        assert.equal(exported.code, 0, exported.stderr);
        assert.deepEqual(exported.stdout.trim().split('\n').map((l) => (JSON.parse(l) as AuditEvent).seq), [1, 2, 3]);
      });
    }
  });
}
