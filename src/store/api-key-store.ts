import { sql, type ExpressionBuilder, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Dialect } from './database.ts';
import { isAssignableRole, type AssignableRole } from '../domain/access.ts';
import type { AuditDraft } from '../domain/audit.ts';
import type { ApiKey, ApiKeyStore } from '../domain/ports.ts';
import { createAuditWriter, type AuditWriter } from './audit-store.ts';
import type { ApiKeysTable, Schema } from './schema.ts';

const COLUMNS = ['id', 'prefix', 'roles', 'description', 'is_active', 'created_at', 'deactivated_at', 'expires_at', 'last_used_at'] as const;
type ApiKeyRow = Pick<Selectable<ApiKeysTable>, (typeof COLUMNS)[number]>;

function rolesOf(text: string): AssignableRole[] {
  const roles: unknown = JSON.parse(text);
  return Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string').filter(isAssignableRole) : [];
}

function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    prefix: row.prefix,
    description: row.description,
    roles: rolesOf(row.roles),
    isActive: Number(row.is_active) === 1,
    createdAt: Number(row.created_at),
    deactivatedAt: row.deactivated_at === null ? null : Number(row.deactivated_at),
    // Absent rather than null when unset (ports.ts): "never expires", "never used".
    ...(row.expires_at === null ? {} : { expiresAt: Number(row.expires_at) }),
    ...(row.last_used_at === null ? {} : { lastUsedAt: Number(row.last_used_at) }),
  };
}

/** Not deactivated, and not expired at `now`. */
const liveAt = (now: number) => (eb: ExpressionBuilder<Schema, 'api_keys'>) =>
  eb.and([eb('is_active', '=', 1), eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])]);

/**
 * Mutating methods write their audit events (`audit`) in the change's own transaction, and only when something
 * changed: nothing when the limit is reached, the key is unknown, already inactive, or the last holder.
 */
export function createApiKeyStore(db: Kysely<Schema>, dialect: Dialect, audit: AuditWriter = createAuditWriter(dialect)): ApiKeyStore {
  /** Deactivates the key (read in this transaction) unless it already is inactive: that is no change, and no event. */
  async function deactivateIn(trx: Transaction<Schema>, row: ApiKeyRow, at: number, events: ((before: ApiKey) => AuditDraft[]) | undefined): Promise<ApiKey> {
    if (Number(row.is_active) !== 1) return toApiKey(row);
    // `is_active = 1` again: of two concurrent deactivations (SQLite aside), only the one that changes the row records it.
    const result = await trx.updateTable('api_keys').set({ is_active: 0, deactivated_at: at }).where('id', '=', row.id).where('is_active', '=', 1).executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) {
      const current = await trx.selectFrom('api_keys').select(COLUMNS).where('id', '=', row.id).executeTakeFirstOrThrow();
      return toApiKey(current);
    }
    await audit.append(trx, events?.(toApiKey(row)));
    return toApiKey({ ...row, is_active: 0, deactivated_at: at });
  }

  return {
    async insert(key, maxActive, events) {
      return db.transaction().execute(async (trx) => {
        // Count-then-insert must not interleave across replicas, or two mints could both pass the limit. SQLite
        // serialises writers already; PostgreSQL needs a lock (held until this transaction ends).
        if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext('gatehouse.api_keys.insert'))`.execute(trx);
        // Expired keys authenticate nothing, so they take no slot.
        const { n } = await trx
          .selectFrom('api_keys')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where(liveAt(key.createdAt))
          .executeTakeFirstOrThrow();
        if (Number(n) >= maxActive) return 'limit_reached' as const;
        await trx
          .insertInto('api_keys')
          .values({
            id: key.id,
            prefix: key.prefix,
            secret_hash: key.secretHash,
            roles: JSON.stringify(key.roles),
            description: key.description,
            is_active: 1,
            created_at: key.createdAt,
            deactivated_at: null,
            expires_at: key.expiresAt ?? null,
            last_used_at: null,
          })
          .execute();
        await audit.append(trx, events);
        return 'inserted' as const;
      });
    },

    async list() {
      const rows = await db.selectFrom('api_keys').select(COLUMNS).orderBy('created_at').orderBy('id').execute();
      return rows.map(toApiKey);
    },

    async listPage(after, limit) {
      let query = db.selectFrom('api_keys').select(COLUMNS);
      if (after) {
        query = query.where((eb) =>
          eb.or([eb('created_at', '>', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '>', after.id)])]),
        );
      }
      const rows = await query.orderBy('created_at').orderBy('id').limit(limit).execute();
      return rows.map(toApiKey);
    },

    async findById(id) {
      const row = await db.selectFrom('api_keys').select(COLUMNS).where('id', '=', id).executeTakeFirst();
      return row && toApiKey(row);
    },

    async findActiveBySecretHash(secretHash) {
      const row = await db
        .selectFrom('api_keys')
        .select(COLUMNS)
        .where('secret_hash', '=', secretHash)
        .where('is_active', '=', 1)
        .executeTakeFirst();
      return row && toApiKey(row);
    },

    async deactivate(id, at, events) {
      return db.transaction().execute(async (trx) => {
        const row = await trx.selectFrom('api_keys').select(COLUMNS).where('id', '=', id).executeTakeFirst();
        return row && deactivateIn(trx, row, at, events);
      });
    },

    async deactivateUnlessLastHolder(id, at, role, events) {
      return db.transaction().execute(async (trx) => {
        // Check-then-deactivate must not interleave, or two calls could each see the other's key as the remaining
        // holder. SQLite runs one transaction at a time per connection, and a transaction whose reads another process's
        // write made stale cannot commit a write (SQLITE_BUSY); PostgreSQL needs a lock (held until commit).
        if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext('gatehouse.api_keys.deactivate'))`.execute(trx);
        const row = await trx.selectFrom('api_keys').select(COLUMNS).where('id', '=', id).executeTakeFirst();
        if (!row) return undefined;
        const live = Number(row.is_active) === 1 && (row.expires_at === null || Number(row.expires_at) > at);
        if (live && rolesOf(row.roles).includes(role)) {
          // At most GATEHOUSE_MAX_API_KEYS rows; roles are JSON text, read here rather than matched in SQL.
          const others = await trx.selectFrom('api_keys').select('roles').where(liveAt(at)).where('id', '!=', id).execute();
          if (!others.some((other) => rolesOf(other.roles).includes(role))) return 'last_holder' as const;
        }
        return deactivateIn(trx, row, at, events);
      });
    },

    async recordUse(id, at) {
      await db
        .updateTable('api_keys')
        .set({ last_used_at: at })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
        .execute();
    },

    async count() {
      const { n } = await db
        .selectFrom('api_keys')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(n);
    },
  };
}
