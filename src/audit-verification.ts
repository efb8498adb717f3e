import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { AuditEvent } from './domain/audit.ts';
import { createChainVerification, type ChainReader, type ChainVerification } from './domain/audit-verification.ts';
import { systemClock, type Clock } from './domain/ports.ts';
import { createAuditReader, toEvent } from './store/audit-store.ts';

/** The whole chain is walked again this often (and at start); in between, only new events. */
export const FULL_VERIFICATION_EVERY_MS = 86_400_000;

/**
 * Small batches, each followed by a turn of the event loop: on SQLite a query runs synchronously on the one
 * connection, so a full walk must leave room between batches for the requests being served meanwhile.
 */
const BATCH = 500;

/**
 * Reads the chain in batches, each its own statement, never one long transaction: on SQLite that would hold the
 * only connection (every request would wait for the walk), on PostgreSQL a pool connection and an old snapshot.
 * Reading without a snapshot is sound because events are only appended, in sequence order, with the head.
 */
export function chainReader(db: Kysely<any>): ChainReader {
  const audit = createAuditReader(db);
  return {
    head: () => audit.head(),
    async *events(after: number, through: number): AsyncGenerator<AuditEvent> {
      let from = after;
      while (from < through) {
        const rows = await db.selectFrom('audit_events').selectAll().where('seq', '>', from).where('seq', '<=', through).orderBy('seq').limit(BATCH).execute();
        for (const r of rows) yield toEvent(r as Parameters<typeof toEvent>[0]);
        if (rows.length < BATCH) return;
        from = Number((rows.at(-1) as { seq: number | string }).seq);
        await nextTurn();
      }
    },
  };
}

// One verification per database per process: the background job (src/audit-maintenance.ts) runs it, and
// GET /audit/verification reads it; both find it by the database they were given.
const verifications = new WeakMap<Kysely<any>, ChainVerification>();

export function auditVerificationFor(db: Kysely<any>, clock: Clock = systemClock): ChainVerification {
  let v = verifications.get(db);
  if (!v) {
    v = createChainVerification({ reader: chainReader(db), clock, fullEveryMs: FULL_VERIFICATION_EVERY_MS });
    verifications.set(db, v);
  }
  return v;
}
