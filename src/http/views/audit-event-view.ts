import type { AuditEvent } from '../../domain/audit.ts';

/** An audit event on the wire (GET /audit, the JSON Lines export): snake_case, ISO time, hashes included. */
export function auditEventView(e: AuditEvent) {
  return {
    seq: e.seq,
    at: new Date(e.at).toISOString(),
    actor: { kind: e.actor.kind, id: e.actor.id },
    action: e.action,
    target: e.targetType === null ? null : { type: e.targetType, id: e.targetId },
    outcome: e.outcome,
    request_id: e.requestId,
    client_ip: e.clientIp,
    user_agent: e.userAgent,
    details: e.details,
    prev_hash: e.prevHash,
    hash: e.hash,
  };
}
