import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomSecret, sha256Hex } from '../../src/security/secrets.ts';
import { verifyChain, type AuditEvent } from '../../src/domain/audit.ts';
import { createApiKeyService } from '../../src/domain/api-keys.ts';
import { systemClock } from '../../src/domain/ports.ts';
import { createApiKeyStore } from '../../src/store/api-key-store.ts';
import { createAuditReader } from '../../src/store/audit-store.ts';
import { forEachDialect } from '../store/dialects.ts';
import { events, written, refusedSilently, onlyEvent } from './event-helpers.ts';

// The audit events of API keys, at the service level on each dialect: minting and deactivating each write one
// event in the change's transaction; a refused change (limit, unknown key, last admin key) or no change (a key
// already inactive) writes none; no event holds a secret or its hash; the chain verifies.

const only = (list: AuditEvent[], action: string, targetId: string) => onlyEvent(list, action, 'api_key', targetId);

forEachDialect('audit events of API keys', (h) => {
  // Every secret minted and every digest taken, to prove none of them reaches the trail.
  const secretsSeen: string[] = [];
  const secrets = {
    randomSecret: () => randomSecret(32),
    digest: (s: string) => {
      const d = sha256Hex(s);
      secretsSeen.push(s, d);
      return d;
    },
  };
  const service = (opts: { maxActive?: number; adminKeyConfigured?: boolean } = {}) =>
    createApiKeyService({
      apiKeys: createApiKeyStore(h.db, h.dialect),
      clock: systemClock,
      secrets,
      maxActive: opts.maxActive ?? 10,
      revocations: { revoked() {} },
      adminKeyConfigured: opts.adminKeyConfigured ?? false,
    });

  let adminKeyId = '';
  let chatKeyId = '';

  test('api_key.minted: prefix, roles, description and expiry; never the secret or its hash', async () => {
    let minted: Awaited<ReturnType<ReturnType<typeof service>['mint']>> | undefined;
    const list = await written(h, async () => {
      minted = await service().mint({ description: 'ci deploys', roles: ['ORG-ADMIN'] });
    });
    adminKeyId = minted!.key.id;
    const e = only(list, 'api_key.minted', adminKeyId);
    assert.deepEqual(e.details, { prefix: minted!.key.prefix, roles: ['ORG-ADMIN'], description: 'ci deploys', expires_at: null });
    assert.ok(minted!.secret.startsWith(e.details.prefix as string), 'the prefix is the part of the key shown anyway');

    const expiring = await written(h, async () => {
      minted = await service().mint({ description: null, roles: ['CHAT-USER'], expiresAt: '2999-01-31T12:00:00Z' });
    });
    chatKeyId = minted!.key.id;
    assert.deepEqual(only(expiring, 'api_key.minted', chatKeyId).details, {
      prefix: minted!.key.prefix,
      roles: ['CHAT-USER'],
      description: null,
      expires_at: '2999-01-31T12:00:00.000Z',
    });
  });

  test('a mint refused at the limit, or for an unknown role, writes nothing', async () => {
    await refusedSilently(h, () => service({ maxActive: 2 }).mint({ description: 'one too many', roles: ['CHAT-USER'] }), /maximum|limit|too many/i);
    await refusedSilently(h, () => service().mint({ description: null, roles: ['NO-SUCH-ROLE'] }), /role/i);
  });

  test('api_key.deactivated once, when the key was active; again, or an unknown key, writes nothing', async () => {
    const off = await written(h, () => service().deactivate(chatKeyId));
    const e = only(off, 'api_key.deactivated', chatKeyId);
    assert.deepEqual(e.details, { prefix: (await service().get(chatKeyId)).prefix, roles: ['CHAT-USER'] });

    assert.deepEqual(await written(h, () => service().deactivate(chatKeyId)), [], 'already inactive: no change, no event');
    assert.deepEqual(await written(h, () => service({ adminKeyConfigured: true }).deactivate(chatKeyId)), [], 'nor through the plain deactivation');
    await refusedSilently(h, () => service().deactivate('0190a000-0000-7000-8000-00000000dead'), /not found/i);
  });

  test('deactivating the last ORG-ADMIN key is refused without an admin key configured, and writes nothing', async () => {
    await refusedSilently(h, () => service().deactivate(adminKeyId), /last|admin/i);
    const off = await written(h, () => service({ adminKeyConfigured: true }).deactivate(adminKeyId));
    assert.deepEqual(only(off, 'api_key.deactivated', adminKeyId).details, { prefix: (await service().get(adminKeyId)).prefix, roles: ['ORG-ADMIN'] });
  });

  test('no secret or hash anywhere in the trail, and the chain verifies', async () => {
    const all = await events(h);
    assert.deepEqual(all.map((e) => e.action), ['api_key.minted', 'api_key.minted', 'api_key.deactivated', 'api_key.deactivated']);
    const text = JSON.stringify(all);
    assert.ok(secretsSeen.length >= 4);
    for (const s of secretsSeen) assert.ok(!text.includes(s), 'a secret or its hash is in the trail');
    const stored = await h.db.selectFrom('api_keys').select('secret_hash').execute();
    for (const { secret_hash } of stored) assert.ok(!text.includes(secret_hash));
    const result = await verifyChain(createAuditReader(h.db).inOrder(), {});
    assert.ok(result.ok, JSON.stringify(result.problem));
    assert.equal(result.checked, 4);
  });
});
