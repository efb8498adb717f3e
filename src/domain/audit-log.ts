import { AUDIT_ACTIONS, type AuditDraft, type AuditEvent, type Outcome } from './audit.ts';
import { valueError, ValidationError } from './errors.ts';
import { decodeCursor, encodeCursor, type Page } from './paging.ts';

/**
 * Records events that describe no stored change of their own (a sign-in refused for an expired temporary
 * password): each call is one transaction holding just the events. Events of a change are written by the store
 * that makes it, in that change's transaction, instead.
 */
export interface AuditLog {
  record(drafts: AuditDraft[]): Promise<void>;
}

export interface AuditFilters {
  /** Events by this id or about it (a user's own trail). */
  involving?: string | undefined;
  actorId?: string | undefined;
  targetId?: string | undefined;
  action?: string | undefined;
  outcome?: Outcome | undefined;
  /** Epoch ms, inclusive. */
  from?: number | undefined;
  /** Epoch ms, exclusive. */
  to?: number | undefined;
  /** Only events with a smaller sequence number (where the previous page ended). */
  before?: number | undefined;
}

/** Reading the trail, newest first. */
export interface AuditEventSource {
  page(filters: AuditFilters, limit: number): Promise<AuditEvent[]>;
  /** A time window's events after a sequence number, oldest first, in batches. */
  range(window: { from?: number | undefined; to?: number | undefined; after?: number | undefined }): AsyncIterable<AuditEvent[]>;
}

export interface AuditQuery {
  involving?: string | undefined;
  actorId?: string | undefined;
  targetId?: string | undefined;
  action?: string | undefined;
  outcome?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  pageSize: number;
  cursor?: string | undefined;
}

function instant(field: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms)) throw new ValidationError([valueError([field], value, 'an ISO 8601 date and time, e.g. 2026-11-29T08:00:00Z')]);
  return ms;
}

/** GET /audit and GET /users/{id}/audit: filters checked, pages newest first, a cursor to the next. */
export function createAuditTrail(source: AuditEventSource) {
  return {
    async page(q: AuditQuery): Promise<Page<AuditEvent>> {
      if (q.action !== undefined && !(AUDIT_ACTIONS as readonly string[]).includes(q.action)) {
        throw new ValidationError([valueError(['action'], q.action, `one of ${AUDIT_ACTIONS.join(', ')}`)]);
      }
      if (q.outcome !== undefined && q.outcome !== 'success' && q.outcome !== 'failure') {
        throw new ValidationError([valueError(['outcome'], q.outcome, 'success or failure')]);
      }
      const from = instant('from', q.from);
      const to = instant('to', q.to);
      if (from !== undefined && to !== undefined && to <= from) throw new ValidationError([valueError(['to'], q.to, 'must be after `from`')]);
      const position = decodeCursor(q.cursor, /^\d{1,16}$/);
      const found = await source.page(
        { involving: q.involving, actorId: q.actorId, targetId: q.targetId, action: q.action, outcome: q.outcome as Outcome | undefined, from, to, before: position === null ? undefined : Number(position) },
        q.pageSize + 1,
      );
      const items = found.slice(0, q.pageSize);
      const last = items.at(-1);
      return { items, next: found.length > q.pageSize && last ? encodeCursor(String(last.seq)) : null };
    },

    /**
     * The JSON Lines export for a SIEM, oldest first: a time window, and `after` (the last sequence number already
     * collected) for pulling only what is new. Checked before the first line is sent, so bad input is a 422.
     */
    export(q: { from?: string | undefined; to?: string | undefined; after?: number | undefined }): AsyncIterable<AuditEvent[]> {
      const from = instant('from', q.from);
      const to = instant('to', q.to);
      if (from !== undefined && to !== undefined && to <= from) throw new ValidationError([valueError(['to'], q.to, 'must be after `from`')]);
      return source.range({ from, to, after: q.after });
    },
  };
}

export type AuditTrail = ReturnType<typeof createAuditTrail>;
