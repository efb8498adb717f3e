import type { FastifyBaseLogger } from 'fastify';
import type { AuditEvent } from '../domain/audit.ts';
import type { AuditListener } from '../store/audit-store.ts';

/**
 * One structured log line per audit event: who, what, to whom, how it ended — so a log pipeline sees security
 * events without reading the database. Details stay in the trail (they may name people); the line carries the
 * event's sequence number to look them up. Failures log at warn, so they survive a quieter log level.
 */
export function auditLogLine(log: FastifyBaseLogger): AuditListener {
  return (e: AuditEvent) => {
    const line = {
      audit: {
        seq: e.seq,
        action: e.action,
        outcome: e.outcome,
        actor: e.actor.id === null ? e.actor.kind : `${e.actor.kind}:${e.actor.id}`,
        target: e.targetType === null ? null : `${e.targetType}:${e.targetId}`,
        ...(typeof e.details.reason === 'string' ? { reason: e.details.reason } : {}),
      },
      reqId: e.requestId ?? undefined,
    };
    if (e.outcome === 'failure') log.warn(line, `audit ${e.action} failed`);
    else log.info(line, `audit ${e.action}`);
  };
}
