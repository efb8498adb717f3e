import { ADMIN_ROLE } from './domain/access.ts';
import { createApiKeyService } from './domain/api-keys.ts';
import { systemClock } from './domain/ports.ts';
import { randomSecret, sha256Hex } from './security/secrets.ts';
import { createApiKeyStore } from './store/api-key-store.ts';
import type { Database } from './store/database.ts';
import { createMetaStore } from './store/meta-store.ts';

const MINTED = 'bootstrap_key_minted_at';

/**
 * On a fresh database with no admin key configured, mint one ORG-ADMIN API key and hand it to `print` (standard
 * error), so a newcomer can call the API at once. It happens once per database, ever: a marker row records it,
 * and the replica that loses the race to write the marker deactivates the key it minted.
 * Returns the secret when this call minted it.
 */
export async function bootstrapAdminKey(
  database: Database,
  opts: { adminKeyConfigured: boolean; maxApiKeys: number; print: (text: string) => void },
): Promise<string | null> {
  if (opts.adminKeyConfigured) return null;
  const meta = createMetaStore(database.db);
  const store = createApiKeyStore(database.db, database.dialect);
  if ((await meta.get(MINTED)) !== undefined || (await store.count()) > 0) return null;

  const service = createApiKeyService({
    apiKeys: store,
    clock: systemClock,
    secrets: { randomSecret: () => randomSecret(32), digest: sha256Hex },
    maxActive: opts.maxApiKeys,
    revocations: { revoked: () => {} }, // no server is running yet, so nothing is cached
  });
  const { key, secret } = await service.mint({ description: 'bootstrap key (minted at first start)', roles: [ADMIN_ROLE] });
  if (!(await meta.setOnce(MINTED, new Date().toISOString()))) {
    await service.deactivate(key.id);
    return null;
  }
  opts.print(
    [
      '',
      '==================================================================',
      ' Gatehouse: a fresh database, so here is an ORG-ADMIN API key.',
      ' It is shown this once and never again; store it somewhere safe:',
      '',
      `   ${secret}`,
      '',
      ` Use it as:  Authorization: Bearer <key>     (key id ${key.id})`,
      ' Mint your own keys with POST /auth/api_keys, then deactivate this',
      ' one with DELETE /auth/api_keys/deactivate/<id>.',
      '==================================================================',
      '',
    ].join('\n'),
  );
  return secret;
}
