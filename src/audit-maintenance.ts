import type { Kysely } from 'kysely';
import type { ChainVerification } from './domain/audit-verification.ts';
import type { Clock } from './domain/ports.ts';
import { pruneAudit, recordExpiredKeys, type AuditWriter } from './store/audit-store.ts';
import type { Dialect } from './store/database.ts';

const KEY_SWEEP_MS = 60_000;
const VERIFY_EVERY_MS = 60_000;
const PRUNE_EVERY_MS = 3_600_000;
const DAY_MS = 86_400_000;

export interface AuditMaintenanceOptions {
  db: Kysely<any>;
  dialect: Dialect;
  writer: AuditWriter;
  clock: Clock;
  /** GATEHOUSE_AUDIT_RETENTION_DAYS; null keeps every event. */
  retentionDays: number | null;
  onError: (err: unknown, what: string) => void;
  /** The chain verification GET /audit/verification reports (the services' own). */
  verification: ChainVerification;
}

/**
 * The trail's background work, on every replica (each job is safe to run on several at once): once a minute,
 * record the API keys whose expiry has come, and verify the audit chain's new events (the whole chain at start and
 * daily: see src/domain/audit-verification.ts); once an hour (and at start), cut events older than the retention.
 * Timers do not keep the process alive; `stop` ends them.
 */
export function startAuditMaintenance(o: AuditMaintenanceOptions): { stop(): void } {
  const sweepKeys = () => recordExpiredKeys(o.db, o.writer, o.clock.now()).catch((err) => o.onError(err, 'could not record expired API keys'));
  const prune = () => {
    if (o.retentionDays === null) return;
    void pruneAudit(o.db, o.dialect, o.writer, o.clock.now() - o.retentionDays * DAY_MS).catch((err) => o.onError(err, 'could not apply the audit retention'));
  };
  const verify = () => void o.verification.run().catch((err) => o.onError(err, 'could not verify the audit chain'));
  void sweepKeys();
  prune();
  verify();
  const timers = [setInterval(() => void sweepKeys(), KEY_SWEEP_MS), setInterval(prune, PRUNE_EVERY_MS), setInterval(verify, VERIFY_EVERY_MS)];
  for (const t of timers) t.unref();
  return {
    stop() {
      for (const t of timers) clearInterval(t);
    },
  };
}
