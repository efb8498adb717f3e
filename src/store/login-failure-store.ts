import { sql, type Kysely } from 'kysely';
import type { LoginFailureStore } from '../domain/ports.ts';
import type { Schema } from './schema.ts';
import { createAuditWriter, type AuditWriter } from './audit-store.ts';
import type { Dialect } from './database.ts';

/**
 * Failed-login counters in the database, so every replica sees the same count and lock. One upsert per failure:
 * a fixed window that restarts when it has passed, and a lock set by the failure that reaches the threshold.
 */
export function createLoginFailureStore(db: Kysely<Schema>, dialect: Dialect, audit: AuditWriter = createAuditWriter(dialect)): LoginFailureStore {
  let failuresSincePrune = 0;

  return {
    async state(username, now) {
      const row = await db
        .selectFrom('login_failures')
        .select(['failures', 'locked_until', 'window_started_at'])
        .where('username', '=', username)
        .executeTakeFirst();
      if (!row) return { lockedUntil: null, failures: 0 };
      const lockedUntil = row.locked_until === null ? null : Number(row.locked_until);
      return { lockedUntil: lockedUntil !== null && lockedUntil > now ? lockedUntil : null, failures: Number(row.failures) };
    },

    async recordFailure(username, now, { threshold, windowMs, lockMs }, events) {
      const windowOver = sql<boolean>`login_failures.window_started_at <= ${now - windowMs}`;
      const counted = sql<number>`case when ${windowOver} then 1 else login_failures.failures + 1 end`;
      await db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto('login_failures')
          .values({
            username,
            failures: 1,
            window_started_at: now,
            locked_until: threshold <= 1 ? now + lockMs : null,
          })
          .onConflict((oc) =>
            oc.column('username').doUpdateSet({
              failures: counted,
              window_started_at: sql`case when ${windowOver} then ${now} else login_failures.window_started_at end`,
              // A running lock is never extended (or the owner could be kept out for ever by anyone knowing the email).
              locked_until: sql`case
                when login_failures.locked_until > ${now} then login_failures.locked_until
                when ${counted} >= ${threshold} then ${now + lockMs}
                else login_failures.locked_until end`,
            }),
          )
          .returning('locked_until')
          .executeTakeFirst();
        // This failure set the lock exactly when the lock ends lockMs from now (a running lock is never moved).
        const lockedNow = row?.locked_until !== null && row?.locked_until !== undefined && Number(row.locked_until) === now + lockMs;
        await audit.append(trx, events?.(lockedNow));
      });
      // Counters for names nobody is guessing any more are dead weight; sweep them now and then.
      if (++failuresSincePrune >= 1000) {
        failuresSincePrune = 0;
        await db
          .deleteFrom('login_failures')
          .where('window_started_at', '<', now - windowMs)
          .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
          .execute();
      }
    },

    async clear(username, events) {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('login_failures').where('username', '=', username).execute();
        await audit.append(trx, events);
      });
    },
  };
}
