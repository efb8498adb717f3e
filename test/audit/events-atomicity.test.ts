import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApiKeyService } from '../../src/domain/api-keys.ts';
import { createGroupService } from '../../src/domain/groups.ts';
import { createOAuthClientService } from '../../src/domain/oauth-clients.ts';
import { systemClock } from '../../src/domain/ports.ts';
import { constantTimeEqual, randomSecret, sha256Hex } from '../../src/security/secrets.ts';
import { createApiKeyStore } from '../../src/store/api-key-store.ts';
import { createAuditReader, createAuditWriter, type AuditWriter } from '../../src/store/audit-store.ts';
import { createGroupStore } from '../../src/store/group-store.ts';
import { createOAuthClientStore } from '../../src/store/oauth-client-store.ts';
import { forEachDialect } from '../store/dialects.ts';

// No change without its event: when the event cannot be written (the append fails after writing its rows), the
// change it records is rolled back with it, on each dialect. The same stores with a working writer then succeed.

forEachDialect('a change and its audit event commit together', (h) => {
  /** Appends for real, then fails: the event's rows are written and must be rolled back with the change. */
  const failing = (): AuditWriter => {
    const real = createAuditWriter(h.dialect);
    return {
      async append(trx, drafts) {
        await real.append(trx, drafts);
        throw new Error('the audit trail is unavailable');
      },
    };
  };
  const revocations = { revoked() {}, revokedAll() {} };
  const groups = (audit?: AuditWriter) => createGroupService({ groups: createGroupStore(h.db, h.dialect, audit), clock: systemClock, revocations });
  const keys = (audit?: AuditWriter) =>
    createApiKeyService({
      apiKeys: createApiKeyStore(h.db, h.dialect, audit),
      clock: systemClock,
      secrets: { randomSecret: () => randomSecret(32), digest: sha256Hex },
      maxActive: 10,
      revocations,
      adminKeyConfigured: true,
    });
  const clients = (audit?: AuditWriter) =>
    createOAuthClientService({
      clients: createOAuthClientStore(h.db, h.dialect, audit),
      clock: systemClock,
      secrets: { randomSecret: () => randomSecret(32), digest: sha256Hex, equal: constantTimeEqual },
      newClientId: () => 'unused',
    });
  const eventCount = async () => {
    let n = 0;
    for await (const _ of createAuditReader(h.db).inOrder()) n += 1;
    return n;
  };
  const unavailable = /audit trail is unavailable/;

  test('groups: create, update, members and delete are undone with their event', async () => {
    await assert.rejects(groups(failing()).create({ name: 'Ops' }), unavailable);
    assert.deepEqual(await h.db.selectFrom('groups').select('id').execute(), []);

    const group = await groups().create({ name: 'Ops', roles: ['CHAT-USER'] });
    await assert.rejects(groups(failing()).update(group.id, { name: 'Dev', roles: [] }), unavailable);
    const now = Date.now();
    await h.db.insertInto('users').values({ id: 'user-1', email: 'a@example.test', first_name: null, last_name: null, search_text: 'a', password_hash: 'x', password_temporary: 0, password_set_at: now, created_at: now, updated_at: now }).execute();
    await assert.rejects(groups(failing()).addMembers(group.id, ['user-1']), unavailable);
    await assert.rejects(groups(failing()).remove(group.id), unavailable);
    const still = await groups().get(group.id);
    assert.deepEqual([still.name, still.roles, still.memberCount], ['Ops', ['CHAT-USER'], 0]);

    await groups().addMembers(group.id, ['user-1']);
    await assert.rejects(groups(failing()).removeMembers(group.id, ['user-1']), unavailable);
    assert.equal((await groups().get(group.id)).memberCount, 1);
    assert.equal(await eventCount(), 2, 'only the changes that committed have events');
  });

  test('API keys: a mint and a deactivation are undone with their event', async () => {
    const before = await eventCount();
    await assert.rejects(keys(failing()).mint({ description: null, roles: ['CHAT-USER'] }), unavailable);
    assert.deepEqual(await h.db.selectFrom('api_keys').select('id').execute(), []);
    const { key } = await keys().mint({ description: null, roles: ['CHAT-USER'] });
    await assert.rejects(keys(failing()).deactivate(key.id), unavailable);
    assert.equal((await keys().get(key.id)).isActive, true);
    assert.equal(await eventCount(), before + 1);
  });

  test('clients: register, update, rotation and delete are undone with their event', async () => {
    const before = await eventCount();
    const metadata = { client_id: 'app', client_name: 'App', redirect_uris: ['https://app.example.test/cb'] };
    await assert.rejects(clients(failing()).register(metadata), unavailable);
    assert.deepEqual(await h.db.selectFrom('oauth_clients').select('client_id').execute(), []);
    await clients().register(metadata);
    const stored = await h.db.selectFrom('oauth_clients').selectAll().executeTakeFirstOrThrow();
    await assert.rejects(clients(failing()).update('app', { client_name: 'Renamed' }), unavailable);
    await assert.rejects(clients(failing()).rotateSecret('app'), unavailable);
    await assert.rejects(clients(failing()).remove('app'), unavailable);
    assert.deepEqual(await h.db.selectFrom('oauth_clients').selectAll().executeTakeFirstOrThrow(), stored);
    assert.equal(await eventCount(), before + 1);
  });

  test('the head moved only with the events that committed', async () => {
    const head = await createAuditReader(h.db).head();
    assert.equal(head.seq, await eventCount());
  });
});
