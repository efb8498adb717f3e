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
     * Inserts `key` only if no key is active, under a lock on PostgreSQL: replicas starting together on a fresh
     * database end up with exactly one first key. True when this call inserted it.
     */
    async insertIfNoneActive(key: StoredSigningKey): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext('gatehouse.signing_keys'))`.execute(trx);
        const active = await trx.selectFrom('signing_keys').select('kid').where('retired_at', 'is', null).executeTakeFirst();
        if (active) return false;
        await trx.insertInto('signing_keys').values(row(key)).execute();
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
