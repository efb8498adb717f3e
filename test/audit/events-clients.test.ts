import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { verifyChain, type AuditEvent } from '../../src/domain/audit.ts';
import { createOAuthClientService } from '../../src/domain/oauth-clients.ts';
import { systemClock } from '../../src/domain/ports.ts';
import { constantTimeEqual, randomSecret, sha256Hex } from '../../src/security/secrets.ts';
import { createAuditReader } from '../../src/store/audit-store.ts';
import { createOAuthClientStore } from '../../src/store/oauth-client-store.ts';
import { forEachDialect } from '../store/dialects.ts';
import { events, written, refusedSilently, onlyEvent } from './event-helpers.ts';

// The audit events of the client registry, at the service level on each dialect: registering, updating, rotating
// the secret and deleting each write one event in the change's transaction; a refused change (taken id, missing
// client, a public client's rotation) or no change writes none; no event holds a secret or its hash.

const only = (list: AuditEvent[], action: string, targetId: string) => onlyEvent(list, action, 'client', targetId);

const REDIRECT = 'https://app.example.test/callback';
const IMPORTED = 'imported-secret-from-keycloak-0123456789abcdef';

forEachDialect('audit events of OAuth clients', (h) => {
  const secretsSeen: string[] = [IMPORTED];
  const service = () =>
    createOAuthClientService({
      clients: createOAuthClientStore(h.db, h.dialect),
      clock: systemClock,
      secrets: {
        randomSecret: () => randomSecret(32),
        digest: (s: string) => {
          const d = sha256Hex(s);
          if (s !== '') secretsSeen.push(s, d);
          return d;
        },
        equal: constantTimeEqual,
      },
      newClientId: () => randomUUID(),
    });

  test('client.registered: the metadata and where the secret came from, never the secret', async () => {
    let secret: string | null = null;
    const confidential = await written(h, async () => {
      ({ secret } = await service().register({ client_id: 'wiki', client_name: 'Wiki', redirect_uris: [REDIRECT] }));
    });
    assert.ok(secret);
    assert.deepEqual(only(confidential, 'client.registered', 'wiki').details, {
      client_name: 'Wiki',
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: [REDIRECT],
      post_logout_redirect_uris: [],
      grant_types: ['authorization_code', 'refresh_token'],
      credential: 'generated',
    });

    const imported = await written(h, () => service().register({ client_id: 'crm', client_secret: IMPORTED, redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_post' }));
    assert.equal(only(imported, 'client.registered', 'crm').details.credential, 'imported');

    const pub = await written(h, () => service().register({ client_id: 'spa', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }));
    assert.equal(only(pub, 'client.registered', 'spa').details.credential, 'none');
  });

  test('a taken client id, or bad metadata, writes nothing', async () => {
    await refusedSilently(h, () => service().register({ client_id: 'wiki', redirect_uris: [REDIRECT] }), /exists/i);
    await refusedSilently(h, () => service().register({ client_id: 'bad', redirect_uris: ['javascript:alert(1)'] }), /scheme/i);
  });

  test('client.updated: the names of the fields that changed; no change, no event', async () => {
    const list = await written(h, () => service().update('wiki', { client_name: 'The wiki', redirect_uris: [REDIRECT, `${REDIRECT}2`], grant_types: ['authorization_code', 'refresh_token'] }));
    assert.deepEqual(only(list, 'client.updated', 'wiki').details, { fields: ['client_name', 'redirect_uris'] });
    assert.deepEqual(await written(h, () => service().update('wiki', { client_name: 'The wiki' })), [], 'the same value again is no change');
    await refusedSilently(h, () => service().update('no-such-client', { client_name: 'x' }), /not found/i);
  });

  test('a public client made confidential: client.updated names client_secret, without the secret issued', async () => {
    let secret: string | null = null;
    const list = await written(h, async () => {
      ({ secret } = await service().update('spa', { token_endpoint_auth_method: 'client_secret_basic' }));
    });
    assert.ok(secret);
    assert.deepEqual(only(list, 'client.updated', 'spa').details, { fields: ['token_endpoint_auth_method', 'client_secret'] });
    const back = await written(h, () => service().update('spa', { token_endpoint_auth_method: 'none' }));
    assert.deepEqual(only(back, 'client.updated', 'spa').details, { fields: ['token_endpoint_auth_method', 'client_secret'] });
  });

  test('client.secret_rotated, without the secret; a public or missing client writes nothing', async () => {
    const list = await written(h, () => service().rotateSecret('wiki'));
    assert.deepEqual(only(list, 'client.secret_rotated', 'wiki').details, {});
    await refusedSilently(h, () => service().rotateSecret('spa'), /public client/i);
    await refusedSilently(h, () => service().rotateSecret('no-such-client'), /not found/i);
  });

  test('client.deleted: its name and how many users lost their grants; a missing client writes nothing', async () => {
    // One user signed in to the wiki: deleting the client revokes their grant.
    const now = Date.now();
    const userId = '0190a000-0000-7000-8000-000000000001';
    await h.db.insertInto('users').values({ id: userId, email: 'u@example.test', first_name: null, last_name: null, search_text: 'u@example.test', password_hash: 'x', password_temporary: 0, password_set_at: now, created_at: now, updated_at: now }).execute();
    await h.db.insertInto('login_sessions').values({ id: 'session-1', user_id: userId, cookie_hash: null, token_version: 0, auth_time: now, created_at: now, expires_at: now + 3_600_000, ended_at: null, last_used_at: null, client_ip: null, user_agent: null }).execute();
    await h.db.insertInto('grants').values({ id: 'grant-1', session_id: 'session-1', user_id: userId, client_id: 'wiki', scope: 'openid', created_at: now, revoked_at: null }).execute();

    const list = await written(h, () => service().remove('wiki'));
    assert.deepEqual(only(list, 'client.deleted', 'wiki').details, { client_name: 'The wiki', users_signed_out: 1 });
    await refusedSilently(h, () => service().remove('wiki'), /not found/i);
  });

  test('no secret or hash anywhere in the trail, and the chain verifies', async () => {
    const all = await events(h);
    assert.deepEqual(all.map((e) => e.action), [
      'client.registered',
      'client.registered',
      'client.registered',
      'client.updated',
      'client.updated',
      'client.updated',
      'client.secret_rotated',
      'client.deleted',
    ]);
    const text = JSON.stringify(all);
    assert.ok(secretsSeen.length >= 6);
    for (const s of secretsSeen) assert.ok(!text.includes(s), 'a secret or its hash is in the trail');
    const result = await verifyChain(createAuditReader(h.db).inOrder(), {});
    assert.ok(result.ok, JSON.stringify(result.problem));
    assert.equal(result.checked, all.length);
  });
});
