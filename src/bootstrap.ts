import type { Kysely } from 'kysely';
import { ADMIN_KEY_MIN_LENGTH } from './config.ts';
import { ADMIN_ROLE } from './domain/access.ts';
import { createApiKeyService, type ApiKeyService } from './domain/api-keys.ts';
import { SYSTEM_ACTOR, type AuditDraft } from './domain/audit.ts';
import { systemClock } from './domain/ports.ts';
import { randomSecret, sha256Hex } from './security/secrets.ts';
import { createApiKeyStore } from './store/api-key-store.ts';
import type { AuditWriter } from './store/audit-store.ts';
import type { Database } from './store/database.ts';
import { createMetaStore } from './store/meta-store.ts';
import type { Schema } from './store/schema.ts';

const MINTED = 'bootstrap_key_minted_at';

/**
 * What `bootstrapAdminKey` prints on a database that is in use but that nobody can administer: no admin key is
 * configured, no API key that is active, unexpired and ORG-ADMIN exists, and no enabled user holds ORG-ADMIN. One
 * line; it never mints anything.
 */
export function noWayInMessage(hasUsers: boolean): string {
  const what = hasUsers ? 'users' : 'API keys';
  return (
    `Gatehouse: no way in: this database has ${what} but no active, unexpired ${ADMIN_ROLE} API key or enabled ${ADMIN_ROLE} user, and GATEHOUSE_ADMIN_KEY is not set. ` +
    `Mint one with \`gatehouse keys mint --role ${ADMIN_ROLE}\` on this database (the server may keep running), or set GATEHOUSE_ADMIN_KEY (${ADMIN_KEY_MIN_LENGTH}+ characters) and restart, then mint a key with POST /auth/api_keys.\n`
  );
}

async function hasAnyRow(db: Kysely<Schema>, table: 'users' | 'api_keys'): Promise<boolean> {
  return (await db.selectFrom(table).select('id').limit(1).executeTakeFirst()) !== undefined;
}

/** Whether an enabled user holds the administrator role, directly or through a group: they can sign in and mint keys. */
async function hasAdminUser(db: Kysely<Schema>): Promise<boolean> {
  const direct = await db
    .selectFrom('user_roles')
    .innerJoin('users', 'users.id', 'user_roles.user_id')
    .select('users.id')
    .where('user_roles.role', '=', ADMIN_ROLE)
    .where('users.enabled', '=', 1)
    .limit(1)
    .executeTakeFirst();
  if (direct) return true;
  const viaGroup = await db
    .selectFrom('group_roles')
    .innerJoin('group_members', 'group_members.group_id', 'group_roles.group_id')
    .innerJoin('users', 'users.id', 'group_members.user_id')
    .select('users.id')
    .where('group_roles.role', '=', ADMIN_ROLE)
    .where('users.enabled', '=', 1)
    .limit(1)
    .executeTakeFirst();
  return viaGroup !== undefined;
}

/** Whether some API key is active, unexpired at `now` and holds the administrator role. */
async function hasActiveAdminKey(db: Kysely<Schema>, now: number): Promise<boolean> {
  const rows = await db
    .selectFrom('api_keys')
    .select('roles')
    .where('is_active', '=', 1)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    // `roles` is a JSON array: LIKE narrows the rows down, the parse below decides.
    .where('roles', 'like', `%${JSON.stringify(ADMIN_ROLE)}%`)
    .execute();
  return rows.some((row) => {
    try {
      const roles: unknown = JSON.parse(row.roles);
      return Array.isArray(roles) && roles.includes(ADMIN_ROLE);
    } catch {
      return false;
    }
  });
}

/**
 * At start, when no admin key is configured (GATEHOUSE_ADMIN_KEY):
 * - on a NEW database — no users, no API keys, and no key ever minted here — mint one ORG-ADMIN API key and hand it
 *   to `print` (standard error), so a newcomer can call the API at once. It happens once per database, ever: a
 *   marker row records it, and the replica that loses the race to write the marker deactivates the key it minted;
 * - on a database in use that nobody can administer (no active, unexpired ORG-ADMIN key), mint nothing and `print`
 *   how to get in (`noWayInMessage`). A used database never gets a key it did not ask for.
 * Returns the secret when this call minted it.
 *
 * The mint is audited in the key insert's transaction: `api_key.minted` and `bootstrap` (what was done), both by
 * the system. A replica that lost the race records the `api_key.deactivated` of its own key. `audit`: the writer
 * for the store made here (the server's, so its listeners hear of it); the default writes without listeners.
 */
export async function bootstrapAdminKey(
  database: Database,
  opts: { adminKeyConfigured: boolean; maxApiKeys: number; print: (text: string) => void; apiKeys?: ApiKeyService; audit?: AuditWriter },
): Promise<string | null> {
  if (opts.adminKeyConfigured) return null;
  const { db } = database;
  const meta = createMetaStore(db);
  const minted = (await meta.get(MINTED)) !== undefined;
  const hasUsers = await hasAnyRow(db, 'users');
  const hasKeys = await hasAnyRow(db, 'api_keys');
  if (minted || hasUsers || hasKeys) {
    if (!(await hasActiveAdminKey(db, systemClock.now())) && !(await hasAdminUser(db))) opts.print(noWayInMessage(hasUsers));
    return null;
  }

  const store = createApiKeyStore(db, database.dialect, opts.audit);
  // The server hands in its own service; alone (tests), one is wired here with nothing cached to revoke.
  const service = opts.apiKeys ?? createApiKeyService({
    apiKeys: store,
    clock: systemClock,
    secrets: { randomSecret: () => randomSecret(32), digest: sha256Hex },
    maxActive: opts.maxApiKeys,
    revocations: { revoked: () => {} }, // no server is running yet, so nothing is cached
    adminKeyConfigured: false,
  });
  const bootstrapEvent = (key: { id: string; prefix: string }): AuditDraft[] => [
    {
      action: 'bootstrap',
      target: { type: 'api_key', id: key.id },
      actor: SYSTEM_ACTOR,
      details: {
        done: 'minted the first administrator API key on a fresh database',
        reason: 'no users, no API keys and no GATEHOUSE_ADMIN_KEY',
        api_key_id: key.id,
        prefix: key.prefix,
        roles: [ADMIN_ROLE],
      },
    },
  ];
  const { key, secret } = await service.mint({ description: 'bootstrap key (minted at first start)', roles: [ADMIN_ROLE] }, bootstrapEvent);
  if (!(await meta.setOnce(MINTED, new Date().toISOString()))) {
    // Another replica minted first (and its key is active): retire ours with the store's plain deactivation.
    await store.deactivate(key.id, systemClock.now(), (before) => [
      {
        action: 'api_key.deactivated',
        target: { type: 'api_key', id: key.id },
        actor: SYSTEM_ACTOR,
        details: { prefix: before.prefix, roles: before.roles, reason: 'another replica minted the bootstrap key first' },
      },
    ]);
    return null;
  }
  opts.print(
    [
      '',
      '==================================================================',
      ` Gatehouse: a fresh database, so here is an ${ADMIN_ROLE} API key.`,
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
