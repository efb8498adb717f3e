import { sql, type Kysely } from 'kysely';
import {
  chainHash,
  NO_REQUEST,
  type Actor,
  type ActorKind,
  type AuditAction,
  type AuditDraft,
  type AuditEvent,
  type Outcome,
  type RequestMeta,
} from '../domain/audit.ts';
import type { AuditFilters, AuditLog } from '../domain/audit-log.ts';
import type { Dialect } from './database.ts';

interface EventRow {
  seq: number | string;
  at: number | string;
  actor_kind: string;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  outcome: string;
  request_id: string | null;
  client_ip: string | null;
  user_agent: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

export function toEvent(r: EventRow): AuditEvent {
  return {
    seq: Number(r.seq),
    at: Number(r.at),
    actor: { kind: r.actor_kind as ActorKind, id: r.actor_id },
    action: r.action as AuditAction,
    targetType: r.target_type,
    targetId: r.target_id,
    outcome: r.outcome as Outcome,
    requestId: r.request_id,
    clientIp: r.client_ip,
    userAgent: r.user_agent,
    details: JSON.parse(r.details) as Record<string, unknown>,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** Called with each event once its transaction is about to commit: the structured log line and the metrics. */
export type AuditListener = (event: AuditEvent) => void;

export interface AuditWriterOptions {
  /** The current request's actor and origin (the HTTP layer keeps them per request). */
  requestMeta?: () => RequestMeta;
  clock?: () => number;
  listeners?: AuditListener[];
}

/**
 * Appends events to the chain inside the caller's transaction, so an event commits exactly when its change does.
 * The head row is locked (`for update` on PostgreSQL; SQLite has one writer at a time) for the rest of that
 * transaction: concurrent writers, on any replica, queue there and each extends the chain the last one left.
 */
export function createAuditWriter(dialect: Dialect, options: AuditWriterOptions = {}) {
  const meta = options.requestMeta ?? (() => NO_REQUEST);
  const now = options.clock ?? Date.now;
  const listeners = options.listeners ?? [];
  return {
    async append(trx: Kysely<any>, drafts: AuditDraft | AuditDraft[] | undefined): Promise<AuditEvent[]> {
      const list = drafts === undefined ? [] : Array.isArray(drafts) ? drafts : [drafts];
      if (list.length === 0) return [];
      const lock = dialect === 'postgres' ? sql`for update` : sql``;
      const { rows: [current] } = await sql<{ seq: number | string; hash: string; at: number | string }>`select seq, hash, at from audit_head where id = 1 ${lock}`.execute(trx);
      let seq = Number(current!.seq);
      let prev = current!.hash;
      // Never before the previous event, whatever this replica's clock says: times follow the chain's order.
      const at = Math.max(now(), Number(current!.at));
      const request = meta();
      const events: AuditEvent[] = [];
      for (const d of list) {
        seq += 1;
        const actor: Actor = d.actor ?? request.actor;
        const body = {
          seq,
          at,
          actor,
          action: d.action,
          targetType: d.target?.type ?? null,
          targetId: d.target?.id ?? null,
          outcome: d.outcome ?? 'success',
          requestId: request.requestId,
          clientIp: request.clientIp,
          userAgent: request.userAgent,
          details: d.details ?? {},
        } satisfies Omit<AuditEvent, 'hash' | 'prevHash'>;
        const hash = chainHash(prev, body);
        events.push({ ...body, prevHash: prev, hash });
        prev = hash;
      }
      const rows = events.map((e) => ({
        seq: e.seq,
        at: e.at,
        actor_kind: e.actor.kind,
        actor_id: e.actor.id,
        action: e.action,
        target_type: e.targetType,
        target_id: e.targetId,
        outcome: e.outcome,
        request_id: e.requestId,
        client_ip: e.clientIp,
        user_agent: e.userAgent,
        details: JSON.stringify(e.details),
        prev_hash: e.prevHash,
        hash: e.hash,
      }));
      const head = { seq, hash: prev, at };
      if (dialect === 'postgres') {
        // One round trip for the events and the head: every statement held under the head lock costs the other
        // replicas' writers their wait, and a login's CPU its share (bench: audited writes on three replicas).
        await trx.with('appended', (q) => q.insertInto('audit_events').values(rows)).updateTable('audit_head').set(head).where('id', '=', 1).execute();
      } else {
        await trx.insertInto('audit_events').values(rows).execute();
        await trx.updateTable('audit_head').set(head).where('id', '=', 1).execute();
      }
      for (const e of events) for (const l of listeners) l(e);
      return events;
    },
  };
}

export type AuditWriter = ReturnType<typeof createAuditWriter>;

/** Reading the trail: pages newest first, every event in order for verification, the head and anchor. */
export function createAuditReader(db: Kysely<any>) {
  return {
    page,
    inOrder,
    range,
    head,
  };

  async function page(filters: AuditFilters, limit: number): Promise<AuditEvent[]> {
    if (filters.involving !== undefined) {
      // A user's trail: what they did and what was done to them. Two indexed backward scans, each stopping at a
      // page, merged — an OR would make the database walk every event newer than the user's last one.
      const { involving, ...rest } = filters;
      const [asActor, asTarget] = await Promise.all([
        page({ ...rest, actorId: involving }, limit),
        page({ ...rest, targetId: involving }, limit),
      ]);
      const bySeq = new Map([...asActor, ...asTarget].map((e) => [e.seq, e]));
      return [...bySeq.values()].sort((a, b) => b.seq - a.seq).slice(0, limit);
    }
    let q = db.selectFrom('audit_events').selectAll();
    if (filters.actorId !== undefined) q = q.where('actor_id', '=', filters.actorId);
    if (filters.targetId !== undefined) q = q.where('target_id', '=', filters.targetId);
    if (filters.action !== undefined) q = q.where('action', '=', filters.action);
    if (filters.outcome !== undefined) q = q.where('outcome', '=', filters.outcome);
    // Event times never decrease along the chain, so a time range is a range of sequence numbers: found through
    // the time index, then every other filter reads its own index backwards within it.
    if (filters.from !== undefined) {
      const first = await db.selectFrom('audit_events').select('seq').where('at', '>=', filters.from).orderBy('at').orderBy('seq').limit(1).executeTakeFirst();
      if (!first) return [];
      q = q.where('seq', '>=', first.seq);
    }
    if (filters.to !== undefined) {
      const last = await db.selectFrom('audit_events').select('seq').where('at', '<', filters.to).orderBy('at', 'desc').orderBy('seq', 'desc').limit(1).executeTakeFirst();
      if (!last) return [];
      q = q.where('seq', '<=', last.seq);
    }
    if (filters.before !== undefined) q = q.where('seq', '<', filters.before);
    const rows = (await q.orderBy('seq', 'desc').limit(limit).execute()) as EventRow[];
    return rows.map(toEvent);
  }

  /**
   * The events of a time window (`at` ≥ from, < to) after sequence number `after`, in sequence order, in batches:
   * what an export streams. Memory stays at one batch however long the trail.
   */
  async function* range(window: { from?: number | undefined; to?: number | undefined; after?: number | undefined }, batch = 2000): AsyncGenerator<AuditEvent[]> {
    let after = window.after ?? 0;
    for (;;) {
      let q = db.selectFrom('audit_events').selectAll().where('seq', '>', after);
      if (window.from !== undefined) q = q.where('at', '>=', window.from);
      if (window.to !== undefined) q = q.where('at', '<', window.to);
      const rows = (await q.orderBy('seq').limit(batch).execute()) as EventRow[];
      if (rows.length > 0) yield rows.map(toEvent);
      if (rows.length < batch) return;
      after = Number(rows.at(-1)!.seq);
    }
  }

  /** Every event from `after` on, in sequence order, read in batches. */
  async function* inOrder(after = 0, batch = 5000): AsyncGenerator<AuditEvent> {
    let from = after;
    for (;;) {
      const rows = (await db.selectFrom('audit_events').selectAll().where('seq', '>', from).orderBy('seq').limit(batch).execute()) as EventRow[];
      for (const r of rows) yield toEvent(r);
      if (rows.length < batch) return;
      from = Number(rows.at(-1)!.seq);
    }
  }

  async function head(): Promise<{ seq: number; hash: string; anchor: { seq: number; hash: string } }> {
    const r = (await db.selectFrom('audit_head').selectAll().where('id', '=', 1).executeTakeFirstOrThrow()) as {
      seq: number | string;
      hash: string;
      anchor_seq: number | string;
      anchor_hash: string;
    };
    return { seq: Number(r.seq), hash: r.hash, anchor: { seq: Number(r.anchor_seq), hash: r.anchor_hash } };
  }
}

export type AuditReader = ReturnType<typeof createAuditReader>;

/** Events on their own, each call in a transaction of its own (see AuditLog). */
export function createAuditLog(db: Kysely<any>, writer: AuditWriter): AuditLog {
  return {
    async record(drafts) {
      await db.transaction().execute((trx) => writer.append(trx, drafts));
    },
  };
}

/**
 * Retention: removes the events older than `cutoff` (epoch ms) from the front of the chain, in one transaction
 * with the `audit.pruned` event that records the cut. The head keeps the last removed event's sequence number
 * and hash as the anchor, so the rest still verifies from there. Returns how many events went.
 */
export async function pruneAudit(db: Kysely<any>, dialect: Dialect, writer: AuditWriter, cutoff: number): Promise<number> {
  return db.transaction().execute(async (trx) => {
    // Serialise with appenders first (SQLite has a single writer anyway).
    if (dialect === 'postgres') await sql`select seq from audit_head where id = 1 for update`.execute(trx);
    const { rows } = await sql<{ seq: number | string; hash: string }>`select seq, hash from audit_events
      where seq = (select max(seq) from audit_events where at < ${cutoff})`.execute(trx);
    const cut = rows[0];
    if (!cut) return 0;
    const removed = await trx.deleteFrom('audit_events').where('seq', '<=', cut.seq).executeTakeFirst();
    const count = Number(removed.numDeletedRows);
    await sql`update audit_head set anchor_seq = ${cut.seq}, anchor_hash = ${cut.hash} where id = 1`.execute(trx);
    await writer.append(trx, {
      action: 'audit.pruned',
      details: { through_seq: Number(cut.seq), removed: count, older_than: new Date(cutoff).toISOString() },
    });
    return count;
  });
}

/**
 * Expiry is not a change anyone makes: a key just stops working at its `expires_at`. So that the trail still
 * says when each key expired, a periodic sweep (on every replica; the update makes it idempotent) marks the keys
 * whose time has come and records `api_key.expired` for each, in one transaction. Returns how many it recorded.
 */
export async function recordExpiredKeys(db: Kysely<any>, writer: AuditWriter, now: number): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ id: string; prefix: string; expires_at: number | string }>`update api_keys set expiry_recorded_at = ${now}
      where expires_at is not null and expires_at <= ${now} and expiry_recorded_at is null and is_active = 1
      returning id, prefix, expires_at`.execute(trx);
    await writer.append(
      trx,
      rows.map((k) => ({
        action: 'api_key.expired' as const,
        actor: { kind: 'system' as const, id: null },
        target: { type: 'api_key', id: k.id },
        details: { prefix: k.prefix, expires_at: new Date(Number(k.expires_at)).toISOString() },
      })),
    );
    return rows.length;
  });
}
