import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { auditCommand } from '../../src/audit-command.ts';
import { loadConfig } from '../../src/config.ts';
import { verifyChain, type AuditDraft, type AuditEvent } from '../../src/domain/audit.ts';
import { createAuditReader, createAuditWriter } from '../../src/store/audit-store.ts';
import { openPostgres, type Database } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { freshSchema, type TestSchema } from '../helpers/postgres.ts';
import { pgSkip } from '../store/dialects.ts';

// Three replicas (three pools on one PostgreSQL schema) append at once, each in its own transactions, some of one
// event, some of several, some appending twice, some rolled back: the head row's lock must queue them into one
// chain, numbered 1..120 without gap or duplicate, each event exactly as its writer made it.

/** Event counts per transaction for one replica: 40 in all. An array is two appends in the same transaction. */
const PLAN: (number | [number, number])[] = [1, 3, 1, 2, 5, 1, [1, 3], 1, 2, 1, 6, 1, 3, [2, 1], 1, 4, 1];
const PER_REPLICA = 40;
const REPLICAS = 3;

describe('three replicas appending to one audit chain [postgres]', { skip: pgSkip }, () => {
  let schema: TestSchema | undefined;
  const replicas: Database[] = [];

  before(async () => {
    schema = await freshSchema();
    for (let r = 0; r < REPLICAS; r++) replicas.push(openPostgres(schema.url, { poolSize: 4 }));
    await migrateToLatest(replicas[0]!.db, 'postgres', replicas[0]!.schema);
  });
  after(async () => {
    for (const d of replicas) await d.close();
    await schema?.drop();
  });

  test('120 events appended concurrently by three pools form one valid chain, seqs 1..120, nothing lost or doubled', async () => {
    assert.equal(
      PLAN.flat().reduce((a, b) => a + b, 0),
      PER_REPLICA,
    );
    const committed: AuditEvent[] = [];
    let rolledBack = 0;

    async function replica(r: number): Promise<void> {
      const db = replicas[r]!.db as Kysely<any>;
      const writer = createAuditWriter('postgres', { requestMeta: () => ({ actor: { kind: 'system', id: null }, requestId: `replica-${r}`, clientIp: null, userAgent: null }) });
      let n = 0;
      const drafts = (count: number): AuditDraft[] =>
        Array.from({ length: count }, () => ({ action: 'user.updated', actor: { kind: 'user', id: `replica-${r}` }, target: { type: 'user', id: `u${n}` }, details: { replica: r, n: ++n } }));
      // Rotate the plan per replica so that different shapes of transaction meet at the lock.
      const plan = [...PLAN.slice(r * 5), ...PLAN.slice(0, r * 5)];
      const work = plan.map((step, i) =>
        db.transaction().execute(async (trx) => {
          await sql`select pg_sleep(${(i % 3) / 1000})`.execute(trx); // spread the arrivals a little
          const parts = Array.isArray(step) ? step : [step];
          const mine = parts.map(drafts); // numbered now, so each replica's n runs 1..40 whatever the commit order
          const events: AuditEvent[] = [];
          for (const d of mine) {
            events.push(...(await writer.append(trx, d.length === 1 ? d[0]! : d)));
            await sql`select pg_sleep(0.001)`.execute(trx); // other work in the same transaction, lock held
          }
          return events;
        }),
      );
      // A transaction that appends, then fails: its events and its head update vanish together.
      work.push(
        db
          .transaction()
          .execute(async (trx) => {
            await writer.append(trx, [{ action: 'user.deleted', details: { replica: r, rolledBack: true } }, { action: 'user.deleted' }]);
            throw new Error('rolled back');
          })
          .catch(() => {
            rolledBack += 1;
            return [];
          }),
      );
      for (const events of await Promise.all(work)) committed.push(...events);
    }

    await Promise.all(Array.from({ length: REPLICAS }, (_, r) => replica(r)));
    assert.equal(rolledBack, REPLICAS);

    const reader = createAuditReader(replicas[1]!.db as Kysely<any>);
    const stored: AuditEvent[] = [];
    for await (const e of reader.inOrder()) stored.push(e);
    const total = REPLICAS * PER_REPLICA;
    assert.deepEqual(
      stored.map((e) => e.seq),
      Array.from({ length: total }, (_, i) => i + 1),
      'seqs 1..120, no gap, no duplicate',
    );
    assert.deepEqual(
      stored,
      committed.sort((a, b) => a.seq - b.seq),
      'what each writer saw committed is exactly what is stored',
    );
    assert.ok(!stored.some((e) => e.action === 'user.deleted'), 'nothing of the rolled-back transactions');
    for (let r = 0; r < REPLICAS; r++) {
      const mine = stored.filter((e) => e.actor.id === `replica-${r}`).map((e) => e.details.n as number);
      assert.deepEqual(
        [...mine].sort((a, b) => a - b),
        Array.from({ length: PER_REPLICA }, (_, i) => i + 1),
        `replica ${r}: each of its 40 events once`,
      );
    }
    // The replicas really did interleave: the chain is not three runs one after another.
    const switches = stored.slice(1).filter((e, i) => e.actor.id !== stored[i]!.actor.id).length;
    assert.ok(switches > REPLICAS, `the replicas' events interleave (${switches} switches)`);

    assert.deepEqual(await verifyChain(reader.inOrder()), { ok: true, checked: total, first: 1, last: total });
    assert.deepEqual(await reader.head(), { seq: total, hash: stored.at(-1)!.hash, anchor: { seq: 0, hash: '0'.repeat(64) } });

    let out = '';
    const code = await auditCommand(loadConfig({ DATABASE_URL: schema!.url }), ['verify'], (text) => void (out += text));
    assert.equal(out, `audit chain OK: events 1..${total} (${total} checked)\n`);
    assert.equal(code, 0);
  });
});
