import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { verifyChain } from '../../src/domain/audit.ts';
import { createAuditReader, createAuditWriter, pruneAudit } from '../../src/store/audit-store.ts';
import { forEachDialect } from '../store/dialects.ts';

/**
 * Retention removes the oldest events and records the cut as an event of its own; what remains verifies from the
 * anchor the cut leaves, and tampering with it is still found.
 */
forEachDialect('audit retention', (h) => {
  let now = 1_000_000;
  const writer = () => createAuditWriter(h.dialect, { clock: () => now });
  const verify = async () => {
    const reader = createAuditReader(h.db);
    return verifyChain(reader.inOrder((await reader.head()).anchor.seq), { anchor: (await reader.head()).anchor });
  };

  test('events older than the cutoff go; the cut is recorded and the rest verifies', async () => {
    const w = writer();
    for (let i = 0; i < 20; i++) {
      now = 1_000_000 + i * 1000;
      await h.db.transaction().execute((trx) => w.append(trx, { action: 'user.created', target: { type: 'user', id: `u${i}` } }));
    }
    now = 2_000_000;
    assert.equal(await pruneAudit(h.db, h.dialect, w, 1_000_000 + 10 * 1000), 10);
    const reader = createAuditReader(h.db);
    const head = await reader.head();
    assert.equal(head.anchor.seq, 10);
    assert.equal(head.seq, 21);
    const [pruned] = await reader.page({ action: 'audit.pruned' }, 10);
    assert.deepEqual(pruned!.details, { through_seq: 10, removed: 10, older_than: new Date(1_010_000).toISOString() });
    assert.deepEqual(await verify(), { ok: true, checked: 11, first: 11, last: 21 });
  });

  test('nothing older than the cutoff: nothing removed, nothing recorded', async () => {
    assert.equal(await pruneAudit(h.db, h.dialect, writer(), 0), 0);
    assert.equal((await createAuditReader(h.db).head()).seq, 21);
  });

  test('after a cut, an edited event is still caught', async () => {
    await sql`update audit_events set target_id = 'someone-else' where seq = 15`.execute(h.db);
    const result = await verify();
    assert.equal(result.ok, false);
    assert.equal(result.problem?.seq, 15);
  });
});
