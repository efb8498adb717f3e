import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyChain } from '../../src/domain/audit.ts';
import { createAuditReader, createAuditWriter, recordExpiredKeys } from '../../src/store/audit-store.ts';
import { forEachDialect } from '../store/dialects.ts';

/** A key's expiry is recorded once, by whichever replica's sweep sees it first, and never for a live key. */
forEachDialect('api_key.expired events', (h) => {
  const key = (id: string, expiresAt: number | null, active = 1) => ({
    id, prefix: `gk_${id}`, secret_hash: `hash-of-${id}`, roles: '[]', description: null, is_active: active,
    created_at: 0, deactivated_at: active ? null : 1, expires_at: expiresAt, last_used_at: null,
  });

  test('each expired, still active key gets one event, however many sweeps run', async () => {
    await h.db.insertInto('api_keys').values([key('k1', 1000), key('k2', 5000), key('k3', null), key('k4', 1000, 0)] as never).execute();
    const writer = createAuditWriter(h.dialect);
    // Two replicas sweeping at once, then again later: k1 is recorded exactly once.
    const counts = await Promise.all([recordExpiredKeys(h.db, writer, 2000), recordExpiredKeys(h.db, writer, 2000)]);
    assert.equal(counts[0]! + counts[1]!, 1);
    assert.equal(await recordExpiredKeys(h.db, writer, 3000), 0);
    assert.equal(await recordExpiredKeys(h.db, writer, 6000), 1);
    const reader = createAuditReader(h.db);
    const events = await reader.page({ action: 'api_key.expired' }, 10);
    assert.deepEqual(events.map((e) => e.targetId).sort(), ['k1', 'k2']);
    assert.ok(events.every((e) => e.actor.kind === 'system' && !JSON.stringify(e).includes('hash-of-')));
    assert.equal((await verifyChain(reader.inOrder())).ok, true);
  });
});
