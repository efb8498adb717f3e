import type { Kysely } from 'kysely';
import type { Schema } from './schema.ts';

/** Small key/value facts about the installation itself (e.g. that the bootstrap key was minted). */
export function createMetaStore(db: Kysely<Schema>) {
  return {
    async get(key: string): Promise<string | undefined> {
      const row = await db.selectFrom('gatehouse_meta').select('value').where('key', '=', key).executeTakeFirst();
      return row?.value;
    },
    /** Sets the value only if the key is absent; true when this call set it (so only one replica wins). */
    async setOnce(key: string, value: string): Promise<boolean> {
      const result = await db
        .insertInto('gatehouse_meta')
        .values({ key, value })
        .onConflict((oc) => oc.column('key').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    },
  };
}

export type MetaStore = ReturnType<typeof createMetaStore>;
