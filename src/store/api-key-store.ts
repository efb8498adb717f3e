import { sql, type Kysely, type Selectable } from 'kysely';
import type { Dialect } from './database.ts';
import { isAssignableRole } from '../domain/access.ts';
import type { ApiKey, ApiKeyStore } from '../domain/ports.ts';
import type { ApiKeysTable, Schema } from './schema.ts';

const COLUMNS = ['id', 'prefix', 'roles', 'description', 'is_active', 'created_at', 'deactivated_at'] as const;
type ApiKeyRow = Pick<Selectable<ApiKeysTable>, (typeof COLUMNS)[number]>;

function toApiKey(row: ApiKeyRow): ApiKey {
  const roles: unknown = JSON.parse(row.roles);
  return {
    id: row.id,
    prefix: row.prefix,
    description: row.description,
    roles: Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string').filter(isAssignableRole) : [],
    isActive: Number(row.is_active) === 1,
    createdAt: Number(row.created_at),
    deactivatedAt: row.deactivated_at === null ? null : Number(row.deactivated_at),
  };
}

export function createApiKeyStore(db: Kysely<Schema>, dialect: Dialect): ApiKeyStore {
  return {
    async insert(key, maxActive) {
      return db.transaction().execute(async (trx) => {
        // Count-then-insert must not interleave across replicas, or two mints could both pass the limit. SQLite
        // serialises writers already; PostgreSQL needs a lock (held until this transaction ends).
        if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext('gatehouse.api_keys.insert'))`.execute(trx);
        const { n } = await trx
          .selectFrom('api_keys')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('is_active', '=', 1)
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
          })
          .execute();
        return 'inserted' as const;
      });
    },

    async list() {
      const rows = await db.selectFrom('api_keys').select(COLUMNS).orderBy('created_at').orderBy('id').execute();
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

    async deactivate(id, at) {
      return db.transaction().execute(async (trx) => {
        const row = await trx.selectFrom('api_keys').select(COLUMNS).where('id', '=', id).executeTakeFirst();
        if (!row) return undefined;
        if (Number(row.is_active) === 1) {
          await trx.updateTable('api_keys').set({ is_active: 0, deactivated_at: at }).where('id', '=', id).execute();
          return toApiKey({ ...row, is_active: 0, deactivated_at: at });
        }
        return toApiKey(row);
      });
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
