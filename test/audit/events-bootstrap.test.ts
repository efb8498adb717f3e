import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootstrapAdminKey } from '../../src/bootstrap.ts';
import { ADMIN_ROLE } from '../../src/domain/access.ts';
import { createApiKeyService } from '../../src/domain/api-keys.ts';
import { verifyChain, type AuditEvent } from '../../src/domain/audit.ts';
import { systemClock } from '../../src/domain/ports.ts';
import { randomSecret, sha256Hex } from '../../src/security/secrets.ts';
import { createApiKeyStore } from '../../src/store/api-key-store.ts';
import { createAuditReader } from '../../src/store/audit-store.ts';
import { createMetaStore } from '../../src/store/meta-store.ts';
import { forEachDialect, type DialectHandle } from '../store/dialects.ts';

// The bootstrap key's audit events on each dialect: minting the first admin key on an empty database records
// `api_key.minted` and `bootstrap` in the key insert's transaction, by the system; nothing else records anything.

async function events(h: DialectHandle, after = 0): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of createAuditReader(h.db).inOrder(after)) out.push(e);
  return out;
}

async function assertChainVerifies(h: DialectHandle) {
  const result = await verifyChain(createAuditReader(h.db).inOrder(), {});
  assert.ok(result.ok, JSON.stringify(result.problem));
}

const SYSTEM = { kind: 'system', id: null };

forEachDialect('audit events of the bootstrap key', (h) => {
  test('a fresh database: api_key.minted and bootstrap, by the system, without the secret', async () => {
    const secret = await bootstrapAdminKey(h.database, { adminKeyConfigured: false, maxApiKeys: 1000, print: () => {} });
    assert.ok(secret);
    const [key] = await h.db.selectFrom('api_keys').select(['id', 'prefix', 'secret_hash']).execute();
    const all = await events(h);
    assert.deepEqual(all.map((e) => e.action), ['api_key.minted', 'bootstrap']);
    for (const e of all) {
      assert.equal(e.targetType, 'api_key');
      assert.equal(e.targetId, key!.id);
      assert.equal(e.outcome, 'success');
      assert.deepEqual(e.actor, SYSTEM);
    }
    assert.deepEqual(all[0]!.details, { prefix: key!.prefix, roles: [ADMIN_ROLE], description: 'bootstrap key (minted at first start)', expires_at: null });
    assert.deepEqual(all[1]!.details, {
      done: 'minted the first administrator API key on a fresh database',
      reason: 'no users, no API keys and no GATEHOUSE_ADMIN_KEY',
      api_key_id: key!.id,
      prefix: key!.prefix,
      roles: [ADMIN_ROLE],
    });
    assert.equal(all[1]!.seq, all[0]!.seq + 1);
    const text = JSON.stringify(all);
    assert.ok(!text.includes(secret) && !text.includes(key!.secret_hash), 'no secret or hash in the trail');
    await assertChainVerifies(h);
  });

  test('a second start mints nothing and records nothing', async () => {
    const before = (await events(h)).length;
    assert.equal(await bootstrapAdminKey(h.database, { adminKeyConfigured: false, maxApiKeys: 1000, print: () => {} }), null);
    assert.equal((await events(h)).length, before);
  });
});

forEachDialect('audit events of a bootstrap refused at the key limit', (h) => {
  test('the insert is refused: no key, no event', async () => {
    await assert.rejects(bootstrapAdminKey(h.database, { adminKeyConfigured: false, maxApiKeys: 0, print: () => {} }), /maximum/i);
    assert.deepEqual(await h.db.selectFrom('api_keys').select('id').execute(), []);
    assert.deepEqual(await events(h), []);
  });
});

forEachDialect('audit events of a replica that lost the bootstrap race', (h) => {
  test('its key is minted, then deactivated: three events, all by the system', async () => {
    const real = createApiKeyService({
      apiKeys: createApiKeyStore(h.db, h.dialect),
      clock: systemClock,
      secrets: { randomSecret: () => randomSecret(32), digest: sha256Hex },
      maxActive: 1000,
      revocations: { revoked() {} },
    });
    // Another replica writes the marker just after this one minted.
    const racing = { ...real, mint: async (...args: Parameters<typeof real.mint>) => {
      const minted = await real.mint(...args);
      await createMetaStore(h.db).setOnce('bootstrap_key_minted_at', new Date().toISOString());
      return minted;
    } };
    const printed: string[] = [];
    assert.equal(await bootstrapAdminKey(h.database, { adminKeyConfigured: false, maxApiKeys: 1000, print: (t) => printed.push(t), apiKeys: racing }), null);
    assert.deepEqual(printed, []);
    const [key] = await h.db.selectFrom('api_keys').select(['id', 'is_active']).execute();
    assert.equal(Number(key!.is_active), 0);
    const all = await events(h);
    assert.deepEqual(all.map((e) => [e.action, e.targetId]), [['api_key.minted', key!.id], ['bootstrap', key!.id], ['api_key.deactivated', key!.id]]);
    assert.deepEqual(all.map((e) => e.actor), [SYSTEM, SYSTEM, SYSTEM]);
    assert.equal(all[2]!.details.reason, 'another replica minted the bootstrap key first');
    await assertChainVerifies(h);
  });
});
