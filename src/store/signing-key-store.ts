import { sql, type Kysely } from 'kysely';
import type { Dialect } from './database.ts';
import type { Schema } from './schema.ts';

export interface StoredSigningKey {
  kid: string;
  alg: string;
  publicJwk: string;
  privateJwk: string;
  createdAt: number;
  retiredAt: number | null;
}

/** Token signing keys live in the database so every replica signs and verifies with the same keys. */
export function createSigningKeyStore(db: Kysely<Schema>, dialect: Dialect) {
  const row = (key: StoredSigningKey) => ({
    kid: key.kid,
    alg: key.alg,
    public_jwk: key.publicJwk,
    private_jwk: key.privateJwk,
    created_at: key.createdAt,
    retired_at: key.retiredAt,
  });

  return {
    /**
     * Makes `key` the signing key unless an active key of its algorithm exists already, retiring every other key
     * (they stay published until their tokens expire). Under a lock on PostgreSQL: replicas starting together on a
     * fresh database, or after GATEHOUSE_SIGNING_ALG changed, end up with exactly one new key. True when inserted.
     */
    async ensureActive(key: StoredSigningKey): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext('gatehouse.signing_keys'))`.execute(trx);
        const active = await trx
          .selectFrom('signing_keys')
          .select('kid')
          .where('retired_at', 'is', null)
          .where('alg', '=', key.alg)
          .executeTakeFirst();
        if (active) return false;
        await trx.insertInto('signing_keys').values(row(key)).execute();
        await trx.updateTable('signing_keys').set({ retired_at: key.createdAt }).where('kid', '!=', key.kid).where('retired_at', 'is', null).execute();
        return true;
      });
    },

    async list(): Promise<StoredSigningKey[]> {
      const rows = await db.selectFrom('signing_keys').selectAll().orderBy('created_at').orderBy('kid').execute();
      return rows.map((r) => ({
        kid: r.kid,
        alg: r.alg,
        publicJwk: r.public_jwk,
        privateJwk: r.private_jwk,
        createdAt: Number(r.created_at),
        retiredAt: r.retired_at === null ? null : Number(r.retired_at),
      }));
    },

    async insert(key: StoredSigningKey): Promise<void> {
      await db.insertInto('signing_keys').values(row(key)).execute();
    },

    /** Retires every active key except `kid`. */
    async retireAllBut(kid: string, at: number): Promise<void> {
      await db.updateTable('signing_keys').set({ retired_at: at }).where('kid', '!=', kid).where('retired_at', 'is', null).execute();
    },
  };
}

export type SigningKeyStore = ReturnType<typeof createSigningKeyStore>;
