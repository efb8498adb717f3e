import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAuditReader, createAuditWriter } from '../../src/store/audit-store.ts';
import { forEachDialect } from '../store/dialects.ts';

/**
 * Replicas' clocks disagree; the trail's times still follow its order (a slow clock stamps the previous event's
 * time), which is what lets a time range be read as a sequence range.
 */
forEachDialect('audit event times', (h) => {
  test('never go backwards along the chain, and time filters return exactly the events in range', async () => {
    let fast = 10_000;
    let slow = 5_000;
    const ahead = createAuditWriter(h.dialect, { clock: () => fast });
    const behind = createAuditWriter(h.dialect, { clock: () => slow });
    for (let i = 0; i < 10; i++) {
      fast += 1000;
      slow += 1000;
      await h.db.transaction().execute((trx) => ahead.append(trx, { action: 'user.updated', target: { type: 'user', id: `a${i}` } }));
      await h.db.transaction().execute((trx) => behind.append(trx, { action: 'user.updated', target: { type: 'user', id: `b${i}` } }));
    }
    const reader = createAuditReader(h.db);
    const all = (await reader.page({}, 100)).reverse();
    assert.equal(all.length, 20);
    for (let i = 1; i < all.length; i++) assert.ok(all[i]!.at >= all[i - 1]!.at, `event ${all[i]!.seq} is earlier than ${all[i - 1]!.seq}`);
    for (const [from, to] of [[12_000, 16_000], [0, 11_000], [15_500, 99_999], [30_000, 40_000], [11_000, 11_001]] as const) {
      const got = (await reader.page({ from, to }, 100)).map((e) => e.seq).sort((a, b) => a - b);
      const expected = all.filter((e) => e.at >= from && e.at < to).map((e) => e.seq);
      assert.deepEqual(got, expected, `${from}..${to}`);
      const onlyA = (await reader.page({ from, to, targetId: 'a3' }, 100)).map((e) => e.seq);
      assert.deepEqual(onlyA, all.filter((e) => e.at >= from && e.at < to && e.targetId === 'a3').map((e) => e.seq));
    }
  });
});
